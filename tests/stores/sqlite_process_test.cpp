// Real scheduler processes (tests/stores/sqlite_worker.cpp) sharing one SQLite file, with the real
// clock. They wait on conditions by polling the file with a bounded deadline, never for a fixed
// time.

#include "support/temp_dir.hpp"
#include "support/worker_process.hpp"

#include <date/tz.h>

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

extern char** environ;

using namespace std::chrono_literals;
using sked::test::TempDir;

namespace {

/// A worker process of the SQLite store's tests.
class Worker : public sked::test::WorkerProcess {
 public:
  explicit Worker(std::vector<std::string> args)
      : WorkerProcess(SKED_SQLITE_WORKER, std::move(args)) {}
};

using sked::test::eventually;

long long count(SQLite::Database& db, const std::string& sql) {
  return db.execAndGet(sql).getInt64();
}

std::string db_time(sked::TimePoint t) { return date::format("%FT%TZ", t); }

/// The first whole second at least `margin` from now: time for the workers to start.
sked::TimePoint start_after(sked::Duration margin) {
  const auto now = sked::SystemClock{}.now();
  return std::chrono::ceil<std::chrono::seconds>(now + margin);
}

struct File {
  TempDir dir;
  std::string path = dir.file("shared.sqlite3");

  File() {
    sked::SqliteJobStore create{path};  // creates the schema
    SQLite::Database db{path, SQLite::OPEN_READWRITE};
    db.exec(
        "CREATE TABLE worker_run (job_id TEXT NOT NULL, run_time TEXT NOT NULL, pid INTEGER NOT "
        "NULL)");
  }
  SQLite::Database raw() const { return SQLite::Database(path, SQLite::OPEN_READWRITE, 5000); }
  void add(const sked::Job& job) const { sked::SqliteJobStore{path}.add_job(job); }
};

sked::Job job(const std::string& id, const std::string& task, sked::TimePoint start,
              std::optional<sked::TimePoint> end) {
  sked::Job j;
  j.id = id;
  j.name = id;
  j.task = task;
  j.trigger = std::make_shared<sked::IntervalTrigger>(
      sked::IntervalTrigger{1s, {.start_date = start, .end_date = end}});
  j.misfire_grace_time = 60s;
  j.coalesce = false;
  j.max_instances = 10;
  j.next_run_time = start;
  return j;
}

}  // namespace

TEST_CASE("two scheduler processes on one file run every fire time exactly once",
          "[store][sqlite][process]") {
  File file;
  constexpr int jobs = 4;
  constexpr int fire_times = 3;
  const auto start = start_after(1s);
  for (int i = 0; i < jobs; ++i) {
    file.add(job("j" + std::to_string(i), "record", start,
                 start + std::chrono::seconds{fire_times - 1}));
  }
  Worker a{{"--db", file.path, "--exit-when-done"}};
  Worker b{{"--db", file.path, "--exit-when-done"}};
  // Both exit once the last fire time of every job has been claimed and run.
  const auto a_exit = a.wait_exit(20s);
  const auto b_exit = b.wait_exit(5s);
  REQUIRE(a_exit);
  REQUIRE(b_exit);
  CHECK(WIFEXITED(*a_exit));
  CHECK(WEXITSTATUS(*a_exit) == 0);
  CHECK(WEXITSTATUS(*b_exit) == 0);

  auto db = file.raw();
  // What really ran, from the tasks themselves: each fire time once, none missing.
  std::map<std::string, std::multiset<std::string>> ran;
  std::set<long long> pids;
  SQLite::Statement s{db, "SELECT job_id, run_time, pid FROM worker_run"};
  while (s.executeStep()) {
    ran[s.getColumn(0).getString()].insert(s.getColumn(1).getString());
    pids.insert(s.getColumn(2).getInt64());
  }
  REQUIRE(ran.size() == static_cast<std::size_t>(jobs));
  for (const auto& [id, times] : ran) {
    std::multiset<std::string> expected;
    for (int k = 0; k < fire_times; ++k) expected.insert(db_time(start + std::chrono::seconds{k}));
    INFO("job " << id);
    CHECK(times == expected);
  }
  // And the store's record agrees: every run executed, nothing missed, skipped or interrupted.
  CHECK(count(db, "SELECT count(*) FROM sked_job_execution WHERE status = 'executed'") ==
        jobs * fire_times);
  CHECK(count(db, "SELECT count(*) FROM sked_job_execution") == jobs * fire_times);
  CHECK(count(db, "SELECT count(*) FROM sked_job") == 0);
  CHECK(count(db, "SELECT count(*) FROM sked_scheduler") == 0);  // both unregistered on exit
  INFO("processes that ran jobs: " << pids.size());
}

TEST_CASE(
    "a scheduler process killed during a run: the restart records it interrupted and runs the job "
    "again",
    "[store][sqlite][process][interrupted]") {
  File file;
  auto stuck = job("stuck", "hang", start_after(500ms), std::nullopt);
  stuck.max_instances = 1;
  stuck.coalesce = true;
  file.add(stuck);
  auto db = file.raw();

  Worker first{{"--db", file.path, "--hang"}};
  // The task is running: the claim recorded it started and the task itself has written its row.
  REQUIRE(eventually(
      [&] {
        return count(db, "SELECT count(*) FROM worker_run") > 0 &&
               count(db, "SELECT count(*) FROM sked_job_execution WHERE status = 'started'") > 0;
      },
      10s));
  const std::string killed_run =
      db.execAndGet("SELECT min(run_time) FROM sked_job_execution").getString();
  first.signal(SIGKILL);
  REQUIRE(first.wait_exit(5s));

  Worker second{{"--db", file.path}};
  const auto interrupted = [&] {
    SQLite::Statement s{
        db, "SELECT status FROM sked_job_execution WHERE job_id = 'stuck' AND run_time = ?"};
    s.bind(1, killed_run);
    return s.executeStep() && s.getColumn(0).getString() == "interrupted";
  };
  const auto ran_again = [&] {
    SQLite::Statement s{db,
                        "SELECT count(*) FROM sked_job_execution WHERE job_id = 'stuck' "
                        "AND status = 'executed' AND run_time > ?"};
    s.bind(1, killed_run);
    return s.executeStep() && s.getColumn(0).getInt64() > 0;
  };
  REQUIRE(eventually([&] { return interrupted() && ran_again(); }, 10s));
  second.signal(SIGTERM);
  const auto exit = second.wait_exit(10s);
  REQUIRE(exit);
  CHECK(WEXITSTATUS(*exit) == 0);

  SQLite::Statement why{db, "SELECT exception FROM sked_job_execution WHERE run_time = ?"};
  why.bind(1, killed_run);
  REQUIRE(why.executeStep());
  CHECK_THAT(why.getColumn(0).getString(), Catch::Contains("pid " + std::to_string(first.pid())));
  CHECK(
      count(db, "SELECT count(*) FROM sked_job WHERE id = 'stuck' AND next_run_time IS NOT NULL") ==
      1);
}

}  // namespace SKED_TEST_FILE
