#pragma once
// Bounds on the JSON sked reads. nlohmann::json parses and destroys without recursion, but copying,
// comparing and dumping a value recurse once per level: a value nested 10^5 deep overflows the
// stack. So nesting is checked on the text before it is parsed, and on values before they are
// stored.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sked::detail {

/// Deepest nesting of a stored job state: the args' own limit (`max_args_depth`), one level for the
/// state object, and room for combining triggers nested in one another.
inline constexpr std::size_t max_job_state_depth = 128;
/// Longest job state text read or written (a row can be up to 1 GB in SQLite).
inline constexpr std::size_t max_job_state_bytes = 16U * 1024 * 1024;

/// Why `text` is over the limits (too long, or arrays and objects nested deeper than `max_depth`),
/// or nothing. Does not check that it is valid JSON; the parser does.
[[nodiscard]] std::optional<std::string> json_text_too_big(std::string_view text,
                                                           std::size_t max_depth,
                                                           std::size_t max_bytes);

/// How deeply arrays and objects nest in `value` (a scalar: 0), found without recursion; stops
/// counting past `limit`.
[[nodiscard]] std::size_t json_depth(const nlohmann::json& value, std::size_t limit);

}  // namespace sked::detail
