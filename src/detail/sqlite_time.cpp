#include "detail/sqlite_time.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

namespace sked::detail {
namespace {

constexpr std::size_t db_time_size = sizeof("2026-01-01T09:30:00.000000Z") - 1;

// Reads `n` decimal digits at `pos`; -1 when any is not a digit.
long digits(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  long v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string format_db_time(TimePoint t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  if (ymd.year() < year{0} || ymd.year() > year{9999}) {
    throw InvalidArgument(
        fmt::format("the instant {} us after 1970 is outside the years 0000-9999 that a "
                    "job store can hold",
                    t.time_since_epoch().count()));
  }
  const hh_mm_ss tod{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     tod.hours().count(), tod.minutes().count(), tod.seconds().count(),
                     tod.subseconds().count());
}

std::optional<TimePoint> parse_db_time(std::string_view text) noexcept {
  using namespace std::chrono;
  // The fast path reads exactly what format_db_time writes: every claim reads one per due job.
  if (text.size() == db_time_size && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
      text[13] == ':' && text[16] == ':' && text[19] == '.' && text[26] == 'Z') {
    const long y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    const long h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
    const long us = digits(text, 20, 6);
    const year_month_day ymd{year{static_cast<int>(y)}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (y >= 0 && mo >= 0 && d >= 0 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 60 &&
        us >= 0 && ymd.ok()) {
      return TimePoint{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{s} + microseconds{us};
    }
    return std::nullopt;
  }
  try {
    return parse_time(text);
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace sked::detail
