// AndTrigger and OrTrigger: agreement and union of child triggers, exact across the Berlin DST
// transitions of 2026 (03-29 02:00->03:00, 10-25 03:00->02:00), and a search that always ends.

#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using sked::AndTrigger;
using sked::CronTrigger;
using sked::DateTrigger;
using sked::IntervalTrigger;
using sked::OrTrigger;
using sked::parse_time;
using sked::TimeZone;
using Strings = std::vector<std::string>;

namespace {

// The first `n` fire times from `from` on (the first as the scheduler asks for it), in `zone`.
Strings walk(const sked::Trigger& trigger, std::string_view from, int n, const TimeZone& zone) {
  Strings out;
  const auto now = parse_time(from, zone);
  std::optional<sked::TimePoint> t = trigger.next_fire_time(std::nullopt, now);
  for (int i = 0; i < n && t; ++i) {
    out.push_back(sked::format_time(*t, zone));
    t = trigger.next_fire_time(t, now);
  }
  return out;
}

const TimeZone& berlin() {
  static const TimeZone zone = TimeZone::locate("Europe/Berlin");
  return zone;
}

CronTrigger cron(std::string_view line) { return CronTrigger::from_crontab(line, berlin()); }

}  // namespace

TEST_CASE("an and trigger fires only when every child fires", "[triggers][combining]") {
  // 09:00 daily and every Monday at 09:00 and at 10:00: only Mondays at 09:00.
  const AndTrigger trigger{{cron("0 9 * * *"), cron("0 9,10 * * mon")}};
  CHECK(walk(trigger, "2026-06-01T09:30:00", 3, berlin()) == Strings{"2026-06-08T09:00:00+02:00",
                                                                     "2026-06-15T09:00:00+02:00",
                                                                     "2026-06-22T09:00:00+02:00"});
}

TEST_CASE("an and trigger of a cron and an interval trigger meets on the interval's grid",
          "[triggers][combining]") {
  const IntervalTrigger every_90_minutes{
      {.minutes = 90, .start_date = parse_time("2026-06-01T00:00:00Z")}};
  const AndTrigger trigger{
      {CronTrigger{{.minute = 0, .timezone = TimeZone::utc()}}, every_90_minutes}};
  CHECK(walk(trigger, "2026-06-01T00:00:01Z", 3, TimeZone::utc()) ==
        Strings{"2026-06-01T03:00:00Z", "2026-06-01T06:00:00Z", "2026-06-01T09:00:00Z"});
}

TEST_CASE("an and trigger is exact across the spring-forward gap", "[triggers][combining][dst]") {
  // 02:30 does not exist on 2026-03-29: the fixed-time child fires at 03:00+02:00, the instant the
  // wildcard Sunday child fires at too.
  const AndTrigger trigger{{cron("30 2 * * *"), cron("*/30 * * * sun")}};
  CHECK(walk(trigger, "2026-03-27T00:00:00", 3, berlin()) == Strings{"2026-03-29T03:00:00+02:00",
                                                                     "2026-04-05T02:30:00+02:00",
                                                                     "2026-04-12T02:30:00+02:00"});
}

TEST_CASE("an and trigger fires once in the repeated hour of the autumn change",
          "[triggers][combining][dst]") {
  // The wildcard child fires at 02:30 twice on 2026-10-25; the fixed-time one only in the first
  // pass.
  const AndTrigger trigger{{cron("30 2 * * *"), cron("*/30 * * * sun")}};
  CHECK(walk(trigger, "2026-10-24T00:00:00", 2, berlin()) ==
        Strings{"2026-10-25T02:30:00+02:00", "2026-11-01T02:30:00+01:00"});
}

TEST_CASE("an or trigger fires at the earliest child's time, once when children agree",
          "[triggers][combining][dst]") {
  // On 2026-03-29 02:30 moves to 03:00+02:00, where the other child fires too: one fire time.
  const OrTrigger trigger{{cron("30 2 * * *"), cron("0 3 * * *")}};
  CHECK(walk(trigger, "2026-03-28T12:00:00", 4, berlin()) ==
        Strings{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
                "2026-03-30T03:00:00+02:00", "2026-03-31T02:30:00+02:00"});
  CHECK(walk(trigger, "2026-10-24T12:00:00", 4, berlin()) ==
        Strings{"2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00",
                "2026-10-26T02:30:00+01:00", "2026-10-26T03:00:00+01:00"});
}

