// Memory per job: the growth of the resident set (RSS) while a scheduler holds N interval jobs,
// each with a trigger of its own, divided by N. Three kinds of job: identical but for their ids and
// triggers (`/0`), each with a name of its own (`/1`), each given as a callable (`/2`). The
// trigger's own state (its shared allocation) is reported separately, as the target counts bytes
// beyond it. The peer is bench/peers/apscheduler_memory.py.
// BM_AddToPausedScheduler: the cost of adding jobs, each with its own id and name, to a scheduler
// that runs but is paused (as a service adds its jobs at start-up): ns per add and the process's
// context switches per 1,000 adds (each one a wake-up of some thread).

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <malloc.h>

#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

double rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// What one make_shared<const IntervalTrigger> takes from malloc: the object and its control block,
// rounded up to glibc's 16-byte chunks plus the 8-byte chunk header.
constexpr double trigger_bytes() {
  const std::size_t payload = sizeof(sked::IntervalTrigger) + 16;
  const std::size_t chunk = (payload + 8 + 15) / 16 * 16;
  return static_cast<double>(chunk < 32 ? 32 : chunk);
}

void BM_MemoryPerJob(benchmark::State& state) {
  const auto n = state.range(0);
  const auto kind = state.range(1);
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  for (auto _ : state) {
    auto clock = std::make_shared<sked::ManualClock>(t0);
    malloc_trim(0);
    const double before = rss_bytes();
    double after = 0;
    {
      sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
      scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>());
      scheduler.tasks().add("noop", [](const sked::JobContext&) {});
      for (std::int64_t i = 0; i < n; ++i) {
        // A different interval per job, so no two jobs could share a trigger.
        const std::string id = "job" + std::to_string(i);
        if (kind == 2) {
          scheduler.add_job({.id = id,
                             .callable = [](const sked::JobContext&) {},
                             .trigger = sked::IntervalTrigger{1h + sked::Duration{i}}});
        } else {
          scheduler.add_job({.id = id,
                             .name = kind == 1 ? "nightly " + std::to_string(i) : std::string{},
                             .task = "noop",
                             .trigger = sked::IntervalTrigger{1h + sked::Duration{i}}});
        }
      }
      after = rss_bytes();
    }
    state.counters["bytes_per_job"] = (after - before) / static_cast<double>(n);
    state.counters["trigger_bytes"] = trigger_bytes();
    state.counters["beyond_trigger"] = (after - before) / static_cast<double>(n) - trigger_bytes();
    state.counters["sizeof_job"] = static_cast<double>(sizeof(sked::Job));
  }
}

long context_switches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

void BM_AddToPausedScheduler(benchmark::State& state) {
  const auto n = state.range(0);
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  for (auto _ : state) {
    state.PauseTiming();
    auto clock = std::make_shared<sked::ManualClock>(t0);
    sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
    scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>());
    scheduler.tasks().add("noop", [](const sked::JobContext&) {});
    scheduler.start(/*paused=*/true);
    std::vector<sked::JobSpec> jobs;
    jobs.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      jobs.push_back({.id = "job" + std::to_string(i),
                      .name = "nightly " + std::to_string(i),
                      .task = "noop",
                      .trigger = sked::IntervalTrigger{1h + sked::Duration{i}}});
    }
    const long switches_before = context_switches();
    const auto begin = std::chrono::steady_clock::now();
    state.ResumeTiming();
    for (auto& job : jobs) scheduler.add_job(std::move(job));
    state.PauseTiming();
    const auto elapsed = std::chrono::steady_clock::now() - begin;
    const long switches = context_switches() - switches_before;
    state.counters["ns_per_add"] =
        static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
        static_cast<double>(n);
    state.counters["switches_per_1k_adds"] =
        static_cast<double>(switches) * 1000.0 / static_cast<double>(n);
    scheduler.shutdown();
    state.ResumeTiming();
  }
}

}  // namespace

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// One fill per repetition; min, median and max over five.
BENCHMARK(BM_AddToPausedScheduler)
    ->ArgNames({"jobs"})
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(1)
    ->Repetitions(5)
    ->ComputeStatistics("min", min_of)
    ->ComputeStatistics("max", max_of)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_MemoryPerJob)
    ->ArgNames({"jobs", "kind"})
    ->Args({10'000, 0})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 2})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
