// The DST rules of docs/cron.md, zone by zone. Fixed-time schedules: a wall time in a gap fires
// once at the first instant after the gap; a repeated wall time fires once, at its first
// occurrence. Wildcard schedules: nothing in a gap, both passes of a repeated hour.
//
// The transitions used (from the tz database): Berlin 2026-03-29 02:00->03:00, 2026-10-25
// 03:00->02:00; New York 2026-03-08 02:00->03:00, 2026-11-01 02:00->01:00; Lord Howe (30-minute
// DST) 2026-04-05 02:00->01:30, 2026-10-04 02:00->02:30; Chatham (+12:45/+13:45) 2026-04-05
// 03:45->02:45, 2026-09-27 02:45->03:45; Sao Paulo (DST abolished in 2019) 2018-11-04 00:00->01:00,
// 2019-02-17 00:00->23:00.

#include "support/cron_walk.hpp"

#include <date/tz.h>

#include <sked/triggers/cron.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using sked::CronTrigger;
using sked::parse_time;
using sked::TimeZone;
using Strings = std::vector<std::string>;

using sked::test::walk;

namespace {

std::vector<std::string> walk(std::string_view crontab, std::string_view zone,
                              std::string_view from, int n) {
  return sked::test::walk(CronTrigger::from_crontab(crontab, TimeZone::locate(zone)), from, n);
}

// Every fire time of `trigger` in [from, to).
std::vector<sked::TimePoint> all_fire_times(const CronTrigger& trigger, sked::TimePoint from,
                                            sked::TimePoint to) {
  std::vector<sked::TimePoint> out;
  auto t = trigger.next_fire_time(std::nullopt, from);
  while (t && *t < to) {
    out.push_back(*t);
    t = trigger.next_fire_time(t, from);
  }
  return out;
}

// The rules, applied the slow way: a wildcard schedule fires at every instant (on a 15-minute grid,
// which every zone's offset divides) whose wall time matches.
std::vector<sked::TimePoint> wildcard_oracle(
    const TimeZone& zone, sked::TimePoint from, sked::TimePoint to,
    const std::function<bool(int hour, int minute)>& matches) {
  std::vector<sked::TimePoint> out;
  for (auto t = from; t < to; t += std::chrono::minutes{15}) {
    const auto local = zone.to_local(t);
    const date::hh_mm_ss<sked::Duration> tod{local - std::chrono::floor<date::days>(local)};
    if (matches(static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count())))
      out.push_back(t);
  }
  return out;
}

// A fixed-time schedule at hh:mm each day: the unique instant, the first of two, or the end of the
// gap.
std::vector<sked::TimePoint> fixed_oracle(const TimeZone& zone, sked::TimePoint from,
                                          sked::TimePoint to, int hour, int minute) {
  std::vector<sked::TimePoint> out;
  const auto first_day = std::chrono::floor<date::days>(zone.to_local(from)) - date::days{1};
  for (auto day = first_day;; day += date::days{1}) {
    const sked::LocalTime wall = day + std::chrono::hours{hour} + std::chrono::minutes{minute};
    const auto info = zone.info(wall);
    sked::TimePoint t;
    if (info.result == date::local_info::nonexistent) {
      t = sked::TimePoint{info.second.begin};
    } else {
      t = sked::TimePoint{wall.time_since_epoch() - info.first.offset};
    }
    if (t >= to) break;
    if (t >= from && (out.empty() || out.back() != t)) out.push_back(t);
  }
  return out;
}

const std::vector<std::string> zones{"Europe/Berlin",     "America/New_York", "Australia/Lord_Howe",
                                     "America/Sao_Paulo", "Asia/Kolkata",     "Pacific/Chatham"};

}  // namespace

