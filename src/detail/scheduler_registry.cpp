#include "detail/scheduler_registry.hpp"

#include "detail/run_process.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <utility>

namespace sked::detail {
namespace {

struct LiveIds {
  std::mutex mutex;
  std::set<std::string, std::less<>> ids;
};

LiveIds& live_ids() {
  static LiveIds instance;
  return instance;
}

}  // namespace

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::uint64_t random_u64() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::string default_scheduler_id(const std::string& host) {
  return fmt::format("{}:{}:{:08x}", host, getpid(), static_cast<std::uint32_t>(random_u64()));
}

void add_live_scheduler(const std::string& scheduler_id) {
  auto& live = live_ids();
  std::lock_guard lock(live.mutex);
  live.ids.insert(scheduler_id);
}

void remove_live_scheduler(const std::string& scheduler_id) {
  auto& live = live_ids();
  std::lock_guard lock(live.mutex);
  live.ids.erase(scheduler_id);
}

bool process_alive(long pid, const std::string& scheduler_id) {
  if (pid == static_cast<long>(getpid())) {
    auto& live = live_ids();
    std::lock_guard lock(live.mutex);
    return live.ids.contains(scheduler_id);
  }
  if (pid <= 0) return false;
  // EPERM: the process exists but belongs to another user.
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

std::optional<std::string> death(const RegisteredScheduler& s, bool stale,
                                 std::string_view last_beat, const std::string& host, bool locked) {
  if (s.host == host) {
    // On this host another process answers for itself, before any heartbeat: a store that could
    // not be written (another connection's lock, a full disk) held up its heartbeats, not its life.
    // A process that started after the scheduler registered has reused its pid. Only a stopped one
    // (SIGSTOP) is judged by its heartbeat, as one on another host is.
    const bool ours = s.pid == static_cast<std::int64_t>(getpid());
    const auto look = ours ? ProcessLook{} : look_at_process(static_cast<long>(s.pid));
    const bool reused = !ours && look.state != ProcessLook::State::gone &&
                        look.started.time_since_epoch().count() != 0 &&
                        look.started > s.started + pid_reuse_slack;
    const bool gone = ours ? !process_alive(static_cast<long>(s.pid), s.id)
                           : look.state == ProcessLook::State::gone || reused;
    if (gone) {
      return fmt::format(
          "sked::Interrupted: the process of scheduler '{}' (host {}, pid {}) ended while this run "
          "was in progress",
          s.id, s.host, s.pid);
    }
    // Schedulers of this process (stores opened side by side, as tests do) keep the heartbeat rule.
    if (!ours && look.state == ProcessLook::State::running) return std::nullopt;
  } else if (locked) {
    // Its process runs on this kernel where /proc cannot show it: alive, even stopped (which only
    // /proc could tell).
    return std::nullopt;
  }
  if (stale) {
    return fmt::format(
        "sked::Interrupted: scheduler '{}' (host {}, pid {}) stopped sending heartbeats (last at "
        "{}) while this run "
        "was in progress",
        s.id, s.host, s.pid, last_beat);
  }
  return std::nullopt;
}

namespace {

// The byte of a scheduler id in the lock file: FNV-1a, below 2^62 (any offset can be locked,
// whatever the file's size).
off_t lock_byte(const std::string& scheduler_id) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : scheduler_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<off_t>(h >> 2);
}

struct flock lock_of(const std::string& scheduler_id, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = lock_byte(scheduler_id);
  fl.l_len = 1;
  fl.l_pid = 0;  // F_OFD_* require it
  return fl;
}

}  // namespace

bool LivenessLock::hold(const std::string& file, const std::string& scheduler_id) {
  if (!writable_) {
    // Readable by its owner only whatever the umask, as the database is; one that exists keeps its
    // mode.
    UniqueFd fd{::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (fd) {
      (void)::fchmod(fd.get(), 0600);
    } else if (errno == EEXIST) {
      fd.reset(::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    }
    if (!fd) return false;
    fd_ = std::move(fd);
    writable_ = true;
  }
  struct flock fl = lock_of(scheduler_id, F_WRLCK);
  return ::fcntl(fd_.get(), F_OFD_SETLK, &fl) == 0;
}

bool LivenessLock::held(const std::string& file, const std::string& scheduler_id) {
  if (!fd_) {
    // A store that never claimed (a read-only tool) looks through a descriptor of its own.
    fd_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd_) return false;
  }
  struct flock fl = lock_of(scheduler_id, F_WRLCK);
  return ::fcntl(fd_.get(), F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

void report_warning(const std::function<void(std::string_view)>& on_warning,
                    const std::string& message) noexcept {
  try {
    if (on_warning) {
      on_warning(message);
    } else {
      std::fprintf(stderr, "sked: WARNING: %s\n", message.c_str());
    }
  } catch (...) {
    // A broken callback must not break the store.
  }
}

}  // namespace sked::detail
