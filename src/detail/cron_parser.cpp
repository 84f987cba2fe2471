#include "detail/cron_parser.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <vector>

namespace sked::detail {
namespace {

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
// Crontab counts Sunday as 0 (and 7); APScheduler counts Monday as 0.
constexpr std::array<std::string_view, 7> cron_day_names{"sun", "mon", "tue", "wed",
                                                         "thu", "fri", "sat"};
constexpr std::array<std::string_view, 7> aps_day_names{"mon", "tue", "wed", "thu",
                                                        "fri", "sat", "sun"};

enum class Kind { second, minute, hour, dom, month, dow, year, week };
enum class Dialect { crontab, fields };

struct Spec {
  Kind kind;
  std::string_view name;  // as errors show it
  int min;
  int max;
  const std::string_view* names = nullptr;  // names[i] means name_base + i
  std::size_t name_count = 0;
  int name_base = 0;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A digit string's value, saturated so that huge numbers stay huge instead of overflowing.
std::int64_t digits_value(std::string_view s) {
  std::int64_t v = 0;
  for (const char c : s) v = std::min<std::int64_t>(v * 10 + (c - '0'), std::int64_t{1} << 40);
  return v;
}

// What one field collects before it becomes part of the schedule.
struct Collected {
  std::vector<bool> values;  // indexed by value, min..max
  DayRule rule;              // the day fields' L, W, # and nth-weekday rules
  // The current element has a name (the field style refuses steps after names).
  bool used_names = false;
};

class FieldReader {
 public:
  FieldReader(std::string_view expression, const Spec& spec, Dialect dialect)
      : expression_(expression), spec_(spec), dialect_(dialect) {
    out_.values.assign(static_cast<std::size_t>(spec.max) + 1, false);
  }

