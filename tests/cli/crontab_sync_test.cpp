// Syncing a crontab file into a store (`sked run` at start-up and on SIGHUP): all or nothing, races
// with another `sked run` on the same file, and files that cannot be read.

#include "cli/crontab_sync.hpp"

#include "support/temp_dir.hpp"

#include <sked/errors.hpp>
#include <sked/stores/memory.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using sked::cli::CrontabLine;
using sked::cli::parse_crontab_file;
using sked::cli::sync_crontab;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
const std::string owner = "/etc/sked/jobs.cron";

struct Log {
  std::vector<std::string> warnings;
  sked::Logger logger() {
    return [this](sked::LogLevel level, std::string_view message) {
      if (level >= sked::LogLevel::warning) warnings.emplace_back(message);
    };
  }
};

std::set<std::string> ids_of(const sked::JobStore& store) {
  std::set<std::string> ids;
  for (const auto& job : store.get_all_jobs()) ids.insert(job.id);
  return ids;
}

// A memory store whose listing misses the jobs named in `hidden` once, as a store read just before
// another `sked run` on the same file added them.
class RacingStore : public sked::MemoryJobStore {
 public:
  mutable std::set<std::string, std::less<>> hidden;

 protected:
  [[nodiscard]] std::vector<sked::Job> all_jobs_() const override {
    auto jobs = MemoryJobStore::all_jobs_();
    std::erase_if(jobs, [&](const sked::Job& j) { return hidden.contains(j.id); });
    hidden.clear();
    return jobs;
  }
};

}  // namespace

TEST_CASE("a crontab job is named by its id, never by its command", "[cli][crontab][security]") {
  const auto lines = parse_crontab_file(
      "@daily PGPASSWORD=hunter2 psql -c 'vacuum'\n"
      "id=backup @hourly PGPASSWORD=hunter2 pg_dump app\n",
      "jobs.cron");
  for (const auto& line : lines) {
    const auto job = sked::cli::crontab_job(line, owner, sked::TimeZone::utc());
    CHECK(job.name == line.id);
    CHECK(job.name.find("hunter2") == std::string::npos);
    CHECK(job.args->at("command") == line.command);
  }
}

TEST_CASE("a group given for a crontab (sked run --group) replaces its file's group",
          "[cli][crontab][group]") {
  auto store = std::make_shared<sked::MemoryJobStore>();
  Log log;
  const auto lines = parse_crontab_file("id=a @daily echo a\n", "f");
  CHECK(sked::cli::crontab_job(lines[0], owner, sked::TimeZone::utc(), "nightly").group ==
        "nightly");
  (void)sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger());
  CHECK(store->lookup_job("a")->group == sked::cli::crontab_group(owner));
  // A later sync with the group moves the file's job into it, keeping its next run.
  const auto next = store->lookup_job("a")->next_run_time;
  const auto counts =
      sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger(), "nightly");
  CHECK(counts.changed == 1);
  CHECK(store->lookup_job("a")->group == "nightly");
  CHECK(store->lookup_job("a")->next_run_time == next);
}

TEST_CASE("a crontab's jobs are in the group of its file, and a sync puts older jobs in it",
          "[cli][crontab][group]") {
  auto store = std::make_shared<sked::MemoryJobStore>();
  Log log;
  const auto lines = parse_crontab_file("id=a @daily echo a\n", "f");
  // Stored by a sked before groups: no group, which any scheduler runs.
  auto old = sked::cli::crontab_job(lines[0], owner, sked::TimeZone::utc());
  CHECK(old.group == "crontab:" + owner);
  old.group.clear();
  old.next_run_time = t0 + std::chrono::hours{1};
  store->add_job(old);
  const auto counts = sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger());
  CHECK(counts.changed == 1);
  CHECK(store->lookup_job("a")->group == sked::cli::crontab_group(owner));
  CHECK(store->lookup_job("a")->next_run_time ==
        t0 + std::chrono::hours{1});  // same schedule: the next run is kept
}

TEST_CASE("a sync that cannot store one line changes nothing", "[cli][crontab]") {
  auto store = std::make_shared<sked::MemoryJobStore>();
  Log log;
  const auto before = parse_crontab_file("id=a @daily echo a\nid=b @hourly echo b\n", "f");
  REQUIRE(sync_crontab(*store, before, owner, sked::TimeZone::utc(), t0, log.logger()).added == 2);
  const auto a_before = store->lookup_job("a");

  // Lines 1-2 change and line 3 holds a byte that no store can write: nothing may change.
  auto after =
      parse_crontab_file("id=a @hourly echo a2\nid=c @daily echo c\nid=d @daily echo d\n", "f");
  after[2].command += "\xff";
  CHECK_THROWS(sync_crontab(*store, after, owner, sked::TimeZone::utc(), t0, log.logger()));
  CHECK(ids_of(*store) == std::set<std::string>{"a", "b"});
  CHECK(store->lookup_job("a")->args == a_before->args);
}

