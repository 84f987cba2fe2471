// How fast the SQLite store takes jobs in and records their runs, in a file on the local disk.
//
//   scripts/configure.sh release && cmake --build --preset release --target sked_sqlite_bench
//   build/release/bench/sked_sqlite_bench
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

#include "process_cpu.hpp"
#include "scratch_file.hpp"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

using sked::bench::ScratchFile;

sked::SqliteJobStoreOptions options(const benchmark::State& state) {
  return {.synchronous = state.range(0) != 0 ? "FULL" : "NORMAL",
          .on_warning = [](std::string_view) {}};
}

using sked::bench::process_cpu_seconds;

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
  const double cpu_before = process_cpu_seconds();
  for (auto _ : state) {
    clock->advance(1s);
    if (!scheduler.wait_idle(60s)) state.SkipWithError("the scheduler did not settle");
  }
  state.counters["cpu_us_per_run"] =
      (process_cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(state.iterations() * jobs);
  state.SetItemsProcessed(state.iterations() * jobs);
  scheduler.shutdown();
  const auto executed =
      store->get_executions({.status = sked::ExecutionStatus::executed, .limit = 1});
  if (executed.empty()) state.SkipWithError("nothing was recorded");
}
BENCHMARK(scheduler_end_to_end)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// The floor of SQLite dispatch under the claim contract (issue 17): the least any scheduler that
// keeps its runs in an SQLite file must do per run, with the raw C API and nothing else. The
// contract (issue 14): a scheduler claims no more runs than its workers can start now, so that
// schedulers sharing the file share the work, and a run's record reads `started` only once a worker
// has it. The best such a design can batch: a free worker, in one BEGIN IMMEDIATE transaction,
// writes every queued outcome and claims at most as many runs as there are free workers (reads the
// due rows in index order, deletes each one-shot job's row or moves its next_run_time, inserts its
// `started` record), commits, runs its task and queues the outcome for the next transaction.
// No JSON, no events, no heartbeats, no peers' runs, two indexes fewer on the records than sked.

// Raw SQLite failures end the benchmark with the statement's message.
void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string{what} + ": " + sqlite3_errmsg(db));
}

// Fixed-width UTC text, as sked stores instants.
std::string text_time(std::int64_t seconds_after_t0) {
  const std::time_t t = std::chrono::system_clock::to_time_t(t0) + seconds_after_t0;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buffer;
}

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// One connection with its prepared statements, reused for every transaction.
class FloorConnection {
 public:
  FloorConnection(const std::string& path, bool full) {
    // The benchmark takes the connection one thread at a time, so SQLite's own mutex is not needed.
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK)
      throw std::runtime_error("cannot open " + path);
    exec("PRAGMA journal_mode = WAL");
    exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    exec("PRAGMA busy_timeout = 10000");
    exec(R"sql(
      CREATE TABLE IF NOT EXISTS job (
        id TEXT NOT NULL PRIMARY KEY, next_run_time TEXT, job_state TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS job_next_run_time ON job (next_run_time);
      CREATE TABLE IF NOT EXISTS execution (
        id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, status TEXT NOT NULL, run_time TEXT NOT NULL,
        duration REAL, finished TEXT, exception TEXT NOT NULL DEFAULT '',
        UNIQUE (job_id, run_time));
    )sql");
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    due_ = prepare(
        "SELECT id, job_state FROM job WHERE next_run_time <= ?1 "
        "ORDER BY next_run_time, rowid LIMIT ?2");
    remove_ = prepare("DELETE FROM job WHERE id = ?1");
    reschedule_ = prepare("UPDATE job SET next_run_time = ?2 WHERE id = ?1");
    start_ = prepare("INSERT INTO execution (job_id, status, run_time) VALUES (?1, 'started', ?2)");
    finish_ = prepare(
        "UPDATE execution SET status = 'executed', duration = ?2, finished = ?3 WHERE id = ?1");
  }
  ~FloorConnection() { sqlite3_close_v2(db_); }
  FloorConnection(const FloorConnection&) = delete;
  FloorConnection& operator=(const FloorConnection&) = delete;

