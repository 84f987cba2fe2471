#include <sked/errors.hpp>
#include <sked/job.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>

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
  CHECK(job.describe() == "report (trigger: interval[1:00:00], next run at: 2026-01-01T00:00:00Z)");
  job.next_run_time.reset();
  CHECK(job.paused());
  CHECK(job.describe() == "report (trigger: interval[1:00:00], paused)");
}

TEST_CASE("an invalid job is rejected naming the job and the field", "[job][errors]") {
  auto job = valid_job();
  CHECK_NOTHROW(job.validate());
  job.max_instances = 0;
  CHECK_THROWS_WITH(job.validate(), Catch::Contains("'report'") && Catch::Contains("max_instances"));
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
