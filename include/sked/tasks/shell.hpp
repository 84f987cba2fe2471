#pragma once
// The built-in `shell` task: runs a command line, records its exit status and the tail of its
// output.

#include <sked/errors.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/tasks.hpp>

#include <cstddef>
#include <string>

namespace sked {

/// A command that did not succeed: it exited with a non-zero status, was killed by a signal, ran
/// past its timeout or was stopped. `what()` reads `exited with status 3`; it leaves the command
/// out, since the scheduler logs failures at error level and a command line may hold secrets (the
/// job has it).
class SKED_API CommandFailed : public Error {
 public:
  CommandFailed(std::string command, const std::string& problem);
  [[nodiscard]] const std::string& command() const noexcept { return command_; }

 private:
  std::string command_;
};

/// How much of the end of stdout, and of stderr, the `shell` task keeps.
inline constexpr std::size_t shell_output_tail = 4096;

/// The `shell` task. Its args:
///   {"command": "pg_dump app > /backup/app.sql",   // required: run as `/bin/sh -c command`
///    "cwd": "/srv/app",                            // optional working directory
///    "env": {"PGHOST": "db"},                      // optional, added to (or replacing in) the
///    environment "timeout": 300}                               // optional, seconds (fractions
///    allowed)
///
/// The command line is the job's own and goes to `/bin/sh` as one argument; nothing from `cwd` or
/// `env` is ever spliced into it. The command also gets `SKED_JOB_ID` and `SKED_RUN_TIME` (the
/// scheduled run time, ISO-8601) in its environment, stdin from /dev/null, and a process group of
/// its own.
///
/// Exit status 0 is success; anything else throws `CommandFailed` (`exited with status 3`, `killed
/// by signal 9 (SIGKILL)`, `timed out after 300s`). The last `shell_output_tail` bytes of stdout
/// and of stderr go to `JobContext::set_output`, success or not. When the run is asked to stop (a
/// shutdown, or the executor's timeout) or its own `timeout` passes, the command's process group
/// gets SIGTERM, then SIGKILL 5 s later if it is still there. Bad args throw `InvalidArgument`
/// naming the job and the arg.
SKED_API void shell_task(const JobContext& context);

/// Registers `shell_task` as "shell" (or `name`).
SKED_API void register_shell_task(TaskRegistry& tasks, std::string name = "shell");

}  // namespace sked
