#pragma once
// One fire time of one job, and what became of it.

#include <sked/export.hpp>
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

[[nodiscard]] SKED_API std::string_view to_string(ExecutionStatus status) noexcept;
/// Reads `to_string`'s output back.
[[nodiscard]] SKED_API std::optional<ExecutionStatus> parse_execution_status(
    std::string_view text) noexcept;

/// An execution record. Stores write it when a run is claimed (`started`, `missed`,
/// `max_instances`) and update it when the run completes.
struct SKED_API Execution {
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

/// The order `JobStore::get_executions` lists records in.
enum class ExecutionOrder {
  /// Latest run time first, then highest id: a history listing.
  newest_first,
  /// Lowest id first, the order the records were written in: with `ExecutionQuery::after_id`, what
  /// was recorded since the last read. A store whose writers run concurrently (PostgreSQL) may
  /// commit
  /// a record after one with a higher id became visible.
  oldest_id_first,
};

/// Filters and paging for reading execution history. Every store answers every field the same way;
/// the contract suite (tests/stores/store_contract_test.cpp) holds them to it.
struct SKED_API ExecutionQuery {
  /// One record by its id.
  std::optional<std::int64_t> id{};
  std::optional<std::string> job_id{};
  std::optional<ExecutionStatus> status{};
  /// Records whose run time is at or after `since`...
  std::optional<TimePoint> since{};
  /// ...and before `until`.
  std::optional<TimePoint> until{};
  /// Records with an id above this one (reading on from the last record read).
  std::optional<std::int64_t> after_id{};
  ExecutionOrder order = ExecutionOrder::newest_first;
  /// Skips this many matching records, in `order`, before the `limit` taken: a page of a listing.
  std::size_t offset = 0;
  std::size_t limit = 100;
  /// False: `exception` and `traceback` are left empty (a listing or a count that shows neither
  /// reads less).
  bool with_texts = true;
  /// At most this many characters (Unicode code points) of each `traceback`: its end, where the
  /// output of a failed command shows what went wrong. Empty: all of it.
  std::optional<std::size_t> traceback_tail{};
};
}  // namespace sked
