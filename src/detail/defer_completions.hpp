#pragma once
// Outcomes that wait for the next claim on the same thread: a thread-pool worker that frees writes
// its run's end and claims its next run in one commit of a store that batches completions (SQLite),
// instead of one commit for each.

namespace sked::detail {

/// While one lives on the calling thread, the outcomes of runs it completes in a store that batches
/// completions are queued rather than written; a claim on that store (on any thread) writes them in
/// its own transaction. The outermost one writes what is still queued when it ends.
class DeferCompletions {
 public:
  DeferCompletions() noexcept;
  ~DeferCompletions();
  DeferCompletions(const DeferCompletions&) = delete;
  DeferCompletions& operator=(const DeferCompletions&) = delete;

  /// True while one lives on the calling thread.
  [[nodiscard]] static bool active() noexcept;
};

}  // namespace sked::detail