TEST_CASE("Berlin: a fixed time in the spring gap fires once, at the end of the gap",
          "[triggers][cron][dst]") {
  CHECK(walk("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00+01:00", 3) ==
        Strings{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00"});
  // Several skipped matches fire once; a match right after the gap is the same instant, once.
  CHECK(walk("0,15,30,45 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00", 2) ==
        Strings{"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"});
  CHECK(walk("0 2,3 * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00", 2) ==
        Strings{"2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"});
  // Seconds are part of the wall time too.
  CHECK(walk("30 59 2 * * *", "Europe/Berlin", "2026-03-29T00:00:00+01:00", 1) ==
        Strings{"2026-03-29T03:00:00+02:00"});
}

TEST_CASE("Berlin: a wildcard schedule has no fire times in the spring gap",
          "[triggers][cron][dst]") {
  CHECK(walk("*/30 * * * *", "Europe/Berlin", "2026-03-29T01:00:00+01:00", 3) ==
        Strings{"2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00",
                "2026-03-29T03:30:00+02:00"});
  // Hour fixed but minute '*': still a wildcard schedule, so 02:xx simply does not happen that day.
  CHECK(walk("*/20 2 * * *", "Europe/Berlin", "2026-03-28T03:00:00+01:00", 1) ==
        Strings{"2026-03-30T02:00:00+02:00"});
}

TEST_CASE("Berlin: a fixed time in the repeated hour fires once, at the first occurrence",
          "[triggers][cron][dst]") {
  CHECK(walk("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00", 3) ==
        Strings{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
                "2026-10-27T02:30:00+01:00"});
  // From inside the second pass, the repeated time is over.
  CHECK(walk("0 2 * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", 1) ==
        Strings{"2026-10-26T02:00:00+01:00"});
}

TEST_CASE("Berlin: a wildcard schedule fires in both passes of the repeated hour",
          "[triggers][cron][dst]") {
  CHECK(walk("*/30 * * * *", "Europe/Berlin", "2026-10-25T01:00:00+02:00", 6) ==
        Strings{"2026-10-25T01:30:00+02:00", "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"});
  CHECK(walk("0 * * * *", "Europe/Berlin", "2026-10-25T01:00:00+02:00", 3) ==
        Strings{"2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
                "2026-10-25T03:00:00+01:00"});
  // Starting in the first pass, after the pass's last match: next is the second pass, whose wall
  // times lie before the start's.
  CHECK(walk("*/30 * * * *", "Europe/Berlin", "2026-10-25T02:45:00+02:00", 2) ==
        Strings{"2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"});
  CHECK(walk("*/30 * * * *", "Europe/Berlin", "2026-10-25T02:10:00+02:00", 2) ==
        Strings{"2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00"});
  // Starting in the second pass.
  CHECK(walk("*/30 * * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", 2) ==
        Strings{"2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"});
}

TEST_CASE("field-style triggers follow the same DST rules", "[triggers][cron][dst][fields]") {
  const auto berlin = TimeZone::locate("Europe/Berlin");
  CHECK(walk(CronTrigger{{.hour = 2, .minute = 30, .timezone = berlin}},
             "2026-03-29T00:00:00+01:00", 1) == Strings{"2026-03-29T03:00:00+02:00"});
  CHECK(walk(CronTrigger{{.minute = "*/30", .timezone = berlin}}, "2026-10-25T01:45:00+02:00", 4) ==
        Strings{"2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00"});
}

TEST_CASE("New York: 02:30 in the March gap fires at 03:00 EDT; 01:30 in November fires once",
          "[triggers][cron][dst]") {
  CHECK(walk("30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00", 2) ==
        Strings{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"});
  CHECK(walk("30 1 * * *", "America/New_York", "2026-10-31T12:00:00-04:00", 2) ==
        Strings{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"});
  CHECK(walk("*/30 1 * * *", "America/New_York", "2026-11-01T00:45:00-04:00", 5) ==
        Strings{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00",
                "2026-11-02T01:00:00-05:00"});
}

TEST_CASE("Lord Howe: half-hour DST gaps and repeats", "[triggers][cron][dst]") {
  // October: 02:00 -> 02:30, so 02:00-02:29 do not exist.
  CHECK(walk("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30", 2) ==
        Strings{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"});
  CHECK(walk("*/15 * * * *", "Australia/Lord_Howe", "2026-10-04T01:30:00+10:30", 3) ==
        Strings{"2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00",
                "2026-10-04T02:45:00+11:00"});
  // April: 02:00 -> 01:30, so 01:30-01:59 happen twice.
  CHECK(walk("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T12:00:00+11:00", 2) ==
        Strings{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"});
  CHECK(walk("*/15 * * * *", "Australia/Lord_Howe", "2026-04-05T01:15:00+11:00", 5) ==
        Strings{"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00",
                "2026-04-05T01:30:00+10:30", "2026-04-05T01:45:00+10:30",
                "2026-04-05T02:00:00+10:30"});
}

TEST_CASE("Chatham: +12:45 and +13:45, gaps and repeats at quarter hours",
          "[triggers][cron][dst]") {
  // September: 02:45 -> 03:45.
  CHECK(walk("0 3 * * *", "Pacific/Chatham", "2026-09-26T12:00:00+12:45", 2) ==
        Strings{"2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45"});
  CHECK(walk("*/30 * * * *", "Pacific/Chatham", "2026-09-27T02:00:00+12:45", 2) ==
        Strings{"2026-09-27T02:30:00+12:45", "2026-09-27T04:00:00+13:45"});
  // April: 03:45 -> 02:45.
  CHECK(walk("0 3 * * *", "Pacific/Chatham", "2026-04-04T12:00:00+13:45", 2) ==
        Strings{"2026-04-05T03:00:00+13:45", "2026-04-06T03:00:00+12:45"});
  CHECK(walk("*/30 * * * *", "Pacific/Chatham", "2026-04-05T02:30:00+13:45", 5) ==
        Strings{"2026-04-05T03:00:00+13:45", "2026-04-05T03:30:00+13:45",
                "2026-04-05T03:00:00+12:45", "2026-04-05T03:30:00+12:45",
                "2026-04-05T04:00:00+12:45"});
}

TEST_CASE("Sao Paulo: past DST at midnight, none since 2019", "[triggers][cron][dst]") {
  // 2018-11-04 00:00 -> 01:00: midnight did not exist.
  CHECK(walk("0 0 * * *", "America/Sao_Paulo", "2018-11-03T12:00:00-03:00", 2) ==
        Strings{"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"});
  // 2019-02-17 00:00 -> 2019-02-16 23:00: 23:xx on the 16th happened twice.
  CHECK(walk("30 23 * * *", "America/Sao_Paulo", "2019-02-16T12:00:00-02:00", 2) ==
        Strings{"2019-02-16T23:30:00-02:00", "2019-02-17T23:30:00-03:00"});
  CHECK(walk("30 * * * *", "America/Sao_Paulo", "2019-02-16T22:45:00-02:00", 3) ==
        Strings{"2019-02-16T23:30:00-02:00", "2019-02-16T23:30:00-03:00",
                "2019-02-17T00:30:00-03:00"});
  // 2024-2027: -03:00 all year.
  CHECK(walk("30 2 * * *", "America/Sao_Paulo", "2026-11-01T00:00:00-03:00", 2) ==
        Strings{"2026-11-01T02:30:00-03:00", "2026-11-02T02:30:00-03:00"});
}

TEST_CASE("Kolkata: +05:30 all year", "[triggers][cron][dst]") {
  CHECK(walk("30 2 * * *", "Asia/Kolkata", "2026-03-28T00:00:00+05:30", 2) ==
        Strings{"2026-03-28T02:30:00+05:30", "2026-03-29T02:30:00+05:30"});
}

TEST_CASE("every zone, 2024-2027: fire times follow the rules computed the slow way",
          "[triggers][cron][dst]") {
  const auto from = parse_time("2024-01-01T00:00:00Z");
  const auto to = parse_time("2028-01-01T00:00:00Z");
  for (const auto& name : zones) {
    INFO(name);
    const auto zone = TimeZone::locate(name);
    // Wildcard: every half hour, and every quarter hour from 00:00 to 04:59 (which holds every
    // transition's wall times in these zones from 2024 to 2027).
    CHECK(all_fire_times(CronTrigger::from_crontab("*/30 * * * *", zone), from, to) ==
          wildcard_oracle(zone, from, to, [](int, int m) { return m % 30 == 0; }));
    CHECK(all_fire_times(CronTrigger::from_crontab("*/15 0-4 * * *", zone), from, to) ==
          wildcard_oracle(zone, from, to, [](int h, int m) { return h <= 4 && m % 15 == 0; }));
    // Fixed times at every quarter hour from 00:00 to 03:45, each on its own.
    for (int hour = 0; hour <= 3; ++hour) {
      for (int minute = 0; minute < 60; minute += 15) {
        INFO(hour << ":" << minute);
        const auto trigger = CronTrigger::from_crontab(
            std::to_string(minute) + " " + std::to_string(hour) + " * * *", zone);
        CHECK(all_fire_times(trigger, from, to) == fixed_oracle(zone, from, to, hour, minute));
      }
    }
  }
}

}  // namespace SKED_TEST_FILE
