// What the PostgreSQL store does beyond the contract every store meets: sharing one schedule
// between connections, liveness by the server's clock, notifications, schema versions, surviving a
// restart.

#include "stores/store_factories.hpp"
#include "support/process_group.hpp"
#include "support/warnings.hpp"
#include "support/worker_process.hpp"

#include <sked/errors.hpp>
#include <sked/stores/postgres.hpp>
#include <sked/triggers/interval.hpp>

#include "detail/run_process.hpp"
#include "detail/scheduler_registry.hpp"

#include <catch2/catch.hpp>

#include <date/date.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

#ifndef SKED_PG_BINDIR
TEST_CASE("the PostgreSQL store's tests need the PostgreSQL server binaries", "[store][postgres]") {
  WARN(
      "skipped: initdb was not found when sked was configured (Debian: apt-get install "
      "postgresql)");
}
#else

namespace {

using sked::test::PostgresServer;
using sked::test::PostgresStoreFactory;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

using sked::test::Warnings;

sked::Job interval_job(std::string id, sked::Duration every, std::optional<sked::TimePoint> next) {
  sked::Job job;
  job.id = id;
  job.name = id;
  job.task = "task";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{every, {.start_date = t0}});
  job.misfire_grace_time = sked::no_misfire_limit;
  job.next_run_time = next;
  return job;
}

// `jobs` per-second jobs of task "record" firing `fire_times` times from `start`, for the worker
// processes (tests/stores/postgres_worker.cpp), and the table in which the workers' tasks log each
// run.
void seed_worker_jobs(PostgresStoreFactory& factory, int jobs, int fire_times,
                      sked::TimePoint start) {
  {
    auto store = factory.make();
    for (int i = 0; i < jobs; ++i) {
      auto j = interval_job(fmt::format("j{}", i), 1s, start);
      j.task = "record";
      j.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{
          1s, {.start_date = start, .end_date = start + std::chrono::seconds{fire_times - 1}}});
      j.coalesce = false;
      j.max_instances = 10;
      store->add_job(j);
    }
  }
  PostgresServer::instance().psql(fmt::format(
      "CREATE TABLE {}.worker_run (job_id text NOT NULL, run_time text NOT NULL, pid bigint)",
      factory.schema));
}

}  // namespace

TEST_CASE("postgres store keeps times exact to the microsecond", "[store][postgres]") {
  PostgresStoreFactory factory;
  auto store = factory.make();
  for (const auto t : {t0 + 1us, t0 - 1us, sked::parse_time("1970-01-01T00:00:00Z") - 123'456us,
                       sked::parse_time("2999-12-31T23:59:59.999999Z"),
                       sked::parse_time("1900-06-30T12:00:00.5Z")}) {
    store->add_job(interval_job("exact", 1s, t), true);
    CHECK(store->lookup_job("exact")->next_run_time == t);
    CHECK(store->next_run_time() == t);
  }
}

