#include <sked/execution.hpp>

#include <array>
#include <utility>

namespace sked {
namespace {

constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 6> status_names{{
    {ExecutionStatus::started, "started"},
    {ExecutionStatus::executed, "executed"},
    {ExecutionStatus::error, "error"},
    {ExecutionStatus::missed, "missed"},
    {ExecutionStatus::max_instances, "max_instances"},
    {ExecutionStatus::interrupted, "interrupted"},
}};

}  // namespace

std::string_view to_string(ExecutionStatus status) noexcept {
  for (const auto& [s, name] : status_names) {
    if (s == status) return name;
  }
  return "unknown";
}

std::optional<ExecutionStatus> parse_execution_status(std::string_view text) noexcept {
  for (const auto& [s, name] : status_names) {
    if (name == text) return s;
  }
  return std::nullopt;
}

}  // namespace sked
