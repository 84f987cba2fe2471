#include "detail/scheduler_registry.hpp"

#include "detail/run_process.hpp"

#include <fmt/format.h>

#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>

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
                                 std::string_view last_beat, const std::string& host) {
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
