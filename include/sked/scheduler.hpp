#pragma once
// The scheduler: one loop that claims due jobs from its stores and hands them to its executors.

#include <sked/events.hpp>
#include <sked/execution.hpp>
#include <sked/executor.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/run_lease.hpp>
#include <sked/tasks.hpp>
#include <sked/time.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace sked {

enum class SchedulerState { stopped, running, paused };
enum class LogLevel { debug, info, warning, error };

/// Receives the scheduler's log messages. Job arguments and outputs are only ever logged at debug
/// level.
using Logger = std::function<void(LogLevel, std::string_view message)>;

/// Writes warnings and errors to stderr as `sked: WARNING: ...`.
[[nodiscard]] SKED_API Logger stderr_logger(LogLevel threshold = LogLevel::warning);

struct SKED_API SchedulerOptions {
  /// Empty: the real clock.
  std::shared_ptr<Clock> clock{};
  /// The zone for triggers that name none. Empty: the machine's local zone.
  std::optional<TimeZone> timezone{};
  JobDefaults job_defaults{};
  /// How often the loop polls a store that cannot report other processes' changes
  /// (`JobStore::reports_changes`: a PostgreSQL store, a custom store), and how soon it retries a
  /// store that failed: such a change is seen at most this much later. Stores that report their
  /// changes (memory, SQLite) are not polled; with only those and a clock that reports its jumps
  /// (`Clock::reports_jumps`: the system clock on Linux), an idle loop sleeps until the next run
  /// time. A clock that cannot report its jumps bounds every sleep by `max_wait`.
  Duration max_wait = std::chrono::seconds{1};
  /// The most due jobs one claim takes from a store (the first claim of each pass takes at most 16,
  /// so that the first runs of a burst start while the rest is claimed).
  std::size_t claim_batch = 512;
  /// Empty: `stderr_logger()`.
  Logger logger{};
  /// Messages below this level are neither formatted nor passed to the logger (info logs every
  /// run).
  LogLevel log_level = LogLevel::warning;
  /// The job groups this scheduler runs (`Job::group`); "" stands for jobs without a group. A job
  /// of another group stays in its store, due, for a scheduler of its group (this one looks again
  /// every `max_wait`). Default: jobs without a group only.
  ///
  /// **Example**: `{.groups = {"reports"}}` runs the jobs of group "reports" and no other;
  /// `{.groups = {"", "reports"}}` those and the jobs without a group.
  std::vector<std::string> groups{""};
};

