#pragma once
// A claimed run: what an executor carries out and completes exactly once.

#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/time.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace sked {

class JobStore;
class RunLease;

/// How a run ended: `executed` or `error` (with the exception's type and message).
struct SKED_API Outcome {
  ExecutionStatus status = ExecutionStatus::executed;
  Duration duration{0};
  std::string exception{};
  std::string traceback{};
};

/// Who is told when a leased run ends: the scheduler that claimed it. Held by every lease it owns,
/// so it outlives them; a scheduler that is gone detaches its owner instead of leaving leases
/// pointing at it.
class SKED_API RunOwner {
 public:
  virtual ~RunOwner() = default;
  /// The owner's clock: a completed run's `finished` time and when its retry is due.
  [[nodiscard]] virtual TimePoint now() const = 0;
  /// Called once per lease, after its record was written, or kept to be written once the store
  /// accepts it (`JobStore::unwritten_completions`; the store reports that, and `error` is empty).
  /// `error` says why an outcome could be neither written nor kept. `retry_at` is when the store
  /// will offer the next attempt, if one was planned. Must not throw.
  virtual void run_ended(const RunLease& lease, const Execution& record,
                         std::optional<TimePoint> retry_at, const std::string& error) noexcept = 0;
};

/// One claimed run of a job: its `started` execution record, the job as it was claimed (a shared
/// snapshot, never copied per run), the task to run and the attempt number. Move-only.
///
/// `complete(outcome)` records how the run ended in the store it was claimed from, plans a retry
/// there when the job's `RetryPolicy` asks for one, and tells the owner. A lease destroyed without
/// being completed is recorded `interrupted`: a run can end unrecorded only if the process dies,
/// and then the store's liveness check records it. After `complete`, the job and record stay
/// readable until the lease is destroyed (a task still running after its timeout reads them).
class SKED_API RunLease {
 public:
  RunLease() noexcept = default;
  RunLease(RunLease&& other) noexcept;
  RunLease& operator=(RunLease&& other) noexcept;
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;
  ~RunLease();

  /// Whether the lease holds a run that has not been completed.
  [[nodiscard]] bool active() const noexcept {
    return state_ != nullptr && state_->home != nullptr;
  }
  [[nodiscard]] bool has_job() const noexcept {
    return state_ != nullptr && state_->job != nullptr;
  }
  [[nodiscard]] const Job& job() const noexcept { return *state_->job; }
  [[nodiscard]] const std::shared_ptr<const Job>& shared_job() const noexcept {
    return state().job;
  }
  /// The `started` record the claim wrote (its id and run time).
  [[nodiscard]] const Execution& execution() const noexcept { return state().execution; }
  /// 1 for a regular run; 2 and up for retries.
  [[nodiscard]] int attempt() const noexcept { return state().attempt; }
  /// The task to run, resolved by the scheduler before the lease reaches an executor.
  [[nodiscard]] const std::shared_ptr<const TaskFn>& task() const noexcept { return state().task; }
  /// Sets the task of an active lease (an empty lease has nothing to run).
  void set_task(std::shared_ptr<const TaskFn> task) noexcept {
    if (state_ != nullptr) state_->task = std::move(task);
  }

  /// Records how the run ended. The first call does it; later calls (and calls on an empty lease)
  /// do nothing. A store that batches completions (SQLite) may return before the record is written
  /// when another thread is writing outcomes: that thread writes it with its next batch and tells
  /// the owner then. Never throws: a record that cannot be written is reported to the owner. Not
  /// thread-safe: one thread settles a lease (executors that race a timeout against the task decide
  /// the winner themselves).
  void complete(Outcome outcome) noexcept;

  /// Records with the run (in its store) that it started process group `pgid`, while the run is
  /// active: a scheduler that finds the run's process dead stops a group that outlived it (see
  /// `JobContext::process_group_started`). A write that fails is reported by the store, not thrown.
  /// Not thread-safe against `complete`.
  void record_process_group(int pgid) const noexcept;
  /// The same as a function, taken before the run starts, which may be called while another thread
  /// completes the lease (an executor's timeout). Empty for a lease that is not active.
  [[nodiscard]] std::function<void(int)> process_group_recorder() const;

 private:
  friend class JobStore;
  // Where a claim's leases report to: one per claim, shared by its leases, so that a lease costs
  // one reference count (taken on the loop thread, dropped on a worker) rather than two.
  struct Home {
    std::shared_ptr<JobStore> store;
    std::shared_ptr<RunOwner> owner;
  };
  // Everything a lease carries, in one pooled block: handing a lease from the loop thread through
  // an executor's queue to a worker moves one pointer, not a record of three strings (measured:
  // three such moves were a twentieth of the instructions per dispatched run).
  struct State {
    std::shared_ptr<const Home> home;  // null once completed
    std::shared_ptr<const Job> job;
    std::shared_ptr<const TaskFn> task;
    Execution execution;
    int attempt = 1;
  };
  RunLease(std::shared_ptr<const Home> home, std::shared_ptr<const Job> job, Execution execution,
           int attempt);
  [[nodiscard]] const State& state() const noexcept {
    return state_ != nullptr ? *state_ : empty_state();
  }
  [[nodiscard]] static const State& empty_state() noexcept;
  // Completes the lease as interrupted: it goes without an outcome.
  void drop() noexcept;
  static void record_process_group(JobStore& store, const Execution& run, int pgid) noexcept;
  // drop(), then gives the block back.
  void release() noexcept;

  State* state_ = nullptr;
};

}  // namespace sked
