#pragma once
// The JobStore: where jobs, their pending runs and their execution history live, and the one place
// that decides what claiming a due job means.

#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/run_lease.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sked {

namespace detail {
class DeferCompletions;
}

/// A run outside the schedule, waiting in a store: a run-now request (`attempt` 1) or a retry of a
/// failed run (`attempt` 2 and up).
struct SKED_API RunRequest {
  std::int64_t id = 0;
  std::string job_id{};
  /// When it is due; the run time its record gets (or the first free microsecond after it).
  TimePoint at{};
  int attempt = 1;
  /// For a retry: the job as it failed, which the retry runs if the job is gone from the store by
  /// then because its schedule ended (a one-shot job). Empty for run-now requests.
  std::shared_ptr<const Job> snapshot{};
};

/// A due job a claim took: every record the claim wrote for it (`started`, and `missed` or
/// `max_instances` for fire times settled at once), and a lease per `started` run. A job whose due
/// fire times all wait for a running instance (`FirePlan`) is left as it is and not listed.
struct SKED_API ClaimedJob {
  std::shared_ptr<const Job> job{};
  std::vector<Execution> executions{};
  std::vector<RunLease> runs{};
  /// The claim removed the job: its trigger will not fire again (a one-shot job that ran).
  bool schedule_ended = false;
};

/// Says whether this process can run a job (its task is registered here). Jobs it rejects are left
/// as they are for another process, or for later, instead of being claimed.
using ClaimFilter = std::function<bool(const Job&)>;

/// What a claim does with a due job that would start runs now (`ClaimRoom`).
enum class Room {
  /// Claim it.
  take,
  /// Leave it untouched and due, and go on with the next due job.
  leave,
  /// Leave it, and end the claim: nothing more can start now.
  full,
};

/// Says whether this process can start the runs a due job would start now, given that the claim
/// already took `taken` runs of jobs of the same executor (`Job::executor`). The scheduler answers
/// from its executors' free workers (`Executor::available`), so that it claims no more than it can
/// start at once and the schedulers sharing the store take the rest. Jobs whose fire times are all
/// settled at once (`missed`, `max_instances`) are claimed without asking.
using ClaimRoom = std::function<Room(const Job& job, std::size_t taken)>;

/// Whether a scheduler of `groups` (`SchedulerOptions::groups`; "" stands for jobs without a
/// group) may run `job`: what the scheduler's claim filter asks first.
[[nodiscard]] SKED_API bool runs_in(const Job& job,
                                    const std::vector<std::string>& groups) noexcept;

/// A change to a stored job, applied by `JobStore::modify_job` to the job as stored at that moment.
/// It may run more than once (a store retries a transaction that lost a race for a lock), so it
/// must only change the job it is given.
using JobChange = std::function<void(Job&)>;

/// Stores jobs ordered by next run time, their pending runs and their execution history.
///
/// The public functions are the policy, the same for every store: a claim plans each due job's fire
/// times (`plan_fire`: misfire grace, coalescing, `max_instances` across every process sharing the
/// store), writes one record per (job, run time) at most, advances or removes the job and hands out
/// leases; run requests and retries are claimed the same way; an admin change is one atomic step. A
/// store implements only storage, through the protected hooks, and never decides any of that.
///
/// Stores are held by `std::shared_ptr` (leases keep theirs alive). Every member function is
/// thread-safe.
class SKED_API JobStore : public std::enable_shared_from_this<JobStore> {
 public:
  virtual ~JobStore();

  // ---- jobs ----

  /// Adds a job; with `replace_existing`, replaces the job with the same id in the same step.
  /// Throws `ConflictingIdError`, `InvalidArgument` (see `Job::validate`).
  void add_job(const Job& job, bool replace_existing = false);
  /// Applies `change` to the job as stored, atomically (no other change or claim comes between the
  /// read and the write), and returns the job as now stored. The id cannot change. Throws
  /// `JobNotFound`, `InvalidArgument` for a changed job that is not valid (nothing is written), and
  /// whatever `change` throws (nothing is written).
  Job modify_job(std::string_view id, const JobChange& change);
  /// Removes a job and its pending runs (run requests and retries). Throws `JobNotFound`.
  void remove_job(std::string_view id);
  void remove_all_jobs();
  [[nodiscard]] std::optional<Job> lookup_job(std::string_view id) const;
  /// Every job, soonest next run first, paused jobs last.
  [[nodiscard]] std::vector<Job> get_all_jobs() const;
  /// The earliest next run time of any job or pending run; empty when there is none.
  [[nodiscard]] std::optional<TimePoint> next_run_time() const;

  // ---- runs ----

