#pragma once
// The process group a run started (the `shell` task's command), as recorded with its `started`
// record, and what a scheduler does with one that outlived the scheduler that started it.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sked::detail {

/// What identifies a process group safely, although pids are reused and a store is shared by hosts:
/// the group id, the start time of its leader (the process whose pid is the group id; clock ticks
/// after boot, /proc/<pid>/stat field 22), the boot it belongs to (/proc/sys/kernel/random/boot_id)
/// and the host, for messages.
struct RunProcess {
  long pgid = 0;
  unsigned long long start_ticks = 0;
  std::string boot_id{};
  std::string host{};
};

/// The group `pgid` leads, as it is now; nothing when its leader cannot be read (it is gone, or
/// /proc is missing).
[[nodiscard]] std::optional<RunProcess> describe_process_group(pid_t pgid, const std::string& host);

/// `pgid=1234 start=5678 boot=<uuid> host=<name>`: the text stored in the record's `process`
/// column.
[[nodiscard]] std::string format_run_process(const RunProcess& process);
/// Reads `format_run_process`'s text back; nothing for anything else.
[[nodiscard]] std::optional<RunProcess> parse_run_process(std::string_view text);

/// What /proc says of a process: gone (or a zombie), stopped (SIGSTOP, a debugger's trap), or
/// running (any other state), and when it started, on the system clock.
struct ProcessLook {
  enum class State { gone, stopped, running };
  State state = State::gone;
  std::chrono::system_clock::time_point started{};
};
[[nodiscard]] ProcessLook look_at_process(long pid);

/// How long a survivor gets between SIGTERM and SIGKILL, as a command stopped by a shutdown does.
inline constexpr std::chrono::milliseconds survivor_grace{5000};

/// What became of a recorded process group when its scheduler was found dead.
struct SurvivorReport {
  /// Appended to the run's `interrupted` message (empty when the group is gone: nothing to say).
  std::string message{};
  /// The group was still running here and was signalled.
  bool stopped = false;
};

/// Deals with the group `recorded` describes, found when its run's scheduler is dead: when it still
/// runs on this boot of this host (its leader alive with the recorded start time), it gets SIGTERM,
/// then SIGKILL after `grace`, and this waits (up to `grace` and one more second) until it is gone.
/// A group on another host cannot be seen from here, and is said to be so. Never throws.
[[nodiscard]] SurvivorReport stop_survivor(
    std::string_view recorded, const std::string& host,
    std::chrono::milliseconds grace = survivor_grace) noexcept;

}  // namespace sked::detail
