// sked::http under load: requests per second and latency percentiles of the dashboard's pages, the
// JSON API and /metrics on a store of 100,000 jobs and 1,000,000 execution records (by default), in
// an SQLite file or, with --postgres, in a throwaway PostgreSQL server the benchmark starts (the
// tests' helper; built when SKED_WITH_POSTGRES and the server's binaries are found).
// A plain program rather than a Google Benchmark: it measures a server from its clients.
//
//   sked_http_bench [--jobs N] [--executions N] [--seconds S] [--connections C] [--threads T]
//                   [--postgres]

#include "scratch_file.hpp"

#include <sked/http/server.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/triggers/interval.hpp>

#ifdef SKED_PG_BINDIR
#include "support/postgres_server.hpp"

#include <sked/stores/postgres.hpp>

#include <libpq-fe.h>
#include <nlohmann/json.hpp>
#endif

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::int64_t jobs = 100'000;
  std::int64_t executions = 1'000'000;
  double seconds = 5;
  int connections = 4;
  int threads = 4;
  bool postgres = false;
};

sked::Job first_job() {
  sked::Job job;
  job.id = "job0";
  job.name = "job0";
  job.task = "task0";
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::Duration{24h});
  job.next_run_time = sked::SystemClock{}.now() + 1h;
  return job;
}

// Jobs job0..job(n-1) over 50 tasks, due one second apart from an hour from now; execution
// records spread over the jobs, one a second, mostly executed with a few errors and misses.
void fill(const std::string& path, const Args& args) {
  {
    sked::SqliteJobStore store{path, {.on_warning = [](std::string_view) {}}};
    store.add_job(first_job());
  }
  SQLite::Database db{path, SQLite::OPEN_READWRITE};
  SQLite::Transaction tx{db};
  SQLite::Statement jobs{db, R"sql(
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
    INSERT INTO sked_job (id, next_run_time, job_state)
    SELECT 'job' || i,
           strftime('%Y-%m-%dT%H:%M:%S', 'now', '+1 hour', '+' || i || ' seconds') || '.000000Z',
           json_set((SELECT job_state FROM sked_job WHERE id = 'job0'),
                    '$.name', 'job number ' || i, '$.task', 'task' || (i % 50))
    FROM n)sql"};
  jobs.bind(1, args.jobs - 1);
  jobs.exec();
  SQLite::Statement runs{db, R"sql(
    WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
    INSERT INTO sked_job_execution (job_id, status, run_time, duration, finished, exception)
    SELECT 'job' || (i % ?2),
           CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 97 = 0 THEN 'missed' ELSE 'executed' END,
           strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (?1 - i) || ' seconds') || '.000000Z',
           CASE WHEN i % 97 = 0 AND i % 50 != 0 THEN NULL ELSE (abs(random()) % 5000) / 1000.0 END,
           CASE WHEN i % 97 = 0 AND i % 50 != 0 THEN NULL
                ELSE strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || (?1 - i - 5) || ' seconds')
                     || '.000000Z' END,
           CASE WHEN i % 50 = 0 THEN 'std::runtime_error: disk full' ELSE '' END
    FROM n)sql"};
  runs.bind(1, args.executions);
  runs.bind(2, args.jobs);
  runs.exec();
  tx.commit();
}

#ifdef SKED_PG_BINDIR
// The same rows in PostgreSQL (schema sked), in one transaction of SQL.
void fill_postgres(const Args& args) {
  {
    sked::PostgresJobStore store{sked::test::PostgresServer::instance().conninfo(),
                                 {.listen = false, .on_warning = [](std::string_view) {}}};
    store.add_job(first_job());
  }
  PGconn* conn = PQconnectdb(sked::test::PostgresServer::instance().conninfo().c_str());
  const std::string jobs = std::to_string(args.jobs);
  const std::string executions = std::to_string(args.executions);
  const char* values[] = {jobs.c_str(), executions.c_str()};
  const auto exec = [&](const char* sql, int n) {
    PGresult* r = PQexecParams(conn, sql, n, nullptr, values, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::fprintf(stderr, "sked_http_bench: %s", PQerrorMessage(conn));
      std::exit(1);
    }
    PQclear(r);
  };
  exec(
      "INSERT INTO sked.sked_job (id, next_run_time, job_state) "
      "SELECT 'job' || i, now() + interval '1 hour' + i * interval '1 second', "
      "jsonb_set(jsonb_set((SELECT job_state FROM sked.sked_job WHERE id = 'job0'), '{name}', "
      "to_jsonb('job number ' || i)), '{task}', to_jsonb('task' || (i % 50))) "
      "FROM generate_series(1, $1::int8 - 1) AS i",
      1);
  exec(
      "INSERT INTO sked.sked_job_execution (job_id, status, run_time, duration, finished, "
      "exception) "
      "SELECT 'job' || (i % $1::int8), "
      "CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 97 = 0 THEN 'missed' ELSE 'executed' END, "
      "now() - ($2::int8 - i) * interval '1 second', "
      "CASE WHEN i % 97 = 0 AND i % 50 <> 0 THEN NULL ELSE floor(random() * 5000) / 1000.0 END, "
      "CASE WHEN i % 97 = 0 AND i % 50 <> 0 THEN NULL "
      "ELSE now() - ($2::int8 - i - 5) * interval '1 second' END, "
      "CASE WHEN i % 50 = 0 THEN 'std::runtime_error: disk full' ELSE '' END "
      "FROM generate_series(0, $2::int8 - 1) AS i",
      2);
  PGresult* r = PQexec(conn, "ANALYZE");
  PQclear(r);
  PQfinish(conn);
}
#endif

