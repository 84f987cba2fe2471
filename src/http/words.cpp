// A trigger in words, for the dashboard: "every 15 minutes", "at 09:30 on Monday to Friday",
// "once, at 2026-12-01 15:02:39Z". The common cron shapes are put in words; anything else is named
// field by field, so that nothing is ever described wrongly.

#include "http/words.hpp"

#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include "detail/cron_parser.hpp"
#include "http/html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sked::http::detail {
namespace {

// "1 hour", "15 minutes": the largest unit the duration is a whole number of.
std::string amount(Duration d) {
  struct Unit {
    Duration size;
    const char* one;
    const char* many;
  };
  static const std::array<Unit, 7> units{{
      {std::chrono::hours{24 * 7}, "week", "weeks"},
      {std::chrono::hours{24}, "day", "days"},
      {std::chrono::hours{1}, "hour", "hours"},
      {std::chrono::minutes{1}, "minute", "minutes"},
      {std::chrono::seconds{1}, "second", "seconds"},
      {std::chrono::milliseconds{1}, "millisecond", "milliseconds"},
      {std::chrono::microseconds{1}, "microsecond", "microseconds"},
  }};
  for (const Unit& u : units) {
    if (d.count() > 0 && d % u.size == Duration::zero()) {
      const auto n = d / u.size;
      return n == 1 ? fmt::format("1 {}", u.one) : fmt::format("{} {}", n, u.many);
    }
  }
  return fmt::format("{} microseconds", d.count());
}

std::string every(Duration d) {
  const std::string a = amount(d);
  return a.starts_with("1 ") ? "every " + a.substr(2) : "every " + a;
}

std::optional<int> whole(std::string_view text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::vector<std::string> split(std::string_view text, char by) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(by, start);
    out.emplace_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// "a", "a and b", "a, b and c".
std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

// Names a list of values and ranges ("1-5,7"), each value named by `name`; empty when the field
// uses anything else (steps, L, W, #).
std::string named(std::string_view field,
                  const std::function<std::optional<std::string>(std::string_view)>& name) {
  std::vector<std::string> parts;
  for (const std::string& part : split(field, ',')) {
    const auto range = split(part, '-');
    if (range.size() == 1) {
      const auto one = name(range[0]);
      if (!one) return {};
      parts.push_back(*one);
    } else if (range.size() == 2) {
      const auto from = name(range[0]);
      const auto to = name(range[1]);
      if (!from || !to) return {};
      parts.push_back(*from + " to " + *to);
    } else {
      return {};
    }
  }
  return listed(parts);
}

constexpr std::array<const char*, 7> day_names{"Sunday",   "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday"};
constexpr std::array<const char*, 12> month_names{"January",   "February", "March",    "April",
                                                  "May",       "June",     "July",     "August",
                                                  "September", "October",  "November", "December"};

// A weekday: a number (crontab: 0 and 7 are Sunday; field style: 0 is Monday) or a name.
std::optional<std::string> weekday(std::string_view text, bool monday_zero) {
  if (const auto n = whole(text)) {
    if (*n < 0 || *n > 7) return std::nullopt;
    const int sunday_zero = monday_zero ? (*n + 1) % 7 : *n % 7;
    return day_names[static_cast<std::size_t>(sunday_zero)];
  }
  const std::string t = lower(std::string{text});
  for (const char* day : day_names) {
    if (t.size() == 3 && lower(day).starts_with(t)) return day;
  }
  return std::nullopt;
}

std::optional<std::string> month(std::string_view text) {
  if (const auto n = whole(text)) {
    if (*n < 1 || *n > 12) return std::nullopt;
    return month_names[static_cast<std::size_t>(*n - 1)];
  }
  const std::string t = lower(std::string{text});
  for (const char* m : month_names) {
    if (t.size() == 3 && lower(m).starts_with(t)) return m;
  }
  return std::nullopt;
}

std::optional<std::string> plain(std::string_view text) {
  if (!whole(text)) return std::nullopt;
  return std::string{text};
}

// The six fields of a cron schedule, and how to read their weekdays.
struct Fields {
  std::string second = "0", minute = "*", hour = "*", day = "*", month = "*", weekday = "*",
              year = "*";
  bool monday_zero = false;    // the field style counts weekdays from Monday
  bool day_or_weekday = true;  // crontab: a day of the month or a weekday; field style: both
};

std::optional<int> step_of(std::string_view field) {
  if (!field.starts_with("*/")) return std::nullopt;
  return whole(field.substr(2));
}

std::string two(int n) { return fmt::format("{:02}", n); }

// When in the day: "at 09:30", "every 15 minutes", "every hour at minute 5"; empty when the shape
// is not one of these.
std::string time_words(const Fields& f) {
  const auto s = whole(f.second);
  const auto m = whole(f.minute);
  const auto h = whole(f.hour);
  if (s && m && h)
    return *s == 0 ? fmt::format("at {}:{}", two(*h), two(*m))
                   : fmt::format("at {}:{}:{}", two(*h), two(*m), two(*s));
  // Several hours at one minute: "at 09:30 and 18:30".
  if (s && *s == 0 && m) {
    std::vector<std::string> times;
    for (const std::string& hour : split(f.hour, ',')) {
      const auto n = whole(hour);
      if (!n) {
        times.clear();
        break;
      }
      times.push_back(two(*n) + ":" + two(*m));
    }
    if (!times.empty()) return "at " + listed(times);
  }
  const bool every_hour = f.hour == "*";
  if (every_hour && f.minute == "*" && f.second == "*") return "every second";
  if (every_hour && f.minute == "*" && s)
    return *s == 0 ? "every minute" : fmt::format("every minute at second {}", *s);
  if (every_hour && f.minute == "*") {
    if (const auto n = step_of(f.second)) return every(std::chrono::seconds{*n});
  }
  if (every_hour && s && *s == 0) {
    if (const auto n = step_of(f.minute)) return every(std::chrono::minutes{*n});
    if (m) return *m == 0 ? "every hour, on the hour" : fmt::format("every hour at minute {}", *m);
  }
  if (s && *s == 0 && m) {
    if (const auto n = step_of(f.hour))
      return fmt::format("{} at minute {}", every(std::chrono::hours{*n}), *m);
  }
  if (s && *s == 0) {
    const std::string hours = named(f.hour, plain);
    if (!hours.empty()) {
      if (const auto n = step_of(f.minute))
        return fmt::format("{} during hour {}", every(std::chrono::minutes{*n}), hours);
      if (f.minute == "*") return fmt::format("every minute during hour {}", hours);
    }
  }
  return {};
}

std::string cron_words(const Fields& f, const std::optional<TimeZone>& zone) {
  std::string when = time_words(f);
  if (when.empty())
    when = fmt::format("at second {}, minute {}, hour {}", f.second, f.minute, f.hour);
  std::vector<std::string> days;
  if (f.day != "*" && f.day != "?") {
    const std::string d = named(f.day, plain);
    days.push_back(d.empty() ? fmt::format("day-of-month field '{}'", f.day)
                             : "day " + d + " of the month");
  }
  if (f.weekday != "*" && f.weekday != "?") {
    const std::string w =
        named(f.weekday, [&](std::string_view t) { return weekday(t, f.monday_zero); });
    days.push_back(w.empty() ? fmt::format("weekday field '{}'", f.weekday) : w);
  }
  std::string out = when;
  if (days.empty()) {
    if (out.starts_with("at ")) out = "every day " + out;
  } else {
    out += " on " + (days.size() == 2
                         ? days[0] + (f.day_or_weekday ? " or " : " if it is a ") + days[1]
                         : days[0]);
  }
  if (f.month != "*") {
    const std::string m = named(f.month, month);
    out += m.empty() ? fmt::format(", month field '{}'", f.month) : " in " + m;
  }
  if (f.year != "*") out += fmt::format(", year {}", f.year);
  if (zone && zone->name() != "UTC" && zone->name() != "Etc/UTC")
    out += fmt::format(" ({})", zone->name());
  return out;
}

std::string crontab_words(const CronTrigger& cron) {
  std::string text = cron.crontab();
  if (const auto fields = sked::detail::crontab_nickname(text)) text = std::string{*fields};
  std::vector<std::string> parts;
  for (const std::string& p : split(text, ' ')) {
    if (!p.empty()) parts.push_back(p);
  }
  Fields f;
  if (parts.size() == 5) {
    f = {"0", parts[0], parts[1], parts[2], parts[3], parts[4]};
  } else if (parts.size() == 6 || parts.size() == 7) {
    f = {parts[0],
         parts[1],
         parts[2],
         parts[3],
         parts[4],
         parts[5],
         parts.size() == 7 ? parts[6] : "*"};
  } else {
    return {};
  }
  // cronie: with both a day of the month and a weekday restricted, either matches.
  f.day_or_weekday = true;
  return cron_words(f, cron.timezone());
}

std::string field_style_words(const CronTrigger& cron) {
  const auto& o = cron.fields();
  // Unset fields above the most significant set one are '*', below it their minimum.
  const std::array<const std::optional<CronTrigger::Field>*, 8> given{
      &o.year, &o.month, &o.day, &o.week, &o.day_of_week, &o.hour, &o.minute, &o.second};
  const std::array<const char*, 8> minimum{"*", "1", "1", "*", "*", "0", "0", "0"};
  bool set_above = false;
  std::array<std::string, 8> text;
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (*given[i]) {
      text[i] = (*given[i])->text();
      set_above = true;
    } else {
      text[i] = set_above ? minimum[i] : "*";
    }
  }
  if (text[3] != "*") return {};  // ISO weeks: named field by field below
  Fields f{text[7], text[6], text[5], text[2], text[1], text[4], text[0]};
  f.monday_zero = true;
  f.day_or_weekday = false;
  // A day or month at its minimum only because a less significant field was set reads as every day.
  if (!o.day) f.day = "*";
  if (!o.month) f.month = "*";
  return cron_words(f, cron.timezone());
}

}  // namespace

