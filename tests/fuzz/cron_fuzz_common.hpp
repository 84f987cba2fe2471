#pragma once
// Shared by the cron fuzz targets: walks a few fire times of a trigger that parsed, in UTC and in
// DST zones, so a search that crashes, hangs or trips a sanitizer is found, not only a parser that
// does.

#include <sked/errors.hpp>
#include <sked/triggers/cron.hpp>

#include <optional>

namespace sked::fuzz {

inline void walk(const CronTrigger& parsed) {
  static const TimeZone zones[] = {TimeZone::utc(), TimeZone::locate("Europe/Berlin"),
                                   TimeZone::locate("Australia/Lord_Howe"),
                                   TimeZone::locate("Pacific/Chatham")};
  static const TimePoint starts[] = {parse_time("2026-03-29T00:59:59Z"),
                                     parse_time("2026-10-25T00:30:00Z"),
                                     parse_time("2099-12-31T23:59:59Z")};
  for (const auto& zone : zones) {
    const auto bound = parsed.bind(starts[0], zone);
    const CronTrigger& trigger = bound ? dynamic_cast<const CronTrigger&>(*bound) : parsed;
    for (const auto start : starts) {
      std::optional<TimePoint> t = start;
      for (int i = 0; i < 8 && t; ++i) {
        const auto next = trigger.next_fire_time(t, start);
        if (next && *next <= *t) __builtin_trap();  // fire times must move forward
        t = next;
      }
    }
  }
}

}  // namespace sked::fuzz
