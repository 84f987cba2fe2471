// What the SQLite store adds to the store contract: persistence, the file's schema and its history,
// schedulers sharing one file, and bad data that is reported without being lost.
//

#include "support/process_group.hpp"
#include "support/recorder.hpp"
#include "support/temp_dir.hpp"
#include "support/warnings.hpp"
#include "support/worker_process.hpp"

#include "detail/run_process.hpp"
#include "detail/scheduler_registry.hpp"
#include "detail/sqlite_time.hpp"

#include <date/tz.h>
#include <nlohmann/json.hpp>

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;
using sked::test::TempDir;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

using sked::test::Warnings;

struct Fixture {
  TempDir dir;
  std::string path = dir.file("jobs.sqlite3");
  std::shared_ptr<sked::ManualClock> clock = std::make_shared<sked::ManualClock>(t0);
  Warnings warnings;

  // The heartbeat these tests were written for (the default was 30 s before it became 60 s).
  sked::SqliteJobStoreOptions options() {
    return {.heartbeat_interval = 30s, .clock = clock, .on_warning = warnings.sink()};
  }
  std::shared_ptr<sked::SqliteJobStore> open() {
    return std::make_shared<sked::SqliteJobStore>(path, options());
  }
  SQLite::Database raw() const { return SQLite::Database(path, SQLite::OPEN_READWRITE, 5000); }
};

sked::Job interval_job(std::string id, sked::Duration every, std::optional<sked::TimePoint> next) {
  sked::Job job;
  job.id = id;
  job.name = id;
  job.task = "task";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{every, {.start_date = t0}});
  job.misfire_grace_time = 30s;
  job.next_run_time = next;
  return job;
}

std::string scalar(SQLite::Database& db, const std::string& sql) {
  return db.execAndGet(sql).getString();
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The store's column format, written independently of the store.
std::string db_time(sked::TimePoint t) { return date::format("%FT%TZ", t); }

std::string this_host() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// A started run owned by a scheduler row written by hand, as another process would leave it.
void add_foreign_run(SQLite::Database& db, const std::string& scheduler, const std::string& host,
                     long pid, const std::string& heartbeat, const std::string& job_id,
                     const std::string& run_time) {
  SQLite::Statement s{
      db, "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat) VALUES (?, ?, ?, ?, ?)"};
  s.bind(1, scheduler);
  s.bind(2, host);
  s.bind(3, static_cast<std::int64_t>(pid));
  s.bind(4, heartbeat);
  s.bind(5, heartbeat);
  s.exec();
  SQLite::Statement e{db,
                      "INSERT INTO sked_job_execution (job_id, status, run_time, scheduler_id) "
                      "VALUES (?, 'started', ?, ?)"};
  e.bind(1, job_id);
  e.bind(2, run_time);
  e.bind(3, scheduler);
  e.exec();
}

}  // namespace

TEST_CASE("a reopened store reads back every field of date, interval and cron jobs",
          "[store][sqlite][persistence]") {
  Fixture f;
  sked::Job every;
  every.id = "every";
  every.name = "Hourly report";
  every.task = "report";
  every.args = {{"to", "ops"}, {"retries", 3}, {"tags", {"a", "b"}}};
  every.trigger = std::make_shared<sked::IntervalTrigger>(
      sked::IntervalTrigger{1h,
                            {.start_date = t0 + 123456us,
                             .end_date = t0 + 48h,
                             .timezone = sked::TimeZone::locate("Europe/Berlin"),
                             .jitter = 5s,
                             .jitter_seed = 42}});
  every.executor = "pool";
  every.misfire_grace_time = 90s + 1us;
  every.coalesce = false;
  every.max_instances = 3;
  every.next_run_time = t0 + 123456us;
  every.timeout = 30s;
  every.retry = {.max_attempts = 3, .backoff = 5s, .multiplier = 2.0, .max_backoff = 1min};

  sked::Job cron = interval_job("cron", 1min, t0 + 1h);
  cron.trigger = std::make_shared<sked::CronTrigger>(
      sked::CronTrigger::from_crontab("30 2 * * 1-5", sked::TimeZone::locate("America/New_York")));

  sked::Job once = interval_job("once", 1min, t0 + 7us);
  once.trigger = std::make_shared<sked::DateTrigger>(t0 + 7us);
  sked::Job paused = interval_job("paused", 1min, std::nullopt);

  {
    auto store = f.open();
    store->add_job(every);
    store->add_job(once);
    store->add_job(paused);
    store->add_job(cron);
  }
  auto store = f.open();
  const auto back = store->lookup_job("every");
  REQUIRE(back);
  CHECK(back->name == "Hourly report");
  CHECK(back->task == "report");
  CHECK(back->args == every.args);
  CHECK(back->executor == "pool");
  CHECK(back->misfire_grace_time == 90s + 1us);
  CHECK_FALSE(back->coalesce);
  CHECK(back->max_instances == 3);
  CHECK(back->next_run_time == t0 + 123456us);
  CHECK(back->timeout == 30s);
  CHECK(back->retry == every.retry);
  const auto* interval = dynamic_cast<const sked::IntervalTrigger*>(back->trigger.get());
  REQUIRE(interval);
  CHECK(*interval == *dynamic_cast<const sked::IntervalTrigger*>(every.trigger.get()));

  const auto once_back = store->lookup_job("once");
  REQUIRE(once_back);
  const auto* date = dynamic_cast<const sked::DateTrigger*>(once_back->trigger.get());
  REQUIRE(date);
  CHECK(*date == sked::DateTrigger{t0 + 7us});
  CHECK(once_back->next_run_time == t0 + 7us);
  CHECK(store->lookup_job("paused")->paused());

  const auto cron_back = store->lookup_job("cron");
  REQUIRE(cron_back);
  REQUIRE(dynamic_cast<const sked::CronTrigger*>(cron_back->trigger.get()));
  CHECK(cron_back->trigger->to_json() == cron.trigger->to_json());
  CHECK(cron_back->trigger->next_fire_time(std::nullopt, t0) ==
        cron.trigger->next_fire_time(std::nullopt, t0));

  std::vector<std::string> order;
  for (const auto& j : store->get_all_jobs()) order.push_back(j.id);
  CHECK(order == std::vector<std::string>{"once", "every", "cron", "paused"});
}

