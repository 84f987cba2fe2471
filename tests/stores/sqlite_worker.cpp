// A scheduler process for the multi-process tests: runs the jobs of one SQLite file with the real
// clock.
//
//   sked_sqlite_worker --db PATH [--hang] [--exit-when-done] [--max-wait-ms N]
//
// Tasks: "record" inserts (job_id, run_time, pid) into the test's `worker_run` table, so a test can
// count how often each fire time really ran (the executions table alone could not show a double run
// that the store failed to prevent). "hang" records, then with --hang never returns (the test
// SIGKILLs it).
// --exit-when-done shuts down once the file holds no jobs. SIGTERM and SIGINT shut down.

#include "support/worker_main.hpp"

#include <date/tz.h>
#include <nlohmann/json.hpp>

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

int main(int argc, char** argv) {
  std::string db_path;
  bool hang = false;
  bool exit_when_done = false;
  long max_wait_ms = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--db" && i + 1 < argc) {
      db_path = argv[++i];
    } else if (arg == "--hang") {
      hang = true;
    } else if (arg == "--exit-when-done") {
      exit_when_done = true;
    } else if (arg == "--max-wait-ms" && i + 1 < argc) {
      max_wait_ms = std::atol(argv[++i]);
    } else {
      std::cerr
          << "usage: sked_sqlite_worker --db PATH [--hang] [--exit-when-done] [--max-wait-ms N]\n";
      return 2;
    }
  }
  if (db_path.empty()) return 2;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto store = std::make_shared<sked::SqliteJobStore>(db_path);
  sked::BlockingScheduler scheduler{{.timezone = sked::TimeZone::utc(),
                                     .max_wait = std::chrono::milliseconds{max_wait_ms},
                                     .logger = sked::stderr_logger(sked::LogLevel::warning)}};
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(4));

  std::mutex record_mutex;
  SQLite::Database record_db{db_path, SQLite::OPEN_READWRITE, 10'000};
  const auto record = [&](const sked::JobContext& ctx) {
    std::lock_guard lock(record_mutex);
    SQLite::Statement s{record_db,
                        "INSERT INTO worker_run (job_id, run_time, pid) VALUES (?, ?, ?)"};
    s.bind(1, ctx.job_id());
    s.bind(2, date::format("%FT%TZ", ctx.scheduled_run_time()));
    s.bind(3, static_cast<std::int64_t>(getpid()));
    s.exec();
  };
  scheduler.tasks().add("record", record);
  scheduler.tasks().add("hang", [&](const sked::JobContext& ctx) {
    record(ctx);
    while (hang) std::this_thread::sleep_for(std::chrono::seconds{1});
  });

  sked::test::run_worker(scheduler, *store, signals, exit_when_done, "sked_sqlite_worker");
  return 0;
}
