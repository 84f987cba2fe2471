// The built-in shell task, run in this process through run_task as the thread pool runs it.

#include "support/processes.hpp"
#include "support/temp_dir.hpp"

#include <sked/errors.hpp>
#include <sked/executor.hpp>
#include <sked/tasks/shell.hpp>
#include <sked/triggers/date.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-03-29T01:30:00Z");

sked::Outcome run_shell(nlohmann::json args, std::stop_token stop = {}) {
  sked::Job job;
  job.id = "backup";
  job.name = "backup";
  job.task = "shell";
  job.args = std::move(args);
  job.trigger = std::make_shared<sked::DateTrigger>(t0);
  return sked::run_task(sked::shell_task, job, t0, std::move(stop));
}

}  // namespace

TEST_CASE("a shell command that succeeds keeps its output", "[tasks][shell]") {
  const auto outcome = run_shell({{"command", "echo hello; echo careful >&2"}});
  CHECK(outcome.status == ExecutionStatus::executed);
  CHECK(outcome.traceback == "--- stdout ---\nhello\n--- stderr ---\ncareful\n");
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("a shell command that exits non-zero is an error with its status", "[tasks][shell]") {
  const auto outcome = run_shell({{"command", "echo 'half done'; exit 3"}});
  CHECK(outcome.status == ExecutionStatus::error);
  CHECK(outcome.exception == "sked::CommandFailed: exited with status 3");
  CHECK(outcome.traceback == "--- stdout ---\nhalf done\n");
  const auto killed = run_shell({{"command", "kill -9 $$"}});
  CHECK(killed.exception == "sked::CommandFailed: killed by signal 9 (SIGKILL)");
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("the shell task keeps only the tail of a long output", "[tasks][shell]") {
  // 100,000 bytes of 'a' then END on stdout, 10,000 bytes of 'b' on stderr.
  const auto outcome = run_shell({{"command",
                                   "head -c 100000 /dev/zero | tr '\\0' a; printf END; head -c "
                                   "10000 /dev/zero | tr '\\0' b >&2"}});
  REQUIRE(outcome.status == ExecutionStatus::executed);
  const auto& text = outcome.traceback;
  const std::string out_header = "--- stdout (last 4096 of 100003 bytes) ---\n";
  const std::string err_header = "--- stderr (last 4096 of 10000 bytes) ---\n";
  REQUIRE(text.rfind(out_header, 0) == 0);
  const auto err_at = text.find(err_header);
  REQUIRE(err_at != std::string::npos);
  const auto out_tail = text.substr(out_header.size(), err_at - out_header.size());
  CHECK(out_tail == std::string(4093, 'a') + "END\n");
  CHECK(text.substr(err_at + err_header.size()) == std::string(4096, 'b') + "\n");
  CHECK(text.size() <= 2 * (sked::shell_output_tail + 64));
}

TEST_CASE("the shell task honours cwd and env, and never splices them into the command",
          "[tasks][shell]") {
  sked::test::TempDir dir;
  ::setenv("SKED_TEST_INHERITED", "from parent", 1);
  ::setenv("SKED_TEST_REPLACED", "old", 1);
  const auto outcome = run_shell(
      {{"command",
        R"(pwd; printf '%s|%s|%s|%s\n' "$GREETING" "$SKED_TEST_INHERITED" "$SKED_TEST_REPLACED" "$PORT")"},
       {"cwd", dir.path().string()},
       {"env",
        {{"GREETING", "hi $(touch injected); `touch injected`"},
         {"SKED_TEST_REPLACED", "new"},
         {"PORT", 8080}}}});
  ::unsetenv("SKED_TEST_INHERITED");
  ::unsetenv("SKED_TEST_REPLACED");
  REQUIRE(outcome.status == ExecutionStatus::executed);
  const auto real_dir = std::filesystem::canonical(dir.path()).string();
  CHECK(outcome.traceback == "--- stdout ---\n" + real_dir +
                                 "\nhi $(touch injected); `touch injected`|from parent|new|8080\n");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "injected"));
}

TEST_CASE("the shell command sees SKED_JOB_ID and SKED_RUN_TIME", "[tasks][shell]") {
  const auto outcome = run_shell({{"command", "echo \"$SKED_JOB_ID at $SKED_RUN_TIME\""}});
  CHECK(outcome.traceback == "--- stdout ---\nbackup at 2026-03-29T01:30:00Z\n");
}

TEST_CASE("a shell command past its own timeout is killed and recorded",
          "[tasks][shell][timeout]") {
  // The timeout is real time (the command is a real process): this test takes 200 ms.
  const auto outcome = run_shell({{"command", "echo $$; exec sleep 60"}, {"timeout", 0.2}});
  CHECK(outcome.status == ExecutionStatus::error);
  CHECK(outcome.exception == "sked::CommandFailed: timed out after 0.200s");
  const pid_t command = std::stoi(outcome.traceback.substr(outcome.traceback.find('\n') + 1));
  CHECK(sked::test::process_gone(command));
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("a stop request kills the command and its whole pipeline", "[tasks][shell][stop]") {
  sked::test::TempDir dir;
  const auto fifo = (dir.path() / "started").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::stop_source stop;
  std::string pids;
  std::jthread requester([&] {
    // Opening the FIFO waits for the command to open it: by then it runs.
    std::ifstream in(fifo);
    std::getline(in, pids);
    stop.request_stop();
  });
  const auto outcome =
      run_shell({{"command", "sleep 60 | sleep 61 & echo \"$$ $(jobs -p)\" > " + fifo + "; wait"}},
                stop.get_token());
  requester.join();
  CHECK(outcome.exception == "sked::CommandFailed: stopped before it finished");
  std::istringstream in(pids);
  std::vector<pid_t> started;
  for (pid_t pid = 0; in >> pid;) started.push_back(pid);
  CHECK_FALSE(started.empty());
  CHECK(sked::test::wait_until_gone(started));
  CHECK(sked::test::children_of().empty());
}

TEST_CASE("bad shell args are rejected naming the job and the arg", "[tasks][shell][errors]") {
  CHECK_THAT(run_shell({{"cwd", "/tmp"}}).exception,
             Catch::Equals("sked::InvalidArgument: shell task (job 'backup'): 'command' must be a "
                           "non-empty string"));
  CHECK_THAT(run_shell({{"command", "true"}, {"env", {{"A=B", "x"}}}}).exception,
             Catch::Contains("env name 'A=B' is not a valid variable name"));
  CHECK_THAT(run_shell({{"command", "true"}, {"timeout", "soon"}}).exception,
             Catch::Contains("'timeout' must be a positive number of seconds"));
  CHECK_THAT(
      run_shell({{"command", "true"}, {"cwd", "/no/such/dir"}}).exception,
      Catch::Equals(
          "sked::Error: shell task (job 'backup'): cannot start /bin/sh in '/no/such/dir': No such "
          "file or directory"));
  sked::TaskRegistry tasks;
  sked::register_shell_task(tasks);
  CHECK(tasks.contains("shell"));
}

}  // namespace SKED_TEST_FILE
