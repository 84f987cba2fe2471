#pragma once
// The Executor interface: where a claimed run is carried out.

#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/run_lease.hpp>
#include <sked/time.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>

namespace sked {

/// Runs tasks. Implementations are thread-safe.
class SKED_API Executor {
 public:
  virtual ~Executor() = default;
  /// Called by the scheduler when it starts (or when the executor is added to a running scheduler),
  /// and again after a shutdown if the scheduler is restarted. `clock` is the scheduler's: run
  /// timeouts are measured by it, so a ManualClock drives them in tests.
  virtual void start(std::shared_ptr<Clock> clock) = 0;
  /// Takes `run` and completes it (`RunLease::complete`) exactly once when it ends, from any
  /// thread. Never blocks on the task. A run the executor refuses (it is shut down) is completed at
  /// once as an error.
  virtual void submit(RunLease run) = 0;
  /// Takes several runs at once, each as `submit` would. The scheduler hands over everything one
  /// claim produced this way, so an executor can take the batch under one lock. Runs it took are
  /// left moved from (no longer `active()`); if it throws, the runs still active were not taken.
  /// The default submits them one at a time.
  virtual void submit_batch(std::span<RunLease> runs);
  /// With `wait`, finishes queued and running runs first; without, asks running tasks to stop and
  /// completes queued runs as errors. Idempotent.
  virtual void shutdown(bool wait) = 0;

  /// What `available` returns for an executor that cannot tell.
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  /// How many more runs it would start at once: free workers not spoken for by queued runs. The
  /// scheduler claims no more runs for this executor than this, so that the schedulers sharing a
  /// store take the rest and a run's record says `started` only once a worker has it. An executor
  /// that overrides this calls `worker_freed` whenever it may have grown. Default: `unlimited`.
  [[nodiscard]] virtual std::size_t available() const { return unlimited; }
  /// Whether the thread that calls `worker_freed` may claim the next runs from the store and submit
  /// them itself, as the scheduler's listener does (no wake-up of its loop per freed worker). An
  /// executor whose freeing thread must not wait for a store (a reactor that enforces timeouts and
  /// stops hung tasks) returns false, and the scheduler's loop claims instead. Default: true.
  [[nodiscard]] virtual bool freeing_thread_claims() const noexcept { return true; }
  /// Calls `listener` once, the next time a worker frees (`worker_freed`), from that thread;
  /// replaces a listener not called yet, and an empty one cancels it. Once this returns, a replaced
  /// listener is not running and will not run (called from inside a listener, it does not wait for
  /// listeners running on other threads). The scheduler sets it when it left due runs in the store
  /// for want of workers: the freeing thread then claims and submits the next runs itself, so
  /// `listener` may call `notify_when_available` and `submit_batch` on this executor; it does not
  /// wait for a task. Thread-safe.
  void notify_when_available(std::function<void()> listener);

 protected:
  Executor() = default;
  /// Tells the listener, if one is waiting, that a worker is free (a task returned and its run was
  /// completed). Costs one atomic load when none is. Call it holding no lock the listener may need
  /// (it may submit runs).
  void worker_freed() noexcept;

 private:
  std::mutex listener_mutex_;
  std::condition_variable listener_done_;
  std::function<void()> listener_;
  std::atomic<bool> armed_{false};
  int listener_calls_ = 0;  // listeners running, outside the lock; guarded by listener_mutex_
};

/// The message recorded for a run that exceeded its timeout: `timed out after 30s`.
[[nodiscard]] SKED_API std::string timed_out_message(Duration timeout);

/// Runs `run.task()` and turns an exception into an error outcome with its type and message; what
/// the task passed to `JobContext::set_output` becomes the outcome's traceback.
[[nodiscard]] SKED_API Outcome run_task(const RunLease& run, std::stop_token stop);
/// The same for a task and job given apart (a process-pool worker has no lease).
[[nodiscard]] SKED_API Outcome run_task(const TaskFn& task, const Job& job,
                                        TimePoint scheduled_run_time, std::stop_token stop);

}  // namespace sked
