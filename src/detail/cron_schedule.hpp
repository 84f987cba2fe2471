#pragma once
// A compiled cron schedule: one bit set per field, and the search for the next matching wall-clock
// second. Knows nothing of time zones; the trigger maps wall-clock seconds to instants.

#include <date/date.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sked::detail {

/// The days of a month that one day field selects. Day-of-month and day-of-week rules both compile
/// to this, because Quartz's `L`, `W` and `#` and APScheduler's `last fri` all depend on the month
/// at hand.
struct DayRule {
  // Bit d: day d of the month (1..31).
  std::uint32_t days = 0;
  // Bit d: the Monday-Friday day nearest day d, within the month (dW).
  std::uint32_t nearest_weekday = 0;
  // The month's last day (L, last).
  bool last_day = false;
  // The month's last Monday-Friday day (LW).
  bool last_weekday = false;
  // Bit w: every weekday w of the month (0 = Sunday).
  std::uint8_t weekdays = 0;
  // Per weekday (0 = Sunday): bit k = its (k+1)-th in the month, bit 5 = its last.
  std::array<std::uint8_t, 7> nth{};

  [[nodiscard]] bool empty() const noexcept;
  /// The days this rule selects in a month whose first day is weekday `first_weekday` (0 = Sunday)
  /// and whose last day is `last`; `weekday_days` is `weekdays` already expanded for that first
  /// weekday.
  [[nodiscard]] std::uint32_t days_in(unsigned first_weekday, unsigned last,
                                      std::uint32_t weekday_days) const noexcept;
};

inline constexpr int min_year = 1970;
inline constexpr int max_year = 9999;

struct CronSchedule {
  std::uint64_t second_bits = 0;  // bit s
  std::uint64_t minute_bits = 0;  // bit m
  std::uint32_t hour_bits = 0;    // bit h
  std::uint16_t month_bits = 0;   // bit m (1..12)
  DayRule dom;
  DayRule dow;
  /// Vixie's rule: when both day fields are restricted (neither starts with `*`), a day matches if
  /// either does; otherwise it must match both. The field style always ANDs.
  bool dom_or_dow = false;
  std::uint64_t week_bits = 0;  // bit w (1..53); only consulted when restricted
  bool any_week = true;
  std::vector<std::uint64_t> years;  // bit (y - min_year); empty means every year
  /// None of second, minute and hour starts with `*`: picks the DST rules (see docs/cron.md).
  bool fixed_time = false;

  /// Precomputes what the search needs; call once after the fields are set.
  void finish();

  /// The first wall-clock second at or after `from` that matches, searching no further than the end
  /// of year `last_year`. Jumps field by field (never steps second by second), so an impossible
  /// schedule costs at most a few thousand month checks.
  [[nodiscard]] std::optional<date::local_seconds> next_match(date::local_seconds from,
                                                              int last_year) const;
  /// Whether a wall-clock second matches.
  [[nodiscard]] bool matches(date::local_seconds t) const;
  /// The matching days of a month as a bit set (bit d = day d).
  [[nodiscard]] std::uint32_t day_mask(int year, unsigned month) const;
  /// The last year the search may reach from `year`: the year field's last year, or 400 years on
  /// (the Gregorian calendar repeats every 400 years, so a schedule unmatched by then never
  /// matches).
  [[nodiscard]] int search_limit(int year) const noexcept;

 private:
  [[nodiscard]] bool year_ok(int year) const noexcept;
  [[nodiscard]] int next_year(
      int year) const noexcept;  // first allowed year >= year, or max_year + 1

  int last_allowed_year_ = max_year;
  // dom.weekdays / dow.weekdays expanded per first weekday of the month (index 0 = Sunday).
  std::array<std::uint32_t, 7> dom_weekday_days_{};
  std::array<std::uint32_t, 7> dow_weekday_days_{};
};

/// ISO-8601 week number (1..53) of a date.
[[nodiscard]] unsigned iso_week(date::year_month_day ymd) noexcept;

}  // namespace sked::detail
