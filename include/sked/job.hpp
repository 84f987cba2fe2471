#pragma once
// What a caller adds (JobSpec), what a store holds (Job), and what a task sees (JobContext).

#include <sked/args.hpp>
#include <sked/export.hpp>
#include <sked/time.hpp>
#include <sked/trigger.hpp>

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

namespace sked {

class Job;

/// What a running task sees. Lives for the duration of one run.
class SKED_API JobContext {
 public:
  JobContext(const Job& job, TimePoint scheduled_run_time, std::stop_token stop) noexcept
      : job_(job), scheduled_run_time_(scheduled_run_time), stop_(std::move(stop)) {}
  /// `on_process_group` hears of `process_group_started` (an executor records it with the run).
  JobContext(const Job& job, TimePoint scheduled_run_time, std::stop_token stop,
             std::function<void(int)> on_process_group) noexcept
      : job_(job),
        scheduled_run_time_(scheduled_run_time),
        stop_(std::move(stop)),
        on_process_group_(std::move(on_process_group)) {}

  [[nodiscard]] const std::string& job_id() const noexcept;
  [[nodiscard]] const std::string& job_name() const noexcept;
  [[nodiscard]] const nlohmann::json& args() const noexcept;
  /// The fire time this run is for (not the moment it started).
  [[nodiscard]] TimePoint scheduled_run_time() const noexcept { return scheduled_run_time_; }
  /// Set when the scheduler shuts down without waiting, or the run times out: return soon.
  [[nodiscard]] const std::stop_token& stop_token() const noexcept { return stop_; }
  [[nodiscard]] bool stop_requested() const noexcept { return stop_.stop_requested(); }
  /// Text to keep with the execution record (its `traceback` column), such as a command's output
  /// tail.
  void set_output(std::string output) const { output_ = std::move(output); }
  [[nodiscard]] const std::string& output() const noexcept { return output_; }
  /// Says that the run started process group `pgid` (a command and whatever it starts), so that
  /// the store records it with the run: if this process dies while the group runs, the scheduler
  /// that finds the run stops the group rather than start the next run beside it (docs/sqlite.md,
  /// "Faults"). The `shell` task calls it. Never throws.
  void process_group_started(int pgid) const noexcept;

 private:
  const Job& job_;
  TimePoint scheduled_run_time_;
  std::stop_token stop_;
  mutable std::string output_;
  std::function<void(int)> on_process_group_{};
};

/// A task: throws to report failure. Must be safe to call from any thread.
using TaskFn = std::function<void(const JobContext&)>;

/// A misfire grace time without limit, APScheduler's `misfire_grace_time=None`: a run is never too
/// late to run. Stored as `null` in job_state JSON and shown as `none`.
///
/// **Example**: `scheduler.add_job({.task = "report", .misfire_grace_time =
/// sked::no_misfire_limit})`
inline constexpr Duration no_misfire_limit = Duration::max();

/// Defaults for what a JobSpec leaves open. Unlike APScheduler's (1 s grace), a busy machine does
/// not silently lose runs: a run up to a minute late still runs, overdue runs fold into one, one at
/// a time.
struct SKED_API JobDefaults {
  Duration misfire_grace_time = std::chrono::seconds{60};
  bool coalesce = true;
  int max_instances = 1;
};

/// Runs again after a run ends in error or timeout. Each attempt is an execution record of its own;
/// the job's regular fire times are unaffected. Attempt n (n >= 2) starts `backoff *
/// multiplier^(n-2)` after the failure, at most `max_backoff`.
struct SKED_API RetryPolicy {
  /// 1: no retries.
  int max_attempts = 1;
  Duration backoff = std::chrono::seconds{10};
  /// 1: fixed backoff; 2: exponential.
  double multiplier = 1.0;
  Duration max_backoff = std::chrono::hours{1};

