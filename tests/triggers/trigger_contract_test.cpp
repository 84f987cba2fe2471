// What every trigger promises (include/sked/trigger.hpp), checked on each trigger type: a JSON
// round trip keeps the fire times, each fire time is strictly after the previous one, and a
// schedule that ends stays ended. A new trigger type gets a row in `factories()`.

#include <sked/serialization.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::parse_time;
using sked::TimePoint;
using sked::TimeZone;

namespace {

struct Factory {
  std::string name;
  // A trigger whose schedule ends within its first 40 fire times, bound as the scheduler binds it.
  std::function<std::shared_ptr<const sked::Trigger>()> make;
};

const TimePoint start = parse_time("2026-03-27T00:00:00Z");

std::shared_ptr<const sked::Trigger> bound(sked::TriggerPtr t) {
  if (auto b = t->bind(start, TimeZone::locate("Europe/Berlin"))) return b;
  return t.shared();
}

std::vector<Factory> factories() {
  const auto end = parse_time("2026-03-30T12:00:00Z");
  const auto berlin_cron = [end](std::string_view line) {
    return sked::CronTrigger::from_crontab(
        line, {.end_date = end, .timezone = TimeZone::locate("Europe/Berlin")});
  };
  return {
      {"date", [] { return bound(sked::DateTrigger{start + 90min}); }},
      {"interval",
       [end] {
         return bound(sked::IntervalTrigger{{.hours = 7, .end_date = end, .jitter = 10s}});
       }},
      {"cron", [berlin_cron] { return bound(berlin_cron("30 2 * * *")); }},
      {"cron fields",
       [end] {
         return bound(
             sked::CronTrigger{{.hour = "*/5", .minute = 15, .end_date = end, .jitter = 30s}});
       }},
      {"and",
       [berlin_cron] {
         return bound(sked::AndTrigger{{berlin_cron("*/30 * * * *"), berlin_cron("0 3 * * *")}});
       }},
      {"or",
       [berlin_cron] {
         return bound(sked::OrTrigger{
             {berlin_cron("30 2 * * *"), sked::DateTrigger{start + 5h}, berlin_cron("0 9 * * *")}});
       }},
  };
}

// Up to 40 fire times, as the scheduler walks them: the first for `start`, then each after the
// last.
std::vector<TimePoint> fire_times(const sked::Trigger& trigger) {
  std::vector<TimePoint> out;
  auto t = trigger.next_fire_time(std::nullopt, start);
  while (t && out.size() < 40) {
    out.push_back(*t);
    t = trigger.next_fire_time(t, start);
  }
  return out;
}

}  // namespace

TEST_CASE("every trigger type keeps the trigger contract", "[triggers][contract]") {
  for (const auto& factory : factories()) {
    SECTION(factory.name) {
      const auto trigger = factory.make();
      const auto times = fire_times(*trigger);
      INFO(trigger->describe());
      REQUIRE_FALSE(times.empty());

      // Reloading a stored job must not change when it fires.
      const auto reloaded = sked::trigger_from_json(trigger->to_json());
      CHECK(fire_times(*reloaded) == times);
      CHECK(reloaded->describe() == trigger->describe());

      for (std::size_t i = 1; i < times.size(); ++i) CHECK(times[i] > times[i - 1]);
      // Asked for the time after any instant, the answer is strictly later.
      for (auto at = start; at < start + 96h; at += 97min) {
        const auto next = trigger->next_fire_time(at, at);
        if (next) CHECK(*next > at);
      }

      // Each schedule here ends: the end is empty, and stays empty however late the question.
      REQUIRE(times.size() < 40);
      CHECK_FALSE(trigger->next_fire_time(times.back(), times.back()));
      CHECK_FALSE(trigger->next_fire_time(times.back() + 24h, times.back() + 48h));
      CHECK_FALSE(trigger->next_fire_time(times.back() + 24h * 365, times.back() + 24h * 365));
    }
  }
}

}  // namespace SKED_TEST_FILE