TEST_CASE(
    "times are fixed-width UTC text that the sqlite3 shell reads and that sorts in time order",
    "[store][sqlite][schema]") {
  Fixture f;
  auto store = f.open();
  auto job = interval_job("j", 1min, sked::parse_time("2026-03-29T03:00:00.5+02:00"));
  store->add_job(job);
  store->add_job(interval_job("early", 1min, sked::parse_time("0999-12-31T23:59:59Z")));
  auto db = f.raw();
  CHECK(scalar(db, "SELECT next_run_time FROM sked_job WHERE id = 'j'") ==
        "2026-03-29T01:00:00.500000Z");
  CHECK(scalar(db, "SELECT datetime(next_run_time) FROM sked_job WHERE id = 'j'") ==
        "2026-03-29 01:00:00");
  CHECK(scalar(db, "SELECT id FROM sked_job ORDER BY next_run_time LIMIT 1") == "early");
  CHECK(scalar(db, "PRAGMA journal_mode") == "wal");
  CHECK(db.execAndGet("PRAGMA user_version").getInt() == sked::SqliteJobStore::schema_version);
  CHECK(db.tableExists("sked_job_execution"));
  CHECK(db.tableExists("sked_scheduler"));

  (void)store->claim_due_jobs(sked::parse_time("2026-03-29T01:00:00.5Z"), 10, {});
  CHECK(scalar(db, "SELECT run_time FROM sked_job_execution WHERE job_id = 'j'") ==
        "2026-03-29T01:00:00.500000Z");
  // A time typed into the shell in another ISO-8601 form is still read.
  db.exec("UPDATE sked_job SET next_run_time = '2026-05-01T12:00:00+02:00' WHERE id = 'j'");
  CHECK(store->lookup_job("j")->next_run_time == sked::parse_time("2026-05-01T10:00:00Z"));
}

TEST_CASE(
    "a restarted scheduler resumes its stored jobs and records the runs missed while it was down",
    "[store][sqlite][restart]") {
  Fixture f;
  sked::test::LogRecorder logs;
  std::atomic<int> runs{0};
  const auto make_scheduler = [&](std::shared_ptr<sked::SqliteJobStore> store) {
    auto s = std::make_unique<sked::BackgroundScheduler>(sked::SchedulerOptions{
        .clock = f.clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()});
    s->add_jobstore(std::move(store));
    s->tasks().add("tick", [&](const sked::JobContext&) { ++runs; });
    return s;
  };
  {
    auto scheduler = make_scheduler(f.open());
    scheduler->add_job({.id = "tick",
                        .task = "tick",
                        .trigger = sked::IntervalTrigger{1min},
                        .misfire_grace_time = 30s,
                        .coalesce = false});
    scheduler->start();
    f.clock->advance(1min);
    REQUIRE(scheduler->wait_idle());
    REQUIRE(runs == 1);
    scheduler->shutdown();
  }
  // Down for four and a half minutes: t0+2min .. t0+5min are missed, t0+6min is 20 s late and still
  // runs.
  f.clock->set(t0 + 6min + 20s);
  auto store = f.open();
  auto scheduler = make_scheduler(store);
  REQUIRE(scheduler->get_job("tick"));
  scheduler->start();
  REQUIRE(scheduler->wait_idle());
  CHECK(runs == 2);
  CHECK(store->get_executions({.job_id = "tick", .status = ExecutionStatus::executed}).size() == 2);
  const auto missed = store->get_executions({.job_id = "tick", .status = ExecutionStatus::missed});
  REQUIRE(missed.size() == 4);
  CHECK(missed.front().run_time == t0 + 5min);
  CHECK(missed.back().run_time == t0 + 2min);
  CHECK(store->lookup_job("tick")->next_run_time == t0 + 7min);
  CHECK(logs.contains(sked::LogLevel::warning, "was missed by"));
}

TEST_CASE(
    "a run dropped with its store unfinished is recorded interrupted; the job stays scheduled",
    "[store][sqlite][interrupted]") {
  Fixture f;
  {
    // The lease keeps the store open until it goes; going unfinished, it records the run
    // interrupted.
    auto store = f.open();
    store->add_job(interval_job("j", 1min, t0));
    const auto claims = store->claim_due_jobs(t0, 10, {});
    REQUIRE(claims.at(0).executions.at(0).status == ExecutionStatus::started);
  }
  auto store = f.open();
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 1);
  CHECK(history[0].status == ExecutionStatus::interrupted);
  CHECK_THAT(history[0].exception, Catch::Contains("dropped before it finished"));
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
}

TEST_CASE(
    "fire times of a job that does not coalesce, waiting for its running instance, survive a "
    "restart",
    "[store][sqlite][coalesce]") {
  Fixture f;
  auto job = interval_job("j", 1min, t0);
  job.coalesce = false;
  job.misfire_grace_time = 10min;
  {
    auto store = f.open();
    store->add_job(job);
    const auto claims = store->claim_due_jobs(t0 + 2min + 1s, 10, {});
    REQUIRE(claims.at(0).runs.size() == 1);
    // The process goes while 00:00 runs, with 00:01 and 00:02 waiting.
  }
  auto store = f.open();
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
  std::vector<sked::TimePoint> started;
  for (int i = 0; i < 2; ++i) {
    auto claims = store->claim_due_jobs(t0 + 2min + 5s, 10, {});
    REQUIRE(claims.size() == 1);
    REQUIRE(claims[0].runs.size() == 1);
    started.push_back(claims[0].runs[0].execution().run_time);
    claims[0].runs[0].complete({});
  }
  CHECK(started == std::vector{t0 + 1min, t0 + 2min});
  CHECK(store->lookup_job("j")->next_run_time == t0 + 3min);
  CHECK(store->get_executions({.job_id = "j", .status = ExecutionStatus::interrupted}).size() == 1);
  CHECK(store->get_executions({.job_id = "j", .status = ExecutionStatus::executed}).size() == 2);
}

