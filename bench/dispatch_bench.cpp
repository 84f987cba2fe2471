// Dispatch throughput: N one-shot jobs all due at once, a trivial task, the memory store and a
// thread pool; executions per second from start() until the last run is recorded. The peer is
// bench/peers/apscheduler_dispatch.py (APScheduler 3, same workload).

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <string>

namespace {

// CPU time of the whole process (every thread), which a busy shared machine disturbs far less than
// elapsed time: the figure to compare changes by.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void BM_Dispatch(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  const auto n = static_cast<int>(state.range(1));
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto clock = std::make_shared<sked::ManualClock>(t0);
    std::atomic<int> done{0};
    {
      sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
      scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>(static_cast<std::size_t>(n)));
      scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(workers));
      for (int i = 0; i < n; ++i) {
        scheduler.add_job(
            {.id = "job" + std::to_string(i),
             .callable =
                 [&done](const sked::JobContext&) { done.fetch_add(1, std::memory_order_relaxed); },
             .trigger = sked::DateTrigger{t0}});
      }
      state.ResumeTiming();
      const double cpu_before = process_cpu_seconds();
      scheduler.start();
      if (!scheduler.wait_idle(std::chrono::minutes{5}))
        state.SkipWithError("scheduler did not finish");
      cpu += process_cpu_seconds() - cpu_before;
      state.PauseTiming();
      scheduler.shutdown();
    }
    if (done.load() != n) state.SkipWithError("not every job ran");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["cpu_ns_per_run"] = cpu * 1e9 / static_cast<double>(state.iterations() * n);
}

}  // namespace

BENCHMARK(BM_Dispatch)
    ->Args({2, 1'000})
    ->Args({2, 100'000})
    ->Args({8, 100'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
