#pragma once
// Integer fields of stored JSON documents, read without undefined behaviour: nlohmann's
// get<int64_t>() converts a float such as 5e19 with a plain cast, which is undefined when it does
// not fit (found by tests/fuzz/job_state_fuzz.cpp). A field that is not an integer of the wanted
// range is an error.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <utility>

namespace sked::detail {

/// j[key] as a T; throws nlohmann::json::exception (as get<T>() does for a wrong type) when it is
/// missing, not an integer, or out of T's range.
template <typename T>
T json_integer(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (std::in_range<T>(i)) return static_cast<T>(i);
  }
  throw nlohmann::json::out_of_range::create(
      406,
      fmt::format("'{}' must be an integer from {} to {}, not {}", key,
                  std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                  v.dump().substr(0, 40)),
      &j);
}

/// Like json_integer, `fallback` when the key is absent.
template <typename T>
T json_integer_or(const nlohmann::json& j, const char* key, T fallback) {
  return j.contains(key) ? json_integer<T>(j, key) : fallback;
}

}  // namespace sked::detail