TEST_CASE("runs of a scheduler whose heartbeat is stale are recorded interrupted and stop counting",
          "[store][sqlite][interrupted][max_instances]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("j", 1min, t0));
  {
    auto db = f.raw();
    // Another host's scheduler, last heard of an hour ago, left a run of j started.
    add_foreign_run(db, "far:1:dead", "far-away-host", 1, "2025-12-31T23:00:00.000000Z", "j",
                    "2025-12-31T22:59:00.000000Z");
  }
  const auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::started);
  const auto interrupted = store->get_executions({.status = ExecutionStatus::interrupted});
  REQUIRE(interrupted.size() == 1);
  CHECK(interrupted[0].run_time == sked::parse_time("2025-12-31T22:59:00Z"));
  CHECK_THAT(interrupted[0].exception,
             Catch::Contains("far:1:dead") && Catch::Contains("heartbeats"));
  CHECK(f.warnings.count_containing("far:1:dead") == 1);
  auto db = f.raw();
  CHECK(db.execAndGet("SELECT count(*) FROM sked_scheduler WHERE id = 'far:1:dead'").getInt() == 0);
}

namespace {

// Records `process` with the started run of `job_id` at `run_time`.
void set_process(SQLite::Database& db, const std::string& job_id, const std::string& run_time,
                 const std::string& process) {
  SQLite::Statement s{
      db, "UPDATE sked_job_execution SET process = ? WHERE job_id = ? AND run_time = ?"};
  s.bind(1, process);
  s.bind(2, job_id);
  s.bind(3, run_time);
  REQUIRE(s.exec() == 1);
}

std::string recorded_group(pid_t pid) {
  const auto process = sked::detail::describe_process_group(pid, sked::detail::host_name());
  REQUIRE(process);
  return sked::detail::format_run_process(*process);
}

}  // namespace

TEST_CASE(
    "a command that outlived its dead scheduler on this host is stopped before the job runs again, "
    "and its run is recorded interrupted naming its process group",
    "[store][sqlite][interrupted][survivor]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("j", 1min, t0));  // max_instances 1
  sked::test::SleepingGroup survivor;
  {
    auto db = f.raw();
    // A scheduler of this host killed by SIGKILL an hour ago; the command of its run of j goes on.
    add_foreign_run(db, "here:1:dead", sked::detail::host_name(), 1, "2025-12-31T23:00:00.000000Z",
                    "j", "2025-12-31T22:59:00.000000Z");
    set_process(db, "j", "2025-12-31T22:59:00.000000Z", recorded_group(survivor.pid()));
  }
  const auto claims = store->claim_due_jobs(t0, 10, {});
  // The claim returns once the group is gone: no second instance ran beside it.
  CHECK(survivor.ended_by() == SIGTERM);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::started);
  const auto interrupted = store->get_executions({.status = ExecutionStatus::interrupted});
  REQUIRE(interrupted.size() == 1);
  CHECK_THAT(interrupted[0].exception,
             Catch::Contains("here:1:dead") &&
                 Catch::Contains(
                     fmt::format("its command (process group {}) was still running and was stopped "
                                 "with SIGTERM",
                                 survivor.pid())));
  CHECK(f.warnings.count_containing("outlived scheduler 'here:1:dead'") == 1);
}

TEST_CASE(
    "a recorded process group whose pid was reused, or that is on another host, is not signalled",
    "[store][sqlite][interrupted][survivor]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("j", 1min, t0));
  sked::test::SleepingGroup bystander;
  {
    auto db = f.raw();
    add_foreign_run(db, "here:1:dead", sked::detail::host_name(), 1, "2025-12-31T23:00:00.000000Z",
                    "j", "2025-12-31T22:58:00.000000Z");
    db.exec(
        "INSERT INTO sked_job_execution (job_id, status, run_time, scheduler_id) VALUES ('j', "
        "'started', "
        "'2025-12-31T22:59:00.000000Z', 'here:1:dead')");
    // The bystander has the recorded pid, but started at another time: the recorded group is gone
    // and its pid was given to another process.
    auto reused = sked::detail::describe_process_group(bystander.pid(), sked::detail::host_name());
    REQUIRE(reused);
    reused->start_ticks += 1;
    set_process(db, "j", "2025-12-31T22:58:00.000000Z", sked::detail::format_run_process(*reused));
    set_process(db, "j", "2025-12-31T22:59:00.000000Z",
                "pgid=4242 start=17 boot=00000000-0000-0000-0000-000000000000 host=far-away-host");
  }
  const auto claims =
      store->claim_due_jobs(t0, 10, {});  // kept: a lease dropped is recorded interrupted
  CHECK_FALSE(bystander.ended_by());
  const auto interrupted = store->get_executions({.status = ExecutionStatus::interrupted});
  REQUIRE(interrupted.size() == 2);
  CHECK_THAT(interrupted[0].exception,
             Catch::Contains("process group 4242 on host far-away-host") &&
                 Catch::Contains("could not be checked from host " + sked::detail::host_name()));
  CHECK_THAT(interrupted[1].exception, !Catch::Contains("process group"));
  CHECK(f.warnings.count_containing("outlived") == 0);
}

TEST_CASE("a shell run records its command's process group with its started record",
          "[store][sqlite][survivor][shell]") {
  Fixture f;
  auto store = f.open();
  sked::Job job = interval_job("sleeper", 1min, t0);
  job.task = "shell";
  job.args = {{"command", "sleep 300"}};
  store->add_job(job);
  auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  REQUIRE(claims[0].runs.size() == 1);
  sked::RunLease run = std::move(claims[0].runs[0]);
  run.set_task(std::make_shared<const sked::TaskFn>(sked::shell_task));
  std::stop_source stop;
  std::thread worker([&] { run.complete(sked::run_task(run, stop.get_token())); });
  auto db = f.raw();
  const auto recorded = [&] {
    return scalar(db,
                  "SELECT coalesce(process, '') FROM sked_job_execution WHERE job_id = 'sleeper'");
  };
  const bool seen = sked::test::eventually([&] { return !recorded().empty(); }, 10000ms);
  stop.request_stop();
  worker.join();
  REQUIRE(seen);
  const auto process = sked::detail::parse_run_process(recorded());
  REQUIRE(process);
  CHECK(process->host == sked::detail::host_name());
  CHECK(process->pgid > 1);
  CHECK(store->get_executions({.job_id = "sleeper"}).at(0).exception ==
        "sked::CommandFailed: stopped before it finished");
}

