// Several scheduler processes sharing one PostgreSQL schema, on a throwaway local server (Unix
// socket) that the benchmark starts:
//
//   sked_postgres_cluster_bench throughput [--processes 1,2,4] [--runs 3] [--jobs 200000]
//                                          [--seconds 5] [--workers 4]
//                                          [--synchronous-commit on|off] [--fsync on|off]
//                                          [--profile on|off]
//   sked_postgres_cluster_bench wakeup [--samples 300]
//
// throughput: --jobs hourly jobs all due at the start (a backlog the processes do not finish
// within the measurement), a no-op task, each process a BackgroundScheduler with a pool of
// --workers threads. Counts the runs recorded `executed` over --seconds after a two-second warm-up:
// claimed *and* recorded executions per second, the figure db-scheduler publishes.
//
// wakeup: one scheduler process waits (max_wait 60 s, so only a notification can wake it) while
// this process adds a one-shot job due now, or asks for a run of an existing job now, alternately;
// the task reports how long after that call began it started. p50/p99/max over --samples.
//
// Durability: --fsync on (the default) runs the server with its defaults (fsync, full-page
// writes), what users run; --fsync off with the tests' scratch settings (fsync=off,
// full_page_writes=off: commits cost no disk flush, so the figures are round trips and the
// server's CPU). --synchronous-commit sets that setting for every session. The settings are
// printed with every figure, and each run's WAL bytes, commits and WAL flushes per recorded run.
// --profile on: the server loads pg_stat_statements and each run prints the statements that took
// its time in the measured window.

#include <sked/sked.hpp>
#include <sked/stores/postgres.hpp>

#include "support/postgres_server.hpp"
#include "support/worker_process.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sked::test::PostgresServer;

std::string self;  // this program, re-run as a scheduler process

std::vector<int> numbers(const std::string& list) {
  std::vector<int> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

std::shared_ptr<sked::PostgresJobStore> open_store(const std::string& schema, bool listen) {
  return std::make_shared<sked::PostgresJobStore>(
      PostgresServer::instance().conninfo(),
      sked::PostgresJobStoreOptions{.schema = schema, .listen = listen});
}

// ---- the scheduler processes -------------------------------------------------------------------

// Runs until SIGTERM. "noop" does nothing; "stamp" appends how long after its scheduled run time it
// started (µs) to `stamps`.
int worker(const std::string& conninfo, const std::string& schema, int workers,
           const std::string& stamps, long max_wait_ms) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto store = std::make_shared<sked::PostgresJobStore>(
      conninfo, sked::PostgresJobStoreOptions{.schema = schema});
  sked::BackgroundScheduler scheduler{{.max_wait = std::chrono::milliseconds{max_wait_ms}}};
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(workers));
  scheduler.tasks().add("noop", [](const sked::JobContext&) {});
  std::mutex stamp_mutex;
  std::ofstream out;
  if (!stamps.empty()) out.open(stamps, std::ios::app);
  scheduler.tasks().add("stamp", [&](const sked::JobContext& ctx) {
    const auto late = sked::SystemClock::instance()->now() - ctx.scheduled_run_time();
    std::lock_guard lock(stamp_mutex);
    out << late.count() << std::endl;
  });
  scheduler.start();
  int sig = 0;
  sigwait(&signals, &sig);
  scheduler.shutdown(false);
  return 0;
}

std::unique_ptr<sked::test::WorkerProcess> spawn(const std::string& schema, int workers,
                                                 const std::string& stamps, long max_wait_ms) {
  return std::make_unique<sked::test::WorkerProcess>(
      self, std::vector<std::string>{"--worker", PostgresServer::instance().conninfo(), schema,
                                     std::to_string(workers), stamps.empty() ? "-" : stamps,
                                     std::to_string(max_wait_ms)});
}

void stop(std::vector<std::unique_ptr<sked::test::WorkerProcess>>& processes) {
  for (auto& p : processes) p->signal(SIGTERM);
  for (auto& p : processes) {
    if (!p->wait_exit(10s)) p->signal(SIGKILL);
  }
  processes.clear();
}

std::string settings(PostgresServer& server) {
  auto show = [&](const char* name) {
    std::string v = server.psql(fmt::format("SHOW {}", name));
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  };
  return fmt::format("fsync={} synchronous_commit={} full_page_writes={}", show("fsync"),
                     show("synchronous_commit"), show("full_page_writes"));
}

// ---- throughput --------------------------------------------------------------------------------

bool profile = false;  // --profile: pg_stat_statements' top statements after each run

struct Counters {
  long executed = 0;
  long wal_bytes = 0;
  long commits = 0;
  long wal_syncs = 0;
};

