// `sked run --crontab FILE`: a cron daemon whose jobs and history live in a sked store. Each line
// of the file becomes a persisted `shell` job; SIGHUP reloads the file, SIGTERM/SIGINT stop
// cleanly.

#include "common.hpp"
#include "crontab_file.hpp"
#include "crontab_sync.hpp"

#include <sked/errors.hpp>
#include <sked/executors/thread_pool.hpp>
#include <sked/scheduler.hpp>
#include <sked/tasks/shell.hpp>
#include <sked/triggers/cron.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>

#include <pthread.h>
#include <unistd.h>

namespace sked::cli {
namespace {

struct RunArgs {
  StoreArgs store{};
  std::string crontab{};
  std::optional<std::string> group{};
  std::string grace = "30s";
  std::size_t workers = 10;
  std::string log_level = "info";
};

// What cronie does with a variable that sked does not: said once per load, never silently.
void report_unsupported(const std::vector<CrontabLine>& lines, const std::string& path,
                        const std::function<void(LogLevel, std::string_view)>& log) {
  bool mail = false;
  bool shell = false;
  for (const auto& line : lines) {
    if (!mail && line.env.contains("MAILTO") && !line.env.at("MAILTO").empty()) {
      mail = true;
      log(LogLevel::info,
          fmt::format("'{}' sets MAILTO: sked does not send mail; each run's exit status "
                      "and output are in its execution record (sked executions)",
                      path));
    }
    if (!shell && line.env.contains("SHELL") && line.env.at("SHELL") != "/bin/sh") {
      shell = true;
      log(LogLevel::warning,
          fmt::format("'{}' sets SHELL={}: sked runs commands with /bin/sh -c and "
                      "only passes SHELL to them",
                      path, line.env.at("SHELL")));
    }
  }
}

LogLevel parse_level(const std::string& text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warning") return LogLevel::warning;
  if (text == "error") return LogLevel::error;
  throw InvalidArgument(
      fmt::format("--log-level '{}': expected debug, info, warning or error", text));
}

Logger make_logger(const TimeZone& zone) {
  auto mutex = std::make_shared<std::mutex>();
  return [mutex, zone](LogLevel level, std::string_view message) {
    static constexpr const char* names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    const std::string line =
        fmt::format("{} sked run: {}: {}\n", human_time(SystemClock{}.now(), zone),
                    names[static_cast<int>(level)], message);
    std::lock_guard lock(*mutex);
    std::cerr << line << std::flush;
  };
}

void run_daemon(const RunArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const Duration grace = parse_age(args.grace, "--grace");
  const LogLevel level = parse_level(args.log_level);
  const std::string owner = std::filesystem::absolute(args.crontab).lexically_normal().string();
  if (args.group && args.group->empty())
    throw InvalidArgument(
        "--group: the group name is empty (leave the option out for the file's "
        "own group)");
  const std::string group = args.group ? *args.group : crontab_group(owner);
  // Checked as a stored job's group is (Job::validate), before anything is read or written.
  if (group.size() > max_group_bytes)
    throw InvalidArgument(fmt::format("--group: longer than {} bytes", max_group_bytes));
  if (std::any_of(group.begin(), group.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw InvalidArgument("--group: the group name must not contain control characters");
  }
  const auto lines = parse_crontab_file(read_crontab_file(args.crontab), args.crontab);

  // Signals are taken by sigwait on this thread; every thread started from here on inherits the
  // mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Default dispositions, so that a signal ignored by whoever started this (a shell's `&` ignores
  // SIGINT) still reaches sigwait; a closed stderr must not end the daemon.
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);

  const std::shared_ptr<JobStore> store = open_scheduler_store("run", args.store.db);
  const Logger logger = make_logger(zone);
  const auto log = [&](LogLevel l, std::string_view message) {
    if (l >= level) logger(l, message);
  };
  const auto report = [&](const SyncCounts& c, std::string_view what) {
    log(LogLevel::info,
        fmt::format("{} '{}' into '{}': {} added, {} changed, {} removed, {} unchanged", what,
                    args.crontab, store_name(*store, args.store.db), c.added, c.changed, c.removed,
                    c.unchanged));
  };
  report_unsupported(lines, args.crontab, log);
  report(sync_crontab(*store, lines, owner, zone, SystemClock{}.now(), log, group), "synced");

  // Only this file's jobs (its group): a store shared with other crontab files or an application
  // runs each job in the daemons of its own group.
  BackgroundScheduler scheduler{
      {.timezone = zone, .logger = logger, .log_level = level, .groups = {group}}};
  register_shell_task(scheduler.tasks());
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<ThreadPoolExecutor>(args.workers));
  scheduler.start();
  log(LogLevel::info,
      fmt::format("running (pid {}); SIGHUP reloads the crontab, SIGTERM stops", getpid()));

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      try {
        const auto reloaded = parse_crontab_file(read_crontab_file(args.crontab), args.crontab);
        report_unsupported(reloaded, args.crontab, log);
        report(sync_crontab(*store, reloaded, owner, zone, SystemClock{}.now(), log, group),
               "reloaded");
        scheduler.wakeup();
      } catch (const std::exception& e) {
        log(LogLevel::error,
            fmt::format("reload failed, the jobs stay as they were: {}", e.what()));
      }
      continue;
    }
    log(LogLevel::info, fmt::format("{}: stopping; waiting up to {} for running commands",
                                    sig == SIGINT ? "SIGINT" : "SIGTERM", human_duration(grace)));
    break;
  }
  scheduler.pause();  // no new runs
  // A second SIGINT/SIGTERM (Ctrl-C twice) cuts the grace period short.
  bool idle = false;
  bool again = false;
  const auto grace_end = std::chrono::steady_clock::now() + grace;
  while (!idle && !again && std::chrono::steady_clock::now() < grace_end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        grace_end - std::chrono::steady_clock::now());
    idle = scheduler.wait_idle(std::min(left, std::chrono::milliseconds{50}));
    const timespec no_wait{};
    const int sig = sigtimedwait(&signals, nullptr, &no_wait);
    if (sig == SIGINT || sig == SIGTERM) {
      again = true;
      log(LogLevel::warning, fmt::format("second {}: stopping running commands now",
                                         sig == SIGINT ? "SIGINT" : "SIGTERM"));
    }
  }
  if (!idle && !again) idle = scheduler.wait_idle(std::chrono::milliseconds{0});
  if (!idle && !again) {
    log(LogLevel::warning,
        "commands still running after the grace period are stopped (SIGTERM, "
        "then SIGKILL 5 s later) and recorded");
  }
  // Without waiting, running commands are asked to stop; the executor still joins them (and they
  // are recorded) when it is destroyed.
  scheduler.shutdown(idle);
  log(LogLevel::info, "stopped");
}

}  // namespace