TEST_CASE("max_instances counts the runs of every live scheduler sharing the file",
          "[store][sqlite][max_instances]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("j", 1min, t0));
  {
    auto db = f.raw();
    // A live scheduler elsewhere (fresh heartbeat) is running j.
    add_foreign_run(db, "near:1:alive", "another-host", 1, "2026-01-01T00:00:00.000000Z", "j",
                    "2025-12-31T23:59:00.000000Z");
  }
  const auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::max_instances);
  CHECK(store->get_executions({.status = ExecutionStatus::interrupted}).empty());
}

TEST_CASE(
    "a scheduler on this host whose process has ended is known dead without waiting for staleness",
    "[store][sqlite][interrupted]") {
  Fixture f;
  auto store = f.open();
  {
    auto db = f.raw();
    // Far above any pid_max: no such process. The heartbeat is fresh.
    add_foreign_run(db, "gone", this_host(), 1L << 30, "2026-01-01T00:00:00.000000Z", "j",
                    "2025-12-31T23:59:30.000000Z");
  }
  (void)store->claim_due_jobs(t0, 10, {});
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 1);
  CHECK(history[0].status == ExecutionStatus::interrupted);
  CHECK_THAT(history[0].exception, Catch::Contains("ended"));
}

TEST_CASE("two stores on one file: each sees the other's jobs, and a fire time is claimed once",
          "[store][sqlite][shared]") {
  Fixture f;
  auto a = f.open();
  auto b = f.open();
  CHECK(a->scheduler_id() != b->scheduler_id());
  CHECK_FALSE(a->next_run_time());
  b->add_job(interval_job("j", 1min, t0));
  CHECK(a->next_run_time() == t0);
  CHECK(a->claim_due_jobs(t0, 10, {}).size() == 1);
  CHECK(b->claim_due_jobs(t0, 10, {}).empty());
  CHECK(b->lookup_job("j")->next_run_time == t0 + 1min);
  b->remove_job("j");
  CHECK_FALSE(a->next_run_time());

  // The job comes back with the fire time that already ran: it is not run again.
  a->add_job(interval_job("j", 1min, t0));
  const auto again = b->claim_due_jobs(t0, 10, {});
  REQUIRE(again.size() == 1);
  CHECK(again[0].executions.empty());
  CHECK(a->get_executions({.job_id = "j"}).size() == 1);
}

TEST_CASE("another process's change to the file wakes a sleeping scheduler at once",
          "[store][sqlite][shared][idle]") {
  Fixture f;
  sked::test::LogRecorder logs;
  // max_wait of a day: only the file watch can wake the loop (the ManualClock does not move).
  sked::BackgroundScheduler scheduler{{.clock = f.clock,
                                       .timezone = sked::TimeZone::utc(),
                                       .max_wait = 24h,
                                       .logger = logs.logger()}};
  auto store = f.open();
  scheduler.add_jobstore(store);
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> ran;
  scheduler.tasks().add("task", [&](const sked::JobContext& ctx) {
    std::lock_guard lock(m);
    ran.push_back(ctx.job_id());
    cv.notify_all();
  });
  const auto wait_for_runs = [&](std::size_t n) {
    std::unique_lock lock(m);
    // Generous: the watch hears the commit within milliseconds; a loaded CI machine may take
    // longer.
    return cv.wait_for(lock, 30s, [&] { return ran.size() >= n; });
  };
  scheduler.start();
  REQUIRE(scheduler.wait_idle());
  CHECK(store->reports_changes());  // the watch began with the first claim
  CHECK(scheduler.waiting_until() == sked::TimePoint::max());  // nothing scheduled: no poll either

  // The other process: a second store on the file, as `sked add` or `sked run-now` would open it.
  f.open()->add_job(interval_job("external", 1h, t0));
  REQUIRE(wait_for_runs(1));
  REQUIRE(scheduler.wait_idle());
  CHECK(scheduler.waiting_until() == t0 + 1h);

  // A run-now from another connection, with the ManualClock still at t0.
  (void)f.open()->request_run("external", t0);
  REQUIRE(wait_for_runs(2));
  CHECK(ran == std::vector<std::string>{"external", "external"});
  REQUIRE(scheduler.wait_idle());
  CHECK(scheduler.waiting_until() == t0 + 1h);
}

TEST_CASE(
    "a watched store writes its heartbeat on the watch's thread, whose own writes do not tell the "
    "listener",
    "[store][sqlite][idle]") {
  Fixture f;
  const auto threads = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                         std::filesystem::directory_iterator{});
  };
  auto store = f.open();
  std::atomic<int> told{0};
  store->set_change_listener([&] { ++told; });
  const auto before = threads();
  (void)store->claim_due_jobs(t0, 10, {});  // registers: the watch and the heartbeat start
  CHECK(store->reports_changes());
  CHECK(threads() == before + 1);  // one thread wakes per beat, not two

  auto observer = f.raw();
  const auto heartbeat = [&] {
    SQLite::Statement s{observer, "SELECT heartbeat FROM sked_scheduler WHERE id = ?"};
    s.bind(1, store->scheduler_id());
    return s.executeStep() ? s.getColumn(0).getString() : std::string{};
  };
  CHECK(heartbeat() == db_time(t0));
  f.clock->advance(30s);
  CHECK(sked::test::eventually([&] { return heartbeat() == db_time(t0 + 30s); }, 5000ms));
  f.clock->advance(30s);
  CHECK(sked::test::eventually([&] { return heartbeat() == db_time(t0 + 60s); }, 5000ms));
  CHECK(told == 0);

  // Another connection's commit still tells it.
  f.open()->add_job(interval_job("external", 1h, t0 + 1h));
  CHECK(sked::test::eventually([&] { return told > 0; }, 5000ms));
}

