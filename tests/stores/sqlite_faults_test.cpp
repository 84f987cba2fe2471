// The SQLite store under faults: a full disk, a WAL that must stay bounded, a corrupt file, rows
// edited by hand and JSON nested too deep. Each is reported once, naming the file and the job, and
// nothing stored is lost.

#include "support/full_disk_vfs.hpp"
#include "support/owner.hpp"
#include "support/process_group.hpp"
#include "support/temp_dir.hpp"
#include "support/warnings.hpp"

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include "detail/defer_completions.hpp"
#include "detail/scheduler_registry.hpp"

#include <SQLiteCpp/Database.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;
using sked::test::TempDir;
using sked::test::Warnings;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

struct Fixture {
  TempDir dir;
  std::string path = dir.file("jobs.sqlite3");
  std::shared_ptr<sked::ManualClock> clock = std::make_shared<sked::ManualClock>(t0);
  Warnings warnings;

  sked::SqliteJobStoreOptions options(std::string scheduler_id = "s1") {
    // The heartbeat thread writes on the manual clock's time too: kept beyond these tests' few
    // minutes, so that a full disk is reported by the writes the tests make, not by a beat racing
    // them.
    return {.scheduler_id = std::move(scheduler_id),
            .heartbeat_interval = 1h,
            .stale_after = 3h,
            .clock = clock,
            .on_warning = warnings.sink()};
  }
  std::shared_ptr<sked::SqliteJobStore> open(std::string scheduler_id = "s1") {
    return std::make_shared<sked::SqliteJobStore>(path, options(std::move(scheduler_id)));
  }
  SQLite::Database raw() const { return SQLite::Database(path, SQLite::OPEN_READWRITE, 5000); }
};

// A scheduler of `child`'s process, registered now.
sked::RegisteredScheduler registered_for(const sked::test::SleepingGroup& child, std::string id,
                                         std::string host) {
  return {
      .id = std::move(id),
      .host = std::move(host),
      .pid = child.pid(),
      .started = std::chrono::time_point_cast<sked::Duration>(std::chrono::system_clock::now())};
}

// Stops `child` (SIGSTOP) and waits until it is stopped.
void stop(const sked::test::SleepingGroup& child) {
  REQUIRE(::kill(child.pid(), SIGSTOP) == 0);
  int status = 0;
  REQUIRE(::waitpid(child.pid(), &status, WUNTRACED) == child.pid());
}

sked::Job every(std::string id, sked::Duration interval, int max_instances = 1) {
  sked::Job job;
  job.id = std::move(id);
  job.name = job.id;
  job.task = "task";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{interval, {.start_date = t0}});
  job.misfire_grace_time = 30s;
  job.max_instances = max_instances;
  job.next_run_time = t0;
  return job;
}

}  // namespace

TEST_CASE(
    "sqlite: a completion refused by a full disk is written once space is back, and never blocks "
    "the job",
    "[store][sqlite][faults][disk]") {
  sked::test::FullDiskVfs disk;
  Fixture f;
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  std::int64_t first_id = 0;
  {
    const auto store = f.open();
    store->add_job(every("j", 1min));
    auto claims = store->claim_due_jobs(t0, 10, {}, owner);
    REQUIRE(claims.at(0).runs.size() == 1);
    first_id = claims[0].runs[0].execution().id;

    disk.full = true;
    owner->set_now(t0 + 2s);
    claims[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "E: exit status 1"});
    CHECK(store->unwritten_completions() == 1);
    CHECK(f.warnings.count_containing("database or disk is full") == 1);
    CHECK(f.warnings.count_containing(f.path) >= 1);
    // Claims fail while the disk is full (the scheduler retries them); the outcome stays kept.
    f.clock->advance(1min);
    owner->set_now(t0 + 1min);
    CHECK_THROWS_AS(store->claim_due_jobs(t0 + 1min, 10, {}, owner), sked::StoreError);
    CHECK(store->unwritten_completions() == 1);

    // Space is back: the next claim writes the outcome first and runs the job (not max_instances).
    disk.full = false;
    auto next = store->claim_due_jobs(t0 + 1min, 10, {}, owner);
    CHECK(store->unwritten_completions() == 0);
    REQUIRE(next.size() == 1);
    CHECK(next[0].executions.back().status == ExecutionStatus::started);
    const auto first = store->get_executions({.id = first_id}).at(0);
    CHECK(first.status == ExecutionStatus::error);
    CHECK(first.exception == "E: exit status 1");
    CHECK(f.warnings.count_containing("database or disk is full") == 1);
    CHECK(f.warnings.count_containing("recorded how 1 run(s) ended") == 1);
    next[0].runs.at(0).complete({});
  }
  CHECK(f.open("s2")->get_executions({.status = ExecutionStatus::max_instances}).empty());
}