  // Reads the comma-separated list `field`, which starts at column `at` of the expression.
  Collected read(std::string_view field, std::size_t at) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = field.find(',', start);
      const std::size_t end = comma == std::string_view::npos ? field.size() : comma;
      std::string_view element = field.substr(start, end - start);
      std::size_t pos = at + start;
      if (dialect_ == Dialect::fields) {
        // APScheduler allows blanks around the commas.
        while (!element.empty() && is_blank(element.front())) element.remove_prefix(1), ++pos;
        while (!element.empty() && is_blank(element.back())) element.remove_suffix(1);
      }
      if (element.empty()) fail("", pos, "empty element in the list");
      if (dialect_ == Dialect::crontab) {
        crontab_element(element, pos);
      } else {
        fields_element(element, pos);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(std::string_view token, std::size_t pos, std::string problem) const {
    throw CronSyntaxError(std::string{spec_.name}, std::string{token}, pos,
                          std::string{expression_}, std::move(problem));
  }

  std::string allowed() const {
    std::string out = fmt::format("{}-{}", spec_.min, spec_.max);
    if (spec_.names != nullptr) {
      out += fmt::format(" or a name {}-{}", spec_.names[0], spec_.names[spec_.name_count - 1]);
    }
    return out;
  }

  // A number or a name filling all of `token`, which starts at column `pos`.
  int value(std::string_view token, std::size_t pos) {
    if (token.empty()) fail(token, pos, fmt::format("expected a value {}", allowed()));
    if (all_digits(token)) {
      const auto v = digits_value(token);
      if (v < spec_.min || v > spec_.max) {
        fail(token, pos, fmt::format("'{}' is out of range {}-{}", token, spec_.min, spec_.max));
      }
      return static_cast<int>(v);
    }
    for (std::size_t i = 0; i < spec_.name_count; ++i) {
      if (iequals(token, spec_.names[i])) {
        out_.used_names = true;
        return spec_.name_base + static_cast<int>(i);
      }
    }
    fail(token, pos,
         fmt::format("'{}' is not {}", token, spec_.names ? "a number or a name" : "a number") +
             fmt::format(" (expected {})", allowed()));
  }

  std::int64_t step(std::string_view token, std::size_t pos) {
    if (!all_digits(token)) {
      fail(token, pos,
           token.empty() ? std::string{"expected a step after '/'"}
                         : fmt::format("step '{}' is not a number", token));
    }
    const auto n = digits_value(token);
    if (n == 0) fail(token, pos, "step '0' must be at least 1");
    return n;
  }

  void set(int v) { out_.values[static_cast<std::size_t>(v)] = true; }

  // Sets a..b by `step`. Cron ranges may wrap around the end of a cyclic field (fri-mon, 22-2).
  void set_range(int a, int b, std::int64_t step_by, std::string_view token, std::size_t pos) {
    if (a <= b) {
      for (std::int64_t v = a; v <= b; v += step_by) set(static_cast<int>(v));
      return;
    }
    if (dialect_ == Dialect::fields || spec_.kind == Kind::year) {
      fail(token, pos,
           fmt::format("range '{}' runs backwards{}", token,
                       dialect_ == Dialect::fields ? " (only crontab ranges wrap around)" : ""));
    }
    const int span = spec_.kind == Kind::dow ? 7 : spec_.max - spec_.min + 1;
    const int length = (b - a + span) % span;
    for (std::int64_t k = 0; k <= length; k += step_by) {
      set(spec_.min + static_cast<int>((a - spec_.min + k) % span));
    }
  }

  void crontab_element(std::string_view e, std::size_t pos) {
    if (e.front() == '*' || e.front() == '?') {
      // '?' is Quartz's "no specific value": the same as '*'.
      const std::string_view rest = e.substr(1);
      if (rest.empty()) return set_range(spec_.min, spec_.max, 1, e, pos);
      if (rest.front() != '/')
        fail(e, pos, fmt::format("unexpected '{}' after '{}'", rest, e.front()));
      return set_range(spec_.min, spec_.max, step(rest.substr(1), pos + 2), e, pos);
    }
    if (spec_.kind == Kind::dom && day_of_month_extension(e, pos)) return;
    if (spec_.kind == Kind::dow && day_of_week_extension(e, pos)) return;

    const std::size_t slash = e.find('/');
    const std::string_view body = e.substr(0, slash);
    const std::size_t dash = body.find('-');
    int a = value(body.substr(0, dash), pos);
    if (dash == std::string_view::npos) {
      if (slash != std::string_view::npos) {
        // cronie rejects 'a/n'; croner and FreeBSD read it as a-max/n. Refuse rather than guess.
        fail(e, pos,
             fmt::format("'{}' has a step but no range (write '{}-{}/{}' or '*/{}')", e, body,
                         spec_.max == 7 ? 6 : spec_.max, e.substr(slash + 1), e.substr(slash + 1)));
      }
      return set(spec_.kind == Kind::dow && a == 7 ? 0 : a);
    }
    int b = value(body.substr(dash + 1), pos + dash + 1);
    const std::int64_t n =
        slash == std::string_view::npos ? 1 : step(e.substr(slash + 1), pos + slash + 1);
    if (spec_.kind == Kind::dow) {
      // Sunday is 0 and 7: 'sat-sun' is 6-7 (as cronie reads it), '7-2' is sun-tue, '7-7' is
      // Sunday.
      if (a == 7 && b < 7) a = 0;
      if (a > b && b == 0) b = 7;
    }
    set_range(a, b, n, body, pos);
  }

  // L (last day), LW (last weekday), 15W (weekday nearest the 15th).
  bool day_of_month_extension(std::string_view e, std::size_t pos) {
    if (iequals(e, "L")) return out_.rule.last_day = true;
    if (iequals(e, "LW")) return out_.rule.last_weekday = true;
    if (e.size() > 1 && (e.back() == 'W' || e.back() == 'w')) {
      const int d = value(e.substr(0, e.size() - 1), pos);
      out_.rule.nearest_weekday |= 1u << d;
      return true;
    }
    return false;
  }

  // 5L (last Friday), 5#3 (third Friday).
  bool day_of_week_extension(std::string_view e, std::size_t pos) {
    if (const std::size_t hash = e.find('#'); hash != std::string_view::npos) {
      const int w = value(e.substr(0, hash), pos) % 7;
      const std::string_view k = e.substr(hash + 1);
      if (!all_digits(k) || digits_value(k) < 1 || digits_value(k) > 5) {
        fail(k, pos + hash + 1,
             fmt::format("'{}' is not an occurrence 1-5 (as in 5#3, the third Friday)", k));
      }
      out_.rule.nth[static_cast<std::size_t>(w)] |=
          static_cast<std::uint8_t>(1u << (digits_value(k) - 1));
      return true;
    }
    if (e.size() > 1 && (e.back() == 'L' || e.back() == 'l')) {
      const int w = value(e.substr(0, e.size() - 1), pos) % 7;
      out_.rule.nth[static_cast<std::size_t>(w)] |= 1u << 5;
      return true;
    }
    return false;
  }

  void fields_element(std::string_view e, std::size_t pos) {
    out_.used_names = false;  // per element: 'jan,5/7' is fine, 'mon-fri/2' is not
    if (e.front() == '*') {
      const std::string_view rest = e.substr(1);
      if (rest.empty()) return set_range(spec_.min, spec_.max, 1, e, pos);
      if (rest.front() != '/') fail(e, pos, fmt::format("unexpected '{}' after '*'", rest));
      const auto n = step(rest.substr(1), pos + 2);
      if (n > spec_.max - spec_.min) {
        fail(rest.substr(1), pos + 2,
             fmt::format("step {} is larger than the range {}-{} allows", n, spec_.min, spec_.max));
      }
      return set_range(spec_.min, spec_.max, n, e, pos);
    }
    if (spec_.kind == Kind::dom && weekday_position(e, pos)) return;

    const std::size_t slash = e.find('/');
    const std::string_view body = e.substr(0, slash);
    const std::size_t dash = body.find('-');
    const int a = value(body.substr(0, dash), pos);
    const int b = dash != std::string_view::npos    ? value(body.substr(dash + 1), pos + dash + 1)
                  : slash != std::string_view::npos ? spec_.max  // APScheduler: 'a/n' runs a..max
                                                    : a;
    std::int64_t n = 1;
    if (slash != std::string_view::npos) {
      if (out_.used_names) {
        // APScheduler silently drops a step after names ('mon-fri/2' is every weekday): refuse it
        // rather than differ silently from code ported from APScheduler.
        fail(e, pos, fmt::format("'{}': a step after names is not supported; use numbers", e));
      }
      n = step(e.substr(slash + 1), pos + slash + 1);
      if (a <= b && n > b - a) {
        fail(e.substr(slash + 1), pos + slash + 1,
             fmt::format("step {} is larger than the range {}-{} allows", n, a, b));
      }
    }
    set_range(a, b, n, body, pos);
  }

  // APScheduler's day expressions: 'last', 'last fri', '2nd mon'.
  bool weekday_position(std::string_view e, std::size_t pos) {
    if (iequals(e, "last")) return out_.rule.last_day = true;
    const std::size_t blank = e.find_first_of(" \t");
    if (blank == std::string_view::npos) return false;
    const std::string_view which = e.substr(0, blank);
    std::size_t name_at = blank;
    while (name_at < e.size() && is_blank(e[name_at])) ++name_at;
    const std::string_view day_name = e.substr(name_at);
    constexpr std::array<std::string_view, 6> positions{"1st", "2nd", "3rd", "4th", "5th", "last"};
    const auto k = std::find_if(positions.begin(), positions.end(),
                                [&](std::string_view p) { return iequals(p, which); });
    if (k == positions.end()) {
      fail(which, pos, fmt::format("'{}' is not 1st, 2nd, 3rd, 4th, 5th or last", which));
    }
    const auto w = std::find_if(aps_day_names.begin(), aps_day_names.end(),
                                [&](std::string_view n) { return iequals(n, day_name); });
    if (w == aps_day_names.end()) {
      fail(day_name, pos + name_at, fmt::format("'{}' is not a day name mon-sun", day_name));
    }
    const auto weekday =
        static_cast<std::size_t>((w - aps_day_names.begin() + 1) % 7);  // 0 = Sunday
    out_.rule.nth[weekday] |= static_cast<std::uint8_t>(1u << (k - positions.begin()));
    return true;
  }

  std::string_view expression_;
  const Spec& spec_;
  Dialect dialect_;
  Collected out_;
};

template <typename Bits>
Bits to_bits(const Collected& c, int min, int max) {
  Bits bits = 0;
  for (int v = min; v <= max; ++v) {
    if (c.values[static_cast<std::size_t>(v)]) bits |= static_cast<Bits>(Bits{1} << v);
  }
  return bits;
}

void set_years(CronSchedule& s, const Collected& c) {
  const auto n = static_cast<std::size_t>(max_year - min_year + 1);
  if (std::all_of(c.values.begin() + min_year, c.values.end(), [](bool b) { return b; })) return;
  s.years.assign((n + 63) / 64, 0);
  for (int y = min_year; y <= max_year; ++y) {
    if (c.values[static_cast<std::size_t>(y)]) {
      const auto i = static_cast<std::size_t>(y - min_year);
      s.years[i / 64] |= std::uint64_t{1} << (i % 64);
    }
  }
}

bool starts_with_star(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  return !text.empty() && (text.front() == '*' || text.front() == '?');
}

constexpr Spec cron_second{Kind::second, "second", 0, 59};
constexpr Spec cron_minute{Kind::minute, "minute", 0, 59};
constexpr Spec cron_hour{Kind::hour, "hour", 0, 23};
constexpr Spec cron_dom{Kind::dom, "day of month", 1, 31};
constexpr Spec cron_month{Kind::month, "month", 1, 12, month_names.data(), month_names.size(), 1};
constexpr Spec cron_dow{
    Kind::dow, "day of week", 0, 7, cron_day_names.data(), cron_day_names.size(), 0};
constexpr Spec cron_year{Kind::year, "year", min_year, max_year};

struct Token {
  std::string_view text;
  std::size_t pos;
};

[[noreturn]] void whole_expression_error(std::string_view expression, std::string problem) {
  throw CronSyntaxError("expression", std::string{expression}, 0, std::string{expression},
                        std::move(problem));
}

}  // namespace

std::optional<std::string_view> crontab_nickname(std::string_view nick) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> nicknames{{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  for (const auto& [name, meaning] : nicknames) {
    if (iequals(nick, name)) return meaning;
  }
  return std::nullopt;
}

CronSchedule parse_crontab(std::string_view expression) {
  std::vector<Token> tokens;
  for (std::size_t i = 0; i < expression.size();) {
    if (is_blank(expression[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < expression.size() && !is_blank(expression[i])) ++i;
    tokens.push_back({expression.substr(start, i - start), start});
  }
  if (tokens.empty()) whole_expression_error(expression, "the expression is empty");

  if (tokens.front().text.front() == '@') {
    const std::string_view nick = tokens.front().text;
    if (const auto meaning = crontab_nickname(nick)) {
      if (tokens.size() != 1) {
        throw CronSyntaxError("expression", std::string{tokens[1].text}, tokens[1].pos,
                              std::string{expression},
                              fmt::format("unexpected '{}' after '{}'", tokens[1].text, nick));
      }
      return parse_crontab(*meaning);
    }
    throw CronSyntaxError(
        "expression", std::string{nick}, tokens.front().pos, std::string{expression},
        fmt::format("unknown nickname '{}' (expected @yearly, @annually, @monthly, "
                    "@weekly, @daily, @midnight or @hourly)",
                    nick));
  }
  if (tokens.size() < 5 || tokens.size() > 7) {
    whole_expression_error(
        expression, fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), 6 "
                                "(seconds first) or 7 (and a year last), got {}",
                                tokens.size()));
  }

  const bool with_seconds = tokens.size() >= 6;
  const std::size_t first = with_seconds ? 1 : 0;
  const auto read = [&](const Spec& spec, const Token& t) {
    return FieldReader{expression, spec, Dialect::crontab}.read(t.text, t.pos);
  };
  CronSchedule s;
  if (with_seconds) {
    s.second_bits = to_bits<std::uint64_t>(read(cron_second, tokens[0]), 0, 59);
  } else {
    s.second_bits = 1;  // second 0
  }
  s.minute_bits = to_bits<std::uint64_t>(read(cron_minute, tokens[first]), 0, 59);
  s.hour_bits = to_bits<std::uint32_t>(read(cron_hour, tokens[first + 1]), 0, 23);
  const Collected dom = read(cron_dom, tokens[first + 2]);
  s.month_bits = to_bits<std::uint16_t>(read(cron_month, tokens[first + 3]), 1, 12);
  const Collected dow = read(cron_dow, tokens[first + 4]);
  if (tokens.size() == 7) set_years(s, read(cron_year, tokens[6]));

  s.dom = dom.rule;
  s.dom.days = to_bits<std::uint32_t>(dom, 1, 31);
  s.dow = dow.rule;
  s.dow.weekdays = static_cast<std::uint8_t>(to_bits<std::uint32_t>(dow, 0, 7) & 0x7f);
  if (dow.values[7]) s.dow.weekdays |= 1;  // 7 is Sunday too
  // Vixie's rule, keyed on the text as cronie keys it: '*', '*/2' and '*,5' all count as
  // unrestricted.
  s.dom_or_dow =
      !starts_with_star(tokens[first + 2].text) && !starts_with_star(tokens[first + 4].text);
  s.fixed_time = !starts_with_star(tokens[first].text) &&
                 !starts_with_star(tokens[first + 1].text) &&
                 !(with_seconds && starts_with_star(tokens[0].text));
  s.finish();
  return s;
}

CronSchedule parse_fields(const FieldTexts& given) {
  // APScheduler's defaulting rule: fields after the least significant given one take their minimum,
  // fields before it (and between given ones) are '*'.
  constexpr std::array<std::string_view, 8> defaults{"*", "1", "1", "*", "*", "0", "0", "0"};
  int last_given = -1;
  for (int i = 0; i < 8; ++i) {
    if (given[static_cast<std::size_t>(i)]) last_given = i;
  }
  std::array<std::string, 8> text;
  for (std::size_t i = 0; i < 8; ++i) {
    if (given[i]) {
      text[i] = *given[i];
    } else {
      text[i] = last_given >= 0 && static_cast<int>(i) > last_given ? defaults[i] : "*";
    }
  }

  static constexpr std::array<Spec, 8> specs{{
      {Kind::year, "year", min_year, max_year},
      {Kind::month, "month", 1, 12, month_names.data(), month_names.size(), 1},
      {Kind::dom, "day", 1, 31},
      {Kind::week, "week", 1, 53},
      {Kind::dow, "day_of_week", 0, 6, aps_day_names.data(), aps_day_names.size(), 0},
      {Kind::hour, "hour", 0, 23},
      {Kind::minute, "minute", 0, 59},
      {Kind::second, "second", 0, 59},
  }};
  std::array<Collected, 8> c;
  for (std::size_t i = 0; i < 8; ++i) {
    std::string_view t = text[i];
    std::size_t at = 0;
    while (!t.empty() && is_blank(t.front())) t.remove_prefix(1), ++at;
    while (!t.empty() && is_blank(t.back())) t.remove_suffix(1);
    if (t.empty()) {
      throw CronSyntaxError(std::string{specs[i].name}, "", 0, text[i], "the expression is empty");
    }
    c[i] = FieldReader{text[i], specs[i], Dialect::fields}.read(t, at);
  }

  CronSchedule s;
  set_years(s, c[0]);
  s.month_bits = to_bits<std::uint16_t>(c[1], 1, 12);
  s.dom = c[2].rule;
  s.dom.days = to_bits<std::uint32_t>(c[2], 1, 31);
  s.week_bits = to_bits<std::uint64_t>(c[3], 1, 53);
  constexpr std::uint64_t every_week = ((std::uint64_t{1} << 54) - 1) & ~std::uint64_t{1};
  s.any_week = s.week_bits == every_week;
  for (int v = 0; v <= 6; ++v) {
    if (c[4].values[static_cast<std::size_t>(v)])
      s.dow.weekdays |= static_cast<std::uint8_t>(1u << ((v + 1) % 7));
  }
  s.hour_bits = to_bits<std::uint32_t>(c[5], 0, 23);
  s.minute_bits = to_bits<std::uint64_t>(c[6], 0, 59);
  s.second_bits = to_bits<std::uint64_t>(c[7], 0, 59);
  s.dom_or_dow = false;  // APScheduler ANDs every field
  s.fixed_time =
      !starts_with_star(text[5]) && !starts_with_star(text[6]) && !starts_with_star(text[7]);
  s.finish();
  return s;
}

}  // namespace sked::detail
