#include <date/tz.h>

#include <sked/errors.hpp>
#include <sked/time.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::parse_time;
using sked::TimeZone;

TEST_CASE("ISO-8601 instants parse with offsets, Z and fractions", "[time]") {
  const auto t = parse_time("2026-03-29T03:00:00+02:00");
  CHECK(sked::format_time(t) == "2026-03-29T01:00:00Z");
  CHECK(parse_time("2026-03-29T01:00:00Z") == t);
  CHECK(parse_time("2026-03-29T01:00:00.25Z") - t == 250ms);
  CHECK(sked::format_time(parse_time("2026-03-29T01:00:00.000001Z")) ==
        "2026-03-29T01:00:00.000001Z");
  CHECK(parse_time("2026-03-29") == parse_time("2026-03-29T00:00:00Z"));
}

TEST_CASE("times are formatted in a zone with its offset", "[time]") {
  const auto berlin = TimeZone::locate("Europe/Berlin");
  CHECK(sked::format_time(parse_time("2026-03-29T01:00:00Z"), berlin) ==
        "2026-03-29T03:00:00+02:00");
  CHECK(sked::format_time(parse_time("2026-01-10T12:00:00Z"), berlin) ==
        "2026-01-10T13:00:00+01:00");
  const auto kolkata = TimeZone::locate("Asia/Kolkata");
  CHECK(sked::format_time(parse_time("2026-01-10T12:00:00Z"), kolkata) ==
        "2026-01-10T17:30:00+05:30");
}

TEST_CASE("a wall time without offset is read in the given zone, DST gaps move forward", "[time]") {
  const auto berlin = TimeZone::locate("Europe/Berlin");
  CHECK(parse_time("2026-07-01T12:00:00", berlin) == parse_time("2026-07-01T10:00:00Z"));
  // 02:30 does not exist on 2026-03-29 in Berlin: the first instant after the gap.
  CHECK(parse_time("2026-03-29T02:30:00", berlin) == parse_time("2026-03-29T03:00:00+02:00"));
  // 02:30 happens twice on 2026-10-25: the first one.
  CHECK(parse_time("2026-10-25T02:30:00", berlin) == parse_time("2026-10-25T02:30:00+02:00"));
}

