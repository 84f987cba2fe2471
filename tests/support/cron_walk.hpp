#pragma once
// Walking a cron trigger's fire times, shared by the cron tests.

#include <sked/triggers/cron.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sked::test {

/// The next `n` fire times strictly after `from` (read in the trigger's zone when it has no
/// offset), formatted in the trigger's zone (UTC prints `Z`).
inline std::vector<std::string> walk(const CronTrigger& trigger, std::string_view from, int n) {
  const auto zone = trigger.timezone().value_or(TimeZone::utc());
  std::vector<std::string> out;
  std::optional<TimePoint> t = parse_time(from, zone);
  const auto now = *t;
  for (int i = 0; i < n; ++i) {
    t = trigger.next_fire_time(t, now);
    if (!t) break;
    out.push_back(format_time(*t, zone));
  }
  return out;
}

}  // namespace sked::test