  /// Asks for one run of a job at `at`, outside its schedule (how `sked run-now` reaches a
  /// scheduler in another process). The first claim at or after `at` that accepts the job takes it,
  /// paused or not, with the rules of a scheduled run (`plan_requested_run`); the schedule is
  /// unchanged. A job has at most one pending request: asking again while one is pending returns
  /// its time. Throws `JobNotFound`.
  [[nodiscard]] TimePoint request_run(std::string_view job_id, TimePoint at);
  /// Drops a job's pending run request; returns whether there was one (false once a claim took it).
  bool withdraw_run_request(std::string_view job_id);
  /// Pending run requests and retries, soonest first; of one job when `job_id` is given.
  [[nodiscard]] std::vector<RunRequest> pending_runs(
      std::optional<std::string_view> job_id = {}) const;

  /// Atomically takes up to `limit` jobs due at `now` that `runnable` accepts (all when it is
  /// empty): records their fire times (see `plan_fire`), advances each job to its next fire time
  /// (or to its first fire time waiting for a running instance, when it does not coalesce) and
  /// removes jobs that will not fire again, then takes due run requests and retries the same way.
  /// Jobs `runnable` rejects stay untouched and due. A fire time that already has a record is never
  /// recorded or run again. `owner` hears of every lease's end.
  [[nodiscard]] std::vector<ClaimedJob> claim_due_jobs(TimePoint now, std::size_t limit,
                                                       const ClaimFilter& runnable,
                                                       std::shared_ptr<RunOwner> owner = {});
  /// The same, appending every lease to `runs` (in claim order) instead of to each `ClaimedJob`:
  /// the scheduler's loop keeps one vector for all its claims rather than one per claimed job.
  /// With `room`, a due job that would start runs is claimed only if `room` takes it; one it
  /// leaves stays untouched and due, with no record written, like one `runnable` rejects.
  [[nodiscard]] std::vector<ClaimedJob> claim_due_jobs(TimePoint now, std::size_t limit,
                                                       const ClaimFilter& runnable,
                                                       std::shared_ptr<RunOwner> owner,
                                                       std::vector<RunLease>& runs,
                                                       const ClaimRoom& room = {});
  /// Starts a run of a job now, outside its schedule and whatever its `max_instances` (the caller
  /// asked for it explicitly): records it `started` at `at`, or at the first microsecond after `at`
  /// that has no record of this job (a scheduled run at that very instant keeps its own record).
  /// Throws `JobNotFound`.
  [[nodiscard]] RunLease start_run(std::string_view job_id, TimePoint at,
                                   std::shared_ptr<RunOwner> owner = {});

  /// Who to call when another process changes the store (a job added, changed, removed or asked to
  /// run), so that a sleeping scheduler wakes at once instead of at its next poll. A scheduler sets
  /// it when the store is added and clears it (an empty function) when the store is removed; once
  /// that call returns, the previous listener is not running and will not run again. Stores that
  /// cannot tell keep the default, which ignores it. One listener per store.
  virtual void set_change_listener(std::function<void()> listener) { (void)listener; }
  /// True when the change listener hears of every change another process or connection makes to the
  /// store (SQLite's file watch; a store only this process can reach): a scheduler then sleeps
  /// until the next run time instead of polling the store every `max_wait`. Default: false.
  [[nodiscard]] virtual bool reports_changes() const noexcept { return false; }
  /// Who to call after a change made through this object is stored (`add_job`, `modify_job`,
  /// `request_run`), with the earliest time it may make a run due. A scheduler sets it when the
  /// store is added, so that code changing the store directly (`sked::http`'s dashboard in the
  /// scheduler's process) wakes it as the scheduler's own changes do; it clears it (an empty
  /// function) when the store is removed, and once that call returns the previous listener is not
  /// running and will not run again. One listener per store. `listener` must not block.
  void set_local_change_listener(std::function<void(TimePoint)> listener);

  // ---- history ----

  [[nodiscard]] std::vector<Execution> get_executions(const ExecutionQuery& query) const;
  /// Deletes finished execution records whose run time is before `cutoff`; returns how many.
  std::size_t delete_old_executions(TimePoint cutoff);

  /// How many finished runs' outcomes this store object holds because writing them failed (a full
  /// disk, a lost connection). Such an outcome is kept in memory and written again, oldest first,
  /// before each claim and each completion; the first failure of a spell and its end are reported
  /// once each (`warn_`), not per attempt. While kept, the run does not count towards its job's
  /// `max_instances` in this process. At most `max_unwritten_completions` are kept (the oldest is
  /// dropped past that, reported once). A kept outcome is lost if the process ends first: the
  /// store's liveness check then records the run `interrupted`, as for a crash.
  [[nodiscard]] std::size_t unwritten_completions() const noexcept;

 protected:
  JobStore();

