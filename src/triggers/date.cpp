#include <sked/errors.hpp>
#include <sked/triggers/date.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sked {

std::optional<TimePoint> DateTrigger::next_fire_time(std::optional<TimePoint> previous,
                                                     TimePoint /*now*/) const {
  if (previous) return std::nullopt;
  return run_date_;
}

std::string DateTrigger::describe() const {
  return fmt::format("date[{}]", format_time(run_date_));
}

nlohmann::json DateTrigger::to_json() const {
  return {{"type", "date"}, {"version", 1}, {"run_date", format_time(run_date_)}};
}

DateTrigger DateTrigger::from_json(const nlohmann::json& j) {
  if (!j.contains("run_date") || !j["run_date"].is_string()) {
    throw SerializationError("date trigger: 'run_date' is missing or not a string");
  }
  return DateTrigger{parse_time(j["run_date"].get<std::string>())};
}

}  // namespace sked