TEST_CASE("an or trigger keeps an interval child on its own grid", "[triggers][combining]") {
  // After the date child fires at 00:10, the interval child still fires at 00:15, not at 00:25.
  const OrTrigger trigger{
      {DateTrigger{parse_time("2026-06-01T00:10:00Z")},
       IntervalTrigger{{.minutes = 15, .start_date = parse_time("2026-06-01T00:00:00Z")}}}};
  CHECK(walk(trigger, "2026-06-01T00:01:00Z", 4, TimeZone::utc()) ==
        Strings{"2026-06-01T00:10:00Z", "2026-06-01T00:15:00Z", "2026-06-01T00:30:00Z",
                "2026-06-01T00:45:00Z"});
}

TEST_CASE("an or trigger ends when every child has ended", "[triggers][combining]") {
  const OrTrigger trigger{{DateTrigger{parse_time("2026-06-01T00:10:00Z")},
                           DateTrigger{parse_time("2026-06-01T00:05:00Z")}}};
  CHECK(walk(trigger, "2026-06-01T00:00:00Z", 5, TimeZone::utc()) ==
        Strings{"2026-06-01T00:05:00Z", "2026-06-01T00:10:00Z"});
}

TEST_CASE("an and trigger whose children never agree has no fire time instead of looping",
          "[triggers][combining]") {
  // APScheduler 3.9's AndTrigger loops for ever on this pair: even and odd seconds never meet.
  const auto start = parse_time("2026-06-01T00:00:00Z");
  const AndTrigger trigger{
      {IntervalTrigger{{.seconds = 2, .start_date = start}},
       IntervalTrigger{{.seconds = 2, .start_date = start + std::chrono::seconds{1}}}}};
  CHECK_FALSE(trigger.next_fire_time(std::nullopt, start));
  CHECK_FALSE(trigger.next_fire_time(start, start));
  // A cron child that can never match ends the search at once.
  const AndTrigger never{{cron("0 0 30 2 *"), cron("* * * * *")}};
  CHECK_FALSE(never.next_fire_time(std::nullopt, start));
}

TEST_CASE("combined triggers describe themselves as APScheduler does", "[triggers][combining]") {
  const AndTrigger a{{CronTrigger{{.hour = 9}}, IntervalTrigger{std::chrono::hours{2}}}};
  CHECK(a.describe() == "and[cron[hour='9'], interval[2:00:00]]");
  const OrTrigger o{
      {CronTrigger::from_crontab("0 8 * * *"), DateTrigger{parse_time("2026-12-24T17:00:00Z")}}};
  CHECK(o.describe() == "or[cron['0 8 * * *'], date[2026-12-24T17:00:00Z]]");
}

TEST_CASE("bind completes the children of combined triggers", "[triggers][combining]") {
  const auto now = parse_time("2026-06-01T00:00:00Z");
  const AndTrigger unbound{{CronTrigger{{.minute = 0}}, IntervalTrigger{std::chrono::hours{1}}}};
  const auto bound = unbound.bind(now, berlin());
  REQUIRE(bound);
  const auto& children = dynamic_cast<const AndTrigger&>(*bound).triggers();
  CHECK(dynamic_cast<const CronTrigger&>(*children[0]).timezone() == berlin());
  CHECK(dynamic_cast<const IntervalTrigger&>(*children[1]).start_date() ==
        now + std::chrono::hours{1});
  // Nothing to fill in: nothing returned.
  const OrTrigger complete{{DateTrigger{now}}};
  CHECK_FALSE(complete.bind(now, berlin()));
}

TEST_CASE("combined triggers round-trip through JSON and refuse bad documents",
          "[triggers][combining][serialization]") {
  const AndTrigger a{
      {cron("30 2 * * *"),
       OrTrigger{{cron("0 3 * * *"), DateTrigger{parse_time("2026-12-24T17:00:00Z")}}}}};
  const auto j = a.to_json();
  CHECK(j.at("type") == "and");
  CHECK(j.at("triggers").size() == 2);
  const auto back = sked::trigger_from_json(j);
  CHECK(back->describe() == a.describe());
  CHECK(back->to_json() == j);

  CHECK_THROWS_AS(sked::trigger_from_json(
                      {{"type", "or"}, {"version", 1}, {"triggers", nlohmann::json::array()}}),
                  sked::SerializationError);
  CHECK_THROWS_WITH(sked::trigger_from_json(
                        {{"type", "and"},
                         {"version", 1},
                         {"triggers", nlohmann::json::array({nlohmann::json{{"type", "nope"}}})}}),
                    Catch::Contains("and trigger: trigger 1: trigger: unknown type 'nope'"));
  CHECK_THROWS_AS(AndTrigger{{}}, sked::InvalidArgument);
  CHECK_THROWS_AS(OrTrigger{{sked::TriggerPtr{}}}, sked::InvalidArgument);
}

}  // namespace SKED_TEST_FILE
