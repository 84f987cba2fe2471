// The bad-input catalogue: what users get wrong, fed to each public entry point. Each case gets a
// clear error naming the problem and where it is, and nothing stored is lost or changed.
//
// Where each fault class is tested (this file holds the ones that had no home):
// - cron syntax (field, token, column), unknown names, impossible dates: triggers/cron_test.cpp
// - unknown zones, empty and huge zone names: time_test.cpp, and below
// - zero, negative and overflowing intervals, end before start, jitter >= interval:
//   triggers/interval_test.cpp; numbers that do not fit a stored field: serialization_test.cpp
// - duplicate ids, unknown job ids, unknown task names, unknown executors, bad job specs:
//   scheduler_test.cpp ("job ids are unique...", "bad job specs...", "a job whose task is not
//   registered..."), stores/store_contract_test.cpp
// - a corrupt job_state row, a file that is not SQLite, not a sked store, from a newer sked, an
//   older store opened without migrating: stores/sqlite_test.cpp; the same through the tool:
//   cli/store_test.sh
// - a database locked past the busy timeout: stores/sqlite_test.cpp ("a database locked by another
//   connection..."); a read-only database: cli/store_test.sh (run as nobody when CI runs as root)
// - a full disk (writes refused by RLIMIT_FSIZE): below
// - bad crontab files for `sked run` (line and column): cli/crontab_file_test.cpp, cli/run_test.sh
// - crontab files that are not UTF-8 (FILE:LINE:COLUMN; a byte order mark is fine), a 7th field
//   that is a bad year, a command or variable over 64 KiB, derived ids that collide (64-bit now):
//   cli/crontab_file_test.cpp
// - a crontab path that is a directory, a device (/dev/zero), over 16 MiB or unreadable (an error,
//   never "no jobs"; a reload keeps the jobs), a reload that fails half-way (changes nothing), two
//   daemons syncing one file at once: cli/crontab_sync_test.cpp, cli/run_test.sh
// - empty and huge strings: below
// - `sked next` past the year 9999 (fewer lines, never `10000-01-01`): cli/next_test.sh
// - --db that is not a regular file (/dev/null, a FIFO) or a symbolic link to nothing:
//   cli/store_test.sh, cli/run_test.sh; store files wider than 0600: security_test.cpp
// - terminal escape sequences, carriage returns and bytes that are not UTF-8 in a job's output or
//   exception (escaped in text, kept in --json): cli/store_test.sh
// - ages with a sign, zero or garbage (`prune --older-than -1d`, `1d-1d`, `0s`), a prune cutoff
//   not in the past, `run-now --timeout -1s` or 0: cli/store_test.sh
// - a completion write refused (a full disk: kept, retried, never a phantom running instance;
//   interrupted after a restart): store_faults_test.cpp, stores/sqlite_faults_test.cpp (a VFS
//   failing with SQLITE_FULL)
// - a WAL that would fill a small disk (kept under 4 MiB): stores/sqlite_faults_test.cpp
// - args or a stored job_state nested 10^5-10^6 levels deep, or over 16 MiB (refused by add_job and
//   modify_job; a row reported once and skipped, never parsed): stores/sqlite_faults_test.cpp
// - hand-edited rows (max_instances -5, a negative grace, next_run_time '0garbage'): reported once
//   with the job id, skipped, kept: stores/sqlite_faults_test.cpp
// - a corrupt store file (said once with the path, claiming stops): stores/sqlite_faults_test.cpp
// - a claim that waited for another connection's lock (lateness decided after the wait):
//   store_faults_test.cpp
// - heartbeats held up by a full disk or a held lock (no live scheduler taken for dead, nothing
//   said of a transaction that failed): stores/sqlite_faults_test.cpp ("...judged only over time
//   the file could be written...", "...alive while its process runs..."); all of it under load,
//   with kills: the soak's lock and full-disk phases (scripts/soak.sh)
// - a daemon killed by SIGKILL while its command runs (the command is stopped before the job runs
//   again, never two instances; a reused pid or another host's group is never signalled):
//   stores/sqlite_test.cpp ("a command that outlived its dead scheduler..."),
//   stores/postgres_test.cpp, executors/process_pool_test.cpp, cli/run_test.sh
// - jobs of one crontab file run by the daemon of another file sharing the store (groups; a bad
//   group name): stores/store_contract_test.cpp, scheduler_test.cpp, serialization_test.cpp,
//   cli/run_test.sh
// Fuzzing covers the parsers beyond these cases: tests/fuzz/, scripts/fuzz.sh.