  void exec(const char* sql) { check(db_, sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), sql); }
  [[nodiscard]] sqlite3* db() const noexcept { return db_; }

  void begin() { step(begin_.get(), "BEGIN IMMEDIATE"); }
  void commit() { step(commit_.get(), "COMMIT"); }

  // Reads up to `limit` due jobs (id, job_state) in index order.
  void read_due(const std::string& now, int limit,
                std::vector<std::pair<std::string, std::string>>& out) {
    sqlite3_stmt* s = due_.get();
    sqlite3_bind_text(s, 1, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                       reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
    }
    sqlite3_reset(s);
    check(db_, rc, "reading due jobs");
  }
  // Takes the job out of the due set (deletes a one-shot job, or moves its next run) and records
  // its run `started`; returns the record's id.
  std::int64_t claim(const std::string& id, const std::string& run_time,
                     const std::string* next_run_time) {
    if (next_run_time == nullptr) {
      bind_text(remove_.get(), 1, id);
      step(remove_.get(), "deleting the job");
    } else {
      bind_text(reschedule_.get(), 1, id);
      bind_text(reschedule_.get(), 2, *next_run_time);
      step(reschedule_.get(), "rescheduling the job");
    }
    bind_text(start_.get(), 1, id);
    bind_text(start_.get(), 2, run_time);
    step(start_.get(), "inserting the started record");
    return sqlite3_last_insert_rowid(db_);
  }
  void finish(std::int64_t execution, double duration, const std::string& finished) {
    sqlite3_bind_int64(finish_.get(), 1, execution);
    sqlite3_bind_double(finish_.get(), 2, duration);
    bind_text(finish_.get(), 3, finished);
    step(finish_.get(), "recording the outcome");
  }

 private:
  Statement prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(db_, sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), sql);
    return Statement{s};
  }
  static void bind_text(sqlite3_stmt* s, int index, const std::string& text) {
    sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void step(sqlite3_stmt* s, const char* what) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    check(db_, rc, what);
  }

  sqlite3* db_ = nullptr;
  Statement begin_, commit_, due_, remove_, reschedule_, start_, finish_;
};

// A job's stored state as big as sked's for these jobs (a few hundred bytes of JSON).
std::string floor_job_state(int i) {
  return R"({"version":1,"id":"job)" + std::to_string(i) + R"(","name":"job)" + std::to_string(i) +
         R"(","task":"noop","args":{"n":)" + std::to_string(i) +
         R"(},"kwargs":{},"trigger":{"type":"date","run_date":"2026-01-01T00:00:00.000000Z",)"
         R"("timezone":"UTC"},"executor":"default","misfire_grace_time":60,"coalesce":true,)"
         R"("max_instances":1,"retry":{"max_attempts":1,"backoff":0},"paused":false,)"
         R"("tags":[],"description":""})";
}