TEST_CASE(
    "sqlite: a run's end completed by a worker that claims next is written in that claim's commit, "
    "and kept when the claim fails",
    "[store][sqlite][faults][disk]") {
  sked::test::FullDiskVfs disk;
  Fixture f;
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  const auto store = f.open();
  store->add_job(every("a", 1min));
  store->add_job(every("b", 1min));
  store->add_job(every("c", 1min));
  auto first = store->claim_due_jobs(t0, 1, {}, owner);
  REQUIRE(first.size() == 1);
  const std::int64_t a_run = first.at(0).runs.at(0).execution().id;
  const auto status_of = [&](std::int64_t id) {
    return store->get_executions({.id = id}).at(0).status;
  };

  SECTION("the next claim writes and reports it") {
    {
      const sked::detail::DeferCompletions defer;  // as a thread-pool worker completes its run
      first[0].runs[0].complete({});
      // Queued for the claim this thread makes next: neither written nor reported yet.
      CHECK(owner->ended.empty());
      CHECK(status_of(a_run) == ExecutionStatus::started);
      auto next = store->claim_due_jobs(t0, 1, {}, owner);
      REQUIRE(next.size() == 1);
      CHECK(owner->ended.size() == 1);
      CHECK(status_of(a_run) == ExecutionStatus::executed);
      next[0].runs.at(0).complete({});
    }
    // Without a claim after it, the outermost scope's end writes it.
    CHECK(owner->ended.size() == 2);
    CHECK(store->get_executions({.status = ExecutionStatus::executed}).size() == 2);
  }

  SECTION("a claim that fails leaves it kept and reported once, and a later claim writes it") {
    {
      const sked::detail::DeferCompletions defer;
      first[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "E: boom"});
      disk.full = true;
      CHECK_THROWS_AS(store->claim_due_jobs(t0, 1, {}, owner), sked::StoreError);
      CHECK(store->unwritten_completions() == 1);
      CHECK(owner->ended.size() == 1);  // the run ended, whether or not its record is written
    }
    CHECK(owner->ended.size() == 1);
    disk.full = false;
    auto next = store->claim_due_jobs(t0, 1, {}, owner);
    REQUIRE(next.size() == 1);
    CHECK(store->unwritten_completions() == 0);
    const auto a = store->get_executions({.id = a_run}).at(0);
    CHECK(a.status == ExecutionStatus::error);
    CHECK(a.exception == "E: boom");
    CHECK(owner->ended.size() == 1);
    next[0].runs.at(0).complete({});
    CHECK(owner->ended.size() == 2);
  }
}

