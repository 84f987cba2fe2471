#pragma once
// A process group of its own, as the `shell` task starts a command: what a scheduler that died
// leaves running, for the tests of how survivors are found and stopped.

#include <sked/stores/memory.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace sked::test {

/// `sleep 300` leading a process group of its own; killed and reaped by the destructor.
class SleepingGroup {
 public:
  SleepingGroup() {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    std::string name = "sleep";
    std::string seconds = "300";
    char* argv[] = {name.data(), seconds.data(), nullptr};
    const int error = posix_spawnp(&pid_, "sleep", nullptr, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (error != 0) throw std::runtime_error("cannot start sleep");
  }
  ~SleepingGroup() {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  SleepingGroup(const SleepingGroup&) = delete;
  SleepingGroup& operator=(const SleepingGroup&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// The signal that ended it, 0 for another end; nothing while it still runs. Does not wait.
  [[nodiscard]] std::optional<int> ended_by() {
    int status = 0;
    if (reaped_ || ::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    reaped_ = true;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }

 private:
  pid_t pid_ = 0;
  bool reaped_ = false;
};

/// A memory store that keeps what `record_process_` is told, as the SQLite and PostgreSQL stores
/// write it: "job-id pgid=... start=... boot=... host=...".
class ProcessRecordingStore : public MemoryJobStore {
 public:
  /// The first record, waiting for it up to 10 s of real time; empty if none came.
  std::string first_recorded() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds{10}, [&] { return !recorded_.empty(); });
    return recorded_.empty() ? std::string{} : recorded_.front();
  }

 protected:
  void record_process_(const Execution& run, const std::string& process) override {
    std::lock_guard lock(mutex_);
    recorded_.push_back(run.job_id + " " + process);
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> recorded_;
};

}  // namespace sked::test