// The runs recorded `executed` and the server's counters, read at one instant.
Counters counters(const std::string& schema) {
  const std::string row = PostgresServer::instance().psql(
      fmt::format("SELECT (SELECT count(*) FROM {}.sked_job_execution WHERE status = 'executed'), "
                  "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::int8, "
                  "(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), "
                  "(SELECT wal_sync FROM pg_stat_wal)",
                  schema));
  Counters c;
  std::stringstream in{row};
  std::string field;
  std::getline(in, field, '|');
  c.executed = std::stol(field);
  std::getline(in, field, '|');
  c.wal_bytes = std::stol(field);
  std::getline(in, field, '|');
  c.commits = std::stol(field);
  std::getline(in, field, '|');
  c.wal_syncs = std::stol(field);
  return c;
}

double measure_throughput(int processes, int run, int jobs, double seconds, int workers) {
  auto& server = PostgresServer::instance();
  const std::string schema = fmt::format("tp_{}_{}", processes, run);
  const sked::TimePoint start = sked::SystemClock::instance()->now();
  {
    auto store = open_store(schema, false);
    sked::Job job;
    job.id = "j0";
    job.name = job.id;
    job.task = "noop";
    job.trigger =
        std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1h, {.start_date = start}});
    job.misfire_grace_time = sked::no_misfire_limit;
    job.next_run_time = start;
    store->add_job(job);
  }
  // The other jobs copied in SQL: adding 200,000 through add_job would take longer than the run.
  server.psql(fmt::format(
      "INSERT INTO {0}.sked_job (id, next_run_time, job_state) SELECT 'j' || g, "
      "next_run_time + g * interval '1 microsecond', jsonb_set(job_state, '{{name}}', "
      "to_jsonb('j' || g)) FROM {0}.sked_job, generate_series(1, {1}) AS g WHERE id = 'j0'",
      schema, jobs - 1));
  std::vector<std::unique_ptr<sked::test::WorkerProcess>> procs;
  for (int i = 0; i < processes; ++i) procs.push_back(spawn(schema, workers, "", 1000));
  std::this_thread::sleep_for(2s);
  if (profile) server.psql("SELECT pg_stat_statements_reset()");
  const Counters before = counters(schema);
  const auto t1 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const Counters after = counters(schema);
  const auto t2 = std::chrono::steady_clock::now();
  const auto runs = static_cast<double>(std::max(1L, after.executed - before.executed));
  // What each recorded run cost the server: WAL written, commits, WAL flushes (fsync on).
  fmt::print(
      "  {} process(es), run {}: {:.0f} executions/s; per run: {:.0f} WAL bytes, {:.3f} "
      "commits, {:.4f} WAL flushes\n",
      processes, run + 1,
      static_cast<double>(after.executed - before.executed) /
          std::chrono::duration<double>(t2 - t1).count(),
      static_cast<double>(after.wal_bytes - before.wal_bytes) / runs,
      static_cast<double>(after.commits - before.commits) / runs,
      static_cast<double>(after.wal_syncs - before.wal_syncs) / runs);
  if (profile) {
    // The statements that took the server's time in the window, with calls per recorded run.
    fmt::print("{}", server.psql(fmt::format(
                         "SELECT format('    %8s ms %8s calls %7s per run %7s ms each  %s', "
                         "round(total_exec_time), calls, round(calls / {0}::numeric, 4), "
                         "round((total_exec_time / calls)::numeric, 3), "
                         "left(regexp_replace(query, '\\s+', ' ', 'g'), 110)) FROM "
                         "pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC "
                         "LIMIT 14",
                         runs)));
  }
  std::fflush(stdout);
  stop(procs);
  server.psql(fmt::format("DROP SCHEMA {} CASCADE", schema));
  return static_cast<double>(after.executed - before.executed) /
         std::chrono::duration<double>(t2 - t1).count();
}

// ---- wake-up -----------------------------------------------------------------------------------

