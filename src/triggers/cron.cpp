#include <date/tz.h>
#include <nlohmann/json.hpp>

#include <sked/errors.hpp>
#include <sked/triggers/cron.hpp>

#include "detail/cron_parser.hpp"
#include "detail/cron_schedule.hpp"
#include "detail/jitter.hpp"
#include "detail/json_integer.hpp"
#include "detail/trigger_window.hpp"

#include <fmt/format.h>

namespace sked {
namespace {

using std::chrono::seconds;

// The field expressions in APScheduler's order (detail::field_names).
template <typename Options>
auto fields_of(Options& o) {
  return std::array{&o.year,        &o.month, &o.day,    &o.week,
                    &o.day_of_week, &o.hour,  &o.minute, &o.second};
}

date::local_seconds to_local(date::sys_seconds t, seconds offset) {
  return date::local_seconds{t.time_since_epoch() + offset};
}

date::sys_seconds to_sys(date::local_seconds t, seconds offset) {
  return date::sys_seconds{t.time_since_epoch() - offset};
}

int year_of(date::local_seconds t) {
  return static_cast<int>(date::year_month_day{std::chrono::floor<date::days>(t)}.year());
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

CronTrigger::CronTrigger(Options options) {
  detail::FieldTexts texts;
  const auto given = fields_of(options);
  const auto kept = fields_of(fields_);
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (*given[i]) {
      texts[i] = (*given[i])->text();
      *kept[i] = *given[i];
    }
  }
  schedule_ = std::make_shared<const detail::CronSchedule>(detail::parse_fields(texts));
  take_options(options);
}

CronTrigger CronTrigger::from_crontab(std::string_view expression, Options options) {
  for (const auto* field : fields_of(options)) {
    if (*field) {
      throw InvalidArgument(
          fmt::format("cron trigger: from_crontab('{}') takes its fields from the expression; "
                      "options may set only "
                      "start_date, end_date, timezone and jitter",
                      expression));
    }
  }
  CronTrigger trigger;
  trigger.schedule_ =
      std::make_shared<const detail::CronSchedule>(detail::parse_crontab(expression));
  trigger.crontab_ = std::string{trim(expression)};
  trigger.take_options(options);
  return trigger;
}

CronTrigger CronTrigger::from_crontab(std::string_view expression) {
  return from_crontab(expression, Options{});
}

CronTrigger CronTrigger::from_crontab(std::string_view expression, const TimeZone& zone) {
  return from_crontab(expression, Options{.timezone = zone});
}

void CronTrigger::take_options(const Options& options) {
  start_date_ = options.start_date;
  end_date_ = options.end_date;
  timezone_ = options.timezone;
  jitter_ = options.jitter;
  if (start_date_ && end_date_ && *end_date_ < *start_date_) {
    throw InvalidArgument(fmt::format("cron trigger: end_date {} is before start_date {}",
                                      format_time(*end_date_), format_time(*start_date_)));
  }
  if (jitter_ < Duration::zero()) {
    throw InvalidArgument(
        fmt::format("cron trigger: jitter {} must not be negative", format_duration(jitter_)));
  }
  // A seed only matters with jitter; leaving it 0 otherwise keeps equal schedules equal.
  if (jitter_ > Duration::zero())
    jitter_seed_ = options.jitter_seed != 0 ? options.jitter_seed : detail::random_jitter_seed();
}

bool CronTrigger::fixed_time() const noexcept { return schedule_->fixed_time; }

TimePoint CronTrigger::jittered(TimePoint grid_time) const noexcept {
  return detail::jittered(grid_time, jitter_, jitter_seed_);
}

std::optional<TimePoint> CronTrigger::next_fire_time(std::optional<TimePoint> previous,
                                                     TimePoint now) const {
  TimePoint from = now;
  if (previous) {
    // With jitter, `previous` lies up to `jitter` after its grid time: look again from there, so
    // that no grid time is skipped and none fires twice.
    from = *previous + Duration{1} - jitter_;
  }
  if (start_date_ && *start_date_ > from) from = *start_date_;
  for (;;) {
    const auto grid = next_grid_time(from);
    if (!grid) return std::nullopt;
    const TimePoint fire = jittered(*grid);
    if (previous && fire <= *previous) {
      from = *grid + Duration{1};
      continue;
    }
    if (end_date_ && fire > *end_date_) return std::nullopt;
    return fire;
  }
}

std::optional<TimePoint> CronTrigger::next_grid_time(TimePoint from) const {
  using date::local_info;
  const auto& schedule = *schedule_;
  const auto start = std::chrono::ceil<seconds>(from);
  // How far the search may go: the schedule's own limit, and no further than the end date's year
  // (local years run at most a day ahead of UTC ones).
  int last_year = schedule.search_limit(year_of(date::local_seconds{start.time_since_epoch()}) + 1);
  if (end_date_) {
    const date::year_month_day end{std::chrono::floor<date::days>(*end_date_)};
    last_year = std::min(last_year, static_cast<int>(end.year()) + 1);
  }

  const TimeZone* zone = timezone_ && timezone_->get() != nullptr ? &*timezone_ : nullptr;
  if (zone == nullptr) {
    const auto match = schedule.next_match(to_local(start, seconds{0}), last_year);
    if (!match) return std::nullopt;
    return to_sys(*match, seconds{0});
  }

  const date::sys_info info = zone->get_info(start);
  auto lo = to_local(start, info.offset);
  const bool wildcard = !schedule.fixed_time;

  if (wildcard && info.end < start + date::days{2}) {
    // `start` may lie in the first pass of a repeated hour. A wildcard schedule fires in the rest
    // of that pass first, then in the whole second pass, whose wall times lie *before* `lo`.
    const date::sys_info next = zone->get_info(info.end);
    const auto second_pass = to_local(info.end, next.offset);
    if (next.offset < info.offset && lo >= second_pass) {
      const auto match = schedule.next_match(lo, last_year);
      if (match && *match < to_local(info.end, info.offset)) return to_sys(*match, info.offset);
      lo = second_pass;
    }
  }

  for (;;) {
    const auto match = schedule.next_match(lo, last_year);
    if (!match) return std::nullopt;
    // Most matches lie well inside the offset period of `start`: skip the wall-clock lookup for
    // them.
    const auto fast = to_sys(*match, info.offset);
    if (info.begin < fast - date::days{2} && fast + date::days{2} < info.end) return fast;

    const local_info li = zone->get_info(*match);
    switch (li.result) {
      case local_info::unique:
        return to_sys(*match, li.first.offset);
      case local_info::ambiguous: {
        // Repeated wall time: the first occurrence, and for a wildcard schedule the second one too.
        const auto first = to_sys(*match, li.first.offset);
        if (first >= start) return first;
        const auto second = to_sys(*match, li.second.offset);
        if (wildcard && second >= start) return second;
        lo = *match + seconds{1};
        break;
      }
      case local_info::nonexistent: {
        // Skipped wall time: a fixed-time schedule fires once, at the first instant after the gap.
        const date::sys_seconds after_gap = li.second.begin;
        if (!wildcard && after_gap >= start) return after_gap;
        lo = std::max(*match + seconds{1}, to_local(after_gap, li.second.offset));
        break;
      }
    }
  }
}

std::string CronTrigger::describe() const {
  std::string out = "cron[";
  if (!crontab_.empty()) {
    out += fmt::format("'{}'", crontab_);
  } else {
    bool first = true;
    const auto given = fields_of(fields_);
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (!*given[i]) continue;
      out +=
          fmt::format("{}{}='{}'", first ? "" : ", ", detail::field_names[i], (*given[i])->text());
      first = false;
    }
  }
  if (jitter_ > Duration::zero()) out += fmt::format(", jitter={}", format_duration(jitter_));
  return out + "]";
}

nlohmann::json CronTrigger::to_json() const {
  nlohmann::json j{{"type", "cron"}, {"version", 1}};
  if (!crontab_.empty()) {
    j["crontab"] = crontab_;
  } else {
    nlohmann::json fields = nlohmann::json::object();
    const auto given = fields_of(fields_);
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (*given[i]) fields[std::string{detail::field_names[i]}] = (*given[i])->text();
    }
    j["fields"] = std::move(fields);
  }
  detail::write_window(j, start_date_, end_date_, timezone_, jitter_, jitter_seed_);
  return j;
}