TEST_CASE("postgres stores claiming together never start one fire time twice",
          "[store][postgres][claim]") {
  const int stores = GENERATE(1, 2, 4);
  PostgresStoreFactory factory;
  constexpr int jobs = 20;
  constexpr int ticks = 10;
  {
    auto setup = factory.make();
    for (int i = 0; i < jobs; ++i) setup->add_job(interval_job(fmt::format("job{:02}", i), 1s, t0));
  }
  std::mutex mutex;
  std::vector<std::pair<std::string, sked::TimePoint> > started;
  std::vector<std::thread> threads;
  for (int s = 0; s < stores; ++s) {
    threads.emplace_back([&] {
      auto store = factory.make();
      for (int k = 0; k < ticks; ++k) {
        // Small claims, so the stores interleave and contend for the same due rows.
        for (;;) {
          auto claims = store->claim_due_jobs(t0 + k * 1s, 3, {});
          if (claims.empty()) break;
          for (auto& c : claims) {
            for (auto& run : c.runs) {
              {
                std::lock_guard lock(mutex);
                started.emplace_back(run.execution().job_id, run.execution().run_time);
              }
              run.complete({.status = sked::ExecutionStatus::executed});
            }
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::set<std::pair<std::string, sked::TimePoint> > distinct(started.begin(), started.end());
  CHECK(distinct.size() == started.size());
  // Every fire time of every job was recorded once, started or (folded by coalescing) missed.
  auto store = factory.make();
  const auto history = store->get_executions({.limit = 100'000});
  CHECK(history.size() == static_cast<std::size_t>(jobs * ticks));
  for (const auto& e : history) CHECK(e.status != sked::ExecutionStatus::started);
}

TEST_CASE(
    "postgres store: a scheduler stale by the server's clock is dead, a skewed host clock does not "
    "matter",
    "[store][postgres][interrupted]") {
  PostgresStoreFactory factory;
  // Manual clocks that are never advanced: no heartbeat thread refreshes anything behind the test's
  // back.
  auto frozen = std::make_shared<sked::ManualClock>(t0);
  auto options = factory.options();
  options.clock = frozen;
  options.scheduler_id = "a";
  auto a = std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(), options);
  a->add_job(interval_job("j", 1min, t0));
  auto claims = a->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.at(0).runs.size() == 1);
  const auto id = claims[0].runs[0].execution().id;

  Warnings warnings;
  SECTION("a healthy peer is alive even to a store whose clock is minutes off") {
    auto skewed_options = factory.options();
    skewed_options.clock =
        std::make_shared<sked::ManualClock>(sked::SystemClock::instance()->now() + 10min);
    skewed_options.scheduler_id = "skewed";
    skewed_options.on_warning = warnings.sink();
    auto skewed = std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(),
                                                           skewed_options);
    CHECK(skewed->claim_due_jobs(t0 + 30s, 10, {}).empty());
    CHECK(skewed->get_executions({.id = id}).at(0).status == sked::ExecutionStatus::started);
    CHECK(skewed->live_schedulers().size() == 2);
  }
  SECTION("a peer whose heartbeat is old by the server's clock has its runs interrupted") {
    PostgresServer::instance().psql(fmt::format(
        "UPDATE {}.sked_scheduler SET heartbeat = now() - interval '1 hour' WHERE id = 'a'",
        factory.schema));
    auto b_options = factory.options();
    b_options.clock = std::make_shared<sked::ManualClock>(t0 - 10min);  // skewed the other way
    b_options.scheduler_id = "b";
    b_options.on_warning = warnings.sink();
    auto b =
        std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(), b_options);
    CHECK(b->live_schedulers().empty());
    (void)b->claim_due_jobs(t0 + 30s, 10, {});
    const auto record = b->get_executions({.id = id}).at(0);
    CHECK(record.status == sked::ExecutionStatus::interrupted);
    CHECK_THAT(record.exception,
               Catch::Contains("scheduler 'a'") && Catch::Contains("stopped sending heartbeats"));
    CHECK(warnings.count_containing("recorded 1 run(s) of dead scheduler 'a' as interrupted") == 1);
    // The run did go on: completing it records how it really ended, and `a` registers again.
    claims[0].runs[0].complete({.status = sked::ExecutionStatus::executed});
    // Read through `a`, which waits for its own completions to be written; `b` sees it once it is.
    CHECK(a->get_executions({.id = id}).at(0).status == sked::ExecutionStatus::executed);
    CHECK(b->get_executions({.id = id}).at(0).status == sked::ExecutionStatus::executed);
  }
}

TEST_CASE(
    "postgres store: a claim does not wait for a stale peer stopped in the middle of its own claim",
    "[store][postgres][interrupted]") {
  PostgresStoreFactory factory;
  auto options = factory.options();
  options.clock = std::make_shared<sked::ManualClock>(t0);
  options.scheduler_id = "a";
  auto a = std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(), options);
  a->add_job(interval_job("j1", 1min, t0));
  a->add_job(interval_job("j2", 1min, t0 + 1s));
  const auto first = a->claim_due_jobs(t0, 10, {});  // registers `a`; its run of j1 goes on
  REQUIRE(first.size() == 1);
  PostgresServer::instance().psql(fmt::format(
      "UPDATE {}.sked_scheduler SET heartbeat = now() - interval '1 hour' WHERE id = 'a'",
      factory.schema));
  // `a` is held inside its next claim (the filter runs in its transaction), as a process stopped
  // there would be: the heartbeat it refreshed is not committed, and its row is locked.
  std::mutex mutex;
  std::condition_variable cv;
  bool inside = false, release = false;
  std::thread held([&] {
    (void)a->claim_due_jobs(t0 + 1s, 10, [&](const sked::Job&) {
      std::unique_lock lock(mutex);
      inside = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return true;
    });
  });
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return inside; }));
  }
  auto b_options = factory.options();
  b_options.clock = std::make_shared<sked::ManualClock>(t0);
  b_options.scheduler_id = "b";
  auto b =
      std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(), b_options);
  auto claim = std::async(std::launch::async, [&] { return b->claim_due_jobs(t0 + 1s, 10, {}); });
  const bool finished = claim.wait_for(10s) == std::future_status::ready;
  {
    std::lock_guard lock(mutex);
    release = true;
    cv.notify_all();
  }
  held.join();
  CHECK(finished);
  CHECK(claim.get().empty());  // j2 is `a`'s, locked
  // `a` was not reaped meanwhile: its run of j1 is still started, and it is alive.
  CHECK(b->get_executions({.job_id = "j1"}).at(0).status == sked::ExecutionStatus::started);
  CHECK(b->live_schedulers().size() == 2);
}