TEST_CASE("a migrated version 1 file keeps its jobs and history",
          "[store][sqlite][schema][migration]") {
  Fixture f;
  const auto job = interval_job("old", 1min, t0);
  {
    // Version 1 as it was shipped: two tables, no scheduler registry, no run owners.
    SQLite::Database db{f.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
    db.exec(R"sql(
      CREATE TABLE sked_job (id TEXT NOT NULL PRIMARY KEY, next_run_time TEXT, job_state TEXT NOT NULL);
      CREATE INDEX sked_job_next_run_time ON sked_job (next_run_time);
      CREATE TABLE sked_job_execution (
        id INTEGER PRIMARY KEY, job_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('started', 'executed', 'error', 'missed', 'max_instances',
                                              'interrupted')),
        run_time TEXT NOT NULL, duration REAL, finished TEXT,
        exception TEXT NOT NULL DEFAULT '', traceback TEXT NOT NULL DEFAULT '',
        UNIQUE (job_id, run_time));
      CREATE INDEX sked_job_execution_run_time ON sked_job_execution (run_time);
      PRAGMA application_id = 1936418148;
      PRAGMA user_version = 1;
    )sql");
    SQLite::Statement s{db,
                        "INSERT INTO sked_job VALUES ('old', '2026-01-01T00:00:00.000000Z', ?)"};
    s.bind(1, sked::job_state_to_json(job).dump());
    s.exec();
    db.exec(
        "INSERT INTO sked_job_execution (job_id, status, run_time, duration, finished) VALUES "
        "('old', 'executed', '2025-12-31T23:58:00.000000Z', 0.25, '2025-12-31T23:58:00.250000Z'), "
        "('old', 'started', '2025-12-31T23:59:00.000000Z', NULL, NULL)");
  }
  auto store = f.open();
  {
    auto db = f.raw();
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == sked::SqliteJobStore::schema_version);
    CHECK(db.tableExists("sked_scheduler"));
    CHECK(db.tableExists("sked_run_request"));
  }
  const auto back = store->lookup_job("old");
  REQUIRE(back);
  CHECK(back->next_run_time == t0);
  const auto executed = store->get_executions({.status = ExecutionStatus::executed});
  REQUIRE(executed.size() == 1);
  CHECK(executed[0].duration == 250ms);
  CHECK(executed[0].finished == sked::parse_time("2025-12-31T23:58:00.25Z"));

  // The run version 1 left started has no living owner: the first claim records it interrupted, and
  // the job runs again.
  const auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::started);
  CHECK(store->get_executions({.status = ExecutionStatus::interrupted}).size() == 1);
}