TEST_CASE(
    "sqlite: a peer's heartbeat is judged only over time the file could be written, and runs a "
    "failed transaction would have recorded interrupted are not said to be",
    "[store][sqlite][faults][disk][liveness]") {
  sked::test::FullDiskVfs disk;
  Fixture f;
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  // s1 beats daily, so it writes nothing in this test but its claim; s2 judges it (30 min stale).
  auto s1_options = f.options("s1");
  s1_options.heartbeat_interval = 24h;
  s1_options.stale_after = 72h;
  const auto s1 = std::make_shared<sked::SqliteJobStore>(f.path, s1_options);
  auto s2_options = f.options("s2");
  s2_options.heartbeat_interval = 10min;
  s2_options.stale_after = 30min;
  const auto s2 = std::make_shared<sked::SqliteJobStore>(f.path, s2_options);
  s1->add_job(every("j", 24h));  // due again only after the test
  // Due at every claim of s2's below: a claim with nothing due writes nothing, so judges no one.
  s1->add_job(every("k", 5min, 100));
  auto claims = s1->claim_due_jobs(t0, 10, {}, owner);
  REQUIRE(claims.size() == 2);
  const auto& claimed_j = claims[0].job->id == "j" ? claims[0] : claims[1];
  REQUIRE(claimed_j.runs.size() == 1);
  const auto run_id = claimed_j.runs[0].execution().id;
  (void)s2->claim_due_jobs(t0 + 5min, 10, {});  // registers s2

  // The disk fills for 40 minutes: no one can write a heartbeat. s2's claim fails, and with it
  // the transaction that found s1 stale: nothing was recorded, so nothing is said.
  disk.full = true;
  f.clock->advance(40min);
  CHECK_THROWS_AS(s2->claim_due_jobs(f.clock->now(), 10, {}), sked::StoreError);
  CHECK(f.warnings.count_containing("as interrupted") == 0);

  // Space is back. s1 has had no chance to write since t0; s2 gives it stale_after from when s2
  // could write again: a minute from now (its next claim), or now, when its heartbeat thread, woken
  // by the advance to now, commits its beat once the space is back.
  disk.full = false;
  const auto writable = f.clock->now();
  f.clock->advance(1min);
  // s2 claims every 5 minutes (its heartbeats): s1 stays alive for stale_after of writable time.
  for (; f.clock->now() - writable < 30min; f.clock->advance(5min)) {
    (void)s2->claim_due_jobs(f.clock->now(), 10, {});
    CHECK(s1->get_executions({.id = run_id}).at(0).status == ExecutionStatus::started);
  }
  CHECK(f.warnings.count_containing("as interrupted") == 0);

  // Past it, with no heartbeat from s1: dead, at s2's next looks (still every 5 minutes: claims
  // further apart would look like heartbeats s2 failed to write, and give s1 stale_after again).
  for (int i = 0; i < 2; ++i, f.clock->advance(5min))
    (void)s2->claim_due_jobs(f.clock->now(), 10, {});
  CHECK(s2->live_schedulers().size() == 1);
  CHECK(s1->get_executions({.id = run_id}).at(0).status == ExecutionStatus::interrupted);
  // j's run and k's first, both claimed by s1.
  CHECK(f.warnings.count_containing("recorded 2 run(s) of dead scheduler 's1' as interrupted") ==
        1);
}

TEST_CASE(
    "a scheduler of another process on this host is alive while its process runs, whatever its "
    "heartbeat; stopped, it is judged by its heartbeat; gone or its pid reused, it is dead",
    "[store][faults][liveness]") {
  sked::test::SleepingGroup child;
  const auto host = sked::detail::host_name();
  const auto s = registered_for(child, "peer", host);
  // Its heartbeat stale (a full disk or another connection's lock held it up): alive.
  CHECK_FALSE(sked::detail::death(s, true, "then", host));

  // Stopped (SIGSTOP): its heartbeat decides.
  stop(child);
  CHECK_THAT(sked::detail::death(s, true, "then", host).value_or(""),
             Catch::Contains("stopped sending heartbeats"));
  CHECK_FALSE(sked::detail::death(s, false, "then", host));
  REQUIRE(::kill(child.pid(), SIGCONT) == 0);

  // Registered long before this process started: the pid was reused by another process.
  auto old = s;
  old.started = s.started - 1h;
  CHECK_THAT(sked::detail::death(old, false, "then", host).value_or(""), Catch::Contains("ended"));

  // On another host only the heartbeat tells.
  auto remote = s;
  remote.host = "elsewhere";
  CHECK_FALSE(sked::detail::death(remote, false, "then", host));
  CHECK(sked::detail::death(remote, true, "then", host));

  // Gone (a zombie, waited for without reaping it).
  REQUIRE(::kill(child.pid(), SIGKILL) == 0);
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(child.pid()), &info, WEXITED | WNOWAIT) == 0);
  CHECK_THAT(sked::detail::death(s, false, "then", host).value_or(""), Catch::Contains("ended"));
}