CronTrigger CronTrigger::from_json(const nlohmann::json& j) {
  try {
    const int version = detail::json_integer_or(j, "version", 0);
    if (version != 1) {
      throw SerializationError(
          fmt::format("cron trigger: version {} is not one this sked reads (1)", version));
    }
    Options o;
    detail::read_window(j, o);
    if (j.contains("crontab")) return from_crontab(j.at("crontab").get<std::string>(), o);
    if (!j.contains("fields") || !j.at("fields").is_object()) {
      throw SerializationError("cron trigger: expected a 'crontab' string or a 'fields' object");
    }
    const auto& fields = j.at("fields");
    const auto slots = fields_of(o);
    for (const auto& [name, value] : fields.items()) {
      const auto it = std::find(detail::field_names.begin(), detail::field_names.end(), name);
      if (it == detail::field_names.end()) {
        throw SerializationError(fmt::format("cron trigger: unknown field '{}'", name));
      }
      const auto i = static_cast<std::size_t>(it - detail::field_names.begin());
      *slots[i] = Field{value.get<std::string>()};
    }
    return CronTrigger{o};
  } catch (const SerializationError&) {
    throw;
  } catch (const nlohmann::json::exception& e) {
    throw SerializationError(fmt::format("cron trigger: {}", e.what()));
  } catch (const Error& e) {
    throw SerializationError(fmt::format("cron trigger: {}", e.what()));
  }
}

std::shared_ptr<const Trigger> CronTrigger::bind(TimePoint /*now*/,
                                                 const TimeZone& default_zone) const {
  if (timezone_) return nullptr;
  auto bound = std::make_shared<CronTrigger>(*this);
  bound->timezone_ = default_zone;
  return bound;
}

bool operator==(const CronTrigger& a, const CronTrigger& b) noexcept {
  const auto fa = fields_of(a.fields_);
  const auto fb = fields_of(b.fields_);
  for (std::size_t i = 0; i < fa.size(); ++i) {
    if (*fa[i] != *fb[i]) return false;
  }
  return a.crontab_ == b.crontab_ && a.start_date_ == b.start_date_ && a.end_date_ == b.end_date_ &&
         a.timezone_ == b.timezone_ && a.jitter_ == b.jitter_ && a.jitter_seed_ == b.jitter_seed_;
}

}  // namespace sked
