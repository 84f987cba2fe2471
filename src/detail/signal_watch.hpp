#pragma once
// Catching signals without doing anything in a signal handler but write(2): the handlers write the
// signal's number to a self-pipe, and a thread of the watch reads it and calls back, where anything
// may be done (BlockingScheduler::stop_on_signals).

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <csignal>

namespace sked::detail {

/// While it lives, `signals` are caught and reported to `on_signal(signal, count)` on the watch's
/// own thread, `count` being 1 for the first signal it saw, 2 for the second and so on. The
/// dispositions in force before are put back by `restore()` or the destructor. One watch at a time
/// in a process (dispositions are process-wide): a second throws `SchedulerStateError`.
class SignalWatch {
 public:
  /// Throws `InvalidArgument` for a signal that cannot be caught (SIGKILL, SIGSTOP, out of range),
  /// `SchedulerStateError` while another watch lives, `Error` when the pipe or a handler cannot be
  /// set up. Nothing is changed when it throws.
  SignalWatch(const std::vector<int>& signals,
              std::function<void(int signal, int count)> on_signal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  /// Puts back the dispositions that were in force before; later signals get them. Idempotent, and
  /// may be called from `on_signal`.
  void restore() noexcept;

 private:
  void watch();

  std::function<void(int, int)> on_signal_;
  std::mutex mutex_;  // guards previous_
  std::vector<std::pair<int, struct sigaction>> previous_;
  int stop_[2] = {-1, -1};  // a pipe of its own: the destructor ends the thread through it
  std::thread thread_;
};

/// Throws `InvalidArgument` naming a signal that a handler cannot catch.
void check_catchable(int signal);

}  // namespace sked::detail
