#pragma once
// The Executor interface: where a claimed run is carried out.

#include <sked/execution.hpp>
#include <sked/job.hpp>
#include <sked/time.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace sked {

/// One run to carry out: the job (a snapshot), its `started` execution record and the resolved task.
struct Run {
  std::shared_ptr<const Job> job{};
  Execution execution{};
  std::shared_ptr<const TaskFn> task{};
  /// 1 for a regular run; 2 and up for retries.
  int attempt = 1;
};

/// How a run ended: `executed` or `error` (with the exception's type and message).
struct Outcome {
  ExecutionStatus status = ExecutionStatus::executed;
  Duration duration{0};
  std::string exception{};
  std::string traceback{};
};

using CompletionFn = std::function<void(const Run&, Outcome)>;

/// Runs tasks. Implementations are thread-safe.
class Executor {
 public:
  virtual ~Executor() = default;
  /// Called by the scheduler when it starts (or when the executor is added to a running scheduler), and
  /// again after a shutdown if the scheduler is restarted. `clock` is the scheduler's: run timeouts are
  /// measured by it, so a ManualClock drives them in tests.
  virtual void start(std::shared_ptr<Clock> clock) = 0;
  /// Queues `run`; calls `done` exactly once when it ends, from any thread. Never blocks on the task.
  virtual void submit(Run run, CompletionFn done) = 0;
  /// Queues several runs at once, each as `submit` would, calling `done` once per run. The scheduler
  /// hands over everything one claim produced this way, so an executor can take the batch under one
  /// lock. Runs it took are left moved from (`job` empty); if it throws, the runs still holding their
  /// job were not taken. The default submits them one at a time.
  virtual void submit_batch(std::span<Run> runs, const CompletionFn& done);
  /// With `wait`, finishes queued and running runs first; without, asks running tasks to stop and
  /// reports queued runs as errors. Idempotent.
  virtual void shutdown(bool wait) = 0;
};

/// The message recorded for a run that exceeded its timeout: `timed out after 30s`.
[[nodiscard]] std::string timed_out_message(Duration timeout);

/// Runs `run.task` and turns an exception into an error outcome with its type and message; what the task
/// passed to `JobContext::set_output` becomes the outcome's traceback.
[[nodiscard]] Outcome run_task(const Run& run, std::stop_token stop);

}  // namespace sked
