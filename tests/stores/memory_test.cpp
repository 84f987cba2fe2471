#include "support/recorder.hpp"

#include <sked/stores/memory.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("100,000 jobs: finding the due ones asks only their triggers", "[store][memory][scale]") {
  std::atomic<long> calls{0};
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  sked::MemoryJobStore store;
  constexpr int n = 100'000;
  for (int i = 0; i < n; ++i) {
    sked::Job job;
    job.id = "job" + std::to_string(i);
    job.task = "t";
    // Job i is first due at t0 + i seconds; each fires every hour.
    job.trigger = std::make_shared<sked::test::CountingTrigger>(t0 + std::chrono::seconds{i}, 1h, &calls);
    job.misfire_grace_time = 1h;
    job.next_run_time = t0 + std::chrono::seconds{i};
    store.add_job(job);
  }
  REQUIRE(store.size() == n);
  calls = 0;
  const auto claims = store.claim_due_jobs(t0 + 9s, 1000, {});
  CHECK(claims.size() == 10);
  // One call per due job to find its next fire time; none for the other 99,990.
  CHECK(calls.load() == 10);
  CHECK(store.next_run_time() == t0 + 10s);
}

TEST_CASE("the memory store keeps a bounded history, dropping the oldest first", "[store][memory][history]") {
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  sked::MemoryJobStore store{3};
  sked::Job job;
  job.id = "j";
  job.task = "t";
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1min, {.start_date = t0}});
  job.misfire_grace_time = 1h;
  job.coalesce = false;
  job.max_instances = 10;
  job.next_run_time = t0;
  store.add_job(job);
  (void)store.claim_due_jobs(t0 + 4min, 10, {});  // five runs
  const auto history = store.get_executions({});
  REQUIRE(history.size() == 3);
  CHECK(history.front().run_time == t0 + 4min);
  CHECK(history.back().run_time == t0 + 2min);
}