TEST_CASE("postgres store: a claim locks no more due rows than it can take",
          "[store][postgres][claim]") {
  PostgresStoreFactory factory;
  auto store = factory.make();
  for (int i = 0; i < 10; ++i) store->add_job(interval_job(fmt::format("j{}", i), 1min, t0));
  // Asked from another connection while the claim holds its rows (the filter runs inside it): the
  // rows a peer could claim beside it.
  std::optional<int> free_rows;
  const auto claims = store->claim_due_jobs(t0, 3, [&](const sked::Job&) {
    if (!free_rows) {
      free_rows = std::stoi(PostgresServer::instance().psql(
          fmt::format("SELECT count(*) FROM (SELECT id FROM {}.sked_job FOR UPDATE SKIP LOCKED) "
                      "AS s",
                      factory.schema)));
    }
    return true;
  });
  CHECK(claims.size() == 3);
  CHECK(free_rows == 7);
}

TEST_CASE(
    "postgres store: a claim does not wait for this process's unwritten completions, and counts "
    "their runs as finished",
    "[store][postgres][claim]") {
  PostgresStoreFactory factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));  // max_instances 1
  auto first = store->claim_due_jobs(t0, 10, {});
  REQUIRE(first.size() == 1);
  const auto id = first[0].runs.at(0).execution().id;
  auto& server = PostgresServer::instance();
  // Another session holds the run's record, so that writing how the run ended waits for it.
  const auto holders = fmt::format(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = "
      "'PgSleep' AND query LIKE '%{}.sked_job_execution%'",
      factory.schema);
  struct Holder {
    std::string schema;
    void release() const {
      (void)PostgresServer::instance().psql(fmt::format(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
          "current_database() AND wait_event = 'PgSleep' AND query LIKE '%{}.sked_job_execution%'",
          schema));
    }
    ~Holder() { release(); }
  } holder{factory.schema};
  REQUIRE(std::system(fmt::format("{}/psql -X -q -d '{}' -c 'BEGIN; SELECT 1 FROM "
                                  "{}.sked_job_execution WHERE id = {} FOR UPDATE; SELECT "
                                  "pg_sleep(300)' >/dev/null 2>&1 &",
                                  SKED_PG_BINDIR, server.conninfo(), factory.schema, id)
                          .c_str()) == 0);
  REQUIRE(sked::test::eventually([&] { return std::stoi(server.psql(holders)) == 1; }, 30s));
  first[0].runs[0].complete({.status = sked::ExecutionStatus::executed});
  REQUIRE(sked::test::eventually(
      [&] {
        return std::stoi(server.psql(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE sked_job_execution AS "
                   "e%'")) == 1;
      },
      30s));
  // The next fire time starts: the run before it ended, though its record still says `started`.
  auto next =
      std::async(std::launch::async, [&] { return store->claim_due_jobs(t0 + 1min, 10, {}); });
  const bool finished = next.wait_for(30s) == std::future_status::ready;
  if (!finished) holder.release();  // else the claim, waiting for the write, would never end
  REQUIRE(finished);
  const auto claims = next.get();
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].runs.size() == 1);
  CHECK(claims[0].runs[0].execution().status == sked::ExecutionStatus::started);
  CHECK(server.psql(fmt::format("SELECT status FROM {}.sked_job_execution WHERE id = {}",
                                factory.schema, id)) == "started\n");
}

