// What happens when the wall clock jumps: documented in docs/clock.md.

#include "support/recorder.hpp"

#include <sked/sked.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

struct Jumpy {
  std::shared_ptr<sked::ManualClock> clock = std::make_shared<sked::ManualClock>(t0);
  sked::test::LogRecorder logs;
  sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()}};
  std::atomic<int> runs{0};
  std::vector<sked::TimePoint> run_times;
  std::mutex m;

  Jumpy() {
    scheduler.add_job({.id = "minutely", .callable = [this](const sked::JobContext& ctx) {
                         std::lock_guard l(m);
                         run_times.push_back(ctx.scheduled_run_time());
                         ++runs;
                       },
                       .trigger = sked::IntervalTrigger{{.minutes = 1, .start_date = t0 + 1min}}});
    scheduler.start();
    REQUIRE(scheduler.wait_idle());
  }
  void jump(sked::Duration d) {
    clock->advance(d);
    REQUIRE(scheduler.wait_idle());
  }
};

}  // namespace

TEST_CASE("a forward jump of hours runs one coalesced run and records the rest missed", "[clock][faults]") {
  Jumpy j;
  j.jump(3h);
  CHECK(j.runs == 1);
  CHECK(j.run_times.back() == t0 + 3h);
  // 180 fire times passed: one ran, the other 179 are recorded, none silently dropped.
  CHECK(j.scheduler.get_executions({.status = ExecutionStatus::missed, .limit = 1000}).size() == 179);
  CHECK(j.logs.contains(sked::LogLevel::warning, "was missed by"));
  CHECK(j.scheduler.get_job("minutely")->next_run_time == t0 + 3h + 1min);
}

TEST_CASE("a backward jump never repeats a fire time that already ran", "[clock][faults]") {
  Jumpy j;
  j.jump(5min);
  REQUIRE(j.runs == 1);
  j.jump(-1h);
  // The next fire time is still 00:06; the clock now reads 23:05 of the day before, so the job waits
  // for the clock to catch up instead of running 23:06, 23:07, ... a second time.
  CHECK(j.scheduler.waiting_until() == t0 + 5min - 1h + 1s);
  j.jump(30min);
  CHECK(j.runs == 1);
  j.jump(31min);
  CHECK(j.runs == 2);
  CHECK(j.run_times.back() == t0 + 6min);
}

TEST_CASE("the loop never sleeps longer than max_wait, so a real clock jump is noticed", "[clock][faults]") {
  Jumpy j;
  const auto until = j.scheduler.waiting_until();
  REQUIRE(until);
  CHECK(*until - j.clock->now() <= 1s);  // SchedulerOptions::max_wait
}
