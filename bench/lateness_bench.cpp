// Firing lateness with the real clock: 1,000 one-shot jobs due at instants spread over 3 s, then a
// burst of 200 jobs due at one instant, while 50 interval jobs (every 50 ms, 1,000 runs/s) keep the
// scheduler busy. Lateness is the task's start (system clock) minus its scheduled run time;
// reported as p50, p99 and max in microseconds. The peer is bench/peers/apscheduler_lateness.py
// (same workload).

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
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

}  // namespace

BENCHMARK(BM_Lateness)->Arg(8)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
