#pragma once
// Which runs the calling thread is inside of, so that a shutdown that waits for runs does not wait
// for the one it is called from (a task, or a listener hearing of a run's end): it would never end.

#include <sked/executor.hpp>

#include <functional>
#include <stop_token>

namespace sked::detail {

/// `run_task` whose `JobContext::process_group_started` calls `on_process_group` (an executor
/// that completes runs from another thread takes `RunLease::process_group_recorder` first).
[[nodiscard]] Outcome run_task(const TaskFn& task, const Job& job, TimePoint scheduled_run_time,
                               std::stop_token stop, std::function<void(int)> on_process_group);

/// How many runs the calling thread is inside of: tasks run by `run_task`, and ends of runs being
/// reported by a scheduler (its listeners).
[[nodiscard]] int runs_here() noexcept;

/// Counts the calling thread as inside one more run while it lives.
class InsideRun {
 public:
  InsideRun() noexcept;
  ~InsideRun();
  InsideRun(const InsideRun&) = delete;
  InsideRun& operator=(const InsideRun&) = delete;
};

/// Counts the calling thread as inside `n` more runs, one fewer at each `leave()`, while it lives
/// (runs whose ends this thread reports one after another).
class InsideRuns {
 public:
  explicit InsideRuns(int n) noexcept;
  ~InsideRuns();
  InsideRuns(const InsideRuns&) = delete;
  InsideRuns& operator=(const InsideRuns&) = delete;
  void leave() noexcept;

 private:
  int left_;
};

}  // namespace sked::detail
