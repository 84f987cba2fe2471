#pragma once
// Reads the two ways of writing a cron schedule into a CronSchedule. Both throw CronSyntaxError
// naming the field, the token, its column and what is allowed.

#include <sked/export.hpp>  // SKED_API here: sked::http and the tool link these, not part of the API
#include "detail/cron_schedule.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sked::detail {

/// The field style's fields, most significant first: year, month, day, week, day_of_week, hour,
/// minute, second (APScheduler's order, which its defaulting rule depends on).
inline constexpr std::array<std::string_view, 8> field_names{
    "year", "month", "day", "week", "day_of_week", "hour", "minute", "second"};
using FieldTexts = std::array<std::optional<std::string>, 8>;

/// The five fields a crontab nickname (`@daily`, any case) stands for; empty for anything else.
/// `@reboot` is not a schedule and has none.
[[nodiscard]] SKED_API std::optional<std::string_view> crontab_nickname(std::string_view nick);

/// A crontab line with cronie's semantics (see docs/cron.md).
[[nodiscard]] CronSchedule parse_crontab(std::string_view expression);

/// APScheduler's fields; unset ones follow its defaulting rule.
[[nodiscard]] CronSchedule parse_fields(const FieldTexts& given);

}  // namespace sked::detail
