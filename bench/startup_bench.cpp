// Start-up: the time from opening an SQLite store that holds N jobs to the first run of the one job
// that is due, through a BackgroundScheduler (store constructor, scheduler start, first claim, run,
// record). The other N - 1 jobs fall due over the following days, so a scheduler that read every job
// at start-up would show it here. The file is filled once per size with SQL (adding 10^6 jobs one by
// one would take minutes) and reused by each iteration; the OS page cache is warm, as it is when a
// service restarts.
//
//   build/release/bench/sked_startup_bench --benchmark_filter=/1000000
//
// Issue 7's target: under 1 s with 10^6 stored jobs.

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <benchmark/benchmark.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

namespace {

using namespace std::chrono_literals;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sked-startup-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
  }
  ~ScratchDir() { std::filesystem::remove_all(dir_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] std::string path() const { return (dir_ / "startup.sqlite3").string(); }

 private:
  std::filesystem::path dir_;
};

sked::SqliteJobStoreOptions quiet() { return {.on_warning = [](std::string_view) {}}; }

// job0 is due at t0; job1..job(n-1) copy its state and fall due one second apart from t0 + 1 h.
void fill(const std::string& path, std::int64_t n) {
  {
    sked::SqliteJobStore store{path, quiet()};
    sked::Job job;
    job.id = "job0";
    job.name = "job0";
    job.task = "noop";
    job.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{24h, {.start_date = t0}});
    job.misfire_grace_time = 3600s;
    job.next_run_time = t0;
    store.add_job(job);
  }
  SQLite::Database db{path, SQLite::OPEN_READWRITE};
  SQLite::Statement insert{db, R"sql(
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
    INSERT INTO sked_job (id, next_run_time, job_state)
    SELECT 'job' || i,
           strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01 01:00:00', '+' || i || ' seconds') || '.000000Z',
           (SELECT job_state FROM sked_job WHERE id = 'job0')
    FROM n)sql"};
  insert.bind(1, n - 1);
  SQLite::Transaction tx{db};
  insert.exec();
  tx.commit();
}

// Puts job0 back to due and forgets its runs, so every iteration starts from the same file.
void reset(const std::string& path) {
  SQLite::Database db{path, SQLite::OPEN_READWRITE};
  db.exec("UPDATE sked_job SET next_run_time = '2026-01-01T00:00:00.000000Z' WHERE id = 'job0'");
  db.exec("DELETE FROM sked_job_execution");
  db.exec("DELETE FROM sked_scheduler");
}

void BM_StartUp(benchmark::State& state) {
  const auto n = state.range(0);
  ScratchDir dir;
  fill(dir.path(), n);
  for (auto _ : state) {
    state.PauseTiming();
    reset(dir.path());
    std::mutex mutex;
    std::condition_variable ran_cv;
    bool ran = false;
    auto clock = std::make_shared<sked::ManualClock>(t0 + 1s);
    state.ResumeTiming();

    auto store = std::make_shared<sked::SqliteJobStore>(
        dir.path(), sked::SqliteJobStoreOptions{.clock = clock, .on_warning = [](std::string_view) {}});
    sked::BackgroundScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc(),
                                         .logger = [](sked::LogLevel, std::string_view) {}}};
    scheduler.tasks().add("noop", [&](const sked::JobContext&) {
      std::lock_guard lock(mutex);
      ran = true;
      ran_cv.notify_all();
    });
    scheduler.add_jobstore(store);
    scheduler.start();
    {
      std::unique_lock lock(mutex);
      if (!ran_cv.wait_for(lock, 60s, [&] { return ran; })) state.SkipWithError("job0 never ran");
    }

    state.PauseTiming();
    scheduler.shutdown();
    state.ResumeTiming();
  }
}

}  // namespace

BENCHMARK(BM_StartUp)
    ->Arg(1'000)
    ->Arg(1'000'000)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
