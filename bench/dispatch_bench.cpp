// Dispatch throughput: N one-shot jobs all due at once, a trivial task, the memory store and a
// thread pool; executions per second from start() until the last run is recorded. The peer is
// bench/peers/apscheduler_dispatch.py (APScheduler 3, same workload); BM_DispatchFloor below is the
// machine's floor for it.

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include "process_cpu.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using sked::bench::process_cpu_seconds;

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

// A one-shot job of the floors below: an id, a due time, a std::function.
struct FloorJob {
  std::string id;
  std::chrono::system_clock::time_point at;
  std::function<void()> task;
};

bool later(const FloorJob& a, const FloorJob& b) { return a.at > b.at; }

// n jobs, all due now, in a binary heap (soonest first by `later`); each counts itself in `done`.
std::vector<FloorJob> floor_heap(int n, std::atomic<int>& done) {
  std::vector<FloorJob> heap;
  heap.reserve(static_cast<std::size_t>(n));
  const auto t0 = std::chrono::system_clock::now();
  for (int i = 0; i < n; ++i) {
    heap.push_back(
        {"job" + std::to_string(i), t0, [&done] { done.fetch_add(1, std::memory_order_relaxed); }});
    std::push_heap(heap.begin(), heap.end(), later);
  }
  return heap;
}

// The machine's floor for the same workload: what any scheduler must do at the least. A binary heap
// of one-shot jobs (an id, a due time, a std::function), all due; one loop thread pops them and
// hands them, 512 per lock, to a mutex-and-condition-variable queue that `workers` threads drain.
// No store, no history, no records: sked's figure over this one is the share of the floor it
// reaches.
void BM_DispatchFloor(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  const auto n = static_cast<int>(state.range(1));
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::atomic<int> done{0};
    std::vector<FloorJob> heap = floor_heap(n, done);
    std::mutex mutex;
    std::condition_variable ready;
    std::condition_variable finished;
    std::deque<FloorJob> queue;
    bool closing = false;
    int ran = 0;
    state.ResumeTiming();
    const double cpu_before = process_cpu_seconds();
    std::vector<std::jthread> pool;
    for (std::size_t w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        for (;;) {
          FloorJob job;
          {
            std::unique_lock lock(mutex);
            ready.wait(lock, [&] { return closing || !queue.empty(); });
            if (queue.empty()) return;
            job = std::move(queue.front());
            queue.pop_front();
          }
          job.task();
          std::lock_guard lock(mutex);
          if (++ran == n) finished.notify_all();
        }
      });
    }
    const auto now = std::chrono::system_clock::now();
    while (!heap.empty() && heap.front().at <= now) {
      {
        std::lock_guard lock(mutex);
        for (int k = 0; k < 512 && !heap.empty(); ++k) {
          std::pop_heap(heap.begin(), heap.end(), later);
          queue.push_back(std::move(heap.back()));
          heap.pop_back();
        }
      }
      ready.notify_all();
    }
    {
      std::unique_lock lock(mutex);
      finished.wait(lock, [&] { return ran == n; });
      closing = true;
    }
    ready.notify_all();
    pool.clear();
    cpu += process_cpu_seconds() - cpu_before;
    if (done.load() != n) state.SkipWithError("not every job ran");
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["cpu_ns_per_run"] = cpu * 1e9 / static_cast<double>(state.iterations() * n);
}

// The floor under sked's contract for stores shared by schedulers: a worker takes a run only when
// it is free (one at a time, nothing queued ahead), and each run leaves a record in a bounded
// history, `started` when taken and finished when its task returns. Same heap, same jobs; each
// worker pops the next due job itself under one mutex. What BM_DispatchFloor's queue of 512 ahead
// and recordless runs skip is what this one pays.
void BM_DispatchContractFloor(benchmark::State& state) {
  struct Record {
    std::string job_id;
    std::chrono::system_clock::time_point run_time;
    int status = 0;  // 0 started, 1 executed
  };
  const auto workers = static_cast<std::size_t>(state.range(0));
  const auto n = static_cast<int>(state.range(1));
  constexpr std::size_t max_records = 10'000;  // MemoryJobStore's default history
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::atomic<int> done{0};
    std::vector<FloorJob> heap = floor_heap(n, done);
    std::mutex mutex;
    std::deque<Record> history;
    std::int64_t first_id = 0;  // id of history.front()
    state.ResumeTiming();
    const double cpu_before = process_cpu_seconds();
    {
      std::vector<std::jthread> pool;
      for (std::size_t w = 0; w < workers; ++w) {
        pool.emplace_back([&] {
          for (;;) {
            FloorJob job;
            std::int64_t id = 0;
            {
              std::lock_guard lock(mutex);
              if (heap.empty() || heap.front().at > std::chrono::system_clock::now()) return;
              std::pop_heap(heap.begin(), heap.end(), later);
              job = std::move(heap.back());
              heap.pop_back();
              history.push_back({job.id, job.at, 0});
              id = first_id + static_cast<std::int64_t>(history.size()) - 1;
              if (history.size() > max_records) {
                history.pop_front();
                ++first_id;
              }
            }
            job.task();
            std::lock_guard lock(mutex);
            if (id >= first_id) history[static_cast<std::size_t>(id - first_id)].status = 1;
          }
        });
      }
    }
    cpu += process_cpu_seconds() - cpu_before;
    if (done.load() != n) state.SkipWithError("not every job ran");
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["cpu_ns_per_run"] = cpu * 1e9 / static_cast<double>(state.iterations() * n);
}

}  // namespace

BENCHMARK(BM_DispatchContractFloor)
    ->Args({2, 1'000})
    ->Args({2, 100'000})
    ->Args({8, 100'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_DispatchFloor)
    ->Args({2, 1'000})
    ->Args({2, 100'000})
    ->Args({8, 100'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK(BM_Dispatch)
    ->Args({2, 1'000})
    ->Args({2, 100'000})
    ->Args({8, 100'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
