#pragma once
// Events and listeners: everything the scheduler does, as APScheduler reports it.

#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/time.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sked {

enum class EventKind : std::uint32_t {
  scheduler_started = 1u << 0,
  scheduler_shutdown = 1u << 1,
  scheduler_paused = 1u << 2,
  scheduler_resumed = 1u << 3,
  executor_added = 1u << 4,
  executor_removed = 1u << 5,
  jobstore_added = 1u << 6,
  jobstore_removed = 1u << 7,
  all_jobs_removed = 1u << 8,
  job_added = 1u << 9,
  job_removed = 1u << 10,
  job_modified = 1u << 11,
  job_executed = 1u << 12,
  job_error = 1u << 13,
  job_missed = 1u << 14,
  job_submitted = 1u << 15,
  job_max_instances = 1u << 16,
  /// A due job names a task this process does not have; reported once per job until it runs.
  job_task_unknown = 1u << 17,
};

/// A set of event kinds: `sked::EventKind::job_executed | sked::EventKind::job_error`.
using EventMask = std::uint32_t;
inline constexpr EventMask all_events = (1u << 18) - 1;

[[nodiscard]] constexpr EventMask operator|(EventKind a, EventKind b) noexcept {
  return static_cast<EventMask>(a) | static_cast<EventMask>(b);
}
[[nodiscard]] constexpr EventMask operator|(EventMask a, EventKind b) noexcept {
  return a | static_cast<EventMask>(b);
}
[[nodiscard]] SKED_API std::string_view to_string(EventKind kind) noexcept;

struct SKED_API Event {
  EventKind kind{};
  /// The job store or executor the event is about (jobstore_added, executor_removed, ...), or the
  /// job's store for job events.
  std::string alias{};
  std::string job_id{};
  /// For job_submitted / executed / error / missed / max_instances.
  std::optional<TimePoint> scheduled_run_time{};
  /// The execution record, where one was written.
  std::optional<Execution> execution{};
};

/// Called on the thread where the event happened (the scheduler's loop, an executor's worker, or
/// the caller of add_job and friends). A listener that throws is logged and otherwise ignored.
using Listener = std::function<void(const Event&)>;
using ListenerId = std::uint64_t;

}  // namespace sked
