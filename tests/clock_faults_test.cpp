// What happens when the wall clock jumps: documented in docs/clock.md.

#include "support/recorder.hpp"

#include <sked/sked.hpp>

#include <catch2/catch.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

struct Jumpy {
  std::shared_ptr<sked::ManualClock> clock = std::make_shared<sked::ManualClock>(t0);
  sked::test::LogRecorder logs;
  sked::BackgroundScheduler scheduler{
      {.clock = clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()}};
  std::atomic<int> runs{0};
  std::vector<sked::TimePoint> run_times;
  std::mutex m;

  Jumpy() {
    scheduler.add_job({.id = "minutely",
                       .callable =
                           [this](const sked::JobContext& ctx) {
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

TEST_CASE("a forward jump of hours runs one coalesced run and records the rest missed",
          "[clock][faults]") {
  Jumpy j;
  j.jump(3h);
  CHECK(j.runs == 1);
  CHECK(j.run_times.back() == t0 + 3h);
  // 180 fire times passed: one ran, the other 179 are recorded, none silently dropped.
  CHECK(j.scheduler.get_executions({.status = ExecutionStatus::missed, .limit = 1000}).size() ==
        179);
  CHECK(j.logs.contains(sked::LogLevel::warning, "was missed by"));
  CHECK(j.scheduler.get_job("minutely")->next_run_time == t0 + 3h + 1min);
}

TEST_CASE("a backward jump never repeats a fire time that already ran", "[clock][faults]") {
  Jumpy j;
  j.jump(5min);
  REQUIRE(j.runs == 1);
  j.jump(-1h);
  // The next fire time is still 00:06; the clock now reads 23:05 of the day before, so the job
  // waits for the clock to catch up instead of running 23:06, 23:07, ... a second time.
  CHECK(j.scheduler.waiting_until() == t0 + 6min);
  j.jump(30min);
  CHECK(j.runs == 1);
  j.jump(31min);
  CHECK(j.runs == 2);
  CHECK(j.run_times.back() == t0 + 6min);
}

TEST_CASE("the loop sleeps until the next fire time, and a jump of the clock wakes it at once",
          "[clock][faults]") {
  Jumpy j;
  // Not bounded by max_wait (1 s): the clock reports its jumps, and the memory store its changes.
  CHECK(j.scheduler.waiting_until() == t0 + 1min);
  j.clock->set(t0 + 30min);  // wakes the loop, which runs the coalesced fire time
  REQUIRE(j.scheduler.wait_idle());
  CHECK(j.runs == 1);
  CHECK(j.scheduler.waiting_until() == t0 + 31min);
}

TEST_CASE("the system clock reports steps of the wall clock, so a sleeping loop hears of them",
          "[clock][faults]") {
  // A timerfd with TFD_TIMER_CANCEL_ON_SET, which every Linux since 3.0 offers; stepping the real
  // clock to see it fire needs CAP_SYS_TIME, which a test must not use.
  REQUIRE(sked::SystemClock::instance()->reports_jumps());
  sked::BackgroundScheduler scheduler{{.timezone = sked::TimeZone::utc()}};
  const auto due = sked::SystemClock::instance()->now() + 1h;
  scheduler.add_job({.id = "later",
                     .callable = [](const sked::JobContext&) {},
                     .trigger = sked::DateTrigger{due}});
  scheduler.start();
  REQUIRE(scheduler.wait_idle());
  CHECK(scheduler.waiting_until() == due);  // one sleep, not one per max_wait
  scheduler.shutdown();
}

}  // namespace SKED_TEST_FILE
