#pragma once
// Looks at /proc to prove that tests leave no zombie or orphan processes behind.

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sked::test {

struct ProcessInfo {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
};

/// The state and parent of `pid`, or empty when it does not exist.
inline std::optional<ProcessInfo> process_info(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  ProcessInfo info;
  info.pid = pid;
  rest >> info.state >> info.ppid;
  return info;
}

/// Every process whose parent is `parent` (zombies included).
inline std::vector<ProcessInfo> children_of(pid_t parent = ::getpid()) {
  std::vector<ProcessInfo> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (const auto info = process_info(static_cast<pid_t>(std::stoi(name)));
        info && info->ppid == parent) {
      out.push_back(*info);
    }
  }
  return out;
}

/// Whether `pid` has ended. A zombie whose parent is not us counts as ended: it is dead and it is
/// its parent's (init's) to reap, which a container's init may be slow to do.
inline bool process_gone(pid_t pid) {
  const auto info = process_info(pid);
  return !info || (info->state == 'Z' && info->ppid != ::getpid());
}

/// Waits (up to `timeout` of real time) until every pid in `pids` has ended.
inline bool wait_until_gone(const std::vector<pid_t>& pids,
                            std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (const pid_t pid : pids) all = all && process_gone(pid);
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(
        std::chrono::milliseconds{2});  // polling a condition, bounded above
  }
}

}  // namespace sked::test