std::string trigger_words(const Trigger& trigger) {
  if (const auto* interval = dynamic_cast<const IntervalTrigger*>(&trigger)) {
    std::string out = every(interval->interval());
    if (interval->jitter() > Duration::zero())
      out += ", up to " + amount(interval->jitter()) + " late";
    return out;
  }
  if (const auto* date = dynamic_cast<const DateTrigger*>(&trigger)) {
    return "once, at " + show_time(date->run_date());
  }
  if (const auto* cron = dynamic_cast<const CronTrigger*>(&trigger)) {
    std::string out = cron->crontab().empty() ? field_style_words(*cron) : crontab_words(*cron);
    if (out.empty()) return {};
    if (cron->jitter() > Duration::zero()) out += ", up to " + amount(cron->jitter()) + " late";
    return out;
  }
  if (const auto* combined = dynamic_cast<const CombiningTrigger*>(&trigger)) {
    std::vector<std::string> parts;
    for (const auto& t : combined->triggers()) {
      const std::string w = trigger_words(*t);
      if (w.empty()) return {};
      parts.push_back(w);
    }
    if (dynamic_cast<const AndTrigger*>(combined))
      return "when all of these agree: " + listed(parts);
    if (dynamic_cast<const OrTrigger*>(combined))
      return "whenever any of these fires: " + listed(parts);
  }
  return {};
}

}  // namespace sked::http::detail
