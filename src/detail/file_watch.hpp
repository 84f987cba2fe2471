#pragma once
// Hears writes to a few files of one directory through inotify (an SQLite store's file and its
// -wal).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace sked::detail {

/// Calls `check` on a thread of its own whenever one of the named files in `directory` may have
/// been written (modified, created or moved into place), however many writes came together. `check`
/// returns true when what it found does not explain the event (a writer's data may not be visible
/// yet): it is then called once more `recheck_after` later. Stops and joins in its destructor.
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
  /// Stops the thread and waits for a call of `check` in progress. Never throws.
  void stop() noexcept;

 private:
  void loop();
  // Reads every queued event; true when one was about a watched file.
  bool drain();
  void watch_file(const std::string& name);

  int inotify_ = -1;
  int stop_ = -1;  // an eventfd
  std::string directory_;
  std::vector<std::string> names_;
  std::vector<int> file_watches_;
  std::function<bool()> check_;
  std::chrono::milliseconds recheck_after_{};
  std::thread thread_;
};

}  // namespace sked::detail