TEST_CASE(
    "a scheduler under another host name is alive while its liveness lock is held, whatever its "
    "heartbeat; a stopped one on this host is still judged by its heartbeat",
    "[store][faults][liveness]") {
  sked::test::SleepingGroup child;
  const auto host = sked::detail::host_name();
  const auto remote = registered_for(child, "box", "container");
  CHECK_FALSE(sked::detail::death(remote, true, "then", host, true));
  CHECK(sked::detail::death(remote, true, "then", host, false));

  // A stopped process holds its lock: on this host /proc tells, and the heartbeat decides.
  const auto local = registered_for(child, "peer", host);
  stop(child);
  CHECK_THAT(sked::detail::death(local, true, "then", host, true).value_or(""),
             Catch::Contains("stopped sending heartbeats"));
  REQUIRE(::kill(child.pid(), SIGCONT) == 0);
}

TEST_CASE(
    "sqlite: a store holds its scheduler's liveness lock from its first claim until it closes",
    "[store][sqlite][faults][liveness]") {
  Fixture f;
  const std::string live = f.path + "-live";
  sked::detail::LivenessLock probe;
  {
    const auto store = f.open();
    const mode_t previous = umask(0277);  // readable by its owner only whatever the umask
    CHECK_FALSE(probe.held(live, "s1"));  // no lock file before the first claim
    (void)store->claim_due_jobs(t0, 10, {});
    umask(previous);
    CHECK(probe.held(live, "s1"));
    CHECK_FALSE(probe.held(live, "s2"));
    CHECK(std::filesystem::status(live).permissions() ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
  CHECK_FALSE(probe.held(live, "s1"));
}

TEST_CASE(
    "sqlite: a peer in another PID namespace with a stale heartbeat keeps its runs while its "
    "liveness lock is held, and is dead at the next look once the lock is gone",
    "[store][sqlite][faults][liveness]") {
  Fixture f;
  const auto store = f.open();
  auto job = every("j", 1h);
  job.next_run_time = t0 + 1h;
  store->add_job(job);
  {
    // A scheduler in a container sharing the file: a host name of its own, a pid this host does not
    // show as its, a heartbeat a day old (stale_after is 3 h), and a run in progress.
    auto db = f.raw();
    db.exec(
        "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat) VALUES "
        "('box', 'container', 1, '2025-12-31T00:00:00.000000Z', '2025-12-31T00:00:00.000000Z')");
    db.exec(
        "INSERT INTO sked_job_execution (job_id, status, run_time, scheduler_id) VALUES "
        "('j', 'started', '2025-12-31T23:00:00.000000Z', 'box')");
  }
  const auto status = [&] {
    auto db = f.raw();
    return db
        .execAndGet(
            "SELECT status FROM sked_job_execution WHERE run_time = '2025-12-31T23:00:00.000000Z'")
        .getString();
  };
  auto lock = std::make_unique<sked::detail::LivenessLock>();
  REQUIRE(lock->hold(f.path + "-live", "box"));

  (void)store->claim_due_jobs(t0, 10, {});  // the first claim looks at every peer
  CHECK(status() == "started");
  CHECK(store->live_schedulers().size() == 2);
  {
    // A read-only tool (`sked jobs`) sees it alive through a descriptor of its own.
    sked::SqliteJobStore tool{f.path,
                              {.open_mode = sked::SqliteOpenMode::read_only,
                               .clock = f.clock,
                               .on_warning = f.warnings.sink()}};
    CHECK(tool.live_schedulers().size() == 2);
  }

  lock.reset();  // its process ended: the kernel dropped the lock
  CHECK(store->live_schedulers().size() == 1);
  f.clock->advance(1h);  // j is due: the next claim looks at the peers again
  (void)store->claim_due_jobs(f.clock->now(), 10, {});
  CHECK(status() == "interrupted");
  CHECK(f.warnings.count_containing("recorded 1 run(s) of dead scheduler 'box'") == 1);
}

TEST_CASE("sqlite: a run whose outcome was never written is recorded interrupted after a restart",
          "[store][sqlite][faults][disk]") {
  Fixture f;
  sked::Execution started;
  {
    sked::test::FullDiskVfs disk;
    const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
    const auto store = f.open("first");
    store->add_job(every("j", 1min));
    auto claims = store->claim_due_jobs(t0, 10, {}, owner);
    started = claims.at(0).executions.at(0);
    disk.full = true;
    claims[0].runs.at(0).complete({});
    CHECK(store->unwritten_completions() == 1);
    // The process ends with the disk still full: the outcome is lost with it.
  }
  const auto store = f.open("first");
  (void)store->claim_due_jobs(t0 + 30s, 10, {});
  const auto record = store->get_executions({.id = started.id}).at(0);
  CHECK(record.status == ExecutionStatus::interrupted);
}

TEST_CASE("sqlite: claims and completions keep the WAL file under 4 MiB plus one transaction",
          "[store][sqlite][faults][wal]") {
  Fixture f;
  const auto store = f.open();
  for (int i = 0; i < 20; ++i) store->add_job(every("job" + std::to_string(i), 1s, 100));
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  const std::string wal = f.path + "-wal";
  std::uintmax_t largest = 0;
  for (int second = 0; second < 600; ++second) {
    const auto now = t0 + std::chrono::seconds{second};
    owner->set_now(now);
    auto claims = store->claim_due_jobs(now, 100, {}, owner);
    for (auto& c : claims) {
      for (auto& run : c.runs) run.complete({});
    }
    largest = std::max(largest, std::filesystem::file_size(wal));
  }
  // 600 claims and 12,000 completions: well over 10,000 WAL pages had it not been checkpointed.
  CHECK(store->get_executions({.status = ExecutionStatus::executed, .limit = 20'000}).size() ==
        12'000);
  INFO("largest WAL: " << largest << " bytes");
  CHECK(largest <= 4 * 1024 * 1024 + 512 * 1024);
}

namespace {

nlohmann::json nested(std::size_t depth) {
  nlohmann::json v = 1;
  for (std::size_t i = 0; i < depth; ++i) {
    nlohmann::json outer = nlohmann::json::array();
    outer.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

std::string state_of(SQLite::Database& db, const std::string& id) {
  SQLite::Statement s{db, "SELECT job_state FROM sked_job WHERE id = ?"};
  s.bind(1, id);
  REQUIRE(s.executeStep());
  return s.getColumn(0).getString();
}

void set_state(SQLite::Database& db, const std::string& id, const std::string& state) {
  SQLite::Statement s{db, "UPDATE sked_job SET job_state = ? WHERE id = ?"};
  s.bind(1, state);
  s.bind(2, id);
  REQUIRE(s.exec() == 1);
}

}  // namespace

TEST_CASE("args nested 10^5 levels deep are refused by add_job and modify_job, naming the job",
          "[store][sqlite][faults][json]") {
  Fixture f;
  const auto store = f.open();
  auto job = every("deep", 1min);
  job.args = nested(100'000);
  CHECK_THROWS_WITH(store->add_job(job),
                    Catch::Contains("job 'deep'") && Catch::Contains("nested deeper than 64"));
  CHECK_FALSE(store->lookup_job("deep"));
  job.args = nested(sked::max_args_depth - 1);  // {"args": ...} stays within the limit
  store->add_job(job);
  CHECK(store->lookup_job("deep")->args == job.args);

  sked::BlockingScheduler scheduler{{.clock = f.clock, .timezone = sked::TimeZone::utc()}};
  scheduler.add_jobstore(store, "sql");
  CHECK_THROWS_WITH(scheduler.modify_job("deep", {.args = nested(100'000)}),
                    Catch::Contains("job 'deep'") && Catch::Contains("nested deeper"));
  CHECK(store->lookup_job("deep")->args == job.args);
}

TEST_CASE(
    "a stored job_state nested 10^6 levels deep is reported once and skipped, and stays stored",
    "[store][sqlite][faults][json]") {
  Fixture f;
  const auto store = f.open();
  store->add_job(every("deep", 1min));
  store->add_job(every("fine", 1min));
  {
    auto db = f.raw();
    std::string state = state_of(db, "deep");
    const auto at = state.find("\"args\":{}");
    REQUIRE(at != std::string::npos);
    state.replace(at, 9, "\"args\":" + std::string(1'000'000, '[') + std::string(1'000'000, ']'));
    set_state(db, "deep", state);
  }
  for (int i = 0; i < 3; ++i) {
    const auto claims = store->claim_due_jobs(t0 + std::chrono::seconds{i}, 10, {});
    if (i == 0) {
      REQUIRE(claims.size() == 1);
      CHECK(claims[0].job->id == "fine");
    }
  }
  CHECK(store->get_all_jobs().size() == 1);
  CHECK(f.warnings.count_containing("job 'deep'") == 1);
  CHECK(f.warnings.count_containing("nested deeper than") == 1);
  CHECK(f.warnings.count_containing(f.path) == 1);
  CHECK_THROWS_AS(store->lookup_job("deep"), sked::SerializationError);
  auto db = f.raw();
  CHECK(db.execAndGet("SELECT count(*) FROM sked_job WHERE id = 'deep'").getInt() == 1);
}

TEST_CASE(
    "hand-edited rows with invalid values are reported once with the job id, skipped and kept",
    "[store][sqlite][faults][bad_row]") {
  Fixture f;
  const auto store = f.open();
  for (const char* id : {"negative_instances", "negative_grace", "garbage_time", "fine"}) {
    store->add_job(every(id, 1min));
  }
  {
    auto db = f.raw();
    auto edit = [&](const std::string& id, const char* key, int value) {
      auto state = nlohmann::json::parse(state_of(db, id));
      state[key] = value;
      set_state(db, id, state.dump());
    };
    edit("negative_instances", "max_instances", -5);
    edit("negative_grace", "misfire_grace_time_us", -30'000'000);
    db.exec("UPDATE sked_job SET next_run_time = '0garbage' WHERE id = 'garbage_time'");
  }
  for (int i = 0; i < 5; ++i) {
    const auto now = t0 + std::chrono::seconds{i};
    const auto claims = store->claim_due_jobs(now, 10, {});
    if (i == 0) {
      REQUIRE(claims.size() == 1);
      CHECK(claims[0].job->id == "fine");
    }
    // The wake-up time passes over the time that cannot be read instead of failing every second
    // (the rows with bad values still have a valid time: due, and left for max_wait polling).
    CHECK(store->next_run_time() == t0);
  }
  CHECK(store->get_all_jobs().size() == 1);
  CHECK(f.warnings.count_containing("job 'negative_instances'") == 1);
  CHECK(f.warnings.count_containing("max_instances must be at least 1, got -5") == 1);
  CHECK(f.warnings.count_containing("job 'negative_grace'") == 1);
  CHECK(f.warnings.count_containing("misfire_grace_time must not be negative") == 1);
  CHECK(f.warnings.count_containing("job 'garbage_time'") == 1);
  CHECK(f.warnings.count_containing("'0garbage'") == 1);
  auto db = f.raw();
  CHECK(db.execAndGet("SELECT count(*) FROM sked_job").getInt() == 4);
}

TEST_CASE(
    "a corrupt store is reported once with its path, and the scheduler stops claiming from it",
    "[store][sqlite][faults][corrupt]") {
  Fixture f;
  {
    const auto store = f.open();
    for (int i = 0; i < 200; ++i) store->add_job(every("job" + std::to_string(i), 1min));
  }
  std::vector<std::int64_t> pages;
  {
    auto db = f.raw();
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    SQLite::Statement s{db, "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'sked_job'"};
    while (s.executeStep()) pages.push_back(s.getColumn(0).getInt64());
  }
  {
    // What a failing disk or a stray write leaves: the job table's pages overwritten.
    std::fstream file(f.path, std::ios::in | std::ios::out | std::ios::binary);
    const std::string garbage(4096, '\xA5');
    for (const auto page : pages) {
      file.seekp((page - 1) * 4096);
      file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
  }
  const auto store = f.open();
  // The pass that finds it fails with an error naming the file; later passes claim nothing,
  // quietly.
  CHECK_THROWS_WITH(store->claim_due_jobs(t0, 10, {}),
                    Catch::Contains(f.path) && Catch::Contains("malformed"));
  for (int i = 1; i < 60; ++i) {
    CHECK(store->claim_due_jobs(t0 + std::chrono::seconds{i}, 10, {}).empty());
    CHECK_FALSE(store->next_run_time());
  }
  CHECK(f.warnings.count_containing("is corrupt") == 1);
  CHECK(f.warnings.count_containing(f.path) == 1);
  CHECK(f.warnings.count_containing("stops claiming") == 1);
}

}  // namespace SKED_TEST_FILE
