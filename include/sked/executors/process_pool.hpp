#pragma once
// Runs tasks in child processes, so a task that crashes or hangs cannot take the scheduler down.

#include <sked/executor.hpp>
#include <sked/export.hpp>
#include <sked/tasks.hpp>
#include <sked/time.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace sked {

/// Runs tasks registered by name in up to `max_workers` worker processes; runs beyond that wait in
/// a queue. A worker runs one task at a time and is reused for the next run.
///
/// **The rule**: create the pool first thing in `main`, while the program has a single thread
/// (before starting a scheduler or anything else that starts threads) and after registering every
/// task it may run. The constructor forks a helper process, the *zygote*, which forks the workers
/// on request: a multi-threaded program cannot safely fork (a lock held by another thread stays
/// locked forever in the child), so workers never come from the scheduler's process once it has
/// threads. The zygote is a copy of the program as it was then: tasks registered later, and files
/// or sockets opened later, are not in the children; tasks added to `tasks` afterwards cannot run
/// in the pool.
///
/// **Example**:
///   int main() {
///     sked::BackgroundScheduler scheduler;           // constructing it starts no thread
///     scheduler.tasks().add("resize", resize_images);
///     sked::register_shell_task(scheduler.tasks());
///     auto pool = std::make_shared<sked::ProcessPoolExecutor>(4, scheduler.tasks());  // forks
///     here scheduler.add_executor(pool, "processes"); scheduler.add_job({.task = "resize",
///     .executor = "processes", .timeout = std::chrono::minutes{5}, ...}); scheduler.start();
///
/// What callers rely on:
/// - Args go to the worker as JSON; what comes back is the outcome (status, exception type and
/// message,
///   the task's `set_output` text, duration). A task that throws is an error with the exception's
///   type and message, as in the thread pool.
/// - A worker that dies during a run is recorded as an error naming the cause, `killed by signal 11
///   (SIGSEGV)` or `exited with status 3`; the pool starts another worker for the next run.
/// - A run with a `timeout` still going when it expires gets SIGTERM (which a task sees as a stop
///   request on its JobContext), then SIGKILL after `kill_grace`, and is recorded when its worker
///   is gone as an error `timed out after 30s`. The timeout is measured by the scheduler's clock,
///   as in the thread pool, so a ManualClock drives it in tests; the grace period is real time
///   (`steady_clock`), because it is the time a real process gets to clean up.
/// - Signals go to the worker's process group, which holds whatever its task started unless that
/// made
///   a group of its own (the `shell` task does, and stops its command when asked to stop).
/// - Every child is reaped. `shutdown(true)` waits for running runs; `shutdown(false)` reports
/// queued
///   runs as errors and terminates running ones (SIGTERM, SIGKILL after `kill_grace`), recorded as
///   `the executor shut down without waiting: killed by signal 9 (SIGKILL)` unless the task
///   returned when asked to stop. If the program exits or dies, the zygote gets SIGTERM
///   (PR_SET_PDEATHSIG) and takes its workers with it.
/// - Jobs bound to a callable cannot run here (a callable cannot cross a process boundary): their
/// runs
///   are errors saying so, as are runs of a task that was not in `tasks` when the pool was created.
///
/// This class is thread-safe. It must not be destroyed from a completion callback.
class SKED_API ProcessPoolExecutor final : public Executor {
 public:
  /// Forks the zygote, which keeps a copy of `tasks` as it is now. Throws `InvalidArgument` when
  /// `max_workers` is 0, and `Error` when the program already has more than one thread or fork
  /// fails.
  ProcessPoolExecutor(std::size_t max_workers, const TaskRegistry& tasks,
                      Duration kill_grace = std::chrono::seconds{5});
  /// Shuts down (waiting for running runs), then ends and reaps the zygote.
  ~ProcessPoolExecutor() override;
  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;

  /// `clock` may be null: the real clock. May be called again after `shutdown`: the zygote outlives
  /// it.
  void start(std::shared_ptr<Clock> clock) override;
  void submit(RunLease run) override;
  void shutdown(bool wait) override;
  /// Workers not running a run (nor being stopped), less the runs queued for them.
  [[nodiscard]] std::size_t available() const override;
  /// False: workers are freed on the reactor, which stops tasks past their timeout and must not
  /// wait for a store's lock; the scheduler's loop claims the next runs.
  [[nodiscard]] bool freeing_thread_claims() const noexcept override { return false; }

  [[nodiscard]] std::size_t max_workers() const noexcept;
  /// The tasks the workers can run (sorted).
  [[nodiscard]] const std::vector<std::string>& task_names() const noexcept;
  /// The zygote's process id, and the live workers' (for diagnostics and tests).
  [[nodiscard]] int zygote_pid() const noexcept;
  [[nodiscard]] std::vector<int> worker_pids() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sked
