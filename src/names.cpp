#include <sked/names.hpp>

#include <ostream>

namespace sked {

std::string_view to_string(SchedulerState state) noexcept {
  switch (state) {
    case SchedulerState::stopped:
      return "stopped";
    case SchedulerState::running:
      return "running";
    case SchedulerState::paused:
      return "paused";
  }
  return "unknown";
}

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, SchedulerState state) { return os << to_string(state); }
std::ostream& operator<<(std::ostream& os, LogLevel level) { return os << to_string(level); }
std::ostream& operator<<(std::ostream& os, EventKind kind) { return os << to_string(kind); }
std::ostream& operator<<(std::ostream& os, ExecutionStatus status) {
  return os << to_string(status);
}

}  // namespace sked
