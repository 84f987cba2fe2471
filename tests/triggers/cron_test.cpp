// CronTrigger: syntax, errors, calendar edge cases and JSON. The DST rules have their own file
// (cron_dst_test.cpp). Expected fire times are worked out from the calendar by hand (2026-01-01 is
// a Thursday) and from the rules in docs/cron.md, never taken from the implementation's output.

#include "support/cron_walk.hpp"

#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/cron.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::CronTrigger;
using sked::parse_time;

using sked::test::walk;

namespace {

std::vector<std::string> walk(std::string_view crontab, std::string_view from, int n) {
  return sked::test::walk(CronTrigger::from_crontab(crontab), from, n);
}

using Strings = std::vector<std::string>;

// The CronSyntaxError a crontab line raises.
sked::CronSyntaxError crontab_error(std::string_view expression) {
  try {
    (void)CronTrigger::from_crontab(expression);
  } catch (const sked::CronSyntaxError& e) {
    return e;
  }
  FAIL("no CronSyntaxError for '" << expression << "'");
  throw std::logic_error("unreachable");
}

sked::CronSyntaxError fields_error(const CronTrigger::Options& options) {
  try {
    (void)CronTrigger{options};
  } catch (const sked::CronSyntaxError& e) {
    return e;
  }
  FAIL("no CronSyntaxError");
  throw std::logic_error("unreachable");
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Crontab syntax

TEST_CASE("crontab steps, ranges and lists select the values they name",
          "[triggers][cron][crontab]") {
  CHECK(walk("*/15 * * * *", "2026-01-01T00:07:00Z", 4) ==
        Strings{"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
                "2026-01-01T01:00:00Z"});
  CHECK(walk("0 9-17/4 * * *", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-01T09:00:00Z", "2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z",
                "2026-01-02T09:00:00Z"});
  CHECK(walk("5,10,50-52 * * * *", "2026-01-01T00:00:00Z", 6) ==
        Strings{"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:50:00Z",
                "2026-01-01T00:51:00Z", "2026-01-01T00:52:00Z", "2026-01-01T01:05:00Z"});
  // Fire times are strictly after `from`, even when `from` itself matches.
  CHECK(walk("0 * * * *", "2026-01-01T05:00:00Z", 1) == Strings{"2026-01-01T06:00:00Z"});
}

TEST_CASE("the first fire time may be now itself", "[triggers][cron]") {
  const auto trigger = CronTrigger::from_crontab("0 * * * *");
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T05:00:00Z")) ==
        parse_time("2026-01-01T05:00:00Z"));
  // A now with a fraction of a second rounds up to the next whole second first.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T05:00:00.5Z")) ==
        parse_time("2026-01-01T06:00:00Z"));
}

TEST_CASE("a step larger than its range keeps only the range's start, as cronie does",
          "[triggers][cron][crontab]") {
  CHECK(walk("10-20/30 * * * *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T00:10:00Z", "2026-01-01T01:10:00Z"});
  CHECK(walk("*/60 * * * *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"});
}

