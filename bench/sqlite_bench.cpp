// How fast the SQLite store takes jobs in and records their runs, in a file on the local disk.
//
//   cmake --preset release && cmake --build --preset release --target sqlite_bench
//   build/release/bench/sqlite_bench
//
// Items per second are jobs added, or runs claimed *and* recorded as executed. One thread
// completing runs one after another commits each on its own (claim_and_record); worker threads
// finishing runs while one is being written have theirs written together, one commit per batch
// (scheduler_end_to_end). The /0 variants use synchronous=NORMAL
// (the default: survives a process crash), /1 synchronous=FULL (also survives power loss: one fsync
// per commit). bench/peers/apscheduler_sqlite.py measures the same with APScheduler 3's
// SQLAlchemyJobStore.

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "scratch_file.hpp"

#include <string>

namespace {

using namespace std::chrono_literals;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

using sked::bench::ScratchFile;

sked::SqliteJobStoreOptions options(const benchmark::State& state) {
  return {.synchronous = state.range(0) != 0 ? "FULL" : "NORMAL",
          .on_warning = [](std::string_view) {}};
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
  ScratchFile file;
  const auto store = std::make_shared<sked::SqliteJobStore>(file.path(), options(state));
  int i = 0;
  for (auto _ : state) store->add_job(interval_job(i++));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(add_job)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One iteration: 1,000 due jobs claimed in batches of 512 (the scheduler's default), each run then
// recorded executed on its own.
void claim_and_record(benchmark::State& state) {
  constexpr int jobs = 1000;
  ScratchFile file;
  const auto store = std::make_shared<sked::SqliteJobStore>(file.path(), options(state));
  for (int i = 0; i < jobs; ++i) store->add_job(interval_job(i));
  auto now = t0;
  for (auto _ : state) {
    for (;;) {
      auto claims = store->claim_due_jobs(now, 512, {});
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
BENCHMARK(claim_and_record)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole path: a BackgroundScheduler on the SQLite store, 4 worker threads, 1,000 jobs with a
// no-op task due every (manual-clock) second; one iteration advances the clock and waits until
// every run is recorded.
void scheduler_end_to_end(benchmark::State& state) {
  constexpr int jobs = 1000;
  ScratchFile file;
  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::BackgroundScheduler scheduler{{.clock = clock,
                                       .timezone = sked::TimeZone::utc(),
                                       .logger = [](sked::LogLevel, std::string_view) {}}};
  auto store = std::make_shared<sked::SqliteJobStore>(file.path(), options(state));
  for (int i = 0; i < jobs; ++i) store->add_job(interval_job(i));
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(4));
  scheduler.tasks().add("noop", [](const sked::JobContext&) {});
  scheduler.start();
  if (!scheduler.wait_idle(60s)) state.SkipWithError("the scheduler did not settle");
  for (auto _ : state) {
    clock->advance(1s);
    if (!scheduler.wait_idle(60s)) state.SkipWithError("the scheduler did not settle");
  }
  state.SetItemsProcessed(state.iterations() * jobs);
  scheduler.shutdown();
  const auto executed =
      store->get_executions({.status = sked::ExecutionStatus::executed, .limit = 1});
  if (executed.empty()) state.SkipWithError("nothing was recorded");
}
BENCHMARK(scheduler_end_to_end)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
