#pragma once
// The `sked` tool's commands. Each lives in its own file and adds itself to the app with a
// `register_<name>(CLI::App&)` function that main() calls; a command's callback does the work.
//
// Exit status: 0 ok, 1 a runtime failure, 2 bad usage or input. A command reports a failure by
// printing `sked <command>: <message>` to stderr and throwing `CLI::RuntimeError(status)`, which
// main() turns into the exit status.

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace sked::cli {

inline constexpr int exit_bad_input = 2;
inline constexpr int exit_failure = 1;

/// A command's long help, written in the source as a raw string that starts on a line of its own.
inline std::string help_text(std::string_view raw) {
  if (!raw.empty() && raw.front() == '\n') raw.remove_prefix(1);
  return std::string{raw};
}

/// Prints `sked <command>: <message>` to stderr and ends the command with `status`.
[[noreturn]] void fail(std::string_view command, std::string_view message, int status);

/// `sked next`: preview a cron schedule's fire times.
void register_next(CLI::App& app);
/// `sked jobs`: list the jobs in a store.
void register_jobs(CLI::App& app);
/// `sked show JOB`: one job, its next fire times and its latest executions.
void register_show(CLI::App& app);
/// `sked executions`: execution history.
void register_executions(CLI::App& app);
/// `sked pause JOB`, `sked resume JOB`, `sked remove JOB`.
void register_pause(CLI::App& app);
void register_resume(CLI::App& app);
void register_remove(CLI::App& app);
/// `sked run-now JOB`: have the running scheduler run a job now and wait for it.
void register_run_now(CLI::App& app);
/// `sked prune --older-than AGE`: delete old execution records.
void register_prune(CLI::App& app);
/// `sked run --crontab FILE`: the cron daemon.
void register_run(CLI::App& app);
/// `sked serve`: the dashboard, JSON API and metrics over HTTP.
void register_serve(CLI::App& app);

}  // namespace sked::cli
