#include "detail/signal_watch.hpp"

#include "detail/process.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace sked::detail {
namespace {

// The self-pipe, made once per process and never closed: a handler still running on another thread
// as a watch ends can never write to a descriptor that was closed (or closed and reused).
std::atomic<int> signal_write_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");
std::mutex watch_mutex;
int signal_read_fd = -1;  // guarded by watch_mutex; never changes once set
bool watching = false;    // guarded by watch_mutex

// The handler: only async-signal-safe calls (write), errno left as it was.
void write_signal(int signal) {
  const int saved = errno;
  const int fd = signal_write_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signal);
    // A full pipe (signals nobody has read yet) loses this one, which changes nothing: those unread
    // are read first.
    [[maybe_unused]] const auto written = ::write(fd, &byte, 1);
  }
  errno = saved;
}

[[noreturn]] void fail(std::string_view what) {
  throw Error(fmt::format("cannot watch signals: {}: {}", what, std::strerror(errno)));
}

// With watch_mutex held.
void open_signal_pipe() {
  if (signal_read_fd >= 0) return;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe");
  signal_read_fd = fds[0];
  signal_write_fd.store(fds[1], std::memory_order_relaxed);
}

}  // namespace

void check_catchable(int signal) {
  if (signal <= 0 || signal >= NSIG)
    throw InvalidArgument(fmt::format("{} is not a signal number", signal));
  if (signal == SIGKILL || signal == SIGSTOP) {
    throw InvalidArgument(fmt::format("{} cannot be caught", signal_name(signal)));
  }
  if (signal == SIGSEGV || signal == SIGBUS || signal == SIGFPE || signal == SIGILL) {
    throw InvalidArgument(
        fmt::format("{} is a fault of the program, not a request to stop", signal_name(signal)));
  }
}

SignalWatch::SignalWatch(const std::vector<int>& signals, std::function<void(int, int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  for (const int s : signals) check_catchable(s);
  std::lock_guard lock(watch_mutex);
  if (watching)
    throw SchedulerStateError("another scheduler in this process stops on signals already");
  open_signal_pipe();
  // Signals caught by an earlier watch after its thread stopped reading are not for this one.
  unsigned char stale[64];
  while (::read(signal_read_fd, stale, sizeof stale) > 0) {
  }
  if (::pipe2(stop_, O_CLOEXEC) != 0) fail("pipe");
  const auto undo = [this] {
    restore();
    ::close(stop_[0]);
    ::close(stop_[1]);
  };
  struct sigaction action {};
  action.sa_handler = write_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (const int s : signals) {
    if (std::any_of(previous_.begin(), previous_.end(),
                    [s](const auto& p) { return p.first == s; }))
      continue;
    struct sigaction old {};
    if (::sigaction(s, &action, &old) != 0) {
      const int error = errno;
      undo();
      errno = error;
      fail(fmt::format("sigaction({})", signal_name(s)));
    }
    previous_.emplace_back(s, old);
  }
  try {
    thread_ = std::thread([this] { watch(); });
  } catch (...) {
    undo();
    throw;
  }
  watching = true;
}

SignalWatch::~SignalWatch() {
  // Dispositions first: a signal from here on goes where it went before, not into a pipe nobody
  // reads.
  restore();
  const unsigned char stop = 0;
  [[maybe_unused]] const auto written = ::write(stop_[1], &stop, 1);
  if (thread_.joinable()) thread_.join();
  ::close(stop_[0]);
  ::close(stop_[1]);
  std::lock_guard lock(watch_mutex);
  watching = false;
}

void SignalWatch::restore() noexcept {
  std::lock_guard lock(mutex_);
  for (auto it = previous_.rbegin(); it != previous_.rend(); ++it)
    ::sigaction(it->first, &it->second, nullptr);
  previous_.clear();
}

void SignalWatch::watch() {
  int count = 0;
  pollfd fds[2] = {{signal_read_fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    unsigned char caught[64];
    const auto n = ::read(signal_read_fd, caught, sizeof caught);
    for (ssize_t i = 0; i < n; ++i) {
      try {
        on_signal_(caught[i], ++count);
      } catch (...) {
        // A callback that fails must not end the watch: the next signal is still for it.
      }
    }
  }
}

}  // namespace sked::detail
