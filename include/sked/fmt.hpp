#pragma once
// fmt formatters for sked's enums: `fmt::format("{}", scheduler.state())` gives `running`.
//
// Opt-in: sked itself does not make fmt a dependency of its users, so only a program that uses fmt
// includes this header (and links fmt itself). Format specs are those of a string: `{:>10}`.

#include <sked/names.hpp>

#include <fmt/format.h>

#include <string_view>

namespace sked::detail {
template <typename Enum>
struct enum_formatter : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(Enum value, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(to_string(value), ctx);
  }
};
}  // namespace sked::detail

template <>
struct fmt::formatter<sked::SchedulerState> : sked::detail::enum_formatter<sked::SchedulerState> {};
template <>
struct fmt::formatter<sked::LogLevel> : sked::detail::enum_formatter<sked::LogLevel> {};
template <>
struct fmt::formatter<sked::EventKind> : sked::detail::enum_formatter<sked::EventKind> {};
template <>
struct fmt::formatter<sked::ExecutionStatus> : sked::detail::enum_formatter<sked::ExecutionStatus> {
};
