#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include "detail/json_integer.hpp"
#include "detail/json_limits.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <shared_mutex>

namespace sked {
namespace {

struct Readers {
  std::shared_mutex mutex;
  std::map<std::string, TriggerReader, std::less<>> by_type;

  Readers() {
    by_type["cron"] = [](const nlohmann::json& j) {
      return std::make_shared<CronTrigger>(CronTrigger::from_json(j));
    };
    by_type["date"] = [](const nlohmann::json& j) {
      return std::make_shared<DateTrigger>(DateTrigger::from_json(j));
    };
    by_type["interval"] = [](const nlohmann::json& j) {
      return std::make_shared<IntervalTrigger>(IntervalTrigger::from_json(j));
    };
    by_type["and"] = [](const nlohmann::json& j) {
      return std::make_shared<AndTrigger>(AndTrigger::from_json(j));
    };
    by_type["or"] = [](const nlohmann::json& j) {
      return std::make_shared<OrTrigger>(OrTrigger::from_json(j));
    };
  }
};

Readers& readers() {
  static Readers instance;
  return instance;
}

}  // namespace

void register_trigger_type(std::string type, TriggerReader reader) {
  auto& r = readers();
  std::unique_lock lock(r.mutex);
  r.by_type[std::move(type)] = std::move(reader);
}

std::shared_ptr<const Trigger> trigger_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    throw SerializationError(fmt::format("trigger: expected an object with a string 'type', got {}",
                                         j.dump().substr(0, 200)));
  }
  const auto type = j["type"].get<std::string>();
  TriggerReader reader;
  {
    auto& r = readers();
    std::shared_lock lock(r.mutex);
    const auto it = r.by_type.find(type);
    if (it == r.by_type.end()) {
      throw SerializationError(fmt::format("trigger: unknown type '{}'", type));
    }
    reader = it->second;
  }
  try {
    return reader(j);
  } catch (const SerializationError&) {
    throw;
  } catch (const std::exception& e) {
    // Trigger errors already name the trigger ("interval trigger: ...").
    throw SerializationError(e.what());
  }
}

nlohmann::json job_state_to_json(const Job& job) {
  if (job.callable) {
    throw SerializationError(
        fmt::format("job '{}' runs a plain callable, which cannot be persisted: register a task by "
                    "name instead",
                    job.id));
  }
  if (!job.trigger) throw SerializationError(fmt::format("job '{}' has no trigger", job.id));
  nlohmann::json state{
      {"version", job_state_version},
      {"name", job.name},
      {"task", job.task},
      {"args", *job.args},
      {"trigger", job.trigger->to_json()},
      {"executor", job.executor},
      // null: no limit, readable in the sqlite3 shell unlike Duration::max()'s count.
      {"misfire_grace_time_us", job.misfire_grace_time == no_misfire_limit
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json(job.misfire_grace_time.count())},
      {"coalesce", job.coalesce},
      {"max_instances", job.max_instances}};
  // Only when set: a job without a group has the state it had before groups existed.
  if (!job.group.empty()) state["group"] = job.group;
  if (job.timeout) state["timeout_us"] = job.timeout->count();
  if (job.retry != RetryPolicy{}) {
    state["retry"] = {{"max_attempts", job.retry.max_attempts},
                      {"backoff_us", job.retry.backoff.count()},
                      {"multiplier", job.retry.multiplier},
                      {"max_backoff_us", job.retry.max_backoff.count()}};
  }
  return state;
}

Job job_from_state_json(std::string id, std::optional<TimePoint> next_run_time,
                        const nlohmann::json& state) {
  const std::string job_id = id;
  const auto fail = [&job_id](const std::string& why) {
    return SerializationError(fmt::format("job '{}': {}", job_id, why));
  };
  if (!state.is_object()) throw fail("job_state is not a JSON object");
  // Before anything copies it: copying recurses once per level.
  if (detail::json_depth(state, detail::max_job_state_depth) > detail::max_job_state_depth) {
    throw fail(
        fmt::format("job_state is nested deeper than {} levels", detail::max_job_state_depth));
  }
  int version = 0;
  try {
    version = detail::json_integer_or(state, "version", 0);
  } catch (const nlohmann::json::exception& e) {
    throw fail(e.what());
  }
  if (version < 1 || version > job_state_version) {
    throw fail(fmt::format("job_state version {} is not one this sked reads (1 to {})", version,
                           job_state_version));
  }
  Job job;
  job.id = std::move(id);
  job.next_run_time = next_run_time;
  try {
    job.name = state.at("name").get<std::string>();
    job.task = state.at("task").get<std::string>();
    job.args = state.value("args", nlohmann::json::object());
    job.executor = state.value("executor", std::string{"default"});
    // Rows written before groups existed have none: any scheduler runs them.
    job.group = state.value("group", std::string{});
    job.misfire_grace_time =
        state.contains("misfire_grace_time_us") && state["misfire_grace_time_us"].is_null()
            ? no_misfire_limit
            : Duration{detail::json_integer<std::int64_t>(state, "misfire_grace_time_us")};
    job.coalesce = state.at("coalesce").get<bool>();
    job.max_instances = detail::json_integer<int>(state, "max_instances");
    if (state.contains("timeout_us"))
      job.timeout = Duration{detail::json_integer<std::int64_t>(state, "timeout_us")};
    if (state.contains("retry")) {
      const auto& r = state["retry"];
      job.retry.max_attempts = detail::json_integer<int>(r, "max_attempts");
      job.retry.backoff = Duration{detail::json_integer<std::int64_t>(r, "backoff_us")};
      job.retry.multiplier = r.at("multiplier").get<double>();
      job.retry.max_backoff = Duration{detail::json_integer<std::int64_t>(r, "max_backoff_us")};
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(e.what());
  }
  if (!state.contains("trigger")) throw fail("'trigger' is missing");
  try {
    job.trigger = trigger_from_json(state["trigger"]);
  } catch (const SerializationError& e) {
    throw fail(e.what());
  }
  // A row edited by hand gets the checks add_job makes (max_instances -5, a negative grace time).
  try {
    job.validate();
  } catch (const InvalidArgument& e) {
    throw SerializationError(e.what());
  }
  return job;
}

}  // namespace sked
