#include "detail/scheduler_registry.hpp"

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
  if (stale) {
    return fmt::format(
        "sked::Interrupted: scheduler '{}' (host {}, pid {}) stopped sending heartbeats (last at "
        "{}) while this run "
        "was in progress",
        s.id, s.host, s.pid, last_beat);
  }
  if (s.host == host && !process_alive(static_cast<long>(s.pid), s.id)) {
    return fmt::format(
        "sked::Interrupted: the process of scheduler '{}' (host {}, pid {}) ended while this run "
        "was in progress",
        s.id, s.host, s.pid);
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
