#include "detail/file_watch.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

namespace sked::detail {

bool FileWatch::start(const std::string& directory, std::vector<std::string> names,
                      std::function<bool()> check, std::chrono::milliseconds recheck_after) {
  if (inotify_ >= 0 || wake_ >= 0 || stopping_) return false;
  inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // The directory says when a file appears (SQLite creates the -wal with the first writer); the
  // files say when they are written. Only those: a busy directory's other files wake nobody.
  if (inotify_ < 0 || wake_ < 0 ||
      ::inotify_add_watch(inotify_, directory.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
    const int error = errno;  // for the caller's message, past the closes
    if (inotify_ >= 0) ::close(inotify_);
    if (wake_ >= 0) ::close(wake_);
    inotify_ = wake_ = -1;
    errno = error;
    return false;
  }
  directory_ = directory;
  names_ = std::move(names);
  for (const auto& name : names_) watch_file(name);
  check_ = std::move(check);
  recheck_after_ = recheck_after;
  thread_ = std::thread([this] { loop(); });
  return true;
}

void FileWatch::watch_file(const std::string& name) {
  // Fails for a file that does not exist yet; its creation adds the watch.
  const int wd = ::inotify_add_watch(inotify_, (directory_ + "/" + name).c_str(), IN_MODIFY);
  if (wd >= 0 && std::find(file_watches_.begin(), file_watches_.end(), wd) == file_watches_.end()) {
    file_watches_.push_back(wd);
  }
}

bool FileWatch::drain() {
  bool relevant = false;
  alignas(inotify_event) std::array<char, 4096> buffer{};
  for (;;) {
    const auto n = ::read(inotify_, buffer.data(), buffer.size());
    if (n <= 0) return relevant || (n < 0 && errno != EAGAIN && errno != EINTR);
    for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
      inotify_event event{};
      std::memcpy(&event, buffer.data() + at, sizeof event);
      const std::string name =
          event.len > 0 ? std::string{buffer.data() + at + sizeof event} : std::string{};
      at += sizeof event + event.len;
      if ((event.mask & IN_Q_OVERFLOW) != 0) {
        relevant = true;  // events were lost: look
      } else if ((event.mask & IN_IGNORED) != 0) {
        std::erase(file_watches_, event.wd);  // the file went; its successor's creation is heard
      } else if ((event.mask & (IN_CREATE | IN_MOVED_TO)) != 0) {
        if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
          watch_file(name);
          relevant = true;
        }
      } else if ((event.mask & IN_MODIFY) != 0) {
        relevant = relevant || std::find(file_watches_.begin(), file_watches_.end(), event.wd) !=
                                   file_watches_.end();
      }
    }
  }
}

bool FileWatch::every(std::shared_ptr<Clock> clock, Duration interval, std::function<void()> fn) {
  if (!thread_.joinable() || !fn) return false;
  // Subscribed outside every_mutex_: the clock calls its listeners under a lock of its own. The
  // listener only wakes the thread, which then asks the clock.
  Subscription jumps = clock->on_jump([this] {
    const std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  });
  std::lock_guard lock(every_mutex_);
  if (fn_) return false;  // `jumps` unsubscribes; its listener never took every_mutex_
  // Timed from here, as detail::Periodic is: not from when the thread next runs.
  next_ = clock->now() + interval;
  clock_ = std::move(clock);
  interval_ = interval;
  fn_ = std::move(fn);
  jumps_ = std::move(jumps);
  const std::uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);  // the thread may be waiting with no timeout
  return true;
}

std::optional<std::chrono::milliseconds> FileWatch::until_due() {
  std::lock_guard lock(every_mutex_);
  if (!fn_) return std::nullopt;
  // By real time: right for the system clock; a ManualClock wakes the thread through on_jump. At
  // most a minute, so that a clock that reports no jumps is asked again.
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(next_ - clock_->now());
  return std::clamp<std::chrono::milliseconds>(remaining, std::chrono::milliseconds::zero(),
                                               std::chrono::minutes{1});
}

bool FileWatch::call_if_due() {
  std::function<void()> fn;
  {
    std::lock_guard lock(every_mutex_);
    if (!fn_ || clock_->now() < next_) return false;
    fn = fn_;
  }
  fn();
  std::lock_guard lock(every_mutex_);
  next_ = clock_->now() + interval_;
  return true;
}

void FileWatch::loop() {
  using std::chrono::steady_clock;
  std::optional<steady_clock::time_point> recheck_at;
  std::optional<steady_clock::time_point> quiet_until;  // the files are not listened to until then
  // poll()'s timeout in ms (-1: none), shortened to `left`.
  const auto within = [](int timeout, std::chrono::milliseconds left) {
    const int ms = static_cast<int>(std::max<std::int64_t>(left.count(), 0));
    return timeout < 0 ? ms : std::min(timeout, ms);
  };
  const auto until = [](steady_clock::time_point at) {
    return std::chrono::ceil<std::chrono::milliseconds>(at - steady_clock::now());
  };
  for (;;) {
    int timeout = -1;
    if (recheck_at) timeout = within(timeout, until(*recheck_at));
    if (const auto due = until_due()) timeout = within(timeout, *due);
    if (quiet_until && steady_clock::now() >= *quiet_until) quiet_until.reset();
    if (quiet_until) timeout = within(timeout, until(*quiet_until));
    // poll() skips a negative descriptor: while quiet, writes queue up in the inotify instance.
    std::array<pollfd, 2> fds{{{quiet_until ? -1 : inotify_, POLLIN, 0}, {wake_, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), timeout) < 0) continue;  // EINTR
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t drained = 0;
      (void)!::read(wake_, &drained, sizeof drained);
      if (stopping_.load()) return;
    }
    bool heard = (fds[0].revents & POLLIN) != 0 && drain();
    // The function's own writes are queued by the time it returns: read here, not in a wake-up of
    // their own. The one check also covers another process's write that came meanwhile.
    if (call_if_due()) heard = drain() || heard;
    if (heard) {
      recheck_at.reset();
      if (check_()) recheck_at = steady_clock::now() + recheck_after_;
      quiet_until = steady_clock::now() + min_gap;
    } else if (recheck_at && steady_clock::now() >= *recheck_at) {
      (void)check_();  // once: a writer's commit is visible well within the delay
      recheck_at.reset();
    }
  }
}

void FileWatch::stop() noexcept {
  {
    // First, so that no jump writes to the eventfd once it is closed.
    std::lock_guard lock(every_mutex_);
    jumps_.reset();
  }
  if (thread_.joinable()) {
    stopping_ = true;
    const std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_ >= 0) ::close(inotify_);
  if (wake_ >= 0) ::close(wake_);
  inotify_ = wake_ = -1;
}

}  // namespace sked::detail
