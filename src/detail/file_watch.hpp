#pragma once
// Hears writes to a few files of one directory through inotify (an SQLite store's file and its
// -wal).

#include <sked/time.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sked::detail {

/// Calls `check` on a thread of its own whenever one of the named files in `directory` may have
/// been written (modified, created or moved into place), however many writes came together. `check`
/// returns true when what it found does not explain the event (a writer's data may not be visible
/// yet): it is then called once more `recheck_after` later. Checks come at most every
/// `min_gap` (writes meanwhile are heard at the end of it): a store's own commits, thousands a
/// second when its jobs are short, each woke the thread. Stops and joins in its destructor.
class FileWatch {
 public:
  FileWatch() = default;
  ~FileWatch() { stop(); }
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  /// Watches, from before it returns (a write after that is heard); false, watching nothing, when
  /// inotify cannot watch the directory (no inotify, the per-user limit reached). Once only.
  bool start(const std::string& directory, std::vector<std::string> names,
             std::function<bool()> check,
             std::chrono::milliseconds recheck_after = std::chrono::milliseconds{100});
  /// Also calls `fn` on the watch's thread every `interval` of `clock`, the first call one interval
  /// from now (a store's heartbeat). What `fn` writes to the watched files is heard when it
  /// returns, in the same wake-up, with a single `check`: an idle process wakes once per call, not
  /// once for the call and again for each write it made. Follows the clock (a ManualClock drives it
  /// in tests). False, calling nothing, when the watch is not running or already has a function.
  bool every(std::shared_ptr<Clock> clock, Duration interval, std::function<void()> fn);
  /// Stops the thread and waits for a call of `check` or `fn` in progress. Never throws.
  void stop() noexcept;

 private:
  void loop();
  // Reads every queued event; true when one was about a watched file.
  bool drain();
  void watch_file(const std::string& name);
  // How long until `every`'s function is due; nothing when there is none.
  std::optional<std::chrono::milliseconds> until_due();
  // Calls `every`'s function when it is due; true when it did.
  bool call_if_due();

  int inotify_ = -1;
  int wake_ = -1;  // an eventfd: stop, or the clock jumped
  std::atomic<bool> stopping_{false};
  std::string directory_;
  std::vector<std::string> names_;
  std::vector<int> file_watches_;
  std::function<bool()> check_;
  std::chrono::milliseconds recheck_after_{};
  static constexpr std::chrono::milliseconds min_gap{10};
  std::thread thread_;

  std::mutex every_mutex_;  // guards the members below
  std::shared_ptr<Clock> clock_;
  Duration interval_{};
  TimePoint next_{};
  std::function<void()> fn_;
  Subscription jumps_;
};

}  // namespace sked::detail
