#pragma once
// The options interval and cron triggers share — start and end date, time zone, jitter — in their
// JSON form, written and read in one place so the two triggers cannot drift apart.

#include <sked/time.hpp>

#include "detail/json_integer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sked::detail {

inline void write_window(nlohmann::json& j, const std::optional<TimePoint>& start_date,
                         const std::optional<TimePoint>& end_date,
                         const std::optional<TimeZone>& timezone, Duration jitter,
                         std::uint64_t jitter_seed) {
  if (start_date) j["start_date"] = format_time(*start_date);
  if (end_date) j["end_date"] = format_time(*end_date);
  if (timezone) j["timezone"] = std::string{timezone->name()};
  if (jitter > Duration::zero()) {
    j["jitter_us"] = jitter.count();
    j["jitter_seed"] = jitter_seed;
  }
}

/// Fills the shared fields of a trigger's Options (anything with start_date, end_date, timezone,
/// jitter and jitter_seed). Throws what parse_time, TimeZone::locate and nlohmann::json throw.
template <typename Options>
void read_window(const nlohmann::json& j, Options& o) {
  if (j.contains("start_date"))
    o.start_date = parse_time(j.at("start_date").template get<std::string>());
  if (j.contains("end_date")) o.end_date = parse_time(j.at("end_date").template get<std::string>());
  if (j.contains("timezone"))
    o.timezone = TimeZone::locate(j.at("timezone").template get<std::string>());
  o.jitter = Duration{json_integer_or(j, "jitter_us", std::int64_t{0})};
  o.jitter_seed = json_integer_or(j, "jitter_seed", std::uint64_t{0});
}

}  // namespace sked::detail