TEST_CASE("bad times and unknown zones are errors that name the input", "[time][errors]") {
  CHECK_THROWS_WITH(parse_time("2026-02-30T00:00:00Z"),
                    Catch::Contains("2026-02-30") && Catch::Contains("no such date"));
  CHECK_THROWS_WITH(parse_time("yesterday"), Catch::Contains("'yesterday'"));
  CHECK_THROWS_WITH(parse_time("2026-01-01T25:00:00Z"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(parse_time("2026-01-01T00:00:00Zjunk"), Catch::Contains("column 21"));
  CHECK_THROWS_AS(TimeZone::locate("Mars/Olympus_Mons"), sked::TimeZoneNotFound);
  CHECK_THROWS_WITH(TimeZone::locate("Mars/Olympus_Mons"), Catch::Contains("'Mars/Olympus_Mons'"));
  CHECK_THROWS_AS(TimeZone::locate(""), sked::TimeZoneNotFound);
}

TEST_CASE("durations print like APScheduler's timedelta", "[time]") {
  CHECK(sked::format_duration(3s) == "0:00:03");
  CHECK(sked::format_duration(26h + 1s) == "1 day, 2:00:01");
  CHECK(sked::format_duration(250ms) == "0:00:00.250000");
  CHECK(sked::format_duration(-3s) == "-0:00:03");
}

TEST_CASE("a manual clock moves only when told and wakes its sleepers", "[time][clock]") {
  sked::ManualClock clock{parse_time("2026-01-01T00:00:00Z")};
  const auto start = clock.now();
  clock.advance(15s);
  CHECK(clock.now() - start == 15s);
  clock.set(start);
  CHECK(clock.now() == start);

  std::mutex m;
  std::condition_variable cv;
  bool woke = false;
  auto sub = clock.on_jump([&] {
    std::lock_guard l(m);
    cv.notify_all();
  });
  std::thread sleeper([&] {
    std::unique_lock l(m);
    while (clock.now() < start + 10s) clock.wait_until(cv, l, start + 10s);
    woke = true;
  });
  clock.advance(10s);
  sleeper.join();
  CHECK(woke);

  int calls = 0;
  {
    auto counted = clock.on_jump([&] { ++calls; });
    clock.advance(1s);
  }
  clock.advance(1s);
  CHECK(calls == 1);  // unsubscribed when the subscription went away
}

TEST_CASE("the system clock reads the real time", "[time][clock]") {
  const auto before = std::chrono::system_clock::now();
  const auto now = sked::SystemClock{}.now();
  CHECK(now >= std::chrono::time_point_cast<sked::Duration>(before) - 1s);
}

TEST_CASE("DST keeps its rules after 2037, where the zone files' listed transitions end",
          "[time][dst]") {
  const auto berlin = TimeZone::locate("Europe/Berlin");
  CHECK(berlin.offset(parse_time("2038-07-01T12:00:00Z")) == 2h);
  CHECK(berlin.offset(parse_time("2038-01-15T12:00:00Z")) == 1h);
  // Last Sunday of March 2040 is the 25th: 02:30 does not exist, the first instant after the gap.
  CHECK(parse_time("2040-03-25T02:30:00", berlin) == parse_time("2040-03-25T03:00:00+02:00"));
  CHECK(berlin
            .info(sked::LocalTime{date::local_days{date::year{2040} / 10 / 28}.time_since_epoch()} +
                  2h + 30min)
            .result == date::local_info::ambiguous);
  // First Sunday of November 2099 is the 1st: 01:30 happens twice in New York.
  const auto ny = TimeZone::locate("America/New_York");
  CHECK(parse_time("2099-11-01T01:30:00", ny) == parse_time("2099-11-01T01:30:00-04:00"));
  // Southern hemisphere: summer time in January.
  const auto sydney = TimeZone::locate("Australia/Sydney");
  CHECK(sydney.offset(parse_time("2050-01-15T00:00:00Z")) == 11h);
  CHECK(sydney.offset(parse_time("2050-07-15T00:00:00Z")) == 10h);
  // A zone without DST is untouched.
  CHECK(TimeZone::locate("Asia/Kolkata").offset(parse_time("2050-07-15T00:00:00Z")) == 5h + 30min);
  for (int year = 2038; year < 2100; ++year) {
    const auto july = sked::TimePoint{date::sys_days{date::year{year} / 7 / 1}.time_since_epoch()};
    const auto january =
        sked::TimePoint{date::sys_days{date::year{year} / 1 / 1}.time_since_epoch()};
    CHECK(berlin.offset(july) == 2h);
    CHECK(berlin.offset(january) == 1h);
    CHECK(ny.offset(july) == -4h);
  }
}

namespace {

// Sets TZ for one test and puts back what was there.
class ScopedTz {
 public:
  explicit ScopedTz(const char* value) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", value, 1);
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
  }

 private:
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("the local zone comes from TZ: a name, a colon and a name, or a zoneinfo path",
          "[time][zone]") {
  {
    ScopedTz tz{"Europe/Berlin"};
    CHECK(sked::TimeZone::local().name() == "Europe/Berlin");
  }
  {
    ScopedTz tz{":America/New_York"};
    CHECK(sked::TimeZone::local().name() == "America/New_York");
  }
  {
    ScopedTz tz{"/usr/share/zoneinfo/Asia/Tokyo"};
    CHECK(sked::TimeZone::local().name() == "Asia/Tokyo");
  }
}

TEST_CASE("a TZ sked cannot read is refused, naming it, instead of silently becoming UTC",
          "[time][zone][errors]") {
  {
    ScopedTz tz{"Bogus/Zone"};
    CHECK_THROWS_AS(sked::TimeZone::local(), sked::TimeZoneNotFound);
    CHECK_THROWS_WITH(
        sked::TimeZone::local(),
        Catch::StartsWith(
            "TZ='Bogus/Zone' is not a time zone in the tz database: set TZ to an IANA name"));
  }
  {
    ScopedTz tz{"CET-1CEST,M3.5.0,M10.5.0/3"};
    CHECK_THROWS_WITH(
        sked::TimeZone::local(),
        Catch::StartsWith(
            "TZ='CET-1CEST,M3.5.0,M10.5.0/3' is a POSIX TZ rule, which sked does not read"));
  }
  {
    ScopedTz tz{"/etc/hostname"};
    CHECK_THROWS_WITH(sked::TimeZone::local(),
                      Catch::Contains("TZ='/etc/hostname' is not a file in a zoneinfo directory"));
  }
  {
    ScopedTz tz{"/no/such/zoneinfo/Europe/Berlin"};
    CHECK_THROWS_WITH(sked::TimeZone::local(),
                      Catch::Contains("is not a file in a zoneinfo directory"));
  }
}

}  // namespace SKED_TEST_FILE