TEST_CASE("postgres store: a committed change wakes the other stores' change listeners",
          "[store][postgres][notify]") {
  PostgresStoreFactory factory;
  auto listening_options = factory.options();
  listening_options.listen = true;
  auto listening = std::make_shared<sked::PostgresJobStore>(PostgresServer::instance().conninfo(),
                                                            listening_options);
  std::mutex mutex;
  std::condition_variable cv;
  int calls = 0;
  listening->set_change_listener([&] {
    std::lock_guard lock(mutex);
    ++calls;
    cv.notify_all();
  });
  const auto wait_for = [&](int n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 10s, [&] { return calls >= n; });
  };
  auto other = factory.make();
  other->add_job(interval_job("j", 1min, t0));
  REQUIRE(wait_for(1));
  // A claim changes nothing the other schedulers need to hear of: it does not notify. Notifications
  // arrive in commit order, so one from the claim would come before the next change's.
  (void)other->claim_due_jobs(t0, 10, {});
  other->modify_job("j", [](sked::Job& j) { j.next_run_time.reset(); });
  REQUIRE(wait_for(2));
  CHECK(calls == 2);
  // Another schema's changes are not this store's.
  PostgresStoreFactory elsewhere;
  elsewhere.make()->add_job(interval_job("k", 1min, t0));
  other->remove_job("j");
  REQUIRE(wait_for(3));
  CHECK(calls == 3);
}

TEST_CASE("postgres store refuses a schema written by a newer sked and leaves it unchanged",
          "[store][postgres][schema]") {
  PostgresStoreFactory factory;
  factory.make()->add_job(interval_job("j", 1min, t0));
  auto& server = PostgresServer::instance();
  server.psql(fmt::format("UPDATE {}.sked_schema_version SET version = 99", factory.schema));
  try {
    (void)factory.make();
    FAIL("a newer schema was opened");
  } catch (const sked::StoreError& e) {
    CHECK_THAT(e.what(), Catch::Contains(factory.schema) && Catch::Contains("newer sked") &&
                             Catch::Contains("schema version 99") &&
                             Catch::Contains("left unchanged"));
  }
  CHECK(server.psql(fmt::format("SELECT version FROM {}.sked_schema_version", factory.schema)) ==
        "99\n");
  CHECK(server.psql(fmt::format("SELECT id FROM {}.sked_job", factory.schema)) == "j\n");
}

TEST_CASE("postgres store migrates a version 1 schema, and a tool refuses it unchanged",
          "[store][postgres][schema]") {
  PostgresStoreFactory factory;
  factory.make()->add_job(interval_job("j", 1min, t0));
  auto& server = PostgresServer::instance();
  // What sked wrote before runs recorded their process group.
  server.psql(fmt::format(
      "ALTER TABLE {0}.sked_job_execution DROP COLUMN process; UPDATE {0}.sked_schema_version "
      "SET version = 1",
      factory.schema));
  auto tool = factory.options();
  tool.create_schema = false;
  CHECK_THROWS_WITH(sked::PostgresJobStore(server.conninfo(), tool),
                    Catch::Contains("schema version 1, older than this sked's 2") &&
                        Catch::Contains("left unchanged"));
  CHECK(server.psql(fmt::format("SELECT version FROM {}.sked_schema_version", factory.schema)) ==
        "1\n");
  auto store = factory.make();
  CHECK(server.psql(fmt::format("SELECT version FROM {}.sked_schema_version", factory.schema)) ==
        "2\n");
  CHECK(store->lookup_job("j"));
  CHECK(server.psql(fmt::format(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{}' AND "
            "table_name = 'sked_job_execution' AND column_name = 'process'",
            factory.schema)) == "1\n");
}

