#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::IntervalTrigger;
using sked::parse_time;

TEST_CASE("the first fire time is start + n * interval not before now", "[triggers][interval]") {
  const IntervalTrigger trigger{{.minutes = 5, .start_date = parse_time("2026-01-01T00:00:00Z")}};
  CHECK(trigger.interval() == 5min);
  // Before the start: the start itself.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2025-12-31T00:00:00Z")) ==
        parse_time("2026-01-01T00:00:00Z"));
  // Between ticks: the next tick.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T00:07:00Z")) ==
        parse_time("2026-01-01T00:10:00Z"));
  // Exactly on a tick: that tick.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T00:10:00Z")) ==
        parse_time("2026-01-01T00:10:00Z"));
}

TEST_CASE("later fire times are the previous one plus the interval", "[triggers][interval]") {
  const IntervalTrigger trigger{{.hours = 1, .start_date = parse_time("2026-01-01T00:00:00Z")}};
  const auto now = parse_time("2026-01-01T00:00:00Z");
  auto t = trigger.next_fire_time(std::nullopt, now);
  for (int i = 0; i < 3; ++i) t = trigger.next_fire_time(t, now);
  CHECK(t == parse_time("2026-01-01T03:00:00Z"));
}

TEST_CASE("weeks, days, hours, minutes and seconds add up", "[triggers][interval]") {
  const IntervalTrigger trigger{{.weeks = 1, .days = 2, .hours = 3, .minutes = 4, .seconds = 5}};
  CHECK(trigger.interval() == std::chrono::weeks{1} + std::chrono::days{2} + 3h + 4min + 5s);
  CHECK(trigger.describe() == "interval[9 days, 3:04:05]");
}

