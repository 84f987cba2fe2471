#include <sked/errors.hpp>
#include <sked/job.hpp>

#include "detail/json_limits.hpp"

#include <date/tz.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace sked {

const std::string& JobContext::job_id() const noexcept { return job_.id; }
const std::string& JobContext::job_name() const noexcept { return job_.name; }
const nlohmann::json& JobContext::args() const noexcept { return *job_.args; }

void JobContext::process_group_started(int pgid) const noexcept {
  if (!on_process_group_) return;
  try {
    on_process_group_(pgid);
  } catch (...) {
    // Recording is a safeguard for a crash; the command runs whether or not it was recorded.
  }
}

Duration RetryPolicy::delay_before(int attempt) const noexcept {
  double delay = static_cast<double>(backoff.count());
  for (int i = 2; i < attempt && delay < static_cast<double>(max_backoff.count()); ++i)
    delay *= multiplier;
  const double capped = std::min(delay, static_cast<double>(max_backoff.count()));
  return Duration{static_cast<Duration::rep>(capped)};
}

namespace {

// As APScheduler prints a time: `2026-12-01 18:00:00 UTC`, `2026-06-01 09:00:00 CEST` (the zone's
// abbreviation), with fractional seconds only when the instant has them.
std::string readable_time(TimePoint t, const TimeZone& zone) {
  std::string text = format_time(t, zone);  // 2026-06-01T09:00:00[.25](Z|+02:00)
  text.resize(text.size() - (zone == TimeZone{} ? 1 : 6));
  text[10] = ' ';
  return text + ' ' + zone.get_info(std::chrono::floor<std::chrono::seconds>(t)).abbrev;
}

}  // namespace

std::string Job::describe(const TimeZone& zone) const {
  const std::string trig = trigger ? trigger->describe() : "none";
  // The grace time is shown only when it is unusual: APScheduler's format otherwise.
  const std::string grace = misfire_grace_time == no_misfire_limit ? ", misfire grace: none" : "";
  if (!next_run_time) return fmt::format("{} (trigger: {}, paused{})", name, trig, grace);
  return fmt::format("{} (trigger: {}, next run at: {}{})", name, trig,
                     readable_time(*next_run_time, zone), grace);
}

void Job::validate() const {
  const auto bad = [&](std::string_view what) {
    return InvalidArgument(fmt::format("job '{}': {}", id, what));
  };
  if (id.empty()) throw InvalidArgument("job: the id must not be empty");
  if (task.empty() && !callable) throw bad("names no task and has no callable");
  if (!trigger) throw bad("has no trigger");
  if (max_instances < 1)
    throw bad(fmt::format("max_instances must be at least 1, got {}", max_instances));
  if (misfire_grace_time < Duration::zero()) {
    throw bad(fmt::format("misfire_grace_time must not be negative, got {}",
                          format_duration(misfire_grace_time)));
  }
  if (executor.empty()) throw bad("the executor alias must not be empty");
  if (group.size() > max_group_bytes)
    throw bad(fmt::format("group is longer than {} bytes", max_group_bytes));
  if (std::any_of(group.begin(), group.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw bad("group must not contain control characters");
  }
  if (timeout && *timeout <= Duration::zero()) {
    throw bad(fmt::format("timeout must be positive, got {}", format_duration(*timeout)));
  }
  if (retry.max_attempts < 1)
    throw bad(fmt::format("retry.max_attempts must be at least 1, got {}", retry.max_attempts));
  if (detail::json_depth(*args, max_args_depth) > max_args_depth) {
    throw bad(fmt::format("args are nested deeper than {} levels", max_args_depth));
  }
  if (retry.backoff < Duration::zero() || retry.max_backoff < Duration::zero() ||
      retry.multiplier < 1.0) {
    throw bad("retry backoff must not be negative and its multiplier must be at least 1");
  }
}

}  // namespace sked
