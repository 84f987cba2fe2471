#pragma once
// The JobStore interface: where jobs and their execution history live.

#include <sked/execution.hpp>
#include <sked/job.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace sked {

/// A due job and the execution records its claim wrote: `started` runs for the scheduler to submit, and
/// runs already settled as `missed` or `max_instances`.
struct ClaimedJob {
  std::shared_ptr<const Job> job{};
  std::vector<Execution> executions{};
};

/// Says whether this process can run a job (its task is registered here). Jobs it rejects are left as
/// they are for another process, or for later, instead of being claimed.
using ClaimFilter = std::function<bool(const Job&)>;

/// Stores jobs ordered by next run time and keeps their execution history.
///
/// Implementations are thread-safe. Claiming is the one operation with real policy in it, and every store
/// applies the same policy by calling `plan_fire`, inside whatever transaction makes the claim atomic.
class JobStore {
 public:
  virtual ~JobStore() = default;

  /// Throws `ConflictingIdError` when the id is taken.
  virtual void add_job(const Job& job) = 0;
  /// Replaces the stored job with the same id. Throws `JobNotFound`.
  virtual void update_job(const Job& job) = 0;
  /// Throws `JobNotFound`.
  virtual void remove_job(std::string_view id) = 0;
  virtual void remove_all_jobs() = 0;
  [[nodiscard]] virtual std::optional<Job> lookup_job(std::string_view id) const = 0;
  /// Every job, soonest next run first, paused jobs last.
  [[nodiscard]] virtual std::vector<Job> get_all_jobs() const = 0;
  /// The earliest next run time of any job or pending run request; empty when there is none.
  [[nodiscard]] virtual std::optional<TimePoint> next_run_time() const = 0;

  /// Asks for one run of a job at `at`, outside its schedule (how `sked run-now` reaches a scheduler
  /// in another process). The first claim at or after `at` that accepts the job returns it with one
  /// record at run time `at`, decided by `plan_requested_run` (`started`, or `missed` / `max_instances`
  /// by the rules of a scheduled run), paused or not, and drops the request in the same transaction;
  /// the job's schedule is unchanged. A job has at most one pending request: asking again while one
  /// is pending changes nothing and returns the pending request's time, which is the run time its
  /// record will have. Removing the job drops its request. Throws `JobNotFound`.
  [[nodiscard]] virtual TimePoint request_run(std::string_view job_id, TimePoint at) = 0;
  /// Drops a job's pending run request; returns whether there was one (false once a claim took it).
  virtual bool withdraw_run_request(std::string_view job_id) = 0;

  /// Atomically takes up to `limit` jobs due at `now` that `runnable` accepts (all when it is empty):
  /// records their run times (see `plan_fire`), advances each job to its next fire time and removes jobs
  /// that will not fire again. Jobs `runnable` rejects stay untouched and due. Run requests due at `now`
  /// are taken after the scheduled runs (so `max_instances` counts both), each as a claim of its own.
  [[nodiscard]] virtual std::vector<ClaimedJob> claim_due_jobs(TimePoint now, std::size_t limit,
                                                               const ClaimFilter& runnable) = 0;
  /// Records a `started` execution of a job outside its schedule (run now, a retry) and counts it as a
  /// running instance. The job may be gone from the store (a finished one-shot job being retried).
  [[nodiscard]] virtual Execution begin_execution(std::string_view job_id, TimePoint run_time) = 0;
  /// Records how a `started` execution ended (status, duration, finished, exception, traceback), by id.
  virtual void complete_execution(const Execution& execution) = 0;
  [[nodiscard]] virtual std::vector<Execution> get_executions(const ExecutionQuery& query) const = 0;
  /// Deletes execution records whose run time is before `cutoff`; returns how many.
  virtual std::size_t delete_old_executions(TimePoint cutoff) = 0;
};

/// The claim policy every store applies to one due job.
struct FirePlan {
  /// One record per due run time: `missed` beyond the grace time or folded away by coalescing,
  /// `max_instances` when the job already runs that many times, otherwise `started`.
  std::vector<Execution> executions{};
  /// The fire time after `now`; empty when the trigger is exhausted (the job is to be removed).
  std::optional<TimePoint> next_run_time{};
};

/// At most this many run times of one job are listed per claim; older ones past it are skipped wholesale
/// (a job with a one-second interval down for a week must not produce 600,000 records in one go).
inline constexpr std::size_t max_run_times_per_claim = 1000;

/// Computes what claiming `job` at `now` means, given how many of its runs are still going.
[[nodiscard]] FirePlan plan_fire(const Job& job, TimePoint now, int running_instances);

/// The record a claim writes for a run requested at `requested` (`JobStore::request_run`): `missed`
/// when `now` is past it by more than the job's misfire grace time, `max_instances` when the job
/// already runs that many times, otherwise `started`.
[[nodiscard]] Execution plan_requested_run(const Job& job, TimePoint requested, TimePoint now,
                                           int running_instances);

}  // namespace sked
