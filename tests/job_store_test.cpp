#include <sked/job_store.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

sked::Job every_minute(sked::TimePoint start, sked::Duration grace, bool coalesce,
                       int max_instances = 1) {
  sked::Job job;
  job.id = "j";
  job.name = "j";
  job.task = "t";
  job.trigger = std::make_shared<sked::IntervalTrigger>(
      sked::IntervalTrigger{{.minutes = 1, .start_date = start}});
  job.misfire_grace_time = grace;
  job.coalesce = coalesce;
  job.max_instances = max_instances;
  job.next_run_time = start;
  return job;
}

std::vector<ExecutionStatus> statuses(const sked::FirePlan& plan) {
  std::vector<ExecutionStatus> out;
  for (const auto& e : plan.executions) out.push_back(e.status);
  return out;
}

}  // namespace

TEST_CASE("a due run within the grace time is started and the job advances", "[store][policy]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  const auto plan = sked::plan_fire(every_minute(start, 60s, true), start + 5s, 0);
  REQUIRE(plan.executions.size() == 1);
  CHECK(plan.executions[0].status == ExecutionStatus::started);
  CHECK(plan.executions[0].run_time == start);
  CHECK(plan.executions[0].job_id == "j");
  CHECK(plan.next_run_time == start + 1min);
}

TEST_CASE("runs later than the grace time are recorded missed", "[store][policy][misfire]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  // Three fire times overdue at 00:02:30 with 60 s grace: 00:00 and 00:01 missed, 00:02 runs.
  const auto plan = sked::plan_fire(every_minute(start, 60s, false), start + 150s, 0);
  CHECK(statuses(plan) ==
        std::vector{ExecutionStatus::missed, ExecutionStatus::missed, ExecutionStatus::started});
  CHECK(plan.next_run_time == start + 3min);
}

TEST_CASE("coalescing folds overdue runs into the latest and records the folded ones",
          "[store][policy][coalesce]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  const auto plan = sked::plan_fire(every_minute(start, 1h, true), start + 150s, 0);
  CHECK(statuses(plan) ==
        std::vector{ExecutionStatus::missed, ExecutionStatus::missed, ExecutionStatus::started});
  CHECK(plan.executions.back().run_time == start + 2min);

  const auto all = sked::plan_fire(every_minute(start, 1h, false, 5), start + 150s, 0);
  CHECK(statuses(all) ==
        std::vector{ExecutionStatus::started, ExecutionStatus::started, ExecutionStatus::started});
}

TEST_CASE("runs beyond max_instances of a coalescing job are recorded as skipped",
          "[store][policy][max_instances]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  CHECK(statuses(sked::plan_fire(every_minute(start, 60s, true, 1), start, 1)) ==
        std::vector{ExecutionStatus::max_instances});
  const auto folded = sked::plan_fire(every_minute(start, 1h, true, 1), start + 150s, 1);
  CHECK(statuses(folded) == std::vector{ExecutionStatus::missed, ExecutionStatus::missed,
                                        ExecutionStatus::max_instances});
  CHECK(folded.waiting == 0);
  CHECK(folded.next_run_time == start + 3min);
}

TEST_CASE("runs beyond max_instances of a job that does not coalesce wait, due, unrecorded",
          "[store][policy][max_instances][coalesce]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  // Three due, one of two instances free: one starts, two wait and the job stays on the first of
  // them.
  const auto plan = sked::plan_fire(every_minute(start, 1h, false, 2), start + 150s, 1);
  CHECK(statuses(plan) == std::vector{ExecutionStatus::started});
  CHECK(plan.executions.at(0).run_time == start);
  CHECK(plan.waiting == 2);
  CHECK(plan.next_run_time == start + 1min);
  // One due, none free: nothing is recorded and the job stays where it is.
  const auto none = sked::plan_fire(every_minute(start, 60s, false, 1), start + 5s, 1);
  CHECK(none.executions.empty());
  CHECK(none.waiting == 1);
  CHECK(none.next_run_time == start);
  // Waiting does not lift the grace time: the fire times later than it are recorded missed.
  const auto late = sked::plan_fire(every_minute(start, 60s, false, 1), start + 150s, 1);
  CHECK(statuses(late) == std::vector{ExecutionStatus::missed, ExecutionStatus::missed});
  CHECK(late.waiting == 1);
  CHECK(late.next_run_time == start + 2min);
}

TEST_CASE("a finished one-shot job has no next run time", "[store][policy]") {
  const auto when = sked::parse_time("2026-01-01T00:00:00Z");
  sked::Job job;
  job.id = "once";
  job.task = "t";
  job.trigger = std::make_shared<sked::DateTrigger>(when);
  job.next_run_time = when;
  job.misfire_grace_time = 60s;
  const auto plan = sked::plan_fire(job, when, 0);
  CHECK(statuses(plan) == std::vector{ExecutionStatus::started});
  CHECK_FALSE(plan.next_run_time.has_value());
}

TEST_CASE("a long outage lists a bounded number of run times and lands in the present",
          "[store][policy]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  auto job = every_minute(start, 60s, true);
  job.trigger = std::make_shared<sked::IntervalTrigger>(
      sked::IntervalTrigger{{.seconds = 1, .start_date = start}});
  const auto now = start + std::chrono::days{14};  // 1.2 million fire times
  const auto plan = sked::plan_fire(job, now, 0);
  CHECK(plan.executions.size() <= sked::max_run_times_per_claim);
  CHECK(plan.executions.back().status == ExecutionStatus::started);
  CHECK(plan.executions.back().run_time == now);
  CHECK(plan.next_run_time == now + 1s);
}

TEST_CASE("a job without a misfire limit runs however late it is", "[store][policy][misfire]") {
  const auto start = sked::parse_time("2026-01-01T00:00:00Z");
  const auto plan =
      sked::plan_fire(every_minute(start, sked::no_misfire_limit, false), start + 24h * 3650, 0);
  REQUIRE_FALSE(plan.executions.empty());
  for (const auto& e : plan.executions) CHECK(e.status != ExecutionStatus::missed);
  const auto requested = sked::plan_requested_run(
      every_minute(start, sked::no_misfire_limit, false), start, start + 24h * 3650, 0);
  CHECK(requested.status == ExecutionStatus::started);
}

}  // namespace SKED_TEST_FILE