void measure_wakeup(int samples) {
  const std::string schema = "wakeup";
  auto store = open_store(schema, false);
  char path[] = "/tmp/sked-wakeup-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  sked::Job target;
  target.id = "target";
  target.name = target.id;
  target.task = "stamp";
  target.misfire_grace_time = sked::no_misfire_limit;  // a late run is measured, not dropped
  target.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{24h});
  target.next_run_time = sked::SystemClock::instance()->now() + 24h;
  store->add_job(target);
  std::vector<std::unique_ptr<sked::test::WorkerProcess>> procs;
  // max_wait of a minute: a run taken within milliseconds was woken by the notification.
  procs.push_back(spawn(schema, 4, path, 60'000));
  std::this_thread::sleep_for(1s);
  for (int i = 0; i < samples; ++i) {
    const sked::TimePoint now = sked::SystemClock::instance()->now();
    if (i % 2 == 0) {
      sked::Job job;
      job.id = fmt::format("once{}", i);
      job.name = job.id;
      job.task = "stamp";
      job.misfire_grace_time = sked::no_misfire_limit;
      job.trigger = std::make_shared<sked::DateTrigger>(now);
      job.next_run_time = now;
      store->add_job(job);
    } else {
      (void)store->request_run("target", now);
    }
    // Apart, so that each sample is one wake-up rather than a batch claimed together.
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(1s);
  stop(procs);
  std::vector<long> late;
  std::ifstream in{path};
  for (long us = 0; in >> us;) late.push_back(us);
  std::remove(path);
  std::sort(late.begin(), late.end());
  if (late.empty()) throw std::runtime_error("no run was recorded");
  const auto at = [&](double q) {
    return static_cast<double>(
               late[static_cast<std::size_t>(q * static_cast<double>(late.size() - 1))]) /
           1000.0;
  };
  fmt::print(
      "wake-up from an admin change in another process to the run: {} of {} samples, "
      "p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms\n",
      late.size(), samples, at(0.5), at(0.99), at(1.0));
}

}  // namespace

int main(int argc, char** argv) {
  self = argv[0];
  if (argc == 7 && std::string_view{argv[1]} == "--worker") {
    return worker(argv[2], argv[3], std::stoi(argv[4]),
                  std::string_view{argv[5]} == "-" ? "" : argv[5], std::stol(argv[6]));
  }
  if (argc < 2) {
    std::cerr << "usage: sked_postgres_cluster_bench throughput|wakeup [options]\n";
    return 2;
  }
  const std::string mode = argv[1];
  std::vector<int> processes{1, 2, 4};
  int runs = 3, jobs = 200'000, workers = 4, samples = 300;
  double seconds = 5;
  std::string synchronous_commit = "on";
  std::string fsync = "on";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag{argv[i]};
    const std::string value{argv[i + 1]};
    if (flag == "--processes")
      processes = numbers(value);
    else if (flag == "--runs")
      runs = std::stoi(value);
    else if (flag == "--jobs")
      jobs = std::stoi(value);
    else if (flag == "--seconds")
      seconds = std::stod(value);
    else if (flag == "--workers")
      workers = std::stoi(value);
    else if (flag == "--samples")
      samples = std::stoi(value);
    else if (flag == "--synchronous-commit")
      synchronous_commit = value;
    else if (flag == "--fsync")
      fsync = value;
    else if (flag == "--profile")
      profile = value == "on";
    else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  if (fsync != "on" && fsync != "off") {
    std::cerr << "--fsync takes on or off\n";
    return 2;
  }
  // fsync on: the server's defaults (fsync, full-page writes), what users run; off: the tests'
  // scratch server, whose commits cost no disk flush.
  PostgresServer::settings() = fsync == "on" ? "" : "-c fsync=off -c full_page_writes=off";
  if (profile) {
    PostgresServer::settings() += " -c shared_preload_libraries=pg_stat_statements";
    PostgresServer::settings() += " -c pg_stat_statements.track_utility=on";
  }
  auto& server = PostgresServer::instance();
  if (profile) server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  // For every new session of the database.
  server.psql(
      fmt::format("ALTER DATABASE postgres SET synchronous_commit = {}", synchronous_commit));
  std::this_thread::sleep_for(200ms);
  fmt::print("server: {} (PostgreSQL on a Unix socket, this host)\n", settings(server));
  if (mode == "wakeup") {
    measure_wakeup(samples);
    return 0;
  }
  // Runs alternate between the process counts, so that load from elsewhere on the machine falls
  // on all of them alike.
  std::map<int, std::vector<double>> rates;
  for (int r = 0; r < runs; ++r) {
    for (int p : processes) rates[p].push_back(measure_throughput(p, r, jobs, seconds, workers));
  }
  for (int p : processes) {
    std::vector<double> sorted = rates[p];
    std::sort(sorted.begin(), sorted.end());
    fmt::print(
        "{} process(es) x {} workers, {} jobs: executions/s min {:.0f} median {:.0f} max "
        "{:.0f} (runs:",
        p, workers, jobs, sorted.front(), sorted[sorted.size() / 2], sorted.back());
    for (double x : rates[p]) fmt::print(" {:.0f}", x);
    fmt::print(")\n");
  }
  return 0;
}