/// The scheduler core. Use `BlockingScheduler` or `BackgroundScheduler`, which differ only in which
/// thread runs the loop. Every member function is thread-safe and may be called from tasks and
/// listeners, except that a task must not `shutdown(true)` the scheduler running it.
///
/// Job stores and executors are added by alias; a job names its store and executor, "default" when
/// it names none, and the scheduler creates a `MemoryJobStore` and a `ThreadPoolExecutor` as
/// "default" when none was added.
class SKED_API Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options = {});
  /// Shuts down (waiting for running jobs) if still running.
  virtual ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  [[nodiscard]] TaskRegistry& tasks() noexcept { return tasks_; }
  [[nodiscard]] const TimeZone& timezone() const noexcept { return timezone_; }
  [[nodiscard]] Clock& clock() const noexcept { return *clock_; }
  [[nodiscard]] const JobDefaults& job_defaults() const noexcept { return options_.job_defaults; }

  /// Throws `InvalidArgument` when the alias is taken.
  void add_jobstore(std::shared_ptr<JobStore> store, std::string alias = "default");
  /// Throws `AliasNotFound`.
  void remove_jobstore(const std::string& alias);
  /// Throws `InvalidArgument` when the alias is taken.
  void add_executor(std::shared_ptr<Executor> executor, std::string alias = "default");
  /// Shuts the executor down (waiting for its runs) and removes it. Throws `AliasNotFound`.
  void remove_executor(const std::string& alias);
  [[nodiscard]] std::shared_ptr<JobStore> jobstore(const std::string& alias = "default") const;

  /// Adds a job and returns it as stored. Throws `ConflictingIdError` (unless `replace_existing`),
  /// `InvalidArgument` for a spec that cannot run (no task or callable, bad max_instances, ...),
  /// `AliasNotFound` for an unknown store or executor.
  Job add_job(JobSpec spec);
  /// Throws `JobNotFound`.
  Job modify_job(const std::string& id, const JobChanges& changes);
  /// Replaces the trigger and recomputes the next run time from now. Throws `JobNotFound`.
  Job reschedule_job(const std::string& id, TriggerPtr trigger);
  Job pause_job(const std::string& id);
  /// Recomputes the next run time from now; a trigger that will not fire again removes the job.
  std::optional<Job> resume_job(const std::string& id);
  void remove_job(const std::string& id);
  void remove_all_jobs();
  [[nodiscard]] std::optional<Job> get_job(const std::string& id) const;
  /// Every job in every store, soonest first.
  [[nodiscard]] std::vector<Job> get_jobs() const;
  /// Lists the jobs per store (of the store `jobstore` only, when given), as APScheduler's
  /// print_jobs does, with times in the scheduler's zone (`Job::describe`):
  ///
  ///     Jobstore default:
  ///         report (trigger: cron[day_of_week='mon-fri', hour='9'], next run at: 2026-06-01
  ///         09:00:00 CEST) cleanup (trigger: interval[1:00:00], paused) sync (trigger:
  ///         interval[0:05:00], next run at: 2026-06-01 08:05:00 CEST, task 'sync' not registered
  ///         here)
  ///     Jobstore archive:
  ///         No scheduled jobs
  ///
  /// Throws `AliasNotFound` for an unknown `jobstore`.
  void print_jobs(std::ostream& out, std::string_view jobstore = {}) const;
  /// The same, to standard output.
  void print_jobs() const;
  [[nodiscard]] std::vector<Execution> get_executions(
      const ExecutionQuery& query, const std::string& jobstore = "default") const;

  /// Runs a job now, outside its schedule (its next run time is unchanged), and waits up to
  /// `timeout` by the scheduler's clock for it to finish. Returns the execution record: `executed`
  /// or `error` when it finished, still `started` when it is still running. Throws `JobNotFound`;
  /// works while the scheduler is stopped or paused too (the executor is started if needed).
  Execution run_job_now(const std::string& id, Duration timeout = std::chrono::seconds{600});

  ListenerId add_listener(Listener listener, EventMask mask = all_events);
  void remove_listener(ListenerId id);

  /// Starts scheduling (paused: jobs are kept but not run until `resume()`). BlockingScheduler
  /// returns only after shutdown. Throws `SchedulerStateError` when already running.
  virtual void start(bool paused = false) = 0;
  /// Stops the loop and the executors. With `wait`, waits for running jobs; without, asks running
  /// jobs to stop (their `JobContext` stop token), reports queued runs as errors and returns at
  /// once: a job still going is recorded when it ends. When already stopped, `shutdown(true)` still
  /// waits for the runs a `shutdown(false)` left going (often called by a task, which cannot wait
  /// for itself), so that what follows comes after their ends were recorded and logged; called from
  /// a task or a listener, or as `shutdown(false)`, it then does nothing.
  void shutdown(bool wait = true);
  /// Waits up to `grace` (real time) for running jobs, then asks the ones still going to stop and
  /// returns, as `shutdown(false)` does. Logs how many were cut off. When already stopped, waits up
  /// to `grace` for the runs a `shutdown(false)` left going (not from a task or a listener).
  void shutdown(std::chrono::milliseconds grace);
  void pause();
  void resume();
  /// Makes the loop re-evaluate now instead of at its next planned wake-up.
  void wakeup();

  [[nodiscard]] SchedulerState state() const;
  /// When the loop is asleep: the time by the scheduler's clock it will wake at; `TimePoint::max()`
  /// when nothing is scheduled and it waits for a change.
  [[nodiscard]] std::optional<TimePoint> waiting_until() const;
  /// Blocks (up to `timeout` of real time) until the loop is asleep with no wake-up pending, no
  /// submitted run unfinished and no due run left in a store for a worker to claim once it frees.
  /// Returns whether that happened. Meant for tests with a ManualClock.
  [[nodiscard]] bool wait_idle(std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

  /// One pass of the loop: claims due jobs from every store, submits them, returns when the next
  /// job is due (empty when none is scheduled). Never throws: store and executor failures are
  /// logged.
  std::optional<TimePoint> process_jobs();

 protected:
  /// Stops the loop; false when it was stopped already.
  bool stop_loop();
  void stop_executors(bool wait);
  /// Prepares stores and executors and enters `running` or `paused`.
  void begin(bool paused);
  /// Runs the loop on the calling thread until shutdown.
  void run_loop();
  /// Whether the calling thread is the loop's.
  [[nodiscard]] bool on_loop_thread() const;
  /// Waits (real time) until no submitted run is unfinished: up to `limit` (empty: no limit), and
  /// no longer once `*give_up` is set (whoever sets it then calls `wake_run_waiters()`). Returns
  /// whether no run is unfinished.
  [[nodiscard]] bool wait_for_runs(std::optional<std::chrono::milliseconds> limit,
                                   const std::atomic<bool>* give_up = nullptr) const;
  void wake_run_waiters() const;
  /// `BlockingScheduler::start` when it stops on `signals`: begins, runs the loop on the calling
  /// thread, and when a signal stopped it, waits for running jobs (a second signal asks them to
  /// stop) and stops the executors before returning.
  void run_stopping_on(const std::vector<int>& signals, bool paused);

  /// BackgroundScheduler's loop thread; joined by `shutdown`.
  std::thread background_thread_;

 private:
  struct Listening {
    ListenerId id{};
    Listener fn{};
    EventMask mask{};
  };
  using StoreMap = std::map<std::string, std::shared_ptr<JobStore>, std::less<>>;

  void log(LogLevel level, std::string_view message) const;
  [[nodiscard]] bool logs(LogLevel level) const noexcept { return level >= options_.log_level; }
  void dispatch(const Event& event) const;
  [[nodiscard]] bool wants(EventKind kind) const noexcept {
    return (wanted_.load(std::memory_order_relaxed) & static_cast<EventMask>(kind)) != 0;
  }
  void update_wanted();  // with listeners_mutex_ held
  void report_unknown_tasks(const std::string& alias,
                            const std::vector<std::pair<std::string, std::string>>& unknown);
  class Waker;
  // Runs a pass on the thread of a worker that freed; detached by the destructor.
  std::shared_ptr<Waker> waker_;
  // One pass of process_jobs at a time, on the loop's thread or on the thread of an executor's
  // worker that freed (issue 17: waking the loop for every run that ended cost 2-3x on short jobs).
  [[nodiscard]] std::optional<TimePoint> pass();
  [[nodiscard]] std::optional<TimePoint> pass_holding_lock();  // pass_mutex_ held
  // A worker freed while due runs waited for one: claims and submits them on this thread, or, when
  // another pass is going, has that one look again.
  void pass_on_freed_worker();
  class Owner;
  // The owner of the leases claimed from the store `alias`: how their ends reach this scheduler.
  [[nodiscard]] std::shared_ptr<Owner> owner_for(const std::string& alias);
  // What a pass reads of the stores, their owners and the executors, copied when they change
  // rather than at every pass (see scheduler.cpp). Guarded by pass_mutex_.
  struct PassCache;
  std::unique_ptr<PassCache> pass_cache_;
  // Bumped, with mutex_ held, whenever stores_ or executors_ change: a pass refreshes its cache.
  std::atomic<std::uint64_t> wiring_version_{0};
  void wiring_changed_locked() noexcept;
  // After a store or an executor was removed: the cache lets go of it (unless called from inside
  // a pass, whose end does).
  void drop_pass_cache();
  // Hands leases to their executors, a group sharing an executor in one call; `runs` is consumed.
  // Executors are looked up in `cache` when given (a pass), else in executors_.
  void submit_runs(const std::string& alias, std::vector<RunLease>& runs,
                   const PassCache* cache = nullptr);
  // Wakes the loop for a job that became due at `due`, unless the loop is asleep until no later
  // than that (it looks then anyway) or is paused: adding many jobs does not wake the loop once per
  // job.
  void wakeup_for(std::optional<TimePoint> due);
  void settle_unrunnable(RunLease& run, std::string why);
  void run_ended(const std::string& alias, const RunLease& run, const Execution& record,
                 std::optional<TimePoint> retry_at, const std::string& error) noexcept;
  // Applies `fn(alias, store)` to the store holding job `id` (the first where it does not throw
  // JobNotFound) and returns the alias with its result.
  template <typename Fn>
  auto in_store_of(const std::string& id, Fn&& fn)
      -> std::pair<std::string, decltype(fn(std::string{}, std::declval<JobStore&>()))>;
  [[nodiscard]] std::shared_ptr<JobStore> store_or_default(const std::string& alias);
  // The stores as they are now: a pointer, copied under mutex_ (a pass reads its PassCache).
  [[nodiscard]] std::shared_ptr<const StoreMap> stores_snapshot() const;
  // Replaces stores_ by a changed copy (`change(StoreMap&)`); with mutex_ held.
  template <typename Change>
  void change_stores_locked(Change&& change);
  void ensure_defaults();

  SchedulerOptions options_;
  std::shared_ptr<Clock> clock_;
  TimeZone timezone_;
  Logger logger_;
  TaskRegistry tasks_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  mutable std::condition_variable idle_cv_;
  SchedulerState state_ = SchedulerState::stopped;
  // state_ == running, set with it: a pass looks without taking mutex_ (set_state_locked).
  std::atomic<bool> running_{false};
  void set_state_locked(SchedulerState state) noexcept;
  bool wakeup_pending_ = false;
  bool loop_active_ = false;
  bool sleeping_ = false;
  std::thread::id loop_thread_;
  std::optional<TimePoint> waiting_until_;
  // waiting_until_ (its count) while the loop sleeps with no wake-up pending, else the largest
  // count: wakeup_for() skips mutex_ for a due time the loop looks at anyway.
  std::atomic<TimePoint::rep> asleep_until_{std::numeric_limits<TimePoint::rep>::max()};
  // Has the loop look at the stores again (a wake-up is pending); with mutex_ held.
  void want_pass_locked() noexcept;
  std::atomic<std::size_t> in_flight_{0};  // runs submitted and not yet completed
  std::mutex pass_mutex_;                  // held by the thread running a pass
  std::atomic<std::thread::id> passing_thread_{};
  std::atomic<bool> pass_wanted_{false};  // a freed worker found another pass going
  // The last pass left due runs in a store for want of free workers, and armed an executor to
  // claim them once one frees: not idle meanwhile. Guarded by mutex_.
  bool runs_left_ = false;
  // In wait_for_runs; changed with mutex_ held, read by a run's end without it (run_ended).
  mutable std::atomic<std::size_t> runs_waiters_{0};
  // What wait_idle() waits for; with mutex_ held.
  [[nodiscard]] bool idle_locked() const;
  void notify_if_idle_locked() const;
  // Copied on change, never changed in place: a snapshot stays valid without the lock.
  std::shared_ptr<const StoreMap> stores_ = std::make_shared<const StoreMap>();
  std::map<std::string, std::shared_ptr<Executor>, std::less<>> executors_;

  mutable std::mutex listeners_mutex_;
  std::shared_ptr<const std::vector<Listening>> listeners_ =
      std::make_shared<std::vector<Listening>>();
  ListenerId next_listener_ = 1;
  // The kinds some listener wants: hot paths skip building events nobody listens to.
  std::atomic<EventMask> wanted_{0};

  std::set<std::string, std::less<>> reported_unknown_;  // guarded by mutex_
  std::atomic<bool> unknown_reported_{false};            // !reported_unknown_.empty()
  // Jobs add_job has stored and not yet reported (job_added): claims leave them alone meanwhile.
  std::multiset<std::string, std::less<>> being_added_;  // guarded by mutex_
  std::atomic<std::size_t> adding_{0};  // being_added_.size(), read without the lock
  [[nodiscard]] bool being_added(const std::string& id) const;
  std::map<std::string, std::shared_ptr<Owner>, std::less<>> owners_;  // guarded by mutex_
  std::condition_variable runs_cv_;            // a run completed (for run_job_now)
  std::map<std::int64_t, Execution> awaited_;  // run_job_now's runs, by execution id
  std::atomic<std::size_t> awaiting_{0};       // awaited_.size(), read without the lock

  Subscription clock_subscription_;
  bool clock_reports_jumps_ = false;  // else every sleep is bounded by max_wait
};

