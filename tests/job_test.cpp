#include "detail/job_json.hpp"

#include <sked/errors.hpp>
#include <sked/job.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

namespace {
sked::Job valid_job() {
  sked::Job job;
  job.id = "report";
  job.name = "report";
  job.task = "send_report";
  job.trigger = std::make_shared<sked::IntervalTrigger>(1h);
  return job;
}
}  // namespace

TEST_CASE("a job describes itself as APScheduler prints jobs", "[job]") {
  auto job = valid_job();
  job.next_run_time = sked::parse_time("2026-01-01T00:00:00Z");
  CHECK(job.describe() ==
        "report (trigger: interval[1:00:00], next run at: 2026-01-01 00:00:00 UTC)");
  // In a zone, as its wall clock and abbreviation show it; fractions of a second only when there
  // are some.
  const auto berlin = sked::TimeZone::locate("Europe/Berlin");
  job.next_run_time = sked::parse_time("2026-06-01T09:00:00.25+02:00");
  CHECK(job.describe(berlin) ==
        "report (trigger: interval[1:00:00], next run at: 2026-06-01 09:00:00.25 CEST)");
  job.next_run_time = sked::parse_time("2026-12-01T18:00:00Z");
  CHECK(job.describe(berlin) ==
        "report (trigger: interval[1:00:00], next run at: 2026-12-01 19:00:00 CET)");
  job.next_run_time.reset();
  CHECK(job.paused());
  CHECK(job.describe() == "report (trigger: interval[1:00:00], paused)");
}

TEST_CASE("an invalid job is rejected naming the job and the field", "[job][errors]") {
  auto job = valid_job();
  CHECK_NOTHROW(job.validate());
  job.max_instances = 0;
  CHECK_THROWS_WITH(job.validate(),
                    Catch::Contains("'report'") && Catch::Contains("max_instances"));
  job = valid_job();
  job.task.clear();
  CHECK_THROWS_WITH(job.validate(), Catch::Contains("no task"));
  job = valid_job();
  job.misfire_grace_time = -1s;
  CHECK_THROWS_WITH(job.validate(), Catch::Contains("misfire_grace_time"));
  job = valid_job();
  job.trigger.reset();
  CHECK_THROWS_WITH(job.validate(), Catch::Contains("no trigger"));
  job = valid_job();
  job.id.clear();
  CHECK_THROWS_AS(job.validate(), sked::InvalidArgument);
}

TEST_CASE("a job's reported state: a running job that does not coalesce waits, it is not unclaimed",
          "[job][state][coalesce]") {
  const auto now = sked::parse_time("2026-01-01T00:10:00Z");
  auto job = valid_job();
  job.next_run_time = now - 5s;
  CHECK(sked::detail::job_state(job, now, true) == "scheduled");
  job.next_run_time = now - 5min;  // due long ago and not claimed
  CHECK(sked::detail::job_state(job, now, false) == "overdue");
  CHECK(sked::detail::job_state(job, now, true) == "task unknown");
  // Running and coalescing: a claim would have skipped the fire time, so it is unclaimed all the
  // same.
  CHECK(sked::detail::job_state(job, now, true, true) == "task unknown");
  // Running and not coalescing: its fire times wait for the run to end (Job::coalesce).
  job.coalesce = false;
  CHECK(sked::detail::job_state(job, now, true, true) == "scheduled");
  CHECK(sked::detail::job_state(job, now, false, true) ==
        "overdue");  // no scheduler to end the run
  job.next_run_time.reset();
  CHECK(sked::detail::job_state(job, now, true, true) == "paused");
}

}  // namespace SKED_TEST_FILE