  /// What a transaction is for: a claim (stores that keep a liveness record refresh it then), a
  /// change, or a read that writes nothing (a read-only store serves it).
  enum class Purpose { claim, change, read };

  /// The storage primitives, valid inside `transact_` only. None of them decides policy.
  class Transaction {
   public:
    virtual ~Transaction() = default;
    [[nodiscard]] virtual std::shared_ptr<const Job> find_job(std::string_view id) = 0;
    /// False when the id is taken.
    virtual bool insert_job(const Job& job) = 0;
    /// Overwrites the stored job with the same id (which exists).
    virtual void replace_job(const Job& job) = 0;
    /// Deletes the job (which exists) and its pending runs.
    virtual void delete_job(std::string_view id) = 0;
    virtual void delete_all_jobs() = 0;
    /// The next job due at `now` (next run time, then id, ascending) that this transaction has not
    /// returned yet; nullptr when none is left. A job returned and then neither rescheduled nor
    /// deleted stays as it was.
    [[nodiscard]] virtual std::shared_ptr<const Job> next_due(TimePoint now) = 0;
    /// Called before each `next_due` of a claim: it takes at most `count` more due jobs, so a
    /// store that reads and locks due rows ahead need not take more (rows it locked beyond them
    /// would be kept from other claimers until this one commits). Default: ignored.
    virtual void expect_due(std::size_t count) { (void)count; }
    /// Moves a job returned by `next_due` to its next fire time.
    virtual void reschedule(std::string_view id, TimePoint next) = 0;
    /// `started` records of the job, in every process sharing the store.
    [[nodiscard]] virtual int running_instances(std::string_view job_id) = 0;
    /// Writes `record` and sets its id; false, writing nothing, when the job already has a record
    /// at `record.run_time`.
    virtual bool insert_execution(Execution& record) = 0;
    /// Pending runs due at `now`, soonest first.
    [[nodiscard]] virtual std::vector<RunRequest> due_requests(TimePoint now) = 0;
    /// The job's pending run-now request (attempt 1), if any.
    [[nodiscard]] virtual std::optional<RunRequest> find_request(std::string_view job_id) = 0;
    virtual void insert_request(const RunRequest& request) = 0;
    virtual void delete_request(std::int64_t id) = 0;
    /// Records how a `started` run ended (by `record.id`) and adds `retry` if there is one, as
    /// `complete_many_` does, in this transaction. A store that batches completions and can do
    /// this lets a claim carry the outcomes waiting for their batch in its own commit. Returns
    /// false, writing nothing, when the store cannot (the default); the answer must not change.
    virtual bool finish_run(const Execution& record, const RunRequest* retry) {
      (void)record;
      (void)retry;
      return false;
    }
  };

