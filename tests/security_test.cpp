// Security properties users rely on: store files readable by their owner only, and job
// arguments and outputs kept out of logs above debug level. (Bound SQL parameters are checked over
// the sources by tests/security/sql_literals.sh; the shell task's refusal to splice cwd and env
// into the command line is in tasks/shell_test.cpp.)

#include "support/recorder.hpp"
#include "support/temp_dir.hpp"

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/tasks/shell.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

TEST_CASE("store files are created readable by their owner only, whatever the umask",
          "[security][store][sqlite]") {
  for (const mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}, mode_t{0277}}) {
    sked::test::TempDir dir;
    const std::string path = dir.file("jobs.sqlite3");
    const mode_t previous = umask(mask);
    {
      sked::SqliteJobStore store{path, {.on_warning = [](std::string_view) {}}};
      sked::Job job;
      job.id = "j";
      job.name = "j";
      job.task = "t";
      job.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1min});
      job.next_run_time = sked::parse_time("2026-01-01T00:00:00Z");
      store.add_job(job);  // the -wal and -shm files exist while the store is open
      for (const char* suffix : {"", "-wal", "-shm"}) {
        struct stat st {};
        REQUIRE(stat((path + suffix).c_str(), &st) == 0);
        INFO(path << suffix << " mode " << std::oct << (st.st_mode & 0777) << " umask " << mask);
        CHECK((st.st_mode & 0777) == 0600);
      }
    }
    umask(previous);
  }
}

TEST_CASE("an existing store file keeps its mode", "[security][store][sqlite]") {
  sked::test::TempDir dir;
  const std::string path = dir.file("shared.sqlite3");
  {
    sked::SqliteJobStore store{path, {.on_warning = [](std::string_view) {}}};
  }
  REQUIRE(chmod(path.c_str(), 0640) == 0);
  {
    sked::SqliteJobStore store{path, {.on_warning = [](std::string_view) {}}};
  }
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("job arguments and outputs never reach the log above debug level",
          "[security][scheduler]") {
  const std::string secret_arg = "hunter2-arg-secret";
  const std::string secret_output = "hunter2-output-secret";
  const std::string secret_command = "hunter2-command-secret";
  auto clock = std::make_shared<sked::ManualClock>(sked::parse_time("2026-01-01T00:00:00Z"));
  std::vector<std::pair<sked::LogLevel, std::string>> lines;
  std::mutex mutex;
  sked::BackgroundScheduler scheduler{{.clock = clock,
                                       .timezone = sked::TimeZone::utc(),
                                       .logger =
                                           [&](sked::LogLevel level, std::string_view message) {
                                             std::lock_guard lock(mutex);
                                             lines.emplace_back(level, std::string{message});
                                           },
                                       .log_level = sked::LogLevel::debug}};
  scheduler.tasks().add("ok", [&](const sked::JobContext& ctx) { ctx.set_output(secret_output); });
  scheduler.tasks().add("fails", [&](const sked::JobContext& ctx) {
    ctx.set_output(secret_output);
    throw std::runtime_error("it failed");
  });
  scheduler.tasks().add("shell", sked::shell_task);
  scheduler.add_job({.id = "ok", .task = "ok", .args = {{"password", secret_arg}}});
  scheduler.add_job({.id = "fails", .task = "fails", .args = {{"password", secret_arg}}});
  scheduler.add_job(
      {.id = "sh",
       .task = "shell",
       .args = {{"command", "echo " + secret_output + "; : " + secret_command + "; exit 3"}}});
  scheduler.start();
  REQUIRE(scheduler.wait_idle());
  scheduler.shutdown();

  std::lock_guard lock(mutex);
  bool saw_failure = false;
  for (const auto& [level, message] : lines) {
    if (level == sked::LogLevel::debug) continue;
    INFO(message);
    CHECK(message.find(secret_arg) == std::string::npos);
    CHECK(message.find(secret_output) == std::string::npos);
    CHECK(message.find(secret_command) == std::string::npos);
    if (message.find("exited with status 3") != std::string::npos) saw_failure = true;
  }
  CHECK(saw_failure);  // the failures themselves are logged, without what they ran
}

}  // namespace SKED_TEST_FILE
