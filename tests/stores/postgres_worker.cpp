// A scheduler process for the multi-process PostgreSQL tests: runs the jobs of one sked schema with
// the real clock.
//
//   sked_postgres_worker --db CONNINFO --schema NAME [--exit-when-done] [--max-wait-ms N]
//                        [--heartbeat-ms N --stale-after-ms N]
//
// Task "record" inserts (job_id, run_time, pid) into the schema's `worker_run` table over a
// connection of its own, so a test can count how often each fire time really ran (the executions
// table alone could not show a double run that the store failed to prevent).
// --exit-when-done shuts down once the schema holds no jobs. SIGTERM and SIGINT shut down.

#include "support/worker_main.hpp"

#include <date/tz.h>
#include <nlohmann/json.hpp>

#include <sked/sked.hpp>
#include <sked/stores/postgres.hpp>

#include <libpq-fe.h>

#include <sys/prctl.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

int main(int argc, char** argv) {
  std::string conninfo;
  std::string schema;
  bool exit_when_done = false;
  long max_wait_ms = 200;
  sked::PostgresJobStoreOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--db" && i + 1 < argc) {
      conninfo = argv[++i];
    } else if (arg == "--schema" && i + 1 < argc) {
      schema = argv[++i];
    } else if (arg == "--exit-when-done") {
      exit_when_done = true;
    } else if (arg == "--max-wait-ms" && i + 1 < argc) {
      max_wait_ms = std::atol(argv[++i]);
    } else if (arg == "--heartbeat-ms" && i + 1 < argc) {
      options.heartbeat_interval = std::chrono::milliseconds{std::atol(argv[++i])};
    } else if (arg == "--stale-after-ms" && i + 1 < argc) {
      options.stale_after = std::chrono::milliseconds{std::atol(argv[++i])};
    } else {
      std::cerr << "usage: sked_postgres_worker --db CONNINFO --schema NAME [--exit-when-done] "
                   "[--max-wait-ms N] [--heartbeat-ms N --stale-after-ms N]\n";
      return 2;
    }
  }
  if (conninfo.empty() || schema.empty()) return 2;
  // A worker outlives a test process that crashed or was killed, and would retry a server that
  // went with it for ever: it ends with its parent.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  options.schema = schema;
  auto store = std::make_shared<sked::PostgresJobStore>(conninfo, options);
  sked::BlockingScheduler scheduler{{.timezone = sked::TimeZone::utc(),
                                     .max_wait = std::chrono::milliseconds{max_wait_ms},
                                     .logger = sked::stderr_logger(sked::LogLevel::warning)}};
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(4));

  std::mutex record_mutex;
  PGconn* record_db = PQconnectdb(conninfo.c_str());
  if (PQstatus(record_db) != CONNECTION_OK) {
    std::cerr << "sked_postgres_worker: " << PQerrorMessage(record_db);
    return 1;
  }
  {
    const char* values[] = {schema.c_str()};
    PQclear(PQexecParams(record_db, "SELECT set_config('search_path', $1, false)", 1, nullptr,
                         values, nullptr, nullptr, 0));
  }
  const auto record = [&](const sked::JobContext& ctx) {
    std::lock_guard lock(record_mutex);
    const std::string run_time = date::format("%FT%TZ", ctx.scheduled_run_time());
    const std::string pid = std::to_string(getpid());
    const char* values[] = {ctx.job_id().c_str(), run_time.c_str(), pid.c_str()};
    PGresult* r = PQexecParams(
        record_db, "INSERT INTO worker_run (job_id, run_time, pid) VALUES ($1, $2, $3::int8)", 3,
        nullptr, values, nullptr, nullptr, 0);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) std::cerr << "sked_postgres_worker: recording a run: " << PQerrorMessage(record_db);
    PQclear(r);
    if (!ok) throw std::runtime_error("recording the run failed");
  };
  scheduler.tasks().add("record", record);

  sked::test::run_worker(scheduler, *store, signals, exit_when_done, "sked_postgres_worker");
  PQfinish(record_db);
  return 0;
}