TEST_CASE(
    "postgres store: a command that outlived its dead scheduler on this host is stopped before the "
    "job runs "
    "again",
    "[store][postgres][interrupted][survivor]") {
  PostgresStoreFactory factory;
  auto& server = PostgresServer::instance();
  auto options = factory.options();
  options.clock = std::make_shared<sked::ManualClock>(t0);
  options.scheduler_id = "a";
  auto a = std::make_shared<sked::PostgresJobStore>(server.conninfo(), options);
  a->add_job(interval_job("j", 1min, t0));  // max_instances 1
  auto claims = a->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.at(0).runs.size() == 1);
  const auto id = claims[0].runs[0].execution().id;
  sked::test::SleepingGroup survivor;
  const auto process =
      sked::detail::describe_process_group(survivor.pid(), sked::detail::host_name());
  REQUIRE(process);
  server.psql(fmt::format("UPDATE {}.sked_job_execution SET process = '{}' WHERE id = {}",
                          factory.schema, sked::detail::format_run_process(*process), id));
  // `a` stops sending heartbeats, as a process killed by SIGKILL would (it stays open here, so the
  // test reads its pid as alive: staleness decides).
  server.psql(fmt::format(
      "UPDATE {}.sked_scheduler SET heartbeat = now() - interval '1 hour' WHERE id = 'a'",
      factory.schema));
  Warnings warnings;
  auto b_options = factory.options();
  b_options.clock = std::make_shared<sked::ManualClock>(t0 + 1min);
  b_options.scheduler_id = "b";
  b_options.on_warning = warnings.sink();
  auto b = std::make_shared<sked::PostgresJobStore>(server.conninfo(), b_options);
  const auto next = b->claim_due_jobs(t0 + 1min, 10, {});
  CHECK(survivor.ended_by() == SIGTERM);
  REQUIRE(next.size() == 1);
  CHECK(next[0].executions.at(0).status == sked::ExecutionStatus::started);
  const auto record = b->get_executions({.id = id}).at(0);
  CHECK(record.status == sked::ExecutionStatus::interrupted);
  CHECK_THAT(record.exception,
             Catch::Contains("scheduler 'a'") &&
                 Catch::Contains(fmt::format(
                     "its command (process group {}) was still running and was stopped with "
                     "SIGTERM",
                     survivor.pid())));
  CHECK(warnings.count_containing("outlived scheduler 'a'") == 1);
}

TEST_CASE("postgres stores starting together on a new schema create it once",
          "[store][postgres][schema]") {
  const int stores = GENERATE(2, 4);
  PostgresStoreFactory factory;
  std::atomic<int> opened{0};
  std::vector<std::string> errors(static_cast<std::size_t>(stores));
  std::vector<std::thread> threads;
  for (int i = 0; i < stores; ++i) {
    threads.emplace_back([&, i] {
      try {
        (void)factory.make();
        ++opened;
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) CHECK(e.empty());
  CHECK(opened == stores);
  CHECK(PostgresServer::instance().psql(
            fmt::format("SELECT count(*) FROM {}.sked_schema_version", factory.schema)) == "1\n");
}

TEST_CASE("postgres store names the connection in errors, never its password",
          "[store][postgres][errors]") {
  auto& server = PostgresServer::instance();
  try {
    (void)sked::PostgresJobStore(server.conninfo("no_such_db") +
                                 " password=hunter2 connect_timeout=5");
    FAIL("connected to a database that does not exist");
  } catch (const sked::StoreError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("no_such_db") && Catch::Contains("cannot connect"));
    CHECK_THAT(what, !Catch::Contains("hunter2"));
  }
  CHECK_THROWS_AS(sked::PostgresJobStore(server.conninfo(), {.schema = "bad name; DROP"}),
                  sked::InvalidArgument);
  PostgresStoreFactory factory;
  auto options = factory.options();
  options.create_schema = false;
  CHECK_THROWS_WITH(sked::PostgresJobStore(server.conninfo(), options),
                    Catch::Contains("holds no sked store"));
}

TEST_CASE("postgres store records output that is not valid UTF-8", "[store][postgres]") {
  PostgresStoreFactory factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));
  auto claims = store->claim_due_jobs(t0, 10, {});
  claims.at(0).runs.at(0).complete({.status = sked::ExecutionStatus::error,
                                    .exception = "bad \xff byte",
                                    .traceback = std::string("nul\0here", 8)});
  const auto record = store->get_executions({.job_id = "j"}).at(0);
  CHECK(record.status == sked::ExecutionStatus::error);
  CHECK(record.exception == "bad \xef\xbf\xbd byte");
  CHECK(record.traceback == "nul\xef\xbf\xbdhere");
}

TEST_CASE("postgres store survives a server restart: the next call reconnects",
          "[store][postgres][faults]") {
  PostgresStoreFactory factory;
  Warnings warnings;
  auto options = factory.options();
  options.on_warning = warnings.sink();
  options.listen = true;
  auto store = std::make_shared<sked::PostgresJobStore>(PostgresServer::own().conninfo(), options);
  std::mutex mutex;
  std::condition_variable cv;
  int calls = 0;
  store->set_change_listener([&] {
    std::lock_guard lock(mutex);
    ++calls;
    cv.notify_all();
  });
  store->add_job(interval_job("j", 1min, t0));
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return calls >= 1; }));
  }
  PostgresServer::own().restart_immediately();
  const auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).run_time == t0);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
  CHECK(warnings.count_containing("lost the connection") == 1);
  CHECK(warnings.count_containing("reconnected after") == 1);
  // The listening connection comes back too, and says changes may have been missed meanwhile.
  std::unique_lock lock(mutex);
  CHECK(cv.wait_for(lock, 30s, [&] { return calls >= 2; }));
}

