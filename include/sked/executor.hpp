#pragma once
// The Executor interface: where a claimed run is carried out.

#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/run_lease.hpp>
#include <sked/time.hpp>

#include <memory>
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
