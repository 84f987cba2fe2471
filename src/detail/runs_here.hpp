#pragma once
// Which runs the calling thread is inside of, so that a shutdown that waits for runs does not wait
// for the one it is called from (a task, or a listener hearing of a run's end): it would never end.

namespace sked::detail {

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

}  // namespace sked::detail