  /// Runs `body` atomically: under the store's lock, in one database transaction, committed when it
  /// returns and rolled back when it throws. A store may run `body` again after a lost race for a
  /// lock (it keeps no state between runs).
  virtual void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) = 0;
  /// Records how a `started` run ended (by `record.id`) and, in the same step, adds `retry` when
  /// the job gets another attempt.
  virtual void complete_(const Execution& record, const std::optional<RunRequest>& retry) = 0;
  /// One outcome for `complete_many_`.
  struct Completion {
    const Execution* record = nullptr;
    const std::optional<RunRequest>* retry = nullptr;
  };
  /// True when outcomes that finish while another is being written should wait and be written
  /// together by `complete_many_` (a store whose cost is per commit): the threads that finished
  /// them go on at once, and each run's owner hears of its end once its batch is written. Default:
  /// false, each outcome written by `complete_` on the thread that finished it.
  [[nodiscard]] virtual bool batches_completions_() const noexcept { return false; }
  /// Records several outcomes, oldest first, as `complete_` does each. A store that batches
  /// completions writes all or none (one transaction): when it throws, every one of them is kept
  /// and written again later. Default: `complete_` for each.
  virtual void complete_many_(const std::vector<Completion>& batch);

  [[nodiscard]] virtual std::vector<Job> all_jobs_() const = 0;
  [[nodiscard]] virtual std::optional<TimePoint> next_run_time_() const = 0;
  /// True only when the store knows, without writing, that a claim at `now` would find nothing due
  /// (no job, run request or retry at or before `now`, and nothing changed since it last looked):
  /// the claim then returns at once. An idle scheduler polls, and a store whose claim is a write
  /// transaction would otherwise write at every pass. Default: false (always claim).
  [[nodiscard]] virtual bool nothing_due_(TimePoint now) {
    (void)now;
    return false;
  }
  [[nodiscard]] virtual std::vector<RunRequest> pending_runs_(
      std::optional<std::string_view> job_id) const = 0;
  [[nodiscard]] virtual std::vector<Execution> query_executions_(
      const ExecutionQuery& query) const = 0;
  virtual std::size_t delete_old_executions_(TimePoint cutoff) = 0;
  /// Keeps `process` (what identifies a process group the `started` run `run` started) with the
  /// run's record, for the store's recovery of a dead scheduler's runs. Default: nothing (a store
  /// that dies with its process has nothing to recover). May throw; the caller reports it.
  virtual void record_process_(const Execution& run, const std::string& process) {
    (void)run;
    (void)process;
  }
  /// How errors name this store: "job store 'app.sqlite3'"; empty for an anonymous store.
  [[nodiscard]] virtual std::string name_() const { return {}; }
  /// Problems reported rather than thrown (a job whose trigger failed while planning). Default:
  /// stderr.
  virtual void warn_(const std::string& message) const;

 private:
  friend class RunLease;
  void end_run(RunLease& lease, std::shared_ptr<const RunLease::Home> home,
               Outcome outcome) noexcept;
  // Batched completions (batches_completions_): queued by the threads that finish runs, written by
  // one of them at a time.
  struct Finished;
  void finish_later(Finished finished) noexcept;
  // Writes the queued outcomes, in batches, unless another thread is writing them.
  void drain_finished() noexcept;
  void write_finished(std::span<Finished> batch) noexcept;
  // Tells the owners of written outcomes that their runs ended.
  static void report_finished(std::span<Finished> batch) noexcept;
  friend class detail::DeferCompletions;
  // Writes the kept outcomes, oldest first; false when some are still unwritten (a write failed, or
  // another thread is writing them).
  bool write_unwritten() noexcept;
  void keep_unwritten(Execution record, std::optional<RunRequest> retry,
                      const std::string& error) noexcept;
  // The job's `started` records in the store, less those whose outcome this object keeps unwritten.
  [[nodiscard]] int running_instances(Transaction& tx, const std::string& job_id) const;
  [[nodiscard]] std::vector<ClaimedJob> claim(TimePoint now, std::size_t limit,
                                              const ClaimFilter& runnable,
                                              const std::shared_ptr<RunOwner>& owner,
                                              std::vector<RunLease>* runs, const ClaimRoom* room);
  // Writes `record` at its run time or the first free microsecond after it.
  static bool insert_at_free_instant(Transaction& tx, Execution& record);

  // Tells the local change listener, if any, that a change may make a run due at `due`.
  void changed(TimePoint due) const noexcept;

  struct Unwritten;
  std::unique_ptr<Unwritten> unwritten_;
  struct Batching;
  std::unique_ptr<Batching> batching_;
  struct LocalListener;
  std::unique_ptr<LocalListener> local_;
};

/// At most this many outcomes of finished runs are kept while the store cannot write them (see
/// `JobStore::unwritten_completions`).
inline constexpr std::size_t max_unwritten_completions = 10'000;

/// The claim policy for one due job.
///
/// A due fire time that cannot start because the job already runs `max_instances` times is recorded
/// `max_instances` and dropped when the job coalesces. When it does not (`coalesce = false`: every
/// run was asked for), it is not recorded: it waits, due, with the ones after it, and the job's
/// next run time stays on the first of them, so a later claim (once a running instance ended)
/// starts it under its own run time, one after another with `max_instances = 1`. A waiting fire
/// time is still recorded `missed` once it is later than the misfire grace time. Waiting is only
/// the job's next run time, so it survives a restart like any next run time.
struct SKED_API FirePlan {
  /// One record per due run time not waiting: `missed` beyond the grace time or folded away by
  /// coalescing, `max_instances` when the job already runs that many times and coalesces, otherwise
  /// `started`.
  std::vector<Execution> executions{};
  /// The first waiting fire time if any (`waiting`), else the fire time after `now`; empty when the
  /// trigger is exhausted (the job is to be removed).
  std::optional<TimePoint> next_run_time{};
  /// How many due fire times wait for a running instance to end (only when the job does not
  /// coalesce).
  std::size_t waiting = 0;
};

/// At most this many run times of one job are listed per claim; older ones past it are skipped
/// wholesale (a job with a one-second interval down for a week must not produce 600,000 records in
/// one go).
inline constexpr std::size_t max_run_times_per_claim = 1000;

/// Computes what claiming `job` at `now` means, given how many of its runs are still going.
[[nodiscard]] SKED_API FirePlan plan_fire(const Job& job, TimePoint now, int running_instances);

/// The record a claim writes for a run requested at `requested` (`JobStore::request_run`, a retry):
/// `missed` when `now` is past it by more than the job's misfire grace time, `max_instances` when
/// the job already runs that many times, otherwise `started`.
[[nodiscard]] SKED_API Execution plan_requested_run(const Job& job, TimePoint requested,
                                                    TimePoint now, int running_instances);

}  // namespace sked