#include "support/temp_dir.hpp"

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <string>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

sked::Job interval_job(std::string id, nlohmann::json args = nlohmann::json::object()) {
  sked::Job job;
  job.id = std::move(id);
  job.name = job.id;
  job.task = "t";
  job.args = std::move(args);
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1min, {.start_date = t0}});
  job.misfire_grace_time = 60s;
  job.next_run_time = t0;
  return job;
}

// Files this process writes may grow only `headroom` bytes past the largest file in `dir`; restored
// on destruction. SIGXFSZ is ignored meanwhile, so a write past the limit fails with EFBIG instead
// of killing the process, as a full disk fails a write with ENOSPC.
class FileSizeLimit {
 public:
  FileSizeLimit(const std::filesystem::path& dir, std::uintmax_t headroom) {
    std::uintmax_t largest = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      largest = std::max(largest, entry.file_size());
    }
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limited = saved_;
    limited.rlim_cur = largest + headroom;
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("a full disk fails the write with an error naming the file, and loses nothing committed",
          "[bad_input][store][sqlite][disk]") {
  sked::test::TempDir dir;
  const std::string path = dir.file("full.sqlite3");
  const sked::SqliteJobStoreOptions options{.on_warning = [](std::string_view) {}};
  std::vector<std::string> committed;
  {
    sked::SqliteJobStore store{path, options};
    for (int i = 0; i < 5; ++i) {
      store.add_job(interval_job("before" + std::to_string(i)));
      committed.push_back("before" + std::to_string(i));
    }
    const nlohmann::json big_args = {{"payload", std::string(8192, 'x')}};
    bool refused = false;
    {
      FileSizeLimit limit{dir.path(), 64 * 1024};
      for (int i = 0; i < 200 && !refused; ++i) {
        const std::string id = "during" + std::to_string(i);
        try {
          store.add_job(interval_job(id, big_args));
          committed.push_back(id);
        } catch (const sked::StoreError& e) {
          refused = true;
          CHECK(e.path() == path);
          CHECK_THAT(e.what(), Catch::Contains(path));
          CHECK_THAT(e.what(), Catch::Contains("full") || Catch::Contains("I/O"));
        }
      }
    }
    REQUIRE(refused);
    // With room again, the same store goes on.
    store.add_job(interval_job("after"));
    committed.push_back("after");
  }
  sked::SqliteJobStore reopened{path, options};
  for (const auto& id : committed) CHECK(reopened.lookup_job(id));
  CHECK(reopened.get_all_jobs().size() == committed.size());
}

TEST_CASE("empty and huge strings get errors that name what is wrong", "[bad_input]") {
  const std::string huge(1 << 20, '5');
  // Cron: empty, and a megabyte of digits (one field far out of range).
  CHECK_THROWS_AS(sked::CronTrigger::from_crontab(""), sked::CronSyntaxError);
  CHECK_THROWS_AS(sked::CronTrigger::from_crontab(huge), sked::CronSyntaxError);
  CHECK_THROWS_WITH(sked::CronTrigger::from_crontab(huge + " * * * *"), Catch::Contains("minute"));
  // Zones.
  CHECK_THROWS_WITH(sked::TimeZone::locate(""), Catch::Contains("time zone"));
  CHECK_THROWS_AS(sked::TimeZone::locate(huge), sked::Error);

  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::BackgroundScheduler scheduler{{.clock = clock,
                                       .timezone = sked::TimeZone::utc(),
                                       .logger = [](sked::LogLevel, std::string_view) {}}};
  // No task and no callable.
  CHECK_THROWS_AS(scheduler.add_job({.id = "none", .trigger = sked::IntervalTrigger{1min}}),
                  sked::InvalidArgument);
  // A huge id and a huge unknown task name are kept as given (ids and names are the user's).
  const auto job = scheduler.add_job({.id = std::string(100'000, 'i'),
                                      .task = std::string(100'000, 't'),
                                      .trigger = sked::IntervalTrigger{1min}});
  CHECK(scheduler.get_job(job.id)->task.size() == 100'000);
  // Unknown ids name the id.
  CHECK_THROWS_WITH(scheduler.remove_job("no-such-job"), Catch::Contains("no-such-job"));
  CHECK_THROWS_WITH(scheduler.pause_job(""), Catch::Contains("''") || Catch::Contains("\"\""));
  CHECK(scheduler.get_jobs().size() == 1);  // nothing else changed
}

}  // namespace SKED_TEST_FILE