  /// The wait before attempt `attempt` (2 for the first retry).
  [[nodiscard]] Duration delay_before(int attempt) const noexcept;
  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

/// What a caller asks for in `Scheduler::add_job`.
///
/// **Example**:
///   scheduler.add_job({.id = "report", .task = "send_report", .args = {{"to", "ops"}},
///                      .trigger = sked::IntervalTrigger{std::chrono::hours{1}}});
struct SKED_API JobSpec {
  /// Empty: a random id.
  std::string id{};
  /// Empty: the task name (or the id for a callable).
  std::string name{};
  /// A task registered with `Scheduler::tasks()`. Jobs naming a task can be persisted.
  std::string task{};
  /// Instead of `task`: a callable, for jobs that live in a memory store only.
  TaskFn callable{};
  /// `{}` unless given; reading or building it needs <nlohmann/json.hpp>.
  Args args{};
  /// Empty: run once, now.
  TriggerPtr trigger{};
  std::string executor = "default";
  std::string jobstore = "default";
  /// The group of schedulers that may run it (`Job::group`). Empty: any scheduler.
  std::string group{};
  /// How late a run may start and still run; `no_misfire_limit` for no limit. Empty: the default.
  std::optional<Duration> misfire_grace_time{};
  /// See `Job::coalesce`. Empty: the default (on).
  std::optional<bool> coalesce{};
  /// See `Job::max_instances`. Empty: the default (1).
  std::optional<int> max_instances{};
  /// Overrides the trigger's first fire time.
  std::optional<TimePoint> next_run_time{};
  /// A run still going after this long is asked to stop (thread pool) or killed (process pool) and
  /// recorded as an error `timed out after 30s`.
  std::optional<Duration> timeout{};
  RetryPolicy retry{};
  /// Added paused: stored, but not scheduled until resumed.
  bool paused = false;
  /// Replace a job with the same id instead of failing with `ConflictingIdError`.
  bool replace_existing = false;
};

/// Longest `Job::group`, in bytes (room for a path: `sked run` names groups after crontab files).
inline constexpr std::size_t max_group_bytes = 8192;

/// Deepest nesting of arrays and objects a job's args may have. Deeper args are refused when a job
/// is added or changed, and a stored job whose JSON is deeper is reported and skipped, never read:
/// copying or printing JSON nested 10^5 levels deep would overflow the stack.
inline constexpr std::size_t max_args_depth = 64;

/// Changes for `Scheduler::modify_job`; empty fields stay as they are.
struct SKED_API JobChanges {
  std::optional<std::string> name{};
  std::optional<std::string> task{};
  std::optional<Args> args{};
  std::optional<TriggerPtr> trigger{};
  std::optional<std::string> executor{};
  std::optional<std::string> group{};
  std::optional<Duration> misfire_grace_time{};
  std::optional<bool> coalesce{};
  std::optional<int> max_instances{};
  std::optional<TimePoint> next_run_time{};
  std::optional<std::optional<Duration>> timeout{};
  std::optional<RetryPolicy> retry{};
};

/// A scheduled job as a store holds it. A value: changing it changes nothing until it is handed
/// back to the scheduler.
class SKED_API Job {
 public:
  std::string id;
  std::string name;
  std::string task;
  /// Set only for jobs bound to a plain callable (memory stores only).
  std::shared_ptr<const TaskFn> callable;
  Args args{};
  std::shared_ptr<const Trigger> trigger;
  std::string executor = "default";
  /// The group of schedulers that may run it: only a scheduler that lists it in
  /// `SchedulerOptions::groups` claims it, so that schedulers sharing a store (`sked run` on two
  /// crontab files) each run their own jobs. Empty: any scheduler whose groups include "" (the
  /// default). Persisted with the job; a job stored without one has none.
  std::string group{};
  /// How late a run may start and still run; later, its fire time is recorded `missed`.
  /// `no_misfire_limit`: never missed.
  Duration misfire_grace_time{0};
  /// On: several overdue fire times (the scheduler was down or paused, the machine asleep) run
  /// once, under the latest; the others are recorded `missed`. A fire time that comes while the job
  /// already runs `max_instances` times is recorded `max_instances` and does not run.
  ///
  /// Off: every fire time runs, each under its own scheduled run time. Overdue fire times start up
  /// to `max_instances` at a time; the others wait, due, and start as running instances end — with
  /// the default `max_instances = 1`, one after another, as APScheduler runs a job's run times in
  /// one instance. A fire time that comes while the job runs waits the same way rather than being
  /// skipped. A waiting fire time is still recorded `missed` once it is later than
  /// `misfire_grace_time`, which bounds how far a job slower than its schedule falls behind (with
  /// `no_misfire_limit` it falls behind for ever). Waiting fire times are the job's next run time,
  /// so they survive a restart.
  bool coalesce = true;
  /// How many runs of the job may go at once, counted across every process sharing its store.
  int max_instances = 1;
  /// Empty while the job is paused.
  std::optional<TimePoint> next_run_time;
  std::optional<Duration> timeout;
  RetryPolicy retry;

  [[nodiscard]] bool paused() const noexcept { return !next_run_time.has_value(); }
  /// As APScheduler prints a job, with the next run time in `zone`:
  /// `print_task (trigger: interval[0:00:15], next run at: 2026-12-01 18:00:15 UTC)`, or
  /// `... (trigger: ..., paused)`; `, misfire grace: none` is added for `no_misfire_limit`.
  [[nodiscard]] std::string describe(const TimeZone& zone = TimeZone{}) const;

  /// Throws `InvalidArgument` naming the job and the field that is wrong (args nested deeper than
  /// `max_args_depth` included).
  void validate() const;
};

}  // namespace sked
