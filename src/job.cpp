#include <sked/errors.hpp>
#include <sked/job.hpp>

#include <fmt/format.h>

namespace sked {

const std::string& JobContext::job_id() const noexcept { return job_.id; }
const std::string& JobContext::job_name() const noexcept { return job_.name; }
const nlohmann::json& JobContext::args() const noexcept { return job_.args; }

std::string Job::describe(const TimeZone& zone) const {
  const std::string trig = trigger ? trigger->describe() : "none";
  if (!next_run_time) return fmt::format("{} (trigger: {}, paused)", name, trig);
  return fmt::format("{} (trigger: {}, next run at: {})", name, trig, format_time(*next_run_time, zone));
}

void Job::validate() const {
  const auto bad = [&](std::string_view what) {
    return InvalidArgument(fmt::format("job '{}': {}", id, what));
  };
  if (id.empty()) throw InvalidArgument("job: the id must not be empty");
  if (task.empty() && !callable) throw bad("names no task and has no callable");
  if (!trigger) throw bad("has no trigger");
  if (max_instances < 1) throw bad(fmt::format("max_instances must be at least 1, got {}", max_instances));
  if (misfire_grace_time < Duration::zero()) {
    throw bad(fmt::format("misfire_grace_time must not be negative, got {}", format_duration(misfire_grace_time)));
  }
  if (executor.empty()) throw bad("the executor alias must not be empty");
}

}  // namespace sked
