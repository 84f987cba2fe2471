// `sked run-now JOB [--timeout 600]`: asks the scheduler that owns the store to run a job now,
// waits for the run and prints its record.

#include "common.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

namespace sked::cli {
namespace {

struct RunNowArgs {
  StoreArgs store{};
  std::string job{};
  std::string timeout = "600";
  bool wait = false;
};

// The signal that interrupted the wait, so the request can be withdrawn before the tool exits.
volatile std::sig_atomic_t interrupted_by = 0;
extern "C" void on_interrupt(int signal) { interrupted_by = signal; }

// Catches SIGINT and SIGTERM while it lives, and puts back what was there.
class InterruptGuard {
 public:
  InterruptGuard() {
    interrupted_by = 0;
    old_int_ = std::signal(SIGINT, on_interrupt);
    old_term_ = std::signal(SIGTERM, on_interrupt);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  ~InterruptGuard() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

constexpr auto poll_interval = std::chrono::milliseconds{20};

// Seconds (`600`, `0.5`) or an age (`90s`, `10m`); longer than zero.
Duration parse_timeout(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos &&
      std::count(text.begin(), text.end(), '.') <= 1 && text != ".") {
    const double seconds = std::stod(text);
    if (seconds <= 1e9) {
      const auto timeout =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
      if (timeout <= Duration::zero()) {
        throw InvalidArgument(
            fmt::format("--timeout '{}': must be longer than zero, such as 600 or 90s", text));
      }
      return timeout;
    }
  }
  return parse_age(text, "--timeout");  // refuses a sign, zero and garbage
}

std::optional<Execution> find_run(const JobStore& store, const std::string& job, TimePoint at) {
  for (const auto& e : store.get_executions({.job_id = job, .since = at, .limit = 16})) {
    if (e.run_time == at) return e;
  }
  return std::nullopt;
}

void report(const Execution& e, const RunNowArgs& args, const TimeZone& zone) {
  if (args.store.json) {
    print_json(execution_json(e, true));
  } else {
    std::cout << execution_details(e, zone) << std::flush;
  }
}

void run_run_now(const RunNowArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const Duration timeout = parse_timeout(args.timeout);
  const auto store = open_store("run-now", args.store, Access::write);
  if (!store->lookup_job(args.job)) throw JobNotFound(args.job, store_name(*store, args.store.db));
  if (!args.wait && live_schedulers(*store).empty()) {
    // Waiting out --timeout (10 minutes) for a scheduler that is not there helps no one.
    fail("run-now",
         fmt::format(
             "no scheduler is running on '{}', so nothing would run job '{}': start `sked run "
             "--crontab FILE --db {}` or the application, or pass --wait to leave the request "
             "for one that starts within --timeout",
             store_name(*store, args.store.db), args.job, store_name(*store, args.store.db)),
         exit_failure);
  }
  const InterruptGuard guard;
  const TimePoint at = store->request_run(args.job, SystemClock{}.now());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<Execution> run;
  for (;;) {
    run = find_run(*store, args.job, at);
    if (run && run->status != ExecutionStatus::started) break;
    if (const int signal = interrupted_by; signal != 0) {
      const bool withdrawn = !run && store->withdraw_run_request(args.job);
      const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
      if (withdrawn) {
        fail("run-now",
             fmt::format("interrupted ({}): the run request for job '{}' was withdrawn", name,
                         args.job),
             128 + signal);
      }
      run = find_run(*store, args.job, at);
      fail("run-now",
           run ? fmt::format(
                     "interrupted ({}): job '{}' is already running as execution {}; it goes on "
                     "(see `sked executions --id {}`)",
                     name, args.job, run->id, run->id)
               : fmt::format("interrupted ({}): the run request for job '{}' is gone", name,
                             args.job),
           128 + signal);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!run && store->withdraw_run_request(args.job)) {
        fail("run-now",
             fmt::format("no scheduler picked up job '{}' within {} (is `sked run` or the "
                         "application running on '{}'?); the request was withdrawn",
                         args.job, human_duration(timeout), store_name(*store, args.store.db)),
             exit_failure);
      }
      run = find_run(*store, args.job, at);  // claimed just before the withdrawal
      if (run && run->status != ExecutionStatus::started) break;
      if (!run) {
        fail("run-now",
             fmt::format("the run request for job '{}' is gone without a run (was the job "
                         "removed?)",
                         args.job),
             exit_failure);
      }
      report(*run, args, zone);
      fail("run-now",
           fmt::format("job '{}' is still running after {} (execution {}; see `sked executions "
                       "--id {}`)",
                       args.job, human_duration(timeout), run->id, run->id),
           exit_failure);
    }
    std::this_thread::sleep_for(poll_interval);
  }
  report(*run, args, zone);
  if (run->status != ExecutionStatus::executed) {
    fail("run-now", fmt::format("the run of job '{}' ended {}", args.job, to_string(run->status)),
         exit_failure);
  }
}

}  // namespace

void register_run_now(CLI::App& app) {
  auto args = std::make_shared<RunNowArgs>();
  auto* cmd =
      app.add_subcommand("run-now", "Have the running scheduler run a job now, and wait for it");
  cmd->add_option("job", args->job, "The job's id")->required()->type_name("JOB");
  cmd->add_flag("--wait", args->wait,
                "Leave the request even when no scheduler runs on the store, and wait for one to "
                "start and pick it up");
  cmd->add_option("--timeout", args->timeout,
                  "How long to wait: seconds (600, the default; 0.5) or an age (90s, 10m)")
      ->type_name("SECONDS|AGE");
  add_store_options(*cmd, args->store);
  cmd->footer(help_text(R"(
Records a run request for the job in the store. The scheduler that owns the store (`sked run`, or
the application) hears of it at once (an SQLite store is watched for changes), claims it and runs the job
once, outside its schedule, paused or not; its run time is the moment of the request. Exactly one
scheduler runs it, however many share the store. When no scheduler is running on the store the
command says so at once and exits 1, unless --wait is given. Ctrl-C or SIGTERM while waiting
withdraws a request no scheduler has taken yet (a run already started goes on). Like a scheduled run it is skipped (max_instances)
when the job already runs as often as it may. The command waits for the execution record and prints
it.

Exit status:
  0  the run executed successfully
  1  the run ended in error (or was skipped or missed), it is still running when --timeout passes
     (the record is printed; the run goes on), no scheduler picked the request up within --timeout
     (the request is withdrawn), no scheduler runs on the store (without --wait), no such job,
     or the store could not be written
  130/143  interrupted by SIGINT/SIGTERM (the request is withdrawn unless a run started)
  2  bad usage, a bad --timeout, or a path that is not a sked store

--json prints the record as `sked executions --id N --json` does.

Examples:
  sked run-now nightly-backup
  sked run-now nightly-backup --timeout 30s --json
  sked run-now nightly-backup --wait      # the scheduler is about to start)"));
  cmd->callback([args] { run_command("run-now", [&] { run_run_now(*args); }); });
}

}  // namespace sked::cli