TEST_CASE("month and day names are case-insensitive and work in ranges and lists",
          "[triggers][cron][crontab]") {
  // 2026-01-05 is the first Monday of 2026; July 2026 starts on a Wednesday.
  CHECK(walk("0 0 * JAN,jul Mon", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"});
  CHECK(walk("0 0 * jul mon", "2026-02-01T00:00:00Z", 1) == Strings{"2026-07-06T00:00:00Z"});
  CHECK(walk("0 0 1 feb-mar *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2027-02-01T00:00:00Z"});
}

TEST_CASE("day of week 0 and 7 are both Sunday", "[triggers][cron][crontab]") {
  const Strings sundays{"2026-01-04T12:00:00Z", "2026-01-11T12:00:00Z"};
  CHECK(walk("0 12 * * 0", "2026-01-01T00:00:00Z", 2) == sundays);
  CHECK(walk("0 12 * * 7", "2026-01-01T00:00:00Z", 2) == sundays);
  CHECK(walk("0 12 * * sun", "2026-01-01T00:00:00Z", 2) == sundays);
  CHECK(walk("0 12 * * 7-7", "2026-01-01T00:00:00Z", 2) == sundays);
  CHECK(walk("0 12 * * 7-0", "2026-01-01T00:00:00Z", 2) == sundays);
  // 5-7 is Friday to Sunday.
  CHECK(walk("0 0 * * 5-7", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                "2026-01-09T00:00:00Z"});
}

TEST_CASE("ranges wrap around the end of a cyclic field", "[triggers][cron][crontab]") {
  // sat-sun is 6-7, as cronie reads it; fri-mon and 5-1 wrap past Sunday.
  CHECK(walk("0 0 * * sat-sun", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-10T00:00:00Z"});
  const Strings fri_to_mon{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
                           "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z"};
  CHECK(walk("0 0 * * fri-mon", "2026-01-01T00:00:00Z", 5) == fri_to_mon);
  CHECK(walk("0 0 * * 5-1", "2026-01-01T00:00:00Z", 5) == fri_to_mon);
  CHECK(walk("0 22-1 * * *", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-01T01:00:00Z", "2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z",
                "2026-01-02T00:00:00Z"});
  // A step counts on across the wrap: 22, 0, 2.
  CHECK(walk("0 22-2/2 * * *", "2026-01-01T03:00:00Z", 3) ==
        Strings{"2026-01-01T22:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T02:00:00Z"});
  CHECK(walk("0 0 1 nov-feb *", "2026-03-01T00:00:00Z", 4) ==
        Strings{"2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z",
                "2027-02-01T00:00:00Z"});
}

TEST_CASE("day of month and day of week: either matches when both are restricted (Vixie's rule)",
          "[triggers][cron][crontab]") {
  // The 1st of each month, or any Monday. 2026-02-01 is a Sunday.
  CHECK(walk("0 0 1 * mon", "2026-01-01T00:00:00Z", 6) ==
        Strings{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z",
                "2026-01-26T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"});
  // Odd days, or Mondays (Jan 12 is an even Monday).
  CHECK(walk("0 0 1-31/2 * 1", "2026-01-01T00:00:00Z", 7) ==
        Strings{"2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-07T00:00:00Z",
                "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z", "2026-01-12T00:00:00Z",
                "2026-01-13T00:00:00Z"});
}

TEST_CASE("a day field that starts with '*' makes the day rule AND, even when it is restricted",
          "[triggers][cron][crontab]") {
  // */2 selects odd days but starts with '*': odd days that are Mondays.
  CHECK(walk("0 0 */2 * 1", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z",
                "2026-02-23T00:00:00Z"});
  // '*,5' starts with '*': every day AND Monday. '5,*' does not: day 5 OR every day.
  CHECK(walk("0 0 *,5 * 1", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"});
  CHECK(walk("0 0 5,* * 1", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"});
  // Likewise a restricted day of week starting with '*'.
  CHECK(walk("0 0 13 * */7", "2026-01-01T00:00:00Z", 1) == Strings{"2026-09-13T00:00:00Z"});
  // '?' is '*'.
  CHECK(walk("0 0 ? * 5#3", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-16T00:00:00Z", "2026-02-20T00:00:00Z"});
}

TEST_CASE("nicknames mean their crontab lines", "[triggers][cron][crontab]") {
  // 2026-03-01 is a Sunday.
  CHECK(walk("@yearly", "2026-03-01T00:00:00Z", 1) == Strings{"2027-01-01T00:00:00Z"});
  CHECK(walk("@annually", "2026-03-01T00:00:00Z", 1) == Strings{"2027-01-01T00:00:00Z"});
  CHECK(walk("@monthly", "2026-03-01T00:00:00Z", 1) == Strings{"2026-04-01T00:00:00Z"});
  CHECK(walk("@weekly", "2026-03-01T00:00:00Z", 1) == Strings{"2026-03-08T00:00:00Z"});
  CHECK(walk("@daily", "2026-03-01T00:00:00Z", 1) == Strings{"2026-03-02T00:00:00Z"});
  CHECK(walk("@midnight", "2026-03-01T00:00:00Z", 1) == Strings{"2026-03-02T00:00:00Z"});
  CHECK(walk("@hourly", "2026-03-01T00:00:00Z", 1) == Strings{"2026-03-01T01:00:00Z"});
  CHECK(CronTrigger::from_crontab("@daily").fixed_time());
  CHECK_FALSE(CronTrigger::from_crontab("@hourly").fixed_time());
}

TEST_CASE("six fields put seconds first, seven add a year", "[triggers][cron][crontab]") {
  CHECK(walk("*/20 * * * * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"});
  CHECK(walk("30 0 12 * * *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T12:00:30Z", "2026-01-02T12:00:30Z"});
  // The year range ends the schedule: fewer fire times than asked for.
  CHECK(walk("0 0 0 1 1 * 2027-2028", "2026-01-01T00:00:00Z", 5) ==
        Strings{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"});
  CHECK(walk("0 0 0 1 1 * 2025", "2026-01-01T00:00:00Z", 1).empty());
}

TEST_CASE("L is the last day of the month, LW its last weekday", "[triggers][cron][crontab]") {
  CHECK(walk("0 0 L * *", "2024-01-31T00:00:00Z", 3) ==
        Strings{"2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"});
  // 2024-02-29 is a Thursday, 2024-03-31 a Sunday (so Friday the 29th), 2024-11-30 a Saturday.
  CHECK(walk("0 0 LW * *", "2024-02-01T00:00:00Z", 2) ==
        Strings{"2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z"});
  CHECK(walk("0 0 LW * *", "2024-11-01T00:00:00Z", 1) == Strings{"2024-11-29T00:00:00Z"});
}

TEST_CASE("nW is the weekday nearest day n, without leaving the month",
          "[triggers][cron][crontab]") {
  // 2024-06-15 is a Saturday (-> Friday 14th), 2024-09-15 a Sunday (-> Monday 16th).
  CHECK(walk("0 0 15W * *", "2024-06-01T00:00:00Z", 1) == Strings{"2024-06-14T00:00:00Z"});
  CHECK(walk("0 0 15W * *", "2024-09-01T00:00:00Z", 1) == Strings{"2024-09-16T00:00:00Z"});
  // 2024-06-01 is a Saturday: 1W moves forward to Monday the 3rd, not back into May.
  CHECK(walk("0 0 1W * *", "2024-05-31T00:00:00Z", 1) == Strings{"2024-06-03T00:00:00Z"});
  // 2024-03-31 is a Sunday: 31W moves back to Friday the 29th, not into April.
  CHECK(walk("0 0 31W * *", "2024-03-01T00:00:00Z", 1) == Strings{"2024-03-29T00:00:00Z"});
  // A weekday stays.
  CHECK(walk("0 0 15W * *", "2024-05-01T00:00:00Z", 1) == Strings{"2024-05-15T00:00:00Z"});
}

TEST_CASE("5L is the month's last Friday, 5#3 its third", "[triggers][cron][crontab]") {
  // January 2026's Fridays: 2, 9, 16, 23, 30. February's: 6, 13, 20, 27.
  CHECK(walk("0 0 * * 5L", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"});
  CHECK(walk("0 0 * * FRIL", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-30T00:00:00Z"});
  CHECK(walk("0 0 * * 5#3", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-16T00:00:00Z", "2026-02-20T00:00:00Z"});
  // A fifth Monday exists only in some months: March 2026 (2, 9, 16, 23, 30).
  CHECK(walk("0 0 * * 1#5", "2026-01-01T00:00:00Z", 1) == Strings{"2026-03-30T00:00:00Z"});
  // 0#1 and 7#1 are both the first Sunday.
  CHECK(walk("0 0 * * 0#1", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-04T00:00:00Z"});
  CHECK(walk("0 0 * * 7#1", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-04T00:00:00Z"});
  // With a restricted day of month, Vixie's OR applies to these too: the 1st, or the last Friday.
  CHECK(walk("0 0 1 * 5L", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-30T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-27T00:00:00Z"});
}

TEST_CASE("leap days fire only in leap years, and 2100 is not one", "[triggers][cron][calendar]") {
  CHECK(walk("0 0 29 2 *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"});
  CHECK(walk("0 0 29 2 *", "2096-03-01T00:00:00Z", 1) == Strings{"2104-02-29T00:00:00Z"});
  CHECK(walk("0 0 29 2 *", "2000-01-01T00:00:00Z", 1) == Strings{"2000-02-29T00:00:00Z"});
  CHECK(walk(CronTrigger{{.month = 2, .day = 29}}, "2026-01-01T00:00:00Z", 1) ==
        Strings{"2028-02-29T00:00:00Z"});
}

TEST_CASE("a day past a month's end skips that month", "[triggers][cron][calendar]") {
  CHECK(walk("0 0 31 * *", "2026-01-01T00:00:00Z", 5) ==
        Strings{"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
                "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"});
  CHECK(walk("0 0 30 * *", "2026-01-30T00:00:00Z", 2) ==
        Strings{"2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z"});
  // Crossing the year.
  CHECK(walk("59 23 31 12 *", "2026-06-01T00:00:00Z", 2) ==
        Strings{"2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"});
}

TEST_CASE("a schedule that can never match has no next fire time, and says so quickly",
          "[triggers][cron][calendar]") {
  const auto start = std::chrono::steady_clock::now();
  for (const char* expression :
       {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 0 31 2 *", "0 0 0 30 2 * *"}) {
    INFO(expression);
    CHECK_FALSE(CronTrigger::from_crontab(expression)
                    .next_fire_time(std::nullopt, parse_time("2026-01-01T00:00:00Z")));
  }
  CHECK_FALSE(CronTrigger{{.month = 2, .day = 30}}.next_fire_time(
      std::nullopt, parse_time("2026-01-01T00:00:00Z")));
  // The 5th Friday of February only exists in leap years starting on a Friday: 2036, not "never".
  CHECK(walk(CronTrigger{{.month = 2, .day = "5th fri"}}, "2026-01-01T00:00:00Z", 1) ==
        Strings{"2036-02-29T00:00:00Z"});
  // Generous: these searches take microseconds; this only catches a search that steps minute by
  // minute.
  CHECK(std::chrono::steady_clock::now() - start < 2s);
}

// ---------------------------------------------------------------------------------------------------------
// Field style (APScheduler)

TEST_CASE("fields below the most significant given one default to their minimum",
          "[triggers][cron][fields]") {
  // hour=5: minute and second default to 0; day and month stay '*'.
  CHECK(walk(CronTrigger{{.hour = 5}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T05:00:00Z", "2026-01-02T05:00:00Z"});
  // month=6: day 1 at 00:00:00.
  CHECK(walk(CronTrigger{{.month = 6}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-06-01T00:00:00Z", "2027-06-01T00:00:00Z"});
  // minute=30: hour stays '*'.
  CHECK(walk(CronTrigger{{.minute = 30}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T00:30:00Z", "2026-01-01T01:30:00Z"});
  // Fields between given ones stay '*': hour=5, second=*/30 fires every 30 s from 05:00 to
  // 05:59:30.
  const auto between =
      walk(CronTrigger{{.hour = 5, .second = "*/30"}}, "2026-01-01T00:00:00Z", 121);
  REQUIRE(between.size() == 121);
  CHECK(between[0] == "2026-01-01T05:00:00Z");
  CHECK(between[1] == "2026-01-01T05:00:30Z");
  CHECK(between[119] == "2026-01-01T05:59:30Z");
  CHECK(between[120] == "2026-01-02T05:00:00Z");
  // No field at all: every second.
  CHECK(walk(CronTrigger{CronTrigger::Options{}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"});
}

TEST_CASE("the field style counts day_of_week 0 as Monday and ANDs the day fields",
          "[triggers][cron][fields]") {
  CHECK(walk(CronTrigger{{.day_of_week = 0, .hour = 0}}, "2026-01-01T00:00:00Z", 1) ==
        Strings{"2026-01-05T00:00:00Z"});
  CHECK(walk(CronTrigger{{.day_of_week = "6", .hour = 0}}, "2026-01-01T00:00:00Z", 1) ==
        Strings{"2026-01-04T00:00:00Z"});
  CHECK(walk(CronTrigger{{.day_of_week = "sat-sun", .hour = 0}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"});
  // day=13 AND Friday: the next Friday the 13th after 2026-01-01 is in February.
  CHECK(walk(CronTrigger{{.day = 13, .day_of_week = "fri"}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"});
}

TEST_CASE("field expressions: steps, a/n, lists with blanks, names", "[triggers][cron][fields]") {
  CHECK(walk(CronTrigger{{.minute = "5/20"}}, "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z",
                "2026-01-01T01:05:00Z"});
  CHECK(walk(CronTrigger{{.hour = "1-10/3"}}, "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-01T01:00:00Z", "2026-01-01T04:00:00Z", "2026-01-01T07:00:00Z",
                "2026-01-01T10:00:00Z"});
  CHECK(walk(CronTrigger{{.day_of_week = "*/2", .hour = 0}}, "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z",
                "2026-01-07T00:00:00Z"});  // Mon, Wed, Fri, Sun
  CHECK(walk(CronTrigger{{.minute = " 1 , 2,3 "}}, "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z", "2026-01-01T00:03:00Z",
                "2026-01-01T01:01:00Z"});
  // Names in one element, a step in another.
  CHECK(walk(CronTrigger{{.month = "jan,5-9/4"}}, "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-05-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-01-01T00:00:00Z"});
  CHECK(walk(CronTrigger{{.month = "Feb-MAR,nov"}}, "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-11-01T00:00:00Z"});
}

TEST_CASE("field day expressions: last, last fri, 2nd mon", "[triggers][cron][fields]") {
  CHECK(walk(CronTrigger{{.day = "last"}}, "2026-01-31T00:00:00Z", 2) ==
        Strings{"2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"});
  CHECK(walk(CronTrigger{{.day = "last fri"}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"});
  CHECK(walk(CronTrigger{{.day = "2nd mon"}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-12T00:00:00Z", "2026-02-09T00:00:00Z"});
  CHECK(walk(CronTrigger{{.day = "1st sun, last sat"}}, "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-04T00:00:00Z", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"});
}

TEST_CASE("ISO weeks start on Monday and week 1 holds the year's first Thursday",
          "[triggers][cron][fields][calendar]") {
  // 2026-01-01 is a Thursday, so ISO week 1 of 2026 starts on Monday 2025-12-29. 2027-01-01 is a
  // Friday, so week 1 of 2027 starts on Monday 2027-01-04.
  CHECK(walk(CronTrigger{{.week = 1, .day_of_week = "mon"}}, "2025-12-01T00:00:00Z", 2) ==
        Strings{"2025-12-29T00:00:00Z", "2027-01-04T00:00:00Z"});
  // Week 53 exists in years starting on a Thursday (2026) or leap years starting on a Wednesday;
  // 2032 starts on a Thursday.
  CHECK(walk(CronTrigger{{.week = 53, .day_of_week = "mon"}}, "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-12-28T00:00:00Z", "2032-12-27T00:00:00Z"});
  // Week 1 ANDed with January 1st: only years where Jan 1 lies in week 1 (Monday to Thursday).
  CHECK(walk(CronTrigger{{.month = 1, .day = 1, .week = 1}}, "2026-06-01T00:00:00Z", 2) ==
        Strings{"2029-01-01T00:00:00Z", "2030-01-01T00:00:00Z"});
}

TEST_CASE("the year field bounds the schedule", "[triggers][cron][fields]") {
  CHECK(walk(CronTrigger{{.year = "2027,2029", .month = 3}}, "2026-01-01T00:00:00Z", 3) ==
        Strings{"2027-03-01T00:00:00Z", "2029-03-01T00:00:00Z"});
}

TEST_CASE("fixed-time or wildcard is read from second, minute and hour", "[triggers][cron][dst]") {
  CHECK(CronTrigger::from_crontab("30 2 * * *").fixed_time());
  CHECK(CronTrigger::from_crontab("0,30 1-3 * * *").fixed_time());
  CHECK_FALSE(CronTrigger::from_crontab("*/30 2 * * *").fixed_time());
  CHECK_FALSE(CronTrigger::from_crontab("0 * * * *").fixed_time());
  CHECK_FALSE(CronTrigger::from_crontab("* 0 2 * * *").fixed_time());
  CHECK(CronTrigger::from_crontab("0 0 2 * * *").fixed_time());
  // Field style, on the resolved fields: hour=2 makes minute and second 0.
  CHECK(CronTrigger{{.hour = 2}}.fixed_time());
  CHECK_FALSE(CronTrigger{{.minute = 30}}.fixed_time());  // hour is '*'
  CHECK(CronTrigger{{.day = 1}}.fixed_time());
}

// ---------------------------------------------------------------------------------------------------------
// Errors

TEST_CASE("an out-of-range value names the field, token, column and range",
          "[triggers][cron][errors]") {
  const auto e = crontab_error("61 * * * *");
  CHECK(std::string{e.what()} == "minute: '61' is out of range 0-59 (at column 1 of '61 * * * *')");
  CHECK(e.field() == "minute");
  CHECK(e.token() == "61");
  CHECK(e.position() == 0);
  CHECK(e.expression() == "61 * * * *");

  CHECK(std::string{crontab_error("0 24 * * *").what()} ==
        "hour: '24' is out of range 0-23 (at column 3 of '0 24 * * *')");
  CHECK(std::string{crontab_error("0 0 0 * *").what()} ==
        "day of month: '0' is out of range 1-31 (at column 5 of '0 0 0 * *')");
  CHECK(std::string{crontab_error("0 0 * 13 *").what()} ==
        "month: '13' is out of range 1-12 (at column 7 of '0 0 * 13 *')");
  CHECK(std::string{crontab_error("0 0 * * 1-8").what()} ==
        "day of week: '8' is out of range 0-7 (at column 11 of '0 0 * * 1-8')");
  CHECK(std::string{crontab_error("60 0 0 * * *").what()} ==
        "second: '60' is out of range 0-59 (at column 1 of '60 0 0 * * *')");
  CHECK(std::string{crontab_error("0 0 0 * * * 1969").what()} ==
        "year: '1969' is out of range 1970-9999 (at column 13 of '0 0 0 * * * 1969')");
  // A huge number is out of range, not an overflow.
  CHECK(crontab_error("99999999999999999999 * * * *").token() == "99999999999999999999");
}

TEST_CASE("unknown names and stray characters are reported with the allowed values",
          "[triggers][cron][errors]") {
  CHECK(std::string{crontab_error("0 0 * foo *").what()} ==
        "month: 'foo' is not a number or a name (expected 1-12 or a name jan-dec) "
        "(at column 7 of '0 0 * foo *')");
  CHECK(std::string{crontab_error("0 0 * * monday").what()} ==
        "day of week: 'monday' is not a number or a name (expected 0-7 or a name sun-sat) "
        "(at column 9 of '0 0 * * monday')");
  CHECK(std::string{crontab_error("x * * * *").what()} ==
        "minute: 'x' is not a number (expected 0-59) (at column 1 of 'x * * * *')");
  CHECK(std::string{crontab_error("*x * * * *").what()} ==
        "minute: unexpected 'x' after '*' (at column 1 of '*x * * * *')");
  CHECK(crontab_error("0 L * * *").field() == "hour");
}

TEST_CASE("bad steps, lists and ranges are errors", "[triggers][cron][errors]") {
  CHECK(std::string{crontab_error("*/0 * * * *").what()} ==
        "minute: step '0' must be at least 1 (at column 3 of '*/0 * * * *')");
  CHECK(std::string{crontab_error("1-5/ * * * *").what()} ==
        "minute: expected a step after '/' (at column 5 of '1-5/ * * * *')");
  CHECK(std::string{crontab_error("1,,2 * * * *").what()} ==
        "minute: empty element in the list (at column 3 of '1,,2 * * * *')");
  CHECK(std::string{crontab_error("0 1- * * *").what()} ==
        "hour: expected a value 0-23 (at column 5 of '0 1- * * *')");
  // cronie refuses 'a/n' (croner reads it as a-max/n); sked refuses it and says what to write.
  CHECK(std::string{crontab_error("5/15 * * * *").what()} ==
        "minute: '5/15' has a step but no range (write '5-59/15' or '*/15') (at column 1 of '5/15 "
        "* * * *')");
  CHECK(std::string{crontab_error("0 0 1 1 * 0 2030-2027").what()} ==
        "year: range '2030-2027' runs backwards (at column 13 of '0 0 1 1 * 0 2030-2027')");
  CHECK(std::string{crontab_error("0 0 * * 5#6").what()} ==
        "day of week: '6' is not an occurrence 1-5 (as in 5#3, the third Friday) (at column 11 of "
        "'0 0 * * 5#6')");
  CHECK(std::string{crontab_error("0 0 32W * *").what()} ==
        "day of month: '32' is out of range 1-31 (at column 5 of '0 0 32W * *')");
}

TEST_CASE("a wrong number of fields or an unknown nickname is an error",
          "[triggers][cron][errors]") {
  CHECK(std::string{crontab_error("* * * *").what()} ==
        "expression: expected 5 fields (minute hour day-of-month month day-of-week), 6 (seconds "
        "first) "
        "or 7 (and a year last), got 4 (at column 1 of '* * * *')");
  CHECK(crontab_error("* * * * * * * *").field() == "expression");
  CHECK(std::string{crontab_error("   ").what()} ==
        "expression: the expression is empty (at column 1 of '   ')");
  CHECK(std::string{crontab_error("@fortnightly").what()} ==
        "expression: unknown nickname '@fortnightly' (expected @yearly, @annually, @monthly, "
        "@weekly, "
        "@daily, @midnight or @hourly) (at column 1 of '@fortnightly')");
  CHECK(crontab_error("@reboot").token() == "@reboot");
  CHECK(std::string{crontab_error("@daily 5").what()} ==
        "expression: unexpected '5' after '@daily' (at column 8 of '@daily 5')");
}

TEST_CASE("field-style errors name the field and follow APScheduler's validation",
          "[triggers][cron][fields][errors]") {
  CHECK(std::string{fields_error({.minute = "*/60"}).what()} ==
        "minute: step 60 is larger than the range 0-59 allows (at column 3 of '*/60')");
  CHECK(
      std::string{fields_error({.hour = "5-1"}).what()} ==
      "hour: range '5-1' runs backwards (only crontab ranges wrap around) (at column 1 of '5-1')");
  CHECK(std::string{fields_error({.hour = "2-4/3"}).what()} ==
        "hour: step 3 is larger than the range 2-4 allows (at column 5 of '2-4/3')");
  CHECK(std::string{fields_error({.day_of_week = 7}).what()} ==
        "day_of_week: '7' is out of range 0-6 (at column 1 of '7')");
  CHECK(
      std::string{fields_error({.day_of_week = "mon-fri/2"}).what()} ==
      "day_of_week: 'mon-fri/2': a step after names is not supported; use numbers (at column 1 of "
      "'mon-fri/2')");
  CHECK(std::string{fields_error({.day = "6th mon"}).what()} ==
        "day: '6th' is not 1st, 2nd, 3rd, 4th, 5th or last (at column 1 of '6th mon')");
  CHECK(std::string{fields_error({.day = "2nd funday"}).what()} ==
        "day: 'funday' is not a day name mon-sun (at column 5 of '2nd funday')");
  CHECK(std::string{fields_error({.week = 54}).what()} ==
        "week: '54' is out of range 1-53 (at column 1 of '54')");
  CHECK(std::string{fields_error({.minute = "1, ,2"}).what()} ==
        "minute: empty element in the list (at column 4 of '1, ,2')");
  CHECK(fields_error({.second = ""}).field() == "second");
}

TEST_CASE("options are validated", "[triggers][cron][errors]") {
  CHECK_THROWS_AS(CronTrigger({.hour = 1,
                               .start_date = parse_time("2026-02-01T00:00:00Z"),
                               .end_date = parse_time("2026-01-01T00:00:00Z")}),
                  sked::InvalidArgument);
  CHECK_THROWS_AS(CronTrigger({.hour = 1, .jitter = -1s}), sked::InvalidArgument);
  CHECK_THROWS_WITH(CronTrigger::from_crontab("* * * * *", CronTrigger::Options{.hour = 1}),
                    Catch::Contains("options may set only"));
  CHECK_THROWS_AS(sked::TimeZone::locate("Mars/Olympus_Mons"), sked::TimeZoneNotFound);
}

// ---------------------------------------------------------------------------------------------------------
// Start and end dates, jitter, binding, JSON

TEST_CASE("start and end dates bound the fire times, inclusively", "[triggers][cron]") {
  const CronTrigger trigger{{.hour = 12,
                             .start_date = parse_time("2026-01-03T12:00:00Z"),
                             .end_date = parse_time("2026-01-05T12:00:00Z")}};
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T00:00:00Z")) ==
        parse_time("2026-01-03T12:00:00Z"));
  CHECK(walk(trigger, "2026-01-01T00:00:00Z", 5) ==
        Strings{"2026-01-03T12:00:00Z", "2026-01-04T12:00:00Z", "2026-01-05T12:00:00Z"});
  CHECK_FALSE(trigger.next_fire_time(std::nullopt, parse_time("2026-01-05T12:00:01Z")));
  const auto crontab = CronTrigger::from_crontab(
      "0 12 * * *", CronTrigger::Options{.end_date = parse_time("2026-01-02T12:00:00Z")});
  CHECK(walk(crontab, "2026-01-01T00:00:00Z", 5) ==
        Strings{"2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z"});
}

TEST_CASE(
    "cron jitter delays by less than the jitter, deterministically, never twice or out of order",
    "[triggers][cron][jitter]") {
  const CronTrigger trigger{{.minute = "*", .jitter = 20s, .jitter_seed = 7}};
  const auto start = parse_time("2026-01-01T00:00:00Z");
  std::optional<sked::TimePoint> t;
  sked::TimePoint last_grid = start;
  bool some_delayed = false;
  for (int i = 0; i < 200; ++i) {
    const auto previous = t;
    t = trigger.next_fire_time(t, start);
    REQUIRE(t);
    if (previous) CHECK(*t > *previous);
    // Each fire time lies within [grid, grid + jitter) of the next minute's grid time.
    const auto grid = std::chrono::floor<std::chrono::minutes>(*t);
    CHECK(*t - grid < 20s);
    CHECK(grid == last_grid + (i == 0 ? 0min : 1min));
    last_grid = grid;
    some_delayed = some_delayed || *t != grid;
  }
  CHECK(some_delayed);
  const CronTrigger same{{.minute = "*", .jitter = 20s, .jitter_seed = 7}};
  CHECK(same.next_fire_time(std::nullopt, start) == trigger.next_fire_time(std::nullopt, start));
}

TEST_CASE("a cron trigger without a zone takes the scheduler's when bound", "[triggers][cron]") {
  const auto trigger = CronTrigger::from_crontab("0 9 * * *");
  const auto zone = sked::TimeZone::locate("Asia/Kolkata");
  const auto bound = trigger.bind(parse_time("2026-01-01T00:00:00Z"), zone);
  REQUIRE(bound);
  const auto& b = dynamic_cast<const CronTrigger&>(*bound);
  CHECK(b.timezone() == zone);
  CHECK(bound->next_fire_time(std::nullopt, parse_time("2026-01-01T00:00:00Z")) ==
        parse_time("2026-01-01T09:00:00+05:30"));
  CHECK_FALSE(b.bind(parse_time("2026-01-01T00:00:00Z"), sked::TimeZone::utc()));
  // Unbound, it computes in UTC.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2026-01-01T00:00:00Z")) ==
        parse_time("2026-01-01T09:00:00Z"));
}

TEST_CASE("describe shows the given fields or the crontab line", "[triggers][cron]") {
  CHECK(CronTrigger({.day_of_week = "mon-fri", .hour = "9-17", .minute = "*/15"}).describe() ==
        "cron[day_of_week='mon-fri', hour='9-17', minute='*/15']");
  CHECK(CronTrigger::from_crontab("  */5 * * * *  ").describe() == "cron['*/5 * * * *']");
  CHECK(CronTrigger({.hour = 1, .jitter = 30s, .jitter_seed = 1}).describe() ==
        "cron[hour='1', jitter=0:00:30]");
}

TEST_CASE("cron triggers round-trip through JSON", "[triggers][cron][serialization]") {
  const auto berlin = sked::TimeZone::locate("Europe/Berlin");
  const std::vector<CronTrigger> triggers{
      CronTrigger::from_crontab("30 2 * * *", berlin),
      CronTrigger::from_crontab(
          "*/20 * * * * * 2027",
          CronTrigger::Options{.start_date = parse_time("2026-01-01T00:00:00Z"),
                               .end_date = parse_time("2027-06-01T00:00:00.25Z"),
                               .jitter = 5s,
                               .jitter_seed = 99}),
      CronTrigger{{.year = "2026-2030",
                   .month = "jan-mar",
                   .day = "last fri",
                   .week = "*/2",
                   .day_of_week = "0-4",
                   .hour = 9,
                   .minute = "5/20",
                   .second = "0",
                   .timezone = sked::TimeZone::locate("America/New_York")}},
      CronTrigger{CronTrigger::Options{}},
  };
  for (const auto& trigger : triggers) {
    INFO(trigger.to_json().dump());
    const auto j = trigger.to_json();
    CHECK(j["type"] == "cron");
    CHECK(j["version"] == 1);
    const auto back = sked::trigger_from_json(j);
    const auto& cron = dynamic_cast<const CronTrigger&>(*back);
    CHECK(cron == trigger);
    CHECK(back->to_json() == j);
    const auto now = parse_time("2026-03-01T00:00:00Z");
    CHECK(back->next_fire_time(std::nullopt, now) == trigger.next_fire_time(std::nullopt, now));
  }
}

TEST_CASE("unreadable cron JSON is a SerializationError naming the problem",
          "[triggers][cron][serialization][errors]") {
  using sked::SerializationError;
  CHECK_THROWS_WITH(
      sked::trigger_from_json({{"type", "cron"}, {"version", 1}, {"crontab", "61 * * * *"}}),
      Catch::Contains("cron trigger: minute: '61' is out of range 0-59"));
  CHECK_THROWS_WITH(
      sked::trigger_from_json({{"type", "cron"}, {"version", 2}, {"crontab", "* * * * *"}}),
      Catch::Contains("version 2"));
  CHECK_THROWS_WITH(sked::trigger_from_json({{"type", "cron"}, {"version", 1}}),
                    Catch::Contains("'crontab'") && Catch::Contains("'fields'"));
  CHECK_THROWS_WITH(
      sked::trigger_from_json({{"type", "cron"}, {"version", 1}, {"fields", {{"fortnight", "1"}}}}),
      Catch::Contains("unknown field 'fortnight'"));
  CHECK_THROWS_WITH(
      sked::trigger_from_json(
          {{"type", "cron"}, {"version", 1}, {"crontab", "* * * * *"}, {"timezone", "Mars/Base"}}),
      Catch::Contains("Mars/Base"));
  CHECK_THROWS_AS(
      sked::trigger_from_json({{"type", "cron"}, {"version", 1}, {"fields", {{"hour", 5}}}}),
      SerializationError);
}

}  // namespace SKED_TEST_FILE
