#include "detail/json_limits.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace sked::detail {

std::optional<std::string> json_text_too_big(std::string_view text, std::size_t max_depth,
                                             std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return fmt::format("{} bytes of JSON, over the limit of {}", text.size(), max_bytes);
  }
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return fmt::format("JSON nested deeper than {} levels (at byte {})", max_depth, i);
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

std::size_t json_depth(const nlohmann::json& value, std::size_t limit) {
  // Most jobs' args: no walk, no allocation (the walk was a tenth of an add_job's instructions).
  if (!value.is_structured()) return 0;
  if (value.empty()) return 1;
  std::size_t deepest = 0;
  std::vector<std::pair<const nlohmann::json*, std::size_t>> pending{{&value, 0}};
  while (!pending.empty()) {
    const auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    const std::size_t here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > limit) return deepest;
    for (const auto& child : *v) pending.emplace_back(&child, here);
  }
  return deepest;
}

}  // namespace sked::detail