TEST_CASE("a file from a newer sked is refused and left unchanged", "[store][sqlite][schema]") {
  Fixture f;
  {
    SQLite::Database db{f.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
    db.exec(
        "CREATE TABLE sked_job (id TEXT PRIMARY KEY, next_run_time TEXT, job_state TEXT, shiny "
        "TEXT);"
        "PRAGMA application_id = 1936418148; PRAGMA user_version = 7;");
  }
  const auto before = file_bytes(f.path);
  try {
    (void)f.open();
    FAIL("a newer schema was accepted");
  } catch (const sked::StoreError& e) {
    CHECK(e.path() == f.path);
    CHECK_THAT(e.what(), Catch::Contains(f.path) && Catch::Contains("newer sked") &&
                             Catch::Contains("version 7"));
  }
  CHECK(file_bytes(f.path) == before);
  CHECK_FALSE(std::filesystem::exists(f.path + "-wal"));
}

TEST_CASE("a file that is not a sked store is refused with an error naming it",
          "[store][sqlite][schema]") {
  Fixture f;
  SECTION("not an SQLite database at all") {
    {
      std::ofstream out(f.path, std::ios::binary);
      for (int i = 0; i < 200; ++i)
        out << "this is not a database, just some text that happens to be here\n";
    }
    const auto before = file_bytes(f.path);
    CHECK_THROWS_WITH(f.open(),
                      Catch::Contains(f.path) && Catch::Contains("not an SQLite database"));
    CHECK(file_bytes(f.path) == before);
  }
  SECTION("another program's SQLite database") {
    {
      SQLite::Database db{f.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
      db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
    }
    const auto before = file_bytes(f.path);
    CHECK_THROWS_WITH(f.open(), Catch::Contains(f.path) && Catch::Contains("not a sked job store"));
    CHECK(file_bytes(f.path) == before);
  }
  SECTION("a path that cannot be created") {
    CHECK_THROWS_AS(sked::SqliteJobStore(f.dir.file("no/such/dir/jobs.sqlite3")), sked::StoreError);
  }
}

TEST_CASE(
    "a job_state that cannot be read is reported once by job id, left untouched, and blocks "
    "nothing",
    "[store][sqlite][corrupt]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("bad_json", 1min, t0 - 2min));
  store->add_job(interval_job("bad_trigger", 1min, t0 - 1min));
  store->add_job(interval_job("good", 1min, t0));
  auto db = f.raw();
  db.exec("UPDATE sked_job SET job_state = '{not json' WHERE id = 'bad_json'");
  db.exec(
      "UPDATE sked_job SET job_state = json_set(job_state, '$.trigger.type', 'sundial') WHERE id = "
      "'bad_trigger'");
  const auto bad_state = scalar(db, "SELECT job_state FROM sked_job WHERE id = 'bad_trigger'");

  // A batch of one still reaches the good job behind the two bad ones.
  const auto claims = store->claim_due_jobs(t0, 1, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].job->id == "good");
  CHECK(f.warnings.count_containing("job 'bad_json'") == 1);
  CHECK(f.warnings.count_containing("job 'bad_trigger'") == 1);
  CHECK(f.warnings.count_containing("sundial") == 1);

  // Reported once, not on every pass.
  (void)store->claim_due_jobs(t0 + 1min, 10, {});
  (void)store->get_all_jobs();
  CHECK(f.warnings.count_containing("job 'bad_json'") == 1);

  CHECK(scalar(db, "SELECT job_state FROM sked_job WHERE id = 'bad_json'") == "{not json");
  CHECK(scalar(db, "SELECT job_state FROM sked_job WHERE id = 'bad_trigger'") == bad_state);
  CHECK(scalar(db, "SELECT next_run_time FROM sked_job WHERE id = 'bad_json'") ==
        "2025-12-31T23:58:00.000000Z");
  CHECK(store->get_all_jobs().size() == 1);
  CHECK_THROWS_WITH(store->lookup_job("bad_json"),
                    Catch::Contains("job 'bad_json'") && Catch::Contains(f.path));

  // Fixing the row (here: replacing the job) makes it an ordinary job again.
  store->add_job(interval_job("bad_json", 1min, t0 + 5min), true);
  CHECK(store->lookup_job("bad_json")->next_run_time == t0 + 5min);
}

TEST_CASE("a job whose task is not registered stays in the file and runs once the task is",
          "[store][sqlite][unknown_task]") {
  Fixture f;
  sked::test::LogRecorder logs;
  sked::test::EventRecorder events;
  auto store = f.open();
  sked::BackgroundScheduler scheduler{
      {.clock = f.clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()}};
  scheduler.add_jobstore(store);
  events.attach(scheduler);
  scheduler.start();
  scheduler.add_job({.id = "later", .task = "not_yet", .trigger = sked::IntervalTrigger{1min}});
  f.clock->advance(1min);
  REQUIRE(scheduler.wait_idle());
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(events.count(sked::EventKind::job_task_unknown) == 1);
  CHECK(store->lookup_job("later")->next_run_time == t0 + 1min);
  CHECK(store->get_executions({.job_id = "later"}).empty());

  std::atomic<int> runs{0};
  scheduler.tasks().add("not_yet", [&](const sked::JobContext&) { ++runs; });
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(runs == 1);
  CHECK(store->get_executions({.job_id = "later", .status = ExecutionStatus::executed}).size() ==
        1);
}

TEST_CASE("a job bound to a plain callable cannot be stored in the file", "[store][sqlite]") {
  Fixture f;
  auto store = f.open();
  auto job = interval_job("lambda", 1min, t0);
  job.callable = std::make_shared<const sked::TaskFn>([](const sked::JobContext&) {});
  CHECK_THROWS_WITH(store->add_job(job),
                    Catch::Contains("'lambda'") && Catch::Contains("callable"));
  CHECK(store->get_all_jobs().empty());
}

TEST_CASE("old executions are deleted by age in batches; runs in progress are kept",
          "[store][sqlite][history]") {
  Fixture f;
  auto store = f.open();
  {
    auto db = f.raw();
    db.exec("BEGIN");
    SQLite::Statement s{
        db, "INSERT INTO sked_job_execution (job_id, status, run_time) VALUES (?, ?, ?)"};
    // 5,000 old records over several batches, 3 old runs still started, 10 recent records.
    for (int i = 0; i < 5013; ++i) {
      const auto run_time =
          i < 5003 ? t0 - 2h + std::chrono::seconds{i} : t0 + std::chrono::seconds{i};
      s.bind(1, "j" + std::to_string(i % 7));
      s.bind(2, i >= 5000 && i < 5003 ? "started" : "executed");
      s.bind(3, db_time(run_time));
      s.exec();
      s.reset();
    }
    db.exec("COMMIT");
  }
  CHECK(store->delete_old_executions(t0) == 5000);
  CHECK(store->get_executions({.limit = 100'000}).size() == 13);
  CHECK(store->get_executions({.status = ExecutionStatus::started}).size() == 3);
  CHECK(store->delete_old_executions(t0) == 0);
}

TEST_CASE("a database locked by another connection is retried, then reported naming the file",
          "[store][sqlite][busy]") {
  Fixture f;
  auto options = f.options();
  options.busy_timeout = 1ms;
  options.max_lock_retries = 2;
  auto store = std::make_shared<sked::SqliteJobStore>(f.path, options);
  auto db = f.raw();
  db.exec("BEGIN IMMEDIATE");
  try {
    store->add_job(interval_job("j", 1min, t0));
    FAIL("a locked database went unnoticed");
  } catch (const sked::StoreError& e) {
    CHECK(e.path() == f.path);
    CHECK_THAT(e.what(), Catch::Contains(f.path) && Catch::Contains("locked through 3 attempts"));
  }
  CHECK_THROWS_AS(store->claim_due_jobs(t0, 10, {}), sked::StoreError);
  // Readers are never blocked by a writer (WAL).
  CHECK(store->get_all_jobs().empty());
  db.exec("ROLLBACK");
  store->add_job(interval_job("j", 1min, t0));
  CHECK(store->claim_due_jobs(t0, 10, {}).size() == 1);
}

TEST_CASE("a scheduler taken for dead by another registers again and keeps claiming",
          "[store][sqlite][interrupted]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("a", 1min, t0));
  store->add_job(interval_job("b", 1min, t0 + 1s));
  auto first_claim = store->claim_due_jobs(t0, 10, {});
  REQUIRE(first_claim.size() == 1);
  {
    // What another scheduler does to one whose heartbeat went stale.
    auto db = f.raw();
    db.exec("UPDATE sked_job_execution SET status = 'interrupted' WHERE status = 'started'");
    db.exec("DELETE FROM sked_scheduler");
  }
  const auto claims = store->claim_due_jobs(t0 + 1s, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::started);
  CHECK(f.warnings.count_containing("taken for dead") == 1);
  auto db = f.raw();
  CHECK(scalar(db, "SELECT id FROM sked_scheduler") == store->scheduler_id());
  // The run it really finished is recorded as it ended, not as interrupted.
  first_claim.at(0).runs.at(0).complete({});
  CHECK(store->get_executions({.job_id = "a"}).at(0).status == ExecutionStatus::executed);
}

TEST_CASE("claiming keeps the heartbeat within a second without writing it at every claim",
          "[store][sqlite][liveness]") {
  Fixture f;
  auto store = f.open();
  for (int i = 0; i < 4; ++i) store->add_job(interval_job("j" + std::to_string(i), 1h, t0));
  auto db = f.raw();
  const auto heartbeat = [&] {
    SQLite::Statement s{db, "SELECT heartbeat FROM sked_scheduler WHERE id = ?"};
    s.bind(1, store->scheduler_id());
    return s.executeStep() ? s.getColumn(0).getString() : std::string{};
  };
  const auto claim_one = [&] {
    auto claims = store->claim_due_jobs(f.clock->now(), 1, {});
    REQUIRE(claims.size() == 1);
    claims[0].runs.at(0).complete({});
  };
  claim_one();
  CHECK(heartbeat() == db_time(t0));
  // Claims come thousands of times a second with short jobs: a beat at each was a page of the
  // write-ahead log per claim.
  f.clock->advance(400ms);
  claim_one();
  CHECK(heartbeat() == db_time(t0));
  f.clock->advance(700ms);
  claim_one();
  CHECK(heartbeat() == db_time(t0 + 1100ms));
  // A clock set back beats at once, as a first claim does.
  f.clock->set(t0 + 500ms);
  claim_one();
  CHECK(heartbeat() == db_time(t0 + 500ms));
}

TEST_CASE("jobs read before are read again as the file now has them", "[store][sqlite][shared]") {
  Fixture f;
  auto store = f.open();
  store->add_job(interval_job("j", 1min, t0));
  // Listing hands out jobs the caller may move from; later reads must not be affected.
  auto listed = store->get_all_jobs();
  auto moved = std::move(listed.at(0));
  (void)moved;
  CHECK(store->get_all_jobs().at(0).task == "task");
  const auto first = store->claim_due_jobs(t0, 10, {});
  REQUIRE(first.size() == 1);
  CHECK(first[0].job->id == "j");
  CHECK(first[0].job->task == "task");
  // Another process changes the job: the next claim runs the changed one.
  auto changed = interval_job("j", 1min, t0 + 1min);
  changed.task = "other_task";
  f.open()->add_job(changed, true);
  const auto claims = store->claim_due_jobs(t0 + 1min, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].job->id == "j");
  CHECK(claims[0].job->task == "other_task");
  CHECK(claims[0].job->next_run_time == t0 + 1min);
}

TEST_CASE("completions from several threads at once are all recorded", "[store][sqlite][history]") {
  const int threads = GENERATE(1, 2, 4);
  Fixture f;
  auto store = f.open();
  for (int i = 0; i < 40; ++i) store->add_job(interval_job("j" + std::to_string(i), 1min, t0));
  std::vector<sked::RunLease> started;
  for (auto& claim : store->claim_due_jobs(t0, 100, {}))
    started.push_back(std::move(claim.runs.at(0)));
  REQUIRE(started.size() == 40);
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      for (std::size_t i = static_cast<std::size_t>(w); i < started.size();
           i += static_cast<std::size_t>(threads)) {
        const std::string job_id = started[i].job().id;
        started[i].complete(
            {.status = i % 3 == 0 ? ExecutionStatus::error : ExecutionStatus::executed,
             .duration = std::chrono::microseconds{static_cast<long>(i) + 1},
             .exception = i % 3 == 0 ? "std::runtime_error: " + job_id : ""});
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(store->get_executions({.status = ExecutionStatus::started}).empty());
  const auto errors = store->get_executions({.status = ExecutionStatus::error});
  CHECK(errors.size() == 14);
  for (const auto& e : errors) CHECK(e.exception == "std::runtime_error: " + e.job_id);
  CHECK(store->get_executions({.status = ExecutionStatus::executed}).size() == 26);
}

TEST_CASE("a store opened as existing or read-only is never created, migrated or written",
          "[store][sqlite][schema][open_mode]") {
  Fixture f;
  auto with_mode = [&](sked::SqliteOpenMode mode) {
    auto options = f.options();
    options.open_mode = mode;
    return std::make_shared<sked::SqliteJobStore>(f.path, options);
  };
  SECTION("a missing file is refused and not created") {
    for (const auto mode : {sked::SqliteOpenMode::existing, sked::SqliteOpenMode::read_only}) {
      CHECK_THROWS_WITH(with_mode(mode),
                        Catch::Contains(f.path) && Catch::Contains("does not exist"));
      CHECK_FALSE(std::filesystem::exists(f.path));
    }
  }
  SECTION("an empty file is refused and left empty") {
    { std::ofstream out(f.path); }
    CHECK_THROWS_WITH(with_mode(sked::SqliteOpenMode::existing), Catch::Contains("is empty"));
    CHECK(std::filesystem::file_size(f.path) == 0);
  }
  SECTION("an older schema is refused, not migrated") {
    {
      SQLite::Database db{f.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
      db.exec(
          "CREATE TABLE sked_job (id TEXT PRIMARY KEY, next_run_time TEXT, job_state TEXT);"
          "PRAGMA application_id = 1936418148; PRAGMA user_version = 2;");
    }
    const auto before = file_bytes(f.path);
    CHECK_THROWS_WITH(
        with_mode(sked::SqliteOpenMode::read_only),
        Catch::Contains("schema version 2, older") && Catch::Contains("left unchanged"));
    CHECK(file_bytes(f.path) == before);
  }
  SECTION("a current store is read; read-only refuses changes") {
    f.open()->add_job(interval_job("j", 1min, t0));
    auto existing = with_mode(sked::SqliteOpenMode::existing);
    (void)existing->request_run("j", t0);
    auto reader = with_mode(sked::SqliteOpenMode::read_only);
    CHECK(reader->lookup_job("j"));
    CHECK(reader->next_run_time() == t0);
    CHECK_THROWS_AS(reader->remove_job("j"), sked::StoreError);
    CHECK(existing->lookup_job("j"));
  }
}

TEST_CASE("live_schedulers lists the schedulers alive on the file, read-only too",
          "[store][sqlite][scheduler_registry]") {
  Fixture f;
  auto store = f.open();
  CHECK(store->live_schedulers().empty());  // registered on its first claim, not before
  {
    auto db = f.raw();
    // Another host's scheduler with a fresh heartbeat, another's an hour old, and one on this host
    // whose process does not exist.
    add_foreign_run(db, "near:1:alive", "another-host", 7, "2025-12-31T23:59:50.000000Z", "a",
                    "2025-12-31T23:59:00.000000Z");
    add_foreign_run(db, "far:1:dead", "far-away-host", 1, "2025-12-31T23:00:00.000000Z", "b",
                    "2025-12-31T22:59:00.000000Z");
    add_foreign_run(db, "gone", this_host(), 1L << 30, "2026-01-01T00:00:00.000000Z", "c",
                    "2025-12-31T23:59:30.000000Z");
  }
  // A read-only reader with its own clock, so that its idea of "now" moves without the writer's
  // heartbeat thread writing.
  auto reader_clock = std::make_shared<sked::ManualClock>(t0);
  auto reader = std::make_shared<sked::SqliteJobStore>(
      f.path, sked::SqliteJobStoreOptions{.open_mode = sked::SqliteOpenMode::read_only,
                                          .heartbeat_interval = 10s,
                                          .stale_after = 30s,
                                          .clock = reader_clock});
  const auto live = reader->live_schedulers();
  REQUIRE(live.size() == 1);
  CHECK(live[0].id == "near:1:alive");
  CHECK(live[0].host == "another-host");
  CHECK(live[0].pid == 7);
  CHECK(live[0].heartbeat == sked::parse_time("2025-12-31T23:59:50Z"));

  // A store that claims registers itself (heartbeat t0).
  (void)store->claim_due_jobs(t0, 10, {});
  auto live_ids = [&] {
    std::vector<std::string> ids;
    for (const auto& s : reader->live_schedulers()) ids.push_back(s.id);
    std::sort(ids.begin(), ids.end());  // ordered by id, which starts with the host's name
    return ids;
  };
  std::vector<std::string> both{"near:1:alive", store->scheduler_id()};
  std::sort(both.begin(), both.end());
  CHECK(live_ids() == both);
  // 25 s on, the heartbeat of 10 s before t0 is past stale_after (30 s); the store's own is not.
  reader_clock->advance(25s);
  CHECK(live_ids() == std::vector<std::string>{store->scheduler_id()});
  // A store closed cleanly unregisters.
  store.reset();
  CHECK(reader->live_schedulers().empty());
}

TEST_CASE("the last instant a store can write is the end of the year 9999", "[store][sqlite]") {
  CHECK(sked::detail::format_db_time(sked::detail::last_db_time) == "9999-12-31T23:59:59.999999Z");
  CHECK_THROWS_AS(sked::detail::format_db_time(sked::detail::last_db_time + 1us),
                  sked::InvalidArgument);
  CHECK(sked::detail::parse_db_time("9999-12-31T23:59:59.999999Z") == sked::detail::last_db_time);
}

TEST_CASE(
    "an idle scheduler's passes write nothing to the file; another process's change is seen "
    "at the next pass; the heartbeat is written at its interval",
    "[store][sqlite][shared][idle]") {
  Fixture f;
  sked::test::LogRecorder logs;
  sked::BackgroundScheduler scheduler{
      {.clock = f.clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()}};
  auto store = f.open();
  store->add_job(interval_job("hourly", 1h, t0 + 1h));
  scheduler.add_jobstore(store);
  std::atomic<int> runs{0};
  scheduler.tasks().add("task", [&](const sked::JobContext&) { ++runs; });
  scheduler.start();
  REQUIRE(scheduler.wait_idle());  // the first claim registers the scheduler (a write)

  // Another connection, as `sked jobs` or a second scheduler would have: its data_version moves
  // whenever another connection commits, so it sees any write the idle passes make.
  auto observer = f.raw();
  const auto version = [&] { return observer.execAndGet("PRAGMA data_version").getInt64(); };
  const auto heartbeat = [&] {
    SQLite::Statement s{observer, "SELECT heartbeat FROM sked_scheduler WHERE id = ?"};
    s.bind(1, store->scheduler_id());
    return s.executeStep() ? s.getColumn(0).getString() : std::string{};
  };
  const auto before = version();
  const std::string first_beat = heartbeat();
  CHECK(first_beat == db_time(t0));
  for (int pass = 1; pass < 30; ++pass) {
    f.clock->advance(1s);  // a move of the ManualClock: one pass each
    REQUIRE(scheduler.wait_idle());
    CHECK(scheduler.waiting_until() == t0 + 1h);  // the next run time: the file watch hears changes
  }
  CHECK(version() == before);  // 29 passes, no commit
  CHECK(heartbeat() == first_beat);

  // 30 s after the first claim: the heartbeat thread writes, once.
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(sked::test::eventually([&] { return heartbeat() == db_time(t0 + 30s); }, 5000ms));
  const auto after_beat = version();
  CHECK(after_beat != before);
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(version() == after_beat);

  // Another process's commit that makes nothing due (a peer scheduler's heartbeat) is read, not
  // answered with a claim: a claim would move every peer's data_version and wake them into
  // claiming.
  {
    auto peer = f.raw();
    peer.exec(
        "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat) VALUES "
        "('peer', 'elsewhere', 1, '2026-01-01T00:00:31.000000Z', '2026-01-01T00:00:31.000000Z')");
  }
  const auto after_peer = version();
  CHECK(after_peer != after_beat);
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(version() == after_peer);

  // `sked run-now` from another process: a run request on the file, seen by the next pass.
  (void)f.open()->request_run("hourly", t0 + 32s);
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(runs == 1);
  CHECK(store->get_executions({.job_id = "hourly"}).size() == 1);

  // A change by another process that makes the job due now (as `sked resume` or a new schedule
  // would): claimed at the next pass, not at the old next run time.
  f.open()->modify_job("hourly", [](sked::Job& job) { job.next_run_time = t0 + 34s; });
  f.clock->advance(1s);
  REQUIRE(scheduler.wait_idle());
  CHECK(runs == 2);
}

}  // namespace SKED_TEST_FILE