TEST_CASE(
    "postgres store: with the server down, calls fail after reconnect_timeout once, then at once",
    "[store][postgres][faults]") {
  PostgresStoreFactory factory;
  auto options = factory.options();
  options.reconnect_timeout = 2s;
  auto store = std::make_shared<sked::PostgresJobStore>(PostgresServer::own().conninfo(), options);
  store->add_job(interval_job("j", 1min, t0));
  PostgresServer::own().kill();
  const auto timed = [&] {
    const auto begin = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(store->next_run_time(), Catch::Contains("could not be reopened within 2 s"));
    return std::chrono::steady_clock::now() - begin;
  };
  CHECK(timed() >= 2s);
  // A scheduler stopping now (its last claim, completions, unregistering) is not held 2 s per call.
  CHECK(timed() < 2s);
  PostgresServer::own().start();
  CHECK(store->next_run_time() == t0);
}

TEST_CASE("postgres store: runs that finish while the server is down are recorded once it is back",
          "[store][postgres][faults]") {
  PostgresStoreFactory factory;
  auto options = factory.options();
  options.reconnect_timeout = 1s;
  Warnings warnings;
  options.on_warning = warnings.sink();
  auto store = std::make_shared<sked::PostgresJobStore>(PostgresServer::own().conninfo(), options);
  for (int i = 0; i < 3; ++i) store->add_job(interval_job(fmt::format("j{}", i), 1min, t0));
  auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 3);
  PostgresServer::own().kill();
  // Completing never waits for the server, and nothing is reported lost.
  for (auto& c : claims) c.runs.at(0).complete({.status = sked::ExecutionStatus::executed});
  CHECK(sked::test::eventually(
      [&] { return warnings.count_containing("they are kept in memory") == 1; }, 30s));
  PostgresServer::own().start();
  CHECK(sked::test::eventually(
      [&] {
        const auto history = store->get_executions({});
        return history.size() == 3 &&
               std::all_of(history.begin(), history.end(), [](const sked::Execution& e) {
                 return e.status == sked::ExecutionStatus::executed;
               });
      },
      30s));
  CHECK(warnings.count_containing("recorded the finished runs kept") == 1);
}

TEST_CASE("three scheduler processes on one PostgreSQL schema run every fire time exactly once",
          "[store][postgres][process]") {
  PostgresStoreFactory factory;
  auto& server = PostgresServer::instance();
  constexpr int jobs = 6;
  constexpr int fire_times = 3;
  // The first whole second at least one second away: time for the workers to start.
  const sked::TimePoint start =
      std::chrono::ceil<std::chrono::seconds>(sked::SystemClock{}.now() + 1s);
  seed_worker_jobs(factory, jobs, fire_times, start);
  std::vector<std::unique_ptr<sked::test::WorkerProcess> > workers;
  for (int w = 0; w < 3; ++w) {
    workers.push_back(std::make_unique<sked::test::WorkerProcess>(
        SKED_POSTGRES_WORKER, std::vector<std::string>{"--db", server.conninfo(), "--schema",
                                                       factory.schema, "--exit-when-done"}));
  }
  // Each exits once the last fire time of every job has been claimed and run.
  for (auto& w : workers) {
    const auto exit = w->wait_exit(30s);
    REQUIRE(exit);
    CHECK(WIFEXITED(*exit));
    CHECK(WEXITSTATUS(*exit) == 0);
  }
  // What really ran, from the tasks themselves: each fire time once, none missing.
  std::map<std::string, int> ran;
  std::istringstream rows{server.psql(
      fmt::format("SELECT job_id || ' ' || run_time FROM {}.worker_run", factory.schema))};
  for (std::string line; std::getline(rows, line);) ++ran[line];
  std::map<std::string, int> expected;
  for (int i = 0; i < jobs; ++i) {
    for (int k = 0; k < fire_times; ++k) {
      expected[fmt::format("j{} {}", i, date::format("%FT%TZ", start + std::chrono::seconds{k}))] =
          1;
    }
  }
  CHECK(ran == expected);
  // And the store's record agrees, and every scheduler unregistered on its way out.
  CHECK(
      server.psql(fmt::format("SELECT status, count(*) FROM {}.sked_job_execution GROUP BY status",
                              factory.schema)) == fmt::format("executed|{}\n", jobs * fire_times));
  CHECK(server.psql(fmt::format("SELECT count(*) FROM {}.sked_scheduler", factory.schema)) ==
        "0\n");
}