TEST_CASE("the end date is honoured", "[triggers][interval]") {
  const IntervalTrigger trigger{{.hours = 1,
                                 .start_date = parse_time("2026-01-01T00:00:00Z"),
                                 .end_date = parse_time("2026-01-01T02:00:00Z")}};
  const auto now = parse_time("2026-01-01T00:00:00Z");
  CHECK(trigger.next_fire_time(parse_time("2026-01-01T01:00:00Z"), now) ==
        parse_time("2026-01-01T02:00:00Z"));
  CHECK_FALSE(trigger.next_fire_time(parse_time("2026-01-01T02:00:00Z"), now).has_value());
  CHECK_FALSE(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T02:30:00Z")).has_value());
}

TEST_CASE("the interval is elapsed time, across a DST change", "[triggers][interval][dst]") {
  const auto berlin = sked::TimeZone::locate("Europe/Berlin");
  const IntervalTrigger trigger{
      {.hours = 24, .start_date = parse_time("2026-03-28T12:00:00+01:00"), .timezone = berlin}};
  const auto next = trigger.next_fire_time(parse_time("2026-03-28T12:00:00+01:00"),
                                           parse_time("2026-03-28T12:00:00Z"));
  CHECK(sked::format_time(*next, berlin) == "2026-03-29T13:00:00+02:00");
}

TEST_CASE("binding an open trigger starts it one interval after now, in the scheduler's zone",
          "[triggers][interval]") {
  const IntervalTrigger trigger{15s};
  const auto now = parse_time("2026-01-01T00:00:00Z");
  const auto zone = sked::TimeZone::locate("Asia/Kolkata");
  const auto bound = trigger.bind(now, zone);
  REQUIRE(bound);
  const auto& b = dynamic_cast<const IntervalTrigger&>(*bound);
  CHECK(b.start_date() == now + 15s);
  CHECK(b.timezone() == zone);
  CHECK(bound->next_fire_time(std::nullopt, now) == now + 15s);
  CHECK_FALSE(b.bind(now, zone));  // nothing left to fill in
}

TEST_CASE("jitter delays by less than the jitter, deterministically and without drift",
          "[triggers][interval][jitter]") {
  const auto start = parse_time("2026-01-01T00:00:00Z");
  const IntervalTrigger trigger{
      {.minutes = 1, .start_date = start, .jitter = 10s, .jitter_seed = 42}};
  std::optional<sked::TimePoint> t;
  bool some_delayed = false;
  for (int i = 0; i < 100; ++i) {
    t = trigger.next_fire_time(t, start);
    REQUIRE(t);
    const auto grid = start + std::chrono::minutes{i};
    CHECK(*t >= grid);
    CHECK(*t < grid + 10s);
    some_delayed = some_delayed || *t != grid;
  }
  CHECK(some_delayed);
  const IntervalTrigger same{{.minutes = 1, .start_date = start, .jitter = 10s, .jitter_seed = 42}};
  CHECK(same.next_fire_time(std::nullopt, start + 30min) ==
        trigger.next_fire_time(std::nullopt, start + 30min));
}

TEST_CASE("bad intervals are rejected with the reason", "[triggers][interval][errors]") {
  CHECK_THROWS_WITH(IntervalTrigger{0s}, Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(IntervalTrigger{-5s}, Catch::Contains("must be positive"));
  CHECK_THROWS_WITH((IntervalTrigger{{.seconds = 10,
                                      .start_date = parse_time("2026-01-02T00:00:00Z"),
                                      .end_date = parse_time("2026-01-01T00:00:00Z")}}),
                    Catch::Contains("before start_date"));
  CHECK_THROWS_AS((IntervalTrigger{{.seconds = 10, .jitter = 10s}}), sked::InvalidArgument);
}

TEST_CASE("an interval trigger round-trips through JSON", "[triggers][interval][serialization]") {
  const IntervalTrigger trigger{{.hours = 2,
                                 .start_date = parse_time("2026-01-01T00:00:00.5Z"),
                                 .end_date = parse_time("2027-01-01T00:00:00Z"),
                                 .timezone = sked::TimeZone::locate("America/New_York"),
                                 .jitter = 3s,
                                 .jitter_seed = 7}};
  const auto back = sked::trigger_from_json(trigger.to_json());
  const auto* interval = dynamic_cast<const IntervalTrigger*>(back.get());
  REQUIRE(interval != nullptr);
  CHECK(*interval == trigger);

  const auto hand_written =
      sked::trigger_from_json({{"type", "interval"}, {"version", 1}, {"minutes", 5}});
  CHECK(dynamic_cast<const IntervalTrigger&>(*hand_written).interval() == 5min);
}

TEST_CASE(
    "an end date before the first fire time is refused when the trigger is bound, so no store "
    "holds "
    "a trigger it cannot read back",
    "[triggers][interval][errors]") {
  // Found by tests/fuzz/interval_fuzz.cpp: without the check, bind() made {start 2026-10-25, end
  // 2026-01-02}, whose JSON trigger_from_json refuses; a paused job added with it was unreadable.
  const IntervalTrigger trigger{1h, {.end_date = parse_time("2026-01-02T00:00:00Z")}};
  const auto now = parse_time("2026-10-25T00:30:00Z");
  CHECK_THROWS_WITH(trigger.bind(now, sked::TimeZone::utc()),
                    Catch::Contains("end_date 2026-01-02T00:00:00Z is before its first fire time"));
  // A start left open but an end still ahead binds, and its JSON reads back.
  const IntervalTrigger later{1h, {.end_date = parse_time("2027-01-01T00:00:00Z")}};
  const auto bound = later.bind(now, sked::TimeZone::utc());
  REQUIRE(bound);
  CHECK(sked::trigger_from_json(bound->to_json())->to_json() == bound->to_json());
}

TEST_CASE("intervals too long to add to a time are refused, naming the field",
          "[triggers][interval][errors]") {
  // Found by tests/fuzz/interval_fuzz.cpp: 9e18 us bound to a start in the year 25081, which no
  // store can write back; longer ones overflowed the time arithmetic.
  CHECK_THROWS_WITH(IntervalTrigger{sked::Duration{9'000'002'222'222'222'200}},
                    Catch::Contains("at most 1,000 years"));
  CHECK_THROWS_WITH(IntervalTrigger({.weeks = std::int64_t{1} << 60}), Catch::Contains("weeks"));
  CHECK_THROWS_WITH(IntervalTrigger({.seconds = -(std::int64_t{1} << 62)}),
                    Catch::Contains("seconds"));
  CHECK_THROWS_AS(
      sked::trigger_from_json(
          {{"type", "interval"}, {"version", 1}, {"interval_us", 9'000'002'222'222'222'200}}),
      sked::SerializationError);
  // 1,000 years is allowed, but not when it would start after 9999.
  const IntervalTrigger millennium{std::chrono::hours{24 * 365 * 1000}};
  CHECK(millennium.bind(parse_time("2026-01-01T00:00:00Z"), sked::TimeZone::utc()));
  CHECK_THROWS_WITH(millennium.bind(parse_time("9500-01-01T00:00:00Z"), sked::TimeZone::utc()),
                    Catch::Contains("past the year 9999"));
}

}  // namespace SKED_TEST_FILE
