// Firing lateness with the real clock: 1,000 one-shot jobs due at instants spread over 3 s, then a
// burst of 200 jobs due at one instant, while 50 interval jobs (every 50 ms, 1,000 runs/s) keep the
// scheduler busy. Lateness is the task's start (system clock) minus its scheduled run time;
// reported as p50, p99 and max in microseconds. The peer is bench/peers/apscheduler_lateness.py
// (same workload); BM_LatenessFloor below is the machine's floor for it.

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr int timed_jobs = 1000;
constexpr int burst_jobs = 200;
constexpr int background_jobs = 50;
constexpr auto background_interval = 50ms;
constexpr auto lead = 500ms;       // between adding the jobs and the first timed one
constexpr auto spread = 3ms;       // between timed jobs: 1,000 over 3 s
constexpr auto burst_gap = 300ms;  // between the last timed job and the burst

struct Recorder {
  std::mutex mutex;
  std::vector<std::int64_t> lateness_us;
  void add(const sked::JobContext& ctx) {
    const auto now = std::chrono::time_point_cast<sked::Duration>(std::chrono::system_clock::now());
    std::lock_guard lock(mutex);
    lateness_us.push_back((now - ctx.scheduled_run_time()).count());
  }
};

double percentile(std::vector<std::int64_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[std::min(i, v.size() - 1)]);
}

void report(benchmark::State& state, const std::string& prefix,
            const std::vector<std::int64_t>& v) {
  state.counters[prefix + "p50_us"] = percentile(v, 0.50);
  state.counters[prefix + "p99_us"] = percentile(v, 0.99);
  state.counters[prefix + "max_us"] = percentile(v, 1.0);
}

void BM_Lateness(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    Recorder staggered;
    Recorder burst;
    std::atomic<int> background_runs{0};
    {
      sked::BackgroundScheduler scheduler{
          {.timezone = sked::TimeZone::utc(),
           .job_defaults = {.misfire_grace_time = std::chrono::hours{1},
                            .coalesce = false,
                            .max_instances = 1}}};
      scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>(0));
      scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(workers));
      scheduler.start();
      const auto t0 =
          std::chrono::time_point_cast<sked::Duration>(std::chrono::system_clock::now()) + lead;
      for (int i = 0; i < background_jobs; ++i) {
        // Each background job at its own phase, so the load is steady rather than 50 at once.
        scheduler.add_job(
            {.id = "background" + std::to_string(i),
             .callable = [&](const sked::JobContext&) { background_runs.fetch_add(1); },
             .trigger = sked::IntervalTrigger{background_interval, {.start_date = t0 + 1ms * i}}});
      }
      for (int i = 0; i < timed_jobs; ++i) {
        scheduler.add_job({.id = "timed" + std::to_string(i),
                           .callable = [&](const sked::JobContext& c) { staggered.add(c); },
                           .trigger = sked::DateTrigger{t0 + spread * i}});
      }
      const auto burst_at = t0 + spread * timed_jobs + burst_gap;
      for (int i = 0; i < burst_jobs; ++i) {
        scheduler.add_job({.id = "burst" + std::to_string(i),
                           .callable = [&](const sked::JobContext& c) { burst.add(c); },
                           .trigger = sked::DateTrigger{burst_at}});
      }
      std::this_thread::sleep_until(std::chrono::system_clock::time_point{burst_at + 300ms});
      scheduler.shutdown(true);
    }
    if (staggered.lateness_us.size() != timed_jobs || burst.lateness_us.size() != burst_jobs) {
      state.SkipWithError("not every timed job ran");
    }
    report(state, "staggered_", staggered.lateness_us);
    report(state, "burst_", burst.lateness_us);
    state.counters["background_runs"] = background_runs.load();
  }
}

// The machine's floor for the same workload: what any scheduler with a loop thread and a pool must
// wait for. One thread keeps every due time (the timed jobs, the burst, the background jobs' fire
// times) in a binary heap, sleeps on a condition variable until the soonest, and hands what is due
// to a mutex-and-condition-variable queue that `workers` threads drain; a task's lateness is taken
// when a worker starts it, as sked's and APScheduler's are. No store, no records, no leases: the
// remainder is the OS waking two threads on time.
void BM_LatenessFloor(benchmark::State& state) {
  using Clock = std::chrono::system_clock;
  struct Fire {
    Clock::time_point at;
    Recorder* recorder = nullptr;  // nullptr for a background run
  };
  const auto later = [](const Fire& a, const Fire& b) { return a.at > b.at; };
  const auto workers = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    Recorder staggered;
    Recorder burst;
    std::atomic<int> background_runs{0};
    const auto t0 = Clock::now() + lead;
    const auto burst_at = t0 + spread * timed_jobs + burst_gap;
    std::vector<Fire> heap;
    for (int i = 0; i < timed_jobs; ++i) heap.push_back({t0 + spread * i, &staggered});
    for (int i = 0; i < burst_jobs; ++i) heap.push_back({burst_at, &burst});
    for (int i = 0; i < background_jobs; ++i) {
      for (auto t = t0 + 1ms * i; t < burst_at + 300ms; t += background_interval)
        heap.push_back({t, nullptr});
    }
    std::make_heap(heap.begin(), heap.end(), later);
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Fire> queue;
    bool closing = false;
    const auto run = [&](const Fire& fire) {
      if (fire.recorder == nullptr) {
        background_runs.fetch_add(1);
        return;
      }
      const auto now = std::chrono::time_point_cast<sked::Duration>(Clock::now());
      std::lock_guard lock(fire.recorder->mutex);
      fire.recorder->lateness_us.push_back(
          (now - std::chrono::time_point_cast<sked::Duration>(fire.at)).count());
    };
    {
      std::vector<std::jthread> pool;
      for (std::size_t w = 0; w < workers; ++w) {
        pool.emplace_back([&] {
          for (;;) {
            Fire fire;
            {
              std::unique_lock lock(mutex);
              ready.wait(lock, [&] { return closing || !queue.empty(); });
              if (queue.empty()) return;
              fire = queue.front();
              queue.pop_front();
            }
            run(fire);
          }
        });
      }
      std::mutex sleep_mutex;
      std::condition_variable sleep;
      while (!heap.empty()) {
        {
          std::unique_lock lock(sleep_mutex);
          sleep.wait_until(lock, heap.front().at, [&] { return Clock::now() >= heap.front().at; });
        }
        const auto now = Clock::now();
        std::size_t handed = 0;
        {
          std::lock_guard lock(mutex);
          while (!heap.empty() && heap.front().at <= now) {
            std::pop_heap(heap.begin(), heap.end(), later);
            queue.push_back(heap.back());
            heap.pop_back();
            ++handed;
          }
        }
        if (handed == 1) {
          ready.notify_one();
        } else {
          ready.notify_all();
        }
      }
      {
        std::lock_guard lock(mutex);
        closing = true;
      }
      ready.notify_all();
    }
    if (staggered.lateness_us.size() != timed_jobs || burst.lateness_us.size() != burst_jobs) {
      state.SkipWithError("not every timed job ran");
    }
    report(state, "staggered_", staggered.lateness_us);
    report(state, "burst_", burst.lateness_us);
    state.counters["background_runs"] = background_runs.load();
  }
}

}  // namespace

BENCHMARK(BM_Lateness)->Arg(8)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LatenessFloor)->Arg(8)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