/// Runs the loop in the thread that calls `start()`, which returns after `shutdown()` (from a task,
/// a listener, another thread) or, with `stop_on_signals`, after Ctrl-C.
///
/// **Example**:
///   sked::BlockingScheduler scheduler;
///   scheduler.stop_on_signals();  // Ctrl-C (SIGINT) and SIGTERM end start() cleanly
///   scheduler.add_job({...});
///   scheduler.start();            // returns once stopped, running jobs finished
class SKED_API BlockingScheduler final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  ~BlockingScheduler() override;

  /// Makes `start()` stop the scheduler when the process gets one of `signals`, as Ctrl-C stops an
  /// APScheduler program (there through `KeyboardInterrupt`): the first signal stops scheduling and
  /// waits for running jobs, so they finish and are recorded; a second asks them to stop (their
  /// stop token, as `shutdown(false)`) and `start()` returns at once; a third gets the disposition
  /// that was there before (by default, it ends the process). `start()` returns once the executors
  /// are shut down, so whatever `main` does next comes after the last run's end.
  ///
  /// The handlers are installed when `start()` begins and the previous ones put back when it
  /// returns; they only write to a pipe (async-signal-safe), and a thread of the scheduler's reads
  /// it. A signal blocked in every thread is never seen. One scheduler in a process at a time may
  /// stop on signals
  /// (`start()` throws `SchedulerStateError` for a second). An empty list turns it off. Takes
  /// effect at the next `start()`. Throws `InvalidArgument` for a signal that cannot be caught
  /// (SIGKILL, SIGSTOP) or is a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL).
  ///
  /// Opt-in rather than the default: signal dispositions belong to the whole process, and a library
  /// that takes them behind the program's back breaks programs that handle signals themselves (a
  /// server stopping several components on SIGTERM, a `sigwait` thread, a test runner). Without it,
  /// Ctrl-C still ends the program, by the default disposition, without waiting: a persistent store
  /// records the runs it cut off `interrupted` once another scheduler finds the process gone.
  /// Python makes the same choice for APScheduler: the interpreter, not the library, turns SIGINT
  /// into `KeyboardInterrupt`, and SIGTERM ends an APScheduler program without a clean shutdown.
  void stop_on_signals(std::vector<int> signals = {SIGINT, SIGTERM});

  void start(bool paused = false) override;

 private:
  std::mutex signals_mutex_;
  std::vector<int> signals_;
};

/// Runs the loop in a thread of its own; `start()` returns at once.
class SKED_API BackgroundScheduler final : public Scheduler {
 public:
  using Scheduler::Scheduler;
  ~BackgroundScheduler() override;
  void start(bool paused = false) override;
};

}  // namespace sked
