// `sked next [--tz ZONE] [--from ISO8601] [-n N] EXPR` and `sked next --field NAME=VALUE ...`: the
// next N fire times of a schedule, one per line, so a schedule can be checked before it is
// deployed.

#include "commands.hpp"

#include <sked/errors.hpp>
#include <sked/time.hpp>
#include <sked/triggers/cron.hpp>

#include <fmt/format.h>

#include <array>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sked::cli {
namespace {

struct NextArgs {
  std::string tz;
  std::string from;
  int count = 5;
  std::vector<std::string> fields;
  // Words joined by blanks, so an unquoted crontab line works too.
  std::vector<std::string> expression;
};

constexpr std::array<std::string_view, 8> cron_fields{"year",        "month", "day",    "week",
                                                      "day_of_week", "hour",  "minute", "second"};

std::optional<CronTrigger::Field>& slot(CronTrigger::Options& o, std::string_view name) {
  if (name == "year") return o.year;
  if (name == "month") return o.month;
  if (name == "day") return o.day;
  if (name == "week") return o.week;
  if (name == "day_of_week") return o.day_of_week;
  if (name == "hour") return o.hour;
  if (name == "minute") return o.minute;
  return o.second;
}

// ISO-8601 with the zone's offset; UTC as +00:00 rather than Z, so every line has the same shape.
std::string format_fire_time(TimePoint t, const TimeZone& zone) {
  std::string text = format_time(t, zone);
  if (!text.empty() && text.back() == 'Z') text.replace(text.size() - 1, 1, "+00:00");
  return text;
}

CronTrigger build_trigger(const NextArgs& args, const TimeZone& zone) {
  CronTrigger::Options options;
  options.timezone = zone;
  bool any_field = false;
  for (const auto& item : args.fields) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw InvalidArgument(fmt::format("--field '{}': expected NAME=VALUE", item));
    }
    const std::string name = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (name == "start_date") {
      options.start_date = parse_time(value, zone);
    } else if (name == "end_date") {
      options.end_date = parse_time(value, zone);
    } else if (std::find(cron_fields.begin(), cron_fields.end(), name) != cron_fields.end()) {
      slot(options, name) = CronTrigger::Field{value};
      any_field = true;
    } else {
      throw InvalidArgument(
          fmt::format("--field '{}': unknown field '{}' (expected year, month, day, week, "
                      "day_of_week, hour, minute, "
                      "second, start_date or end_date)",
                      item, name));
    }
  }
  std::string expression;
  for (const auto& word : args.expression) expression += (expression.empty() ? "" : " ") + word;
  if (!expression.empty() && any_field) {
    throw InvalidArgument(
        "give either a crontab expression or --field NAME=VALUE fields, not both");
  }
  if (!expression.empty()) return CronTrigger::from_crontab(expression, options);
  if (!any_field) {
    throw InvalidArgument("give a crontab expression ('*/5 * * * *') or --field NAME=VALUE fields");
  }
  return CronTrigger{options};
}

void run_next(const NextArgs& args) {
  try {
    const TimeZone zone = args.tz.empty() ? TimeZone::local() : TimeZone::locate(args.tz);
    const TimePoint from = args.from.empty() ? SystemClock{}.now() : parse_time(args.from, zone);
    const CronTrigger trigger = build_trigger(args, zone);
    std::string out;
    std::optional<TimePoint> previous = from;  // strictly after --from
    for (int i = 0; i < args.count; ++i) {
      previous = trigger.next_fire_time(previous, from);
      if (!previous) break;
      const std::string text = format_fire_time(*previous, zone);
      // Years end at 9999, as in every store and ISO-8601 time sked reads: `10000-01-01` is none.
      if (text.find('-') != 4) break;
      out += text;
      out += '\n';
    }
    std::cout << out << std::flush;
  } catch (const Error& e) {
    fail("next", e.what(), exit_bad_input);
  }
}

}  // namespace

void register_next(CLI::App& app) {
  auto args = std::make_shared<NextArgs>();
  auto* cmd = app.add_subcommand("next", "Print the next fire times of a cron schedule");
  cmd->add_option("--tz", args->tz, "IANA time zone of the schedule (default: the local zone)");
  cmd->add_option(
      "--from", args->from,
      "Print fire times strictly after this ISO-8601 time; without an offset it is a wall "
      "time in --tz (default: now)");
  cmd->add_option("-n", args->count, "How many fire times to print (default: 5)")
      ->check(CLI::Range(0, 1000000));
  cmd->add_option(
         "--field", args->fields,
         "NAME=VALUE in APScheduler's field style (year, month, day, week, day_of_week, hour, "
         "minute, second, start_date, end_date); repeat for several")
      ->allow_extra_args(false);
  cmd->add_option(
      "expression", args->expression,
      "A crontab line: 'min hour dom mon dow', 6 fields with seconds first, 7 with a year "
      "last, or @daily and the other nicknames");
  cmd->callback([args] { run_next(*args); });
}

}  // namespace sked::cli
