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
#include <utility>

namespace sked::detail {

bool FileWatch::start(const std::string& directory, std::vector<std::string> names,
                      std::function<bool()> check, std::chrono::milliseconds recheck_after) {
  if (inotify_ >= 0 || stop_ >= 0) return false;
  inotify_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  stop_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // The directory says when a file appears (SQLite creates the -wal with the first writer); the
  // files say when they are written. Only those: a busy directory's other files wake nobody.
  if (inotify_ < 0 || stop_ < 0 ||
      ::inotify_add_watch(inotify_, directory.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
    const int error = errno;  // for the caller's message, past the closes
    if (inotify_ >= 0) ::close(inotify_);
    if (stop_ >= 0) ::close(stop_);
    inotify_ = stop_ = -1;
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

void FileWatch::loop() {
  bool recheck = false;
  for (;;) {
    std::array<pollfd, 2> fds{{{inotify_, POLLIN, 0}, {stop_, POLLIN, 0}}};
    const int ready =
        ::poll(fds.data(), fds.size(), recheck ? static_cast<int>(recheck_after_.count()) : -1);
    if (ready < 0) continue;  // EINTR
    if ((fds[1].revents & POLLIN) != 0) return;
    if (ready > 0 && drain()) {
      recheck = check_();
    } else if (ready == 0 && recheck) {
      (void)check_();  // once: a writer's commit is visible well within the delay
      recheck = false;
    }
  }
}

void FileWatch::stop() noexcept {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
  }
  if (inotify_ >= 0) ::close(inotify_);
  if (stop_ >= 0) ::close(stop_);
  inotify_ = stop_ = -1;
}

}  // namespace sked::detail
