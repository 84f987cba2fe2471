// Per-run overhead of the executors for a task that does nothing: what a run costs in a worker process
// (JSON over a socket each way, a reactor thread) next to a thread, and what it costs when every run
// needs a new worker forked (a task that crashes, or a pool's first runs).
//
// The executors are driven directly (no scheduler, no store), so the figures are the executors' own.

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

// One registry for the whole program, filled in main before any pool forks its zygote.
sked::TaskRegistry& tasks() {
  static sked::TaskRegistry registry;
  return registry;
}

void register_tasks() {
  tasks().add("noop", [](const sked::JobContext&) {});
  tasks().add("exit", [](const sked::JobContext&) { std::_Exit(0); });  // every run ends its worker
}

sked::Run make_run(const std::string& task, std::int64_t id) {
  auto job = std::make_shared<sked::Job>();
  job->id = "job" + std::to_string(id);
  job->name = job->id;
  job->task = task;
  job->trigger = std::make_shared<sked::DateTrigger>(t0);
  sked::Execution e;
  e.id = id;
  e.job_id = job->id;
  e.run_time = t0;
  return sked::Run{job, e, tasks().find(task)};
}

// Submits `n` runs and waits for all of them to complete.
void run_batch(sked::Executor& executor, const std::string& task, int n, benchmark::State& state) {
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0;
  int errors = 0;
  for (int i = 0; i < n; ++i) {
    executor.submit(make_run(task, i), [&](const sked::Run&, sked::Outcome outcome) {
      std::lock_guard lock(mutex);
      ++done;
      errors += outcome.status == sked::ExecutionStatus::error ? 1 : 0;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return done == n; });
  if (task == "noop" && errors != 0) state.SkipWithError("a run failed");
}

constexpr int batch = 1000;

void BM_ThreadPool(benchmark::State& state) {
  sked::ThreadPoolExecutor pool{static_cast<std::size_t>(state.range(0))};
  pool.start(nullptr);
  for (auto _ : state) run_batch(pool, "noop", batch, state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_ProcessPool(benchmark::State& state) {
  sked::ProcessPoolExecutor pool{static_cast<std::size_t>(state.range(0)), tasks()};
  pool.start(nullptr);
  run_batch(pool, "noop", 100, state);  // warm: the workers exist before timing starts
  for (auto _ : state) run_batch(pool, "noop", batch, state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * batch);
}

// Every run forks a worker from the zygote, runs, and is reaped: the cost of a crash, or of a cold pool.
void BM_ProcessPoolNewWorkerPerRun(benchmark::State& state) {
  sked::ProcessPoolExecutor pool{static_cast<std::size_t>(state.range(0)), tasks()};
  pool.start(nullptr);
  constexpr int runs = 100;
  for (auto _ : state) run_batch(pool, "exit", runs, state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * runs);
}

}  // namespace

BENCHMARK(BM_ThreadPool)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProcessPool)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProcessPoolNewWorkerPerRun)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  register_tasks();  // while the program has one thread, before any pool is created
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
