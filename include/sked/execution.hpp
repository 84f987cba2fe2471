#pragma once
// One fire time of one job, and what became of it.

#include <sked/time.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sked {

/// django-apscheduler's statuses ("Started execution", "Executed", "Error!", "Missed!",
/// "Max instances!"), plus `interrupted` for a run whose process died.
enum class ExecutionStatus { started, executed, error, missed, max_instances, interrupted };

[[nodiscard]] std::string_view to_string(ExecutionStatus status) noexcept;
/// Reads `to_string`'s output back.
[[nodiscard]] std::optional<ExecutionStatus> parse_execution_status(std::string_view text) noexcept;

/// An execution record. Stores write it when a run is claimed (`started`, `missed`, `max_instances`)
/// and update it when the run completes.
struct Execution {
  std::int64_t id = 0;
  std::string job_id{};
  ExecutionStatus status = ExecutionStatus::started;
  TimePoint run_time{};
  std::optional<Duration> duration{};
  std::optional<TimePoint> finished{};
  /// For errors: "std::runtime_error: disk full", "timed out after 30s".
  std::string exception{};
  std::string traceback{};

  friend bool operator==(const Execution&, const Execution&) = default;
};

/// Filters for reading execution history, newest first.
struct ExecutionQuery {
  /// One record by its id.
  std::optional<std::int64_t> id{};
  std::optional<std::string> job_id{};
  std::optional<ExecutionStatus> status{};
  std::optional<TimePoint> since{};
  std::size_t limit = 100;
};

}  // namespace sked
