#include <sked/sked.hpp>

#include <chrono>
#include <iostream>

int main() {
  auto clock = std::make_shared<sked::ManualClock>(sked::parse_time("2026-01-01T00:00:00Z"));
  sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
  int runs = 0;
  scheduler.add_job({.id = "tick",
                     .callable = [&](const sked::JobContext&) { ++runs; },
                     .trigger = sked::IntervalTrigger{std::chrono::seconds{10}}});
  scheduler.start();
  clock->advance(std::chrono::seconds{10});
  if (!scheduler.wait_idle()) return 1;
  scheduler.shutdown();
  std::cout << "consumer ran the job " << runs << " time(s)\n";
  return runs == 1 ? 0 : 1;
}
