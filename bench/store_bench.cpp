// Memory store scaling: the cost of one add, remove, reschedule (add_job replacing, with a new next
// run time), claim of a due job and next_run_time() peek in a store already holding 10^3 .. 10^6
// interval jobs. Each iteration times a batch of 1,000 operations (manual timing); the setup that
// restores the store between batches is not timed. The peer is bench/peers/apscheduler_store.py
// (APScheduler's MemoryJobStore, 10^3 .. 10^5).

#include <sked/sked.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

constexpr int batch = 1000;
const sked::TimePoint t0 = sked::parse_time("2026-01-01T00:00:00Z");

std::shared_ptr<const sked::Trigger> interval_trigger() {
  static const auto trigger = std::make_shared<const sked::IntervalTrigger>(
      1h, sked::IntervalTrigger::Options{.start_date = t0});
  return trigger;
}

sked::Job make_job(std::string id, sked::TimePoint next) {
  sked::Job job;
  job.id = std::move(id);
  job.name = job.id;
  job.task = "noop";
  job.misfire_grace_time =
      std::chrono::seconds{60};  // a claim starts the due run rather than missing it
  job.trigger = interval_trigger();
  job.next_run_time = next;
  return job;
}

// A store of n jobs whose next run times are spread over the hour after t0 + 1 h (none due at t0).
struct Fixture {
  std::shared_ptr<sked::MemoryJobStore> shared =
      std::make_shared<sked::MemoryJobStore>(0);  // leases hold it
  sked::MemoryJobStore& store = *shared;
  std::mt19937_64 rng{42};
  explicit Fixture(std::int64_t n) {
    std::uniform_int_distribution<std::int64_t> us(0, 3'600'000'000);
    for (std::int64_t i = 0; i < n; ++i) {
      store.add_job(make_job("job" + std::to_string(i), t0 + 1h + sked::Duration{us(rng)}));
    }
  }
  sked::TimePoint random_time() {
    return t0 + 1h +
           sked::Duration{std::uniform_int_distribution<std::int64_t>(0, 3'600'000'000)(rng)};
  }
};

template <typename Timed, typename Untimed>
void batches(benchmark::State& state, Timed timed, Untimed untimed) {
  for (auto _ : state) {
    const auto start = Steady::now();
    timed();
    state.SetIterationTime(std::chrono::duration<double>(Steady::now() - start).count());
    untimed();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_StoreAdd(benchmark::State& state) {
  Fixture f{state.range(0)};
  std::vector<sked::Job> jobs;
  for (int i = 0; i < batch; ++i)
    jobs.push_back(make_job("new" + std::to_string(i), f.random_time()));
  batches(
      state,
      [&] {
        for (const auto& j : jobs) f.store.add_job(j);
      },
      [&] {
        for (const auto& j : jobs) f.store.remove_job(j.id);
      });
}

void BM_StoreRemove(benchmark::State& state) {
  Fixture f{state.range(0)};
  std::vector<sked::Job> jobs;
  for (int i = 0; i < batch; ++i)
    jobs.push_back(make_job("new" + std::to_string(i), f.random_time()));
  for (const auto& j : jobs) f.store.add_job(j);
  batches(
      state,
      [&] {
        for (const auto& j : jobs) f.store.remove_job(j.id);
      },
      [&] {
        for (const auto& j : jobs) f.store.add_job(j);
      });
}

void BM_StoreReschedule(benchmark::State& state) {
  const auto n = state.range(0);
  Fixture f{n};
  std::vector<sked::Job> jobs;
  for (int i = 0; i < batch; ++i) {
    jobs.push_back(make_job(
        "job" + std::to_string(static_cast<std::int64_t>(f.rng() % static_cast<std::uint64_t>(n))),
        f.random_time()));
  }
  batches(
      state,
      [&] {
        for (const auto& j : jobs) f.store.add_job(j, true);
      },
      [&] {
        for (auto& j : jobs) j.next_run_time = f.random_time();
      });
}

// Claims one due job at a time (limit 1) while 1,000 of the n jobs are due; the claim advances each
// interval job past now. The untimed part completes the started runs and makes the jobs due again.
void BM_StoreClaimDue(benchmark::State& state) {
  Fixture f{state.range(0)};
  std::vector<sked::Job> due;
  for (int i = 0; i < batch; ++i) due.push_back(make_job("due" + std::to_string(i), t0 - 1s));
  for (const auto& j : due) f.store.add_job(j);
  std::vector<sked::RunLease> started;
  started.reserve(batch);
  batches(
      state,
      [&] {
        for (int i = 0; i < batch; ++i) {
          auto claims = f.store.claim_due_jobs(t0, 1, {});
          started.push_back(std::move(claims.front().runs.front()));
        }
      },
      [&] {
        for (auto& run : started) run.complete({});
        started.clear();
        for (const auto& j : due) f.store.add_job(j, true);
      });
}

void BM_StoreNextRunTime(benchmark::State& state) {
  Fixture f{state.range(0)};
  batches(
      state,
      [&] {
        for (int i = 0; i < batch; ++i) benchmark::DoNotOptimize(f.store.next_run_time());
      },
      [] {});
}

void sizes(benchmark::internal::Benchmark* b) {
  b->RangeMultiplier(10)
      ->Range(1'000, 1'000'000)
      ->Iterations(50)
      ->UseManualTime()
      ->Unit(benchmark::kNanosecond);
}

}  // namespace

BENCHMARK(BM_StoreAdd)->Apply(sizes);
BENCHMARK(BM_StoreRemove)->Apply(sizes);
BENCHMARK(BM_StoreReschedule)->Apply(sizes);
BENCHMARK(BM_StoreClaimDue)->Apply(sizes);
BENCHMARK(BM_StoreNextRunTime)->Apply(sizes);

BENCHMARK_MAIN();