// Arguments: synchronous (0 NORMAL, 1 FULL); runs claimed per transaction (0: at most the free
// workers, the contract; n: up to n, the pre-contract way); connections (1: one shared, as sked
// does; 4: one per worker, the transactions still taken one at a time in process rather than
// through SQLite's busy handler); reschedule (0: one-shot jobs, their rows deleted by the claim; 1:
// each claim moves the job's next_run_time a second on, as scheduler_end_to_end's interval jobs).
// One iteration: 1,000 jobs due at once, 4 worker threads, timed from the threads' start until
// every run is recorded executed.
void BM_SqliteContractFloor(benchmark::State& state) {
  constexpr int jobs = 1000;
  constexpr int workers = 4;
  const bool full = state.range(0) != 0;
  const auto max_claim = static_cast<int>(state.range(1));
  const auto connection_count = static_cast<std::size_t>(state.range(2));
  const bool reschedule = state.range(3) != 0;

  ScratchFile file;
  std::vector<std::unique_ptr<FloorConnection>> connections;
  for (std::size_t i = 0; i < connection_count; ++i)
    connections.push_back(std::make_unique<FloorConnection>(file.path(), full));
  FloorConnection& setup = *connections.front();

  struct Run {
    std::int64_t execution;
    std::string job_state;
  };
  struct Outcome {
    std::int64_t execution;
    double duration;
  };
  double cpu = 0;
  std::int64_t transactions = 0;
  std::int64_t second = 0;
  try {
    // Interval jobs are added once, one-shot jobs before each iteration.
    for (int i = 0; reschedule && i < jobs; ++i) {
      setup.exec(("INSERT INTO job VALUES ('job" + std::to_string(i) + "', '" + text_time(0) +
                  "', '" + floor_job_state(i) + "')")
                     .c_str());
    }
    for (auto _ : state) {
      ++second;
      const std::string now = text_time(second);
      const std::string next = text_time(second + 1);
      if (!reschedule) {
        setup.exec("BEGIN");
        for (int i = 0; i < jobs; ++i) {
          setup.exec(("INSERT INTO job VALUES ('job" + std::to_string(i) + "', '" + now + "', '" +
                      floor_job_state(i) + "')")
                         .c_str());
        }
        setup.exec("COMMIT");
      }

      std::mutex mutex;
      std::condition_variable changed;
      std::deque<Run> ready;         // claimed, for the next free worker
      std::vector<Outcome> pending;  // run, not yet recorded
      int running = 0;               // workers with a run
      int claimed = 0;
      bool writing = false;  // a worker is in a transaction
      std::string error;

      const auto work = [&](FloorConnection& db) {
        std::vector<std::pair<std::string, std::string>> due;
        std::vector<Outcome> outcomes;
        std::unique_lock lock{mutex};
        for (;;) {
          changed.wait(lock, [&] { return !ready.empty() || !writing || !error.empty(); });
          if (!error.empty()) return;
          std::optional<Run> run;
          if (!ready.empty()) {
            run = std::move(ready.front());
            ready.pop_front();
            ++running;
          } else {
            // Free workers now: this one and those waiting; runs in `ready` are theirs already.
            const int free = workers - running;
            const int want = claimed == jobs ? 0 : max_claim == 0 ? free : max_claim;
            if (want == 0 && pending.empty()) return;  // all claimed, all recorded
            outcomes.clear();
            outcomes.swap(pending);
            writing = true;
            lock.unlock();
            due.clear();
            try {
              db.begin();
              for (const auto& outcome : outcomes)
                db.finish(outcome.execution, outcome.duration, now);
              std::vector<Run> runs;
              if (want > 0) {
                db.read_due(now, want, due);
                for (auto& [id, job_state] : due)
                  runs.push_back({db.claim(id, now, reschedule ? &next : nullptr), job_state});
                if (runs.empty()) throw std::runtime_error("no due job left to claim");
              }
              db.commit();
              lock.lock();
              ++transactions;
              claimed += static_cast<int>(runs.size());
              if (!runs.empty()) {
                run = std::move(runs.front());
                ++running;
                for (std::size_t i = 1; i < runs.size(); ++i) ready.push_back(std::move(runs[i]));
              }
            } catch (const std::exception& e) {
              sqlite3_exec(db.db(), "ROLLBACK", nullptr, nullptr, nullptr);
              lock.lock();
              error = e.what();
            }
            writing = false;
            changed.notify_all();
            if (!run) continue;
          }
          lock.unlock();
          const auto started = std::chrono::steady_clock::now();
          benchmark::DoNotOptimize(run->job_state.data());  // the trivial task
          const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
          lock.lock();
          --running;
          pending.push_back({run->execution, took.count()});
        }
      };

      const double cpu_before = process_cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < workers; ++i)
        threads.emplace_back(work, std::ref(*connections[i % connections.size()]));
      for (auto& thread : threads) thread.join();
      state.SetIterationTime(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cpu += process_cpu_seconds() - cpu_before;
      if (!error.empty()) throw std::runtime_error(error);
    }
    sqlite3_stmt* count = nullptr;
    check(setup.db(),
          sqlite3_prepare_v2(setup.db(), "SELECT count(*) FROM execution WHERE status = 'executed'",
                             -1, &count, nullptr),
          "counting");
    sqlite3_step(count);
    const auto executed = sqlite3_column_int64(count, 0);
    sqlite3_finalize(count);
    if (executed != state.iterations() * jobs) state.SkipWithError("not every run was recorded");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  const auto runs = static_cast<double>(state.iterations() * jobs);
  state.SetItemsProcessed(state.iterations() * jobs);
  state.counters["cpu_us_per_run"] = cpu * 1e6 / runs;
  state.counters["runs_per_commit"] = runs / static_cast<double>(transactions);
}
BENCHMARK(BM_SqliteContractFloor)
    ->ArgNames({"sync", "claim", "conns", "reschedule"})
    ->Apply([](benchmark::internal::Benchmark* b) {
      for (const int reschedule : {0, 1}) {
        for (const int sync : {0, 1}) {
          for (const int claim : {0, 512}) b->Args({sync, claim, 1, reschedule});
        }
        b->Args({0, 0, 4, reschedule});
      }
    })
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// The machine's per-transaction floor: BEGIN IMMEDIATE, one small insert, COMMIT, with prepared
// statements on a WAL file (checkpoints included, as in the store).
void BM_SqliteTransactionFloor(benchmark::State& state) {
  ScratchFile file;
  try {
    FloorConnection db{file.path(), state.range(0) != 0};
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    sqlite3_stmt* raw = nullptr;
    check(db.db(), sqlite3_prepare_v2(db.db(), "INSERT INTO t (v) VALUES ('x')", -1, &raw, nullptr),
          "preparing");
    const Statement insert{raw};
    for (auto _ : state) {
      db.begin();
      const int rc = sqlite3_step(insert.get());
      sqlite3_reset(insert.get());
      check(db.db(), rc, "inserting");
      db.commit();
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqliteTransactionFloor)
    ->ArgName("sync")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
