// Per-run overhead of the executors for a task that does nothing: what a run costs in a worker
// process (JSON over a socket each way, a reactor thread) next to a thread, and what it costs when
// every run needs a new worker forked (a task that crashes, or a pool's first runs).
//
// The executors are driven directly (no scheduler, no store), so the figures are the executors'
// own.

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

// Counts the runs that ended, as a scheduler would hear of them.
struct Counter final : sked::RunOwner {
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0;
  int errors = 0;
  sked::TimePoint now() const override { return t0; }
  void run_ended(const sked::RunLease&, const sked::Execution& record,
                 std::optional<sked::TimePoint>, const std::string&) noexcept override {
    std::lock_guard lock(mutex);
    ++done;
    errors += record.status == sked::ExecutionStatus::error ? 1 : 0;
    cv.notify_all();
  }
};

// Leases for `n` runs of `task`, from a memory store, made before the clock runs: the executor's
// part is what is measured.
std::vector<sked::RunLease> make_runs(sked::JobStore& store,
                                      const std::shared_ptr<Counter>& counter,
                                      const std::string& task, int n, int round, int& added) {
  std::vector<sked::RunLease> runs;
  runs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    sked::Job job;
    job.id = "job" + std::to_string(i);
    job.name = job.id;
    job.task = task;
    job.trigger = std::make_shared<sked::DateTrigger>(t0);
    if (i >= added) store.add_job(job);
    auto run = store.start_run(job.id, t0 + std::chrono::microseconds{round}, counter);
    run.set_task(tasks().find(task));
    runs.push_back(std::move(run));
  }
  if (n > added) added = n;
  return runs;
}

// One store per benchmark: its jobs are added once, and each batch starts new runs of them.
struct Batches {
  std::shared_ptr<sked::MemoryJobStore> store = std::make_shared<sked::MemoryJobStore>(0);
  int round = 0;
  int added = 0;  // jobs job0 .. job<added - 1> are in the store

  // Submits `n` runs and waits for all of them to complete; making the leases is not timed.
  void run(sked::Executor& executor, const std::string& task, int n, benchmark::State* state) {
    if (state) state->PauseTiming();
    const auto counter = std::make_shared<Counter>();
    auto runs = make_runs(*store, counter, task, n, round++, added);
    if (state) state->ResumeTiming();
    for (auto& run : runs) executor.submit(std::move(run));
    std::unique_lock lock(counter->mutex);
    counter->cv.wait(lock, [&] { return counter->done == n; });
    if (state && task == "noop" && counter->errors != 0) state->SkipWithError("a run failed");
  }
};

constexpr int batch = 1000;

void BM_ThreadPool(benchmark::State& state) {
  sked::ThreadPoolExecutor pool{static_cast<std::size_t>(state.range(0))};
  pool.start(nullptr);
  Batches batches;
  for (auto _ : state) batches.run(pool, "noop", batch, &state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_ProcessPool(benchmark::State& state) {
  sked::ProcessPoolExecutor pool{static_cast<std::size_t>(state.range(0)), tasks()};
  pool.start(nullptr);
  Batches batches;
  batches.run(pool, "noop", 100, nullptr);  // warm: the workers exist before timing starts
  for (auto _ : state) batches.run(pool, "noop", batch, &state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * batch);
}

// Every run forks a worker from the zygote, runs, and is reaped: the cost of a crash, or of a cold
// pool.
void BM_ProcessPoolNewWorkerPerRun(benchmark::State& state) {
  sked::ProcessPoolExecutor pool{static_cast<std::size_t>(state.range(0)), tasks()};
  pool.start(nullptr);
  constexpr int runs = 100;
  Batches batches;
  for (auto _ : state) batches.run(pool, "exit", runs, &state);
  pool.shutdown(true);
  state.SetItemsProcessed(state.iterations() * runs);
}

}  // namespace

BENCHMARK(BM_ThreadPool)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProcessPool)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProcessPoolNewWorkerPerRun)
    ->Arg(1)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

int main(int argc, char** argv) {
  register_tasks();  // while the program has one thread, before any pool is created
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