struct Result {
  double requests_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::size_t errors = 0;
};

Result load(std::uint16_t port, const std::string& path, const Args& args) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(args.connections));
  std::atomic<std::size_t> errors{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(args.seconds);
  const auto started = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < args.connections; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client{"127.0.0.1", port};
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30);
      auto& mine = latencies[static_cast<std::size_t>(c)];
      while (Clock::now() < deadline) {
        const auto t = Clock::now();
        const auto r = client.Get(path);
        if (!r || r->status != 200) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      }
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  if (all.empty()) return r;
  r.requests_per_second = static_cast<double>(all.size()) / elapsed;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.errors = errors;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : "";
    if (flag == "--jobs")
      args.jobs = std::atoll(value);
    else if (flag == "--executions")
      args.executions = std::atoll(value);
    else if (flag == "--seconds")
      args.seconds = std::atof(value);
    else if (flag == "--connections")
      args.connections = std::atoi(value);
    else if (flag == "--threads")
      args.threads = std::atoi(value);
    else if (flag == "--postgres") {
      args.postgres = true;
      --i;  // takes no value
    } else {
      std::fprintf(stderr, "sked_http_bench: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  sked::bench::ScratchFile file;
  auto t = Clock::now();
  std::shared_ptr<sked::JobStore> store;
  if (args.postgres) {
#ifdef SKED_PG_BINDIR
    fill_postgres(args);
    store = std::make_shared<sked::PostgresJobStore>(
        sked::test::PostgresServer::instance().conninfo(),
        sked::PostgresJobStoreOptions{.create_schema = false, .read_only = true, .listen = false});
#else
    std::fprintf(
        stderr,
        "sked_http_bench: built without PostgreSQL (SKED_WITH_POSTGRES and its server binaries)\n");
    return 2;
#endif
  } else {
    fill(file.path(), args);
    store = std::make_shared<sked::SqliteJobStore>(
        file.path(), sked::SqliteJobStoreOptions{.open_mode = sked::SqliteOpenMode::read_only});
  }
  std::printf("filled %lld jobs and %lld executions in %s in %.1f s\n",
              static_cast<long long>(args.jobs), static_cast<long long>(args.executions),
              args.postgres ? "PostgreSQL" : "SQLite",
              std::chrono::duration<double>(Clock::now() - t).count());

  // As `sked serve`: the job list is read on a second handle.
  std::shared_ptr<sked::JobStore> list_store;
  if (args.postgres) {
#ifdef SKED_PG_BINDIR
    list_store = std::make_shared<sked::PostgresJobStore>(
        sked::test::PostgresServer::instance().conninfo(),
        sked::PostgresJobStoreOptions{.create_schema = false, .read_only = true, .listen = false});
#endif
  } else {
    list_store = std::make_shared<sked::SqliteJobStore>(
        file.path(), sked::SqliteJobStoreOptions{.open_mode = sked::SqliteOpenMode::read_only});
  }
  sked::http::Server server{store,
                            {.port = 0, .threads = args.threads, .job_list_store = list_store}};
  server.start();
  httplib::Client client{"127.0.0.1", server.port()};
  client.set_read_timeout(300);
  // The first page reads every job into the cache; the first scrape reads every record once.
  t = Clock::now();
  const bool page_ok = client.Get("/")->status == 200;
  const double first_page = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  t = Clock::now();
  const bool metrics_ok = client.Get("/metrics")->status == 200;
  const double first_scrape = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  std::printf("first jobs page (reads every job): %.0f ms%s\n", first_page,
              page_ok ? "" : " FAILED");
  std::printf("first /metrics (reads every record): %.0f ms%s\n", first_scrape,
              metrics_ok ? "" : " FAILED");

  std::printf("\n%d connections, %d server threads, %.1f s each\n", args.connections, args.threads,
              args.seconds);
  std::printf("%-34s %10s %9s %9s %7s\n", "path", "req/s", "p50 ms", "p99 ms", "errors");
  int failed = page_ok && metrics_ok ? 0 : 1;
  // A job that exists at any --jobs: the smoke test fills only 1,000.
  const std::string some_job = "job" + std::to_string(std::min<std::int64_t>(4242, args.jobs / 2));
  // A history page deep in the past: paged by offset.
  const std::string deep =
      "/executions?page=" + std::to_string(std::max<std::int64_t>(1, args.executions / 50 / 10));
  for (const std::string& path :
       {std::string{"/"}, "/?q=" + some_job, std::string{"/?state=paused"}, "/jobs/" + some_job,
        std::string{"/executions"}, deep, std::string{"/executions?status=error"},
        std::string{"/api/jobs?size=50"}, std::string{"/metrics"}}) {
    const Result r = load(server.port(), path.c_str(), args);
    std::printf("%-34s %10.0f %9.2f %9.2f %7zu\n", path.c_str(), r.requests_per_second, r.p50_ms,
                r.p99_ms, r.errors);
    if (r.errors != 0 || r.requests_per_second == 0) failed = 1;
  }
  return failed;
}
