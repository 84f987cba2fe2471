// How fast the PostgreSQL store takes jobs in, claims them and records their runs, against a
// throwaway local server on a Unix socket (started by the benchmark; fsync off, so these are the
// costs of round trips and of the server's work, not of a disk).
//
//   cmake --preset release && cmake --build --preset release --target sked_postgres_bench
//   build/release/bench/sked_postgres_bench
//
// Items per second are jobs added, runs claimed *and* recorded as executed (each completion its own
// committed transaction, as the scheduler writes it), or next_run_time() calls (what an idle
// scheduler pays per poll). sqlite_bench.cpp measures the same on the SQLite store.

#include <sked/sked.hpp>
#include <sked/stores/postgres.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "support/postgres_server.hpp"

#include <atomic>
#include <string>

namespace {

using namespace std::chrono_literals;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

std::shared_ptr<sked::PostgresJobStore> fresh_store() {
  static std::atomic<int> n{0};
  return std::make_shared<sked::PostgresJobStore>(
      sked::test::PostgresServer::instance().conninfo(),
      sked::PostgresJobStoreOptions{.schema = "bench_" + std::to_string(++n),
                                    .listen = false,
                                    .on_warning = [](std::string_view) {}});
}

sked::Job interval_job(int i) {
  sked::Job job;
  job.id = "job" + std::to_string(i);
  job.name = job.id;
  job.task = "noop";
  job.args = {{"n", i}};
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1s, {.start_date = t0}});
  job.misfire_grace_time = 60s;
  job.next_run_time = t0;
  return job;
}

void add_job(benchmark::State& state) {
  const auto store = fresh_store();
  int i = 0;
  for (auto _ : state) store->add_job(interval_job(i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(add_job)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One iteration: 1,000 due jobs claimed in batches of range(0) (512 is the scheduler's default; 1
// is a scheduler whose executors have room for one run), each run then recorded executed on its
// own.
void claim_and_record(benchmark::State& state) {
  constexpr int jobs = 1000;
  const auto store = fresh_store();
  for (int i = 0; i < jobs; ++i) store->add_job(interval_job(i));
  auto now = t0;
  for (auto _ : state) {
    for (;;) {
      auto claims = store->claim_due_jobs(now, static_cast<std::size_t>(state.range(0)), {});
      if (claims.empty()) break;
      for (auto& claim : claims) {
        for (auto& run : claim.runs)
          run.complete({.status = sked::ExecutionStatus::executed, .duration = 5us});
      }
    }
    now += 1s;
  }
  state.SetItemsProcessed(state.iterations() * jobs);
}
BENCHMARK(claim_and_record)->Arg(512)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void next_run_time(benchmark::State& state) {
  const auto store = fresh_store();
  for (int i = 0; i < 1000; ++i) store->add_job(interval_job(i));
  for (auto _ : state) benchmark::DoNotOptimize(store->next_run_time());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(next_run_time)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
