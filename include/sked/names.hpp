#pragma once
// Names for sked's enums, for logs and messages: `to_string` and `operator<<`.
//
// The names are the enumerators' own (`running`, `warning`, `job_error`, `missed`). To format them
// with fmt, include <sked/fmt.hpp> as well; this header depends on nothing but the standard library
// and sked.

#include <sked/events.hpp>
#include <sked/execution.hpp>
#include <sked/export.hpp>
#include <sked/scheduler.hpp>

#include <iosfwd>
#include <string_view>

namespace sked {

[[nodiscard]] SKED_API std::string_view to_string(SchedulerState state) noexcept;
[[nodiscard]] SKED_API std::string_view to_string(LogLevel level) noexcept;
// to_string(EventKind) and to_string(ExecutionStatus) live beside their enums.

/// Writes the enumerator's name: `std::cout << scheduler.state()` prints `running`.
SKED_API std::ostream& operator<<(std::ostream& os, SchedulerState state);
SKED_API std::ostream& operator<<(std::ostream& os, LogLevel level);
SKED_API std::ostream& operator<<(std::ostream& os, EventKind kind);
SKED_API std::ostream& operator<<(std::ostream& os, ExecutionStatus status);

}  // namespace sked
