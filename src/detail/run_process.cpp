#include "detail/run_process.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

namespace sked::detail {
namespace {

// The fields of /proc/<pid>/stat sked reads.
struct ProcStat {
  char state = '?';
  long pgrp = 0;
  unsigned long long start_ticks = 0;
};

std::optional<ProcStat> read_stat(long pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!in || !std::getline(in, text)) return std::nullopt;
  // The command name, in parentheses, may hold spaces and parentheses: the fields start after the
  // last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  ProcStat stat;
  std::string skip;
  long ppid = 0;
  fields >> stat.state >> ppid >> stat.pgrp;
  for (int field = 6; field < 22; ++field) fields >> skip;  // session .. itrealvalue
  fields >> stat.start_ticks;
  if (!fields) return std::nullopt;
  return stat;
}

// Read once: a process never outlives its boot, and every shell run records it.
const std::string& boot_id() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    if (!in || !std::getline(in, line)) return std::string{};
    return line;
  }();
  return id;
}

// Whether the leader of the recorded group is the recorded process, still running (a zombie is
// done).
bool leader_lives(const RunProcess& p) {
  const auto stat = read_stat(p.pgid);
  return stat && stat->pgrp == p.pgid && stat->start_ticks == p.start_ticks && stat->state != 'Z' &&
         stat->state != 'X';
}

// Whether any process of group `pgid` still runs. Read from /proc rather than with kill(-pgid, 0):
// a member whose new parent does not reap it (PID 1 in many containers) stays a zombie.
bool group_lives(long pgid) {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* entry = ::readdir(dir)) {
    long pid = 0;
    const char* name = entry->d_name;
    const auto [end, ec] = std::from_chars(name, name + std::strlen(name), pid);
    if (ec != std::errc{} || *end != '\0') continue;
    const auto stat = read_stat(pid);
    if (stat && stat->pgrp == pgid && stat->state != 'Z' && stat->state != 'X') {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

bool wait_until_gone(long pgid, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (!group_lives(pgid)) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    // Waiting for another process, not for sked: there is nothing to be woken by.
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

}  // namespace

ProcessLook look_at_process(long pid) {
  ProcessLook look;
  const auto stat = pid > 0 ? read_stat(pid) : std::nullopt;
  if (!stat || stat->state == 'Z' || stat->state == 'X') return look;
  look.state = stat->state == 'T' || stat->state == 't' ? ProcessLook::State::stopped
                                                        : ProcessLook::State::running;
  // /proc/stat's btime moves with steps of the wall clock, as the schedulers' clocks do.
  long long boot = 0;
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      in >> boot;
      break;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  if (boot > 0 && ticks > 0) {
    look.started = std::chrono::system_clock::time_point{
        std::chrono::seconds{boot} +
        std::chrono::milliseconds{static_cast<long long>(stat->start_ticks * 1000 /
                                                         static_cast<unsigned long long>(ticks))}};
  }
  return look;
}

std::optional<RunProcess> describe_process_group(pid_t pgid, const std::string& host) {
  const auto stat = read_stat(pgid);
  if (!stat || stat->pgrp != pgid) return std::nullopt;
  RunProcess p;
  p.pgid = pgid;
  p.start_ticks = stat->start_ticks;
  p.boot_id = boot_id();
  p.host = host;
  if (p.boot_id.empty()) return std::nullopt;
  return p;
}

std::string format_run_process(const RunProcess& p) {
  return fmt::format("pgid={} start={} boot={} host={}", p.pgid, p.start_ticks, p.boot_id, p.host);
}

std::optional<RunProcess> parse_run_process(std::string_view text) {
  RunProcess p;
  const auto take = [&text](std::string_view key) -> std::optional<std::string_view> {
    if (text.substr(0, key.size()) != key) return std::nullopt;
    text.remove_prefix(key.size());
    const auto space = text.find(' ');
    const std::string_view value = text.substr(0, space);
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    return value;
  };
  const auto number = [](std::string_view s, auto& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
  };
  const auto pgid = take("pgid=");
  const auto start = take("start=");
  const auto boot = take("boot=");
  if (!pgid || !start || !boot || text.substr(0, 5) != "host=") return std::nullopt;
  if (!number(*pgid, p.pgid) || p.pgid <= 1 || !number(*start, p.start_ticks) || boot->empty())
    return std::nullopt;
  p.boot_id = std::string{*boot};
  p.host = std::string{text.substr(5)};
  return p;
}

SurvivorReport stop_survivor(std::string_view recorded, const std::string& host,
                             std::chrono::milliseconds grace) noexcept {
  try {
    const auto p = parse_run_process(recorded);
    if (!p) return {};
    const std::string here = boot_id();
    if (p->boot_id != here) {
      // Another boot of this host ended the group; another host's group cannot be seen from here.
      if (p->host == host) return {};
      return {fmt::format(
                  "; its command (process group {} on host {}) could not be checked from host {} "
                  "and may still be running",
                  p->pgid, p->host, host),
              false};
    }
    if (!leader_lives(*p)) return {};
    const auto group = static_cast<pid_t>(-p->pgid);
    if (::kill(group, SIGTERM) != 0) {
      return {fmt::format(
                  "; its command (process group {}) was still running and could not be stopped: {}",
                  p->pgid, std::strerror(errno)),
              false};
    }
    if (wait_until_gone(p->pgid, grace)) {
      return {fmt::format(
                  "; its command (process group {}) was still running and was stopped with SIGTERM",
                  p->pgid),
              true};
    }
    (void)::kill(group, SIGKILL);
    const bool gone = wait_until_gone(p->pgid, std::chrono::seconds{1});
    return {fmt::format(
                "; its command (process group {}) was still running and was stopped with SIGKILL{}",
                p->pgid, gone ? "" : " (it has not ended yet)"),
            true};
  } catch (...) {
    return {};
  }
}

}  // namespace sked::detail