void register_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd =
      app.add_subcommand("run", "Run a crontab file as a daemon, with history in a sked store");
  cmd->add_option("--crontab", args->crontab, "The crontab-style file of jobs")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--group", args->group,
                  "The group of the file's jobs, the only jobs this daemon runs (default: "
                  "crontab: and the file's absolute path)")
      ->type_name("NAME");
  cmd->add_option("--grace", args->grace,
                  "On SIGTERM/SIGINT, how long to wait for running commands (default: 30s)")
      ->type_name("AGE");
  cmd->add_option("--workers", args->workers, "Commands that may run at once (default: 10)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->type_name("N");
  cmd->add_option("--log-level", args->log_level,
                  "debug, info (default: every run), warning or error; the log goes to stderr")
      ->type_name("LEVEL");
  add_store_options(*cmd, args->store, false);
  cmd->footer(help_text(R"(
Every line of the crontab file becomes a persisted job of the built-in `shell` task,
run by /bin/sh -c with max_instances 1 (a run still going when the next fire time comes is
recorded max_instances, not started twice), coalescing and a 60 s misfire grace time. A line is

  [id=NAME] EXPRESSION COMMAND

where EXPRESSION is 5 fields (min hour dom mon dow), 6 (seconds first), 7 (a year last) or an
@nickname (@hourly, @daily, ...), read as `sked next` reads it, in --tz (default: the local zone).
Blank lines and lines starting with # are skipped. As in cronie, a line NAME=value (blanks around
= allowed, the value may be quoted) sets a variable for the commands below it; CRON_TZ=ZONE sets
the zone of the lines below it; PATH and SHELL are passed on, but commands always run under
/bin/sh; MAILTO is accepted, and sked says once that it does not send mail. Without id=NAME a
job's id is `cron-` and 16 hex digits of a hash of its expression and command: reordering lines
keeps ids, editing a line makes it a new job (a job stored under the 8 digits that sked derived
before keeps that id). NAME is letters, digits and ._:-. A job's name is its id, so the log names
jobs, never their commands. The file is UTF-8 text (a byte order mark is skipped), at most 16 MiB;
a command or a value may be up to 64 KiB.

The store (--db, created with mode 0600 if missing; it must be a regular file) is synced with the
file on start and on SIGHUP: new lines are added, changed lines updated (a paused job stays
paused; one whose schedule is the same keeps its next run), and jobs this file added whose line is
gone are removed. The whole file is read and checked first: a file that cannot be read (a
directory, no permission) or has an error changes nothing. Jobs that an application or another
file put in the same store are never touched. `sked jobs`, `sked pause`, `sked run-now` and the
other commands work on it meanwhile.

Each command gets SKED_JOB_ID and SKED_RUN_TIME (the scheduled time, ISO-8601 UTC) in its
environment and stdin from /dev/null. Its exit status and the last 4 KiB of its stdout and
stderr are recorded (`sked executions --id N`).

Several `sked run` on one store (on one or several hosts) share the work: each fire time runs
once. The jobs of a file are in the group `crontab:` and the file's absolute path, and a daemon
runs only the jobs of its own file's group (`sked jobs` shows it): daemons of other files, and
applications, can share the store without running each other's jobs. Daemons that share one
file must name it by the same absolute path. --group NAME puts the file's jobs in the group NAME
instead, and the daemon runs only the jobs of NAME: daemons on hosts where the file has another
path, or daemons of other files, share the work when they name the same group (a job stays the
job of the file that added it; another file's line with the same id is skipped, as ever).

If the daemon dies without stopping its commands (SIGKILL, a crash), a command still running
outlives it. The next daemon on the store on this host stops such a command (SIGTERM, SIGKILL
5 s later) before the job runs again, and records its run interrupted, naming the command's
process group; until then the run counts as running.

SIGHUP reloads the file (a file with errors is reported and the jobs stay as they were).
SIGTERM or SIGINT stop starting runs, wait up to --grace for running commands, then stop those
(SIGTERM, SIGKILL 5 s later), record them and exit 0. A second SIGTERM or SIGINT (Ctrl-C twice)
stops them at once.

Exit status: 0 after a clean stop; 2 bad usage, a crontab error (reported as FILE:LINE:COLUMN)
or a path that is not a sked store.

Examples:
  sked run --crontab /etc/sked/crontab --db /var/lib/sked/sked.sqlite3
  sked run --crontab jobs.cron --tz Europe/Berlin --grace 2m
  sked run --crontab /etc/sked/crontab --db /shared/sked.sqlite3 --group nightly

A crontab file:
  PATH=/usr/local/bin:/usr/bin:/bin
  CRON_TZ=Europe/Berlin
  # every 5 minutes
  */5 * * * *  /usr/local/bin/poll-feeds
  id=backup  30 2 * * *  pg_dump app > /backup/app.sql
  @hourly  find /tmp/cache -mmin +60 -delete
  */10 * * * * *  echo "every 10 seconds, run for $SKED_RUN_TIME")"));
  cmd->callback([args] { run_command("run", [&] { run_daemon(*args); }); });
}

}  // namespace sked::cli
