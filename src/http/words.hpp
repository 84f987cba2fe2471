#pragma once
// A trigger in words, for the dashboard's pages (beside the trigger as written).

#include <sked/trigger.hpp>

#include <string>

namespace sked::http::detail {

/// "every 15 minutes", "every day at 09:30", "at 09:00 on Monday to Friday", "once, at
/// 2026-12-01 15:02:39Z"; a cron field it cannot put in words is quoted as written. Empty for a
/// trigger of a kind it does not know (an application's own).
[[nodiscard]] std::string trigger_words(const Trigger& trigger);

}  // namespace sked::http::detail
