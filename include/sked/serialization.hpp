#pragma once
// The JSON form of triggers and jobs. Every document carries a version; readers refuse what they do
// not understand with a `SerializationError` instead of guessing.

#include <sked/export.hpp>
#include <sked/job.hpp>
#include <sked/trigger.hpp>

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <string>

namespace sked {

using TriggerReader = std::function<std::shared_ptr<const Trigger>(const nlohmann::json&)>;

/// Reads any trigger written by `Trigger::to_json`, dispatching on its "type". Throws
/// `SerializationError` naming the type or field that is wrong.
[[nodiscard]] SKED_API std::shared_ptr<const Trigger> trigger_from_json(const nlohmann::json& j);

/// Teaches `trigger_from_json` a trigger type of your own. Thread-safe.
SKED_API void register_trigger_type(std::string type, TriggerReader reader);

/// The version written into job documents.
inline constexpr int job_state_version = 1;

/// A job's persistent state (everything but its id and next run time, which stores keep in
/// columns). Throws `SerializationError` for a job bound to a plain callable: such a job cannot be
/// persisted.
[[nodiscard]] SKED_API nlohmann::json job_state_to_json(const Job& job);
/// Reads `job_state_to_json`'s output back. Throws `SerializationError` naming the job id and
/// field.
[[nodiscard]] SKED_API Job job_from_state_json(std::string id,
                                               std::optional<TimePoint> next_run_time,
                                               const nlohmann::json& state);

}  // namespace sked
