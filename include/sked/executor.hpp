#pragma once
// The Executor interface: where a claimed run is carried out.

#include <sked/execution.hpp>
#include <sked/job.hpp>

#include <functional>
#include <memory>
#include <string>

namespace sked {

/// One run to carry out: the job (a snapshot), its `started` execution record and the resolved task.
struct Run {
  std::shared_ptr<const Job> job{};
  Execution execution{};
  std::shared_ptr<const TaskFn> task{};
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
  /// again after a shutdown if the scheduler is restarted.
  virtual void start() = 0;
  /// Queues `run`; calls `done` exactly once when it ends, from any thread. Never blocks on the task.
  virtual void submit(Run run, CompletionFn done) = 0;
  /// With `wait`, finishes queued and running runs first; without, asks running tasks to stop and
  /// reports queued runs as errors. Idempotent.
  virtual void shutdown(bool wait) = 0;
};

/// Runs `run.task` and turns an exception into an error outcome with its type and message.
[[nodiscard]] Outcome run_task(const Run& run, std::stop_token stop);

}  // namespace sked