TEST_CASE(
    "a scheduler process stopped past stale_after and continued runs and records nothing twice",
    "[store][postgres][process][interrupted]") {
  PostgresStoreFactory factory;
  auto& server = PostgresServer::instance();
  constexpr int jobs = 6;
  constexpr int fire_times = 8;
  const sked::TimePoint start =
      std::chrono::ceil<std::chrono::seconds>(sked::SystemClock{}.now() + 1s);
  seed_worker_jobs(factory, jobs, fire_times, start);
  std::vector<std::unique_ptr<sked::test::WorkerProcess> > workers;
  for (int w = 0; w < 3; ++w) {
    workers.push_back(std::make_unique<sked::test::WorkerProcess>(
        SKED_POSTGRES_WORKER,
        std::vector<std::string>{"--db", server.conninfo(), "--schema", factory.schema,
                                 "--exit-when-done", "--heartbeat-ms", "200", "--stale-after-ms",
                                 "1000"}));
  }
  // Stopped once the runs have begun, for three times stale_after: its peers take it for dead and
  // record its unfinished runs interrupted; then it goes on from where it was.
  const auto ran_count = [&] {
    return std::stoi(
        server.psql(fmt::format("SELECT count(*) FROM {}.worker_run", factory.schema)));
  };
  REQUIRE(sked::test::eventually([&] { return ran_count() >= jobs; }, 30s));
  // Stopped inside a claim, a scheduler holds its own row, and its peers rightly leave it alone
  // until it goes on (PostgresJobStore's reap): such a stop tests nothing here, so it is undone and
  // tried again until the stopped process holds no lock on its row (the row names its pid).
  const auto stopped_between_claims = [&] {
    workers[0]->signal(SIGSTOP);
    const bool free =
        server.psql(fmt::format("SELECT count(*) FROM (SELECT 1 FROM {}.sked_scheduler "
                                "WHERE pid = {} FOR UPDATE SKIP LOCKED) AS free",
                                factory.schema, workers[0]->pid())) == "1\n";
    if (!free) workers[0]->signal(SIGCONT);
    return free;
  };
  REQUIRE(sked::test::eventually(stopped_between_claims, 30s));
  REQUIRE(sked::test::eventually(
      [&] {
        return server.psql(fmt::format("SELECT count(*) FROM {}.sked_scheduler", factory.schema)) ==
               "2\n";
      },
      30s));
  std::this_thread::sleep_for(2s);  // well past stale_after: the pause is what is tested
  workers[0]->signal(SIGCONT);
  for (auto& w : workers) {
    const auto exit = w->wait_exit(60s);
    REQUIRE(exit);
    CHECK(WIFEXITED(*exit));
    CHECK(WEXITSTATUS(*exit) == 0);
  }
  // From the tasks themselves: each fire time ran once, none is missing.
  std::map<std::string, int> ran;
  std::istringstream rows{server.psql(
      fmt::format("SELECT job_id || ' ' || run_time FROM {}.worker_run", factory.schema))};
  for (std::string line; std::getline(rows, line);) ++ran[line];
  std::map<std::string, int> expected;
  for (int i = 0; i < jobs; ++i) {
    for (int k = 0; k < fire_times; ++k) {
      expected[fmt::format("j{} {}", i, date::format("%FT%TZ", start + std::chrono::seconds{k}))] =
          1;
    }
  }
  CHECK(ran == expected);
  // From the history: one record per fire time, each as it really ended (a run recorded
  // interrupted while its scheduler was stopped was completed once it went on).
  CHECK(
      server.psql(fmt::format("SELECT status, count(*) FROM {}.sked_job_execution GROUP BY status",
                              factory.schema)) == fmt::format("executed|{}\n", jobs * fire_times));
}

#endif

}  // namespace SKED_TEST_FILE
