#include <sked/errors.hpp>
#include <sked/triggers/interval.hpp>

#include "detail/jitter.hpp"
#include "detail/json_integer.hpp"
#include "detail/sqlite_time.hpp"
#include "detail/trigger_window.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sked {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::weeks;

// Longer intervals would overflow time arithmetic, and fire after the year 9999 that stores can
// write (detail::last_db_time; found by tests/fuzz/interval_fuzz.cpp).
constexpr Duration max_interval = hours{24 * 366 * 1000};

Duration interval_of(const IntervalTrigger::Options& o) {
  const auto part = [](std::int64_t n, Duration unit, const char* name) {
    const std::int64_t most = max_interval / unit;
    if (n > most || n < -most) {
      throw InvalidArgument(fmt::format(
          "interval trigger: {} {} is out of range (an interval is at most 1,000 years)", n, name));
    }
    return unit * n;
  };
  return part(o.weeks, weeks{1}, "weeks") + part(o.days, days{1}, "days") +
         part(o.hours, hours{1}, "hours") + part(o.minutes, minutes{1}, "minutes") +
         part(o.seconds, seconds{1}, "seconds");
}

// Rounds a/b up for a >= 0, b > 0.
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }
// Rounds a/b down for any a, b > 0.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0 && a < 0) ? 1 : 0);
}

}  // namespace

IntervalTrigger::IntervalTrigger(Duration interval) : IntervalTrigger(interval, Options{}) {}

IntervalTrigger::IntervalTrigger(Options options)
    : IntervalTrigger(interval_of(options), options) {}

IntervalTrigger::IntervalTrigger(Duration interval, Options options)
    : interval_(interval),
      start_date_(options.start_date),
      end_date_(options.end_date),
      timezone_(options.timezone),
      jitter_(options.jitter),
      jitter_seed_(options.jitter_seed != 0 ? options.jitter_seed : detail::random_jitter_seed()) {
  validate();
}

void IntervalTrigger::validate() const {
  if (interval_ <= Duration::zero()) {
    throw InvalidArgument(fmt::format("interval trigger: the interval must be positive, got {}",
                                      format_duration(interval_)));
  }
  if (interval_ > max_interval) {
    throw InvalidArgument(
        fmt::format("interval trigger: the interval must be at most 1,000 years, got {}",
                    format_duration(interval_)));
  }
  if (start_date_ && end_date_ && *end_date_ < *start_date_) {
    throw InvalidArgument(fmt::format("interval trigger: end_date {} is before start_date {}",
                                      format_time(*end_date_), format_time(*start_date_)));
  }
  if (jitter_ < Duration::zero() || (jitter_ > Duration::zero() && jitter_ >= interval_)) {
    throw InvalidArgument(fmt::format(
        "interval trigger: jitter {} must be at least 0 and smaller than the interval {}",
        format_duration(jitter_), format_duration(interval_)));
  }
}

TimePoint IntervalTrigger::jittered(TimePoint grid_time) const noexcept {
  return detail::jittered(grid_time, jitter_, jitter_seed_);
}

std::optional<TimePoint> IntervalTrigger::next_fire_time(std::optional<TimePoint> previous,
                                                         TimePoint now) const {
  // An unbound trigger (no start yet) counts from `now`, as bind() would have made it.
  const TimePoint start = start_date_.value_or(now + interval_);
  const auto step = interval_.count();
  TimePoint next;
  if (previous) {
    if (jitter_ > Duration::zero()) {
      // The previous fire time was jittered forward by less than one interval: recover its grid
      // slot so jitter never accumulates into drift.
      const auto k = floor_div((*previous - start).count(), step);
      next = start + Duration{(k + 1) * step};
    } else {
      next = *previous + interval_;
    }
  } else if (start > now) {
    next = start;
  } else {
    next = start + Duration{ceil_div((now - start).count(), step) * step};
  }
  const TimePoint fire = jittered(next);
  if (end_date_ && fire > *end_date_) return std::nullopt;
  return fire;
}

std::string IntervalTrigger::describe() const {
  std::string out = fmt::format("interval[{}", format_duration(interval_));
  if (jitter_ > Duration::zero()) out += fmt::format(", jitter={}", format_duration(jitter_));
  return out + "]";
}

nlohmann::json IntervalTrigger::to_json() const {
  nlohmann::json j{{"type", "interval"}, {"version", 1}, {"interval_us", interval_.count()}};
  detail::write_window(j, start_date_, end_date_, timezone_, jitter_, jitter_seed_);
  return j;
}

IntervalTrigger IntervalTrigger::from_json(const nlohmann::json& j) {
  try {
    Options o;
    Duration interval{0};
    if (j.contains("interval_us")) {
      interval = Duration{detail::json_integer<std::int64_t>(j, "interval_us")};
    } else {
      o.weeks = detail::json_integer_or(j, "weeks", std::int64_t{0});
      o.days = detail::json_integer_or(j, "days", std::int64_t{0});
      o.hours = detail::json_integer_or(j, "hours", std::int64_t{0});
      o.minutes = detail::json_integer_or(j, "minutes", std::int64_t{0});
      o.seconds = detail::json_integer_or(j, "seconds", std::int64_t{0});
      interval = interval_of(o);
    }
    detail::read_window(j, o);
    return IntervalTrigger{interval, o};
  } catch (const nlohmann::json::exception& e) {
    throw SerializationError(fmt::format("interval trigger: {}", e.what()));
  }
}

std::shared_ptr<const Trigger> IntervalTrigger::bind(TimePoint now,
                                                     const TimeZone& default_zone) const {
  if (start_date_ && timezone_) return nullptr;
  auto bound = std::make_shared<IntervalTrigger>(*this);
  if (!bound->start_date_) {
    if (now > detail::last_db_time - interval_) {
      throw InvalidArgument(
          fmt::format("interval trigger: its first fire time, {} after {}, is past the year 9999",
                      format_duration(interval_), format_time(now)));
    }
    bound->start_date_ = now + interval_;
  }
  if (!bound->timezone_) bound->timezone_ = default_zone;
  // Otherwise a paused job would be stored with a trigger whose end precedes its start, which no
  // store could read back (found by tests/fuzz/interval_fuzz.cpp).
  if (end_date_ && *end_date_ < *bound->start_date_) {
    throw InvalidArgument(
        fmt::format("interval trigger: end_date {} is before its first fire time {}",
                    format_time(*end_date_), format_time(*bound->start_date_)));
  }
  return bound;
}

}  // namespace sked
