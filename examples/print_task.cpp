// The seed's example in C++: a blocking scheduler runs `print_task` every 15 seconds until Ctrl-C,
// keeping the job and its execution history in an SQLite file, as the seed does in Django's
// database.
//
//   print_task [--runs N] [--interval SECONDS] [--db PATH | --db postgresql://USER@HOST/DBNAME]
//
// --runs stops it after N runs (for scripts); --interval changes the 15 seconds; --db changes the
// file (sked.sqlite3 in the working directory), or names a PostgreSQL database that several hosts
// running print_task share. Look at the history with
//   sqlite3 sked.sqlite3 'SELECT * FROM sked_job_execution ORDER BY run_time DESC LIMIT 5'
//   psql postgresql://USER@HOST/DBNAME -c 'SELECT * FROM sked.sked_job_execution ORDER BY run_time
//   DESC LIMIT 5'

#include <sked/sked.hpp>
#ifdef SKED_HAS_POSTGRES
#include <sked/stores/postgres.hpp>
#endif

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
  int max_runs = 0;
  long interval = 15;
  std::string db = "sked.sqlite3";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--runs" && i + 1 < argc) {
      max_runs = std::atoi(argv[++i]);
    } else if (arg == "--interval" && i + 1 < argc) {
      interval = std::atol(argv[++i]);
    } else if (arg == "--db" && i + 1 < argc) {
      db = argv[++i];
    } else {
      std::cerr
          << "usage: print_task [--runs N] [--interval SECONDS] [--db PATH|postgresql://...]\n";
      return 2;
    }
  }

  sked::BlockingScheduler scheduler{
      {.logger = sked::stderr_logger(sked::LogLevel::info), .log_level = sked::LogLevel::info}};
  // Ctrl-C (SIGINT) or SIGTERM: the running job finishes, then start() returns. Twice: it is asked
  // to stop.
  scheduler.stop_on_signals();
  try {
    if (db.starts_with("postgresql://") || db.starts_with("postgres://")) {
#ifdef SKED_HAS_POSTGRES
      scheduler.add_jobstore(std::make_shared<sked::PostgresJobStore>(db));
#else
      std::cerr << "print_task: this sked was built without PostgreSQL support (libpq)\n";
      return 2;
#endif
    } else {
      scheduler.add_jobstore(std::make_shared<sked::SqliteJobStore>(db));
    }
  } catch (const sked::Error& e) {
    std::cerr << "print_task: " << e.what() << '\n';
    return 1;
  }
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(1));

  std::atomic<int> runs{0};
  scheduler.tasks().add("print_task", [&](const sked::JobContext& ctx) {
    std::cout << "Hello, the time is "
              << sked::format_time(ctx.scheduled_run_time(), scheduler.timezone()) << std::endl;
    // From a task, shutdown(false): a run cannot wait for itself to end.
    if (max_runs > 0 && ++runs >= max_runs) scheduler.shutdown(false);
  });

  scheduler.add_job({.id = "print_task__job",
                     .task = "print_task",
                     .trigger = sked::IntervalTrigger{std::chrono::seconds{interval}},
                     .max_instances = 1,
                     .replace_existing = true});

  std::cerr << "Starting scheduler... (Ctrl-C stops it)" << std::endl;
  scheduler.start();  // blocks until shutdown
  // After --runs, the last run stopped the scheduler from inside: wait for it to end and be logged.
  scheduler.shutdown(true);
  std::cerr << "Scheduler shut down successfully!" << std::endl;
  return 0;
}
