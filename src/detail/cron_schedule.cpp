#include "detail/cron_schedule.hpp"

#include <date/iso_week.h>

#include <bit>

namespace sked::detail {
namespace {

constexpr unsigned none = 64;

// The first set bit at or above `from`, or `none`.
template <typename Bits>
unsigned next_bit(Bits bits, unsigned from) noexcept {
  if (from >= sizeof(Bits) * 8) return none;
  const auto rest = static_cast<std::uint64_t>(bits) >> from;
  if (rest == 0) return none;
  return from + static_cast<unsigned>(std::countr_zero(rest));
}

// Bits 1..last set.
constexpr std::uint32_t days_up_to(unsigned last) noexcept {
  return static_cast<std::uint32_t>(((std::uint64_t{1} << (last + 1)) - 1) & ~std::uint64_t{1});
}

// Weekday (0 = Sunday) of day `d` in a month whose first day is `first_weekday`.
constexpr unsigned weekday_of(unsigned first_weekday, unsigned d) noexcept {
  return (first_weekday + d - 1) % 7;
}

}  // namespace

bool DayRule::empty() const noexcept {
  if (days != 0 || nearest_weekday != 0 || last_day || last_weekday || weekdays != 0) return false;
  for (const auto n : nth) {
    if (n != 0) return false;
  }
  return true;
}

std::uint32_t DayRule::days_in(unsigned first_weekday, unsigned last,
                               std::uint32_t weekday_days) const noexcept {
  const std::uint32_t valid = days_up_to(last);
  std::uint32_t out = (days | weekday_days) & valid;
  if (last_day) out |= 1u << last;
  if (last_weekday) {
    const unsigned wd = weekday_of(first_weekday, last);
    out |= 1u << (wd == 6 ? last - 1 : wd == 0 ? last - 2 : last);
  }
  for (std::uint32_t w = nearest_weekday & valid; w != 0; w &= w - 1) {
    // Quartz's W: the nearest Monday-Friday day, never leaving the month (1W on a Saturday is
    // Monday 3rd).
    const auto d = static_cast<unsigned>(std::countr_zero(w));
    const unsigned wd = weekday_of(first_weekday, d);
    unsigned hit = d;
    if (wd == 6) hit = d > 1 ? d - 1 : d + 2;
    if (wd == 0) hit = d < last ? d + 1 : d - 2;
    out |= 1u << hit;
  }
  for (unsigned w = 0; w < 7; ++w) {
    if (nth[w] == 0) continue;
    const unsigned first = 1 + (w + 7 - first_weekday) % 7;
    for (unsigned k = 0; k < 5; ++k) {
      const unsigned d = first + 7 * k;
      if ((nth[w] & (1u << k)) != 0 && d <= last) out |= 1u << d;
    }
    if ((nth[w] & (1u << 5)) != 0) out |= 1u << (first + 7 * ((last - first) / 7));
  }
  return out;
}

unsigned iso_week(date::year_month_day ymd) noexcept {
  const iso_week::year_weeknum_weekday iso{date::sys_days{ymd}};
  return static_cast<unsigned>(iso.weeknum());
}

void CronSchedule::finish() {
  for (unsigned f = 0; f < 7; ++f) {
    std::uint32_t dom_mask = 0;
    std::uint32_t dow_mask = 0;
    for (unsigned d = 1; d <= 31; ++d) {
      const unsigned wd = weekday_of(f, d);
      if ((dom.weekdays & (1u << wd)) != 0) dom_mask |= 1u << d;
      if ((dow.weekdays & (1u << wd)) != 0) dow_mask |= 1u << d;
    }
    dom_weekday_days_[f] = dom_mask;
    dow_weekday_days_[f] = dow_mask;
  }
  last_allowed_year_ = max_year;
  if (!years.empty()) {
    last_allowed_year_ = min_year - 1;
    for (int y = max_year; y >= min_year; --y) {
      if (year_ok(y)) {
        last_allowed_year_ = y;
        break;
      }
    }
  }
}

bool CronSchedule::year_ok(int year) const noexcept {
  if (years.empty()) return true;
  if (year < min_year || year > max_year) return false;
  const auto i = static_cast<unsigned>(year - min_year);
  return (years[i / 64] >> (i % 64) & 1u) != 0;
}

int CronSchedule::next_year(int year) const noexcept {
  if (years.empty()) return year;
  if (year < min_year) year = min_year;
  for (auto i = static_cast<unsigned>(year - min_year);
       i <= static_cast<unsigned>(max_year - min_year);) {
    const auto rest = years[i / 64] >> (i % 64);
    if (rest != 0)
      return min_year + static_cast<int>(i + static_cast<unsigned>(std::countr_zero(rest)));
    i = (i / 64 + 1) * 64;
  }
  return max_year + 1;
}

int CronSchedule::search_limit(int year) const noexcept {
  return years.empty() ? year + 400 : last_allowed_year_;
}

std::uint32_t CronSchedule::day_mask(int year, unsigned month) const {
  const date::year_month ym{date::year{year}, date::month{month}};
  const unsigned first_weekday = date::weekday{date::sys_days{ym / 1}}.c_encoding();
  const auto last_day = static_cast<unsigned>(date::year_month_day_last{ym / date::last}.day());
  const std::uint32_t a = dom.days_in(first_weekday, last_day, dom_weekday_days_[first_weekday]);
  const std::uint32_t b = dow.days_in(first_weekday, last_day, dow_weekday_days_[first_weekday]);
  std::uint32_t mask = dom_or_dow ? (a | b) : (a & b);
  if (!any_week && mask != 0) {
    // ISO weeks change on Mondays: look the week up on day 1 and on each Monday after it.
    unsigned week = iso_week(date::year_month_day{ym / 1});
    for (unsigned d = 1; d <= last_day; ++d) {
      if (d > 1 && weekday_of(first_weekday, d) == 1)
        week = iso_week(date::year_month_day{ym / date::day{d}});
      if ((week_bits >> week & 1u) == 0) mask &= ~(1u << d);
    }
  }
  return mask;
}

std::optional<date::local_seconds> CronSchedule::next_match(date::local_seconds from,
                                                            int last_year) const {
  const auto from_day = std::chrono::floor<date::days>(from);
  const date::year_month_day ymd{from_day};
  const date::hh_mm_ss<std::chrono::seconds> tod{from - from_day};
  int y = static_cast<int>(ymd.year());
  auto mo = static_cast<unsigned>(ymd.month());
  auto d = static_cast<unsigned>(ymd.day());
  auto h = static_cast<unsigned>(tod.hours().count());
  auto mi = static_cast<unsigned>(tod.minutes().count());
  auto s = static_cast<unsigned>(tod.seconds().count());

  // Each step either accepts the current value of a field or moves it to the next allowed value and
  // resets every less significant field to its start; a field with no value left carries into the
  // field above it. The day mask is computed once per month visited.
  int mask_year = 0;
  unsigned mask_month = 0;
  std::uint32_t mask = 0;
  for (;;) {
    if (!year_ok(y)) {
      y = next_year(y);
      mo = 1, d = 1, h = 0, mi = 0, s = 0;
    }
    if (y > last_year) return std::nullopt;
    const unsigned next_month = next_bit(month_bits, mo);
    if (next_month > 12) {
      ++y, mo = 1, d = 1, h = 0, mi = 0, s = 0;
      continue;
    }
    if (next_month != mo) mo = next_month, d = 1, h = 0, mi = 0, s = 0;
    if (mask_year != y || mask_month != mo) {
      mask = day_mask(y, mo);
      mask_year = y, mask_month = mo;
    }
    const unsigned next_day = next_bit(mask, d);
    if (next_day == none) {
      ++mo, d = 1, h = 0, mi = 0, s = 0;
      continue;
    }
    if (next_day != d) d = next_day, h = 0, mi = 0, s = 0;
    const unsigned next_hour = next_bit(hour_bits, h);
    if (next_hour > 23) {
      ++d, h = 0, mi = 0, s = 0;
      continue;
    }
    if (next_hour != h) h = next_hour, mi = 0, s = 0;
    const unsigned next_minute = next_bit(minute_bits, mi);
    if (next_minute > 59) {
      ++h, mi = 0, s = 0;
      continue;
    }
    if (next_minute != mi) mi = next_minute, s = 0;
    const unsigned next_second = next_bit(second_bits, s);
    if (next_second > 59) {
      ++mi, s = 0;
      continue;
    }
    const date::year_month_day day{date::year{y}, date::month{mo}, date::day{d}};
    return date::local_days{day} + std::chrono::hours{h} + std::chrono::minutes{mi} +
           std::chrono::seconds{next_second};
  }
}

bool CronSchedule::matches(date::local_seconds t) const {
  const auto day = std::chrono::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> tod{t - day};
  const int y = static_cast<int>(ymd.year());
  const auto mo = static_cast<unsigned>(ymd.month());
  return year_ok(y) && (month_bits >> mo & 1u) != 0 &&
         (day_mask(y, mo) >> static_cast<unsigned>(ymd.day()) & 1u) != 0 &&
         (hour_bits >> tod.hours().count() & 1u) != 0 &&
         (minute_bits >> tod.minutes().count() & 1u) != 0 &&
         (second_bits >> tod.seconds().count() & 1u) != 0;
}

}  // namespace sked::detail