TEST_CASE("a changed line keeps its next run unless its schedule changed", "[cli][crontab]") {
  auto store = std::make_shared<sked::MemoryJobStore>();
  Log log;
  const auto before = parse_crontab_file("id=a @daily echo a\nid=b @daily echo b\n", "f");
  const auto start = sked::parse_time("2026-01-01T01:00:00Z");
  REQUIRE(sync_crontab(*store, before, owner, sked::TimeZone::utc(), start, log.logger()).added ==
          2);
  const auto first = sked::parse_time("2026-01-02T00:00:00Z");
  REQUIRE(store->lookup_job("a")->next_run_time == first);
  // An hour before the first run: a's command changes, b's schedule.
  const auto later = sked::parse_time("2026-01-01T23:00:00Z");
  const auto after = parse_crontab_file("id=a @daily echo A\nid=b 30 23 * * * echo b\n", "f");
  const auto counts =
      sync_crontab(*store, after, owner, sked::TimeZone::utc(), later, log.logger());
  CHECK(counts.changed == 2);
  CHECK(store->lookup_job("a")->args->at("command") == "echo A");
  CHECK(store->lookup_job("a")->next_run_time == first);
  CHECK(store->lookup_job("b")->next_run_time == sked::parse_time("2026-01-01T23:30:00Z"));
}

TEST_CASE("a job that another sync of the same file added meanwhile is not foreign",
          "[cli][crontab]") {
  auto store = std::make_shared<RacingStore>();
  Log log;
  const auto lines = parse_crontab_file("id=a @daily echo a\nid=b @hourly echo b\n", "f");
  // The other `sked run` got there first with the same file.
  REQUIRE(sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger()).added == 2);
  store->hidden = {"a", "b"};
  const auto counts = sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger());
  CHECK(log.warnings.empty());
  CHECK(counts.unchanged == 2);
  CHECK(counts.added + counts.changed + counts.removed == 0);

  // A job of that id that another file or an application added is foreign: left alone, with a
  // warning.
  sked::Job foreign = sked::cli::crontab_job(lines[0], "/other.cron", sked::TimeZone::utc());
  foreign.id = "x";
  foreign.next_run_time = t0;
  store->add_job(foreign);
  const auto with_x = parse_crontab_file("id=x @daily echo x\n", "f");
  (void)sync_crontab(*store, with_x, owner, sked::TimeZone::utc(), t0, log.logger());
  REQUIRE(log.warnings.size() == 1);
  CHECK_THAT(log.warnings[0],
             Catch::Contains("job 'x' is in the store already and was not added by this crontab"));
  CHECK(store->lookup_job("x")->args->at("crontab") == "/other.cron");
}

TEST_CASE("a job stored under an 8-digit derived id keeps it", "[cli][crontab]") {
  auto store = std::make_shared<sked::MemoryJobStore>();
  Log log;
  auto lines = parse_crontab_file("@daily echo legacy\n", "f");
  REQUIRE(lines[0].id.size() == 5 + 16);
  // As sked stored it when derived ids had 8 hex digits: the first 8 of today's 16.
  auto legacy = lines;
  legacy[0].id = lines[0].id.substr(0, 5 + 8);
  legacy[0].derived_id = false;
  REQUIRE(sync_crontab(*store, legacy, owner, sked::TimeZone::utc(), t0, log.logger()).added == 1);
  const auto counts = sync_crontab(*store, lines, owner, sked::TimeZone::utc(), t0, log.logger());
  CHECK(counts.unchanged == 1);
  CHECK(ids_of(*store) == std::set<std::string>{legacy[0].id});
}

TEST_CASE("a crontab path that cannot be read is an error naming it, never an empty file",
          "[cli][crontab]") {
  sked::test::TempDir dir;
  CHECK_THROWS_WITH(sked::cli::read_crontab_file(dir.path().string()),
                    "cannot read crontab file '" + dir.path().string() + "': it is a directory");
  CHECK_THROWS_WITH(sked::cli::read_crontab_file(dir.file("none.cron")),
                    Catch::Contains("cannot read crontab file '" + dir.file("none.cron") + "'"));
  CHECK_THROWS_WITH(sked::cli::read_crontab_file("/dev/zero"),
                    "cannot read crontab file '/dev/zero': it is not a regular file or a pipe");
  const std::string big = dir.file("big.cron");
  {
    std::ofstream out{big};
    const std::string line = "# " + std::string(1022, 'x') + "\n";
    for (std::size_t i = 0; i <= sked::cli::max_crontab_bytes / line.size(); ++i) out << line;
  }
  CHECK_THROWS_WITH(sked::cli::read_crontab_file(big),
                    "cannot read crontab file '" + big + "': it is longer than 16 MiB");
  const std::string path = dir.file("jobs.cron");
  std::ofstream{path} << "@daily echo x\n";
  CHECK(sked::cli::read_crontab_file(path) == "@daily echo x\n");
  if (geteuid() != 0) {  // root reads whatever the mode says
    REQUIRE(chmod(path.c_str(), 0) == 0);
    CHECK_THROWS_WITH(
        sked::cli::read_crontab_file(path),
        Catch::Contains("cannot read crontab file '" + path + "': Permission denied"));
  }
}

}  // namespace SKED_TEST_FILE
