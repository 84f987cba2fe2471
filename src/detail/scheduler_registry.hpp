#pragma once
// What stores that register their schedulers (SQLite, PostgreSQL) share: naming a scheduler, and
// telling whether a registered scheduler on this host still has a process.

#include <sked/stores/registered_scheduler.hpp>

#include "detail/process.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sked::detail {

/// This host's name; "unknown-host" when it cannot be read.
[[nodiscard]] std::string host_name();

/// A random number for ids and jittered pauses (a per-thread generator).
[[nodiscard]] std::uint64_t random_u64();

/// `host:pid:random`: unique among the live processes sharing a store.
[[nodiscard]] std::string default_scheduler_id(const std::string& host);

/// Marks a scheduler id as alive in this process (a store constructed) or no longer (destroyed).
void add_live_scheduler(const std::string& scheduler_id);
void remove_live_scheduler(const std::string& scheduler_id);

/// Whether the process of a scheduler registered from this host with `pid` still runs. A scheduler
/// with this process's pid that is not live here was left by an earlier process with the same pid.
[[nodiscard]] bool process_alive(long pid, const std::string& scheduler_id);

/// How much later than a scheduler's registration its process may seem to have started (the wall
/// clock stepped between the two) before its pid counts as reused by another process.
inline constexpr std::chrono::seconds pid_reuse_slack{60};

/// Why a registered scheduler is dead (the message its unfinished runs are recorded `interrupted`
/// with), or nothing while it lives. On `host`, this one, its process answers: gone (or its pid
/// reused) is dead, running is alive whatever its heartbeat, stopped is judged by `stale`. On
/// another host, `stale`: its heartbeat is older than the store allows (`last_beat` says when),
/// unless `locked`: its `LivenessLock` is held, so its process runs on this kernel (a container
/// with a host name of its own).
[[nodiscard]] std::optional<std::string> death(const RegisteredScheduler& s, bool stale,
                                               std::string_view last_beat, const std::string& host,
                                               bool locked = false);

/// The lock a store that claims holds for its scheduler while its process lives, on one byte
/// (chosen by the scheduler id) of a small file next to the database (`<file>-live`): an open file
/// description lock (`F_OFD_SETLK`), which the kernel drops when the process ends, however it ends,
/// and which every process on this kernel sees, whatever its PID namespace. Never on the database
/// file itself: closing any descriptor of a file drops the process's POSIX locks on it, SQLite's
/// own among them. Not thread-safe; the store calls it under its lock.
class LivenessLock {
 public:
  /// Opens `file` (created with mode 0600 when missing) and locks the byte of `scheduler_id`; false
  /// when either fails (the store then relies on its heartbeat alone).
  bool hold(const std::string& file, const std::string& scheduler_id);
  /// Whether another open file description holds the byte of `scheduler_id` in `file`: a live
  /// process (or a child it forked without exec) has it. False when `file` cannot be opened.
  [[nodiscard]] bool held(const std::string& file, const std::string& scheduler_id);

 private:
  UniqueFd fd_;
  bool writable_ = false;
};

/// Hands a store's warning to `on_warning`, or writes it to stderr when there is none. Never
/// throws: a broken callback must not break the store.
void report_warning(const std::function<void(std::string_view)>& on_warning,
                    const std::string& message) noexcept;

}  // namespace sked::detail
