#include "detail/job_json.hpp"

#include "detail/sqlite_time.hpp"

#include <sked/trigger.hpp>

#include <algorithm>

namespace sked::detail {

std::string job_state(const Job& job, TimePoint now, bool schedulers_running, bool running) {
  if (!job.next_run_time) return "paused";
  if (now - *job.next_run_time > unclaimed_after) {
    if (running && schedulers_running && !job.coalesce) return "scheduled";
    return schedulers_running ? "task unknown" : "overdue";
  }
  return "scheduled";
}

nlohmann::json json_time(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return format_db_time(*t);
}

nlohmann::json job_json(const Job& job, TimePoint now, bool schedulers_running,
                        const std::optional<Execution>& last) {
  nlohmann::json j;
  j["id"] = job.id;
  j["name"] = job.name;
  j["task"] = job.task;
  j["args"] = *job.args;
  j["trigger"] = job.trigger ? job.trigger->describe() : std::string{};
  j["trigger_json"] = job.trigger ? job.trigger->to_json() : nlohmann::json{};
  j["next_run_time"] = json_time(job.next_run_time);
  j["state"] =
      job_state(job, now, schedulers_running, last && last->status == ExecutionStatus::started);
  j["last_status"] = last ? nlohmann::json(std::string{to_string(last->status)}) : nlohmann::json{};
  j["last_run_time"] = last ? json_time(std::optional{last->run_time}) : nlohmann::json{};
  j["executor"] = job.executor;
  j["group"] = job.group.empty() ? nlohmann::json{} : nlohmann::json(job.group);
  j["max_instances"] = job.max_instances;
  j["coalesce"] = job.coalesce;
  j["misfire_grace_time"] =
      job.misfire_grace_time == no_misfire_limit
          ? nlohmann::json{}
          : nlohmann::json(static_cast<double>(job.misfire_grace_time.count()) / 1e6);
  return j;
}

nlohmann::json execution_json(const Execution& e, bool with_output) {
  nlohmann::json j;
  j["id"] = e.id;
  j["job_id"] = e.job_id;
  j["status"] = std::string{to_string(e.status)};
  j["run_time"] = json_time(std::optional{e.run_time});
  j["finished"] = json_time(e.finished);
  j["duration"] = e.duration ? nlohmann::json(static_cast<double>(e.duration->count()) / 1e6)
                             : nlohmann::json{};
  j["exception"] = e.exception;
  if (with_output) j["traceback"] = e.traceback;
  return j;
}

std::vector<TimePoint> next_fire_times(const Job& job, TimePoint now, int n) {
  std::vector<TimePoint> out;
  if (!job.next_run_time || !job.trigger) return out;
  std::optional<TimePoint> t = job.next_run_time;
  // A fire time past the year 9999 is never reached: no store can hold it.
  while (t && *t <= last_db_time && static_cast<int>(out.size()) < n) {
    out.push_back(*t);
    t = job.trigger->next_fire_time(t, std::max(now, *t));
  }
  return out;
}

const char* run_kind(const RunRequest& r) noexcept {
  return r.attempt == 1 ? "run-now request" : "retry";
}

nlohmann::json job_details_json(const Job& job, TimePoint now, bool schedulers_running,
                                const std::vector<Execution>& history,
                                const std::vector<RunRequest>& pending) {
  auto j = job_json(job, now, schedulers_running,
                    history.empty() ? std::nullopt : std::optional{history.front()});
  j["timeout"] = job.timeout ? nlohmann::json(static_cast<double>(job.timeout->count()) / 1e6)
                             : nlohmann::json{};
  j["next_fire_times"] = nlohmann::json::array();
  for (const auto t : next_fire_times(job, now, 5))
    j["next_fire_times"].push_back(format_db_time(t));
  j["executions"] = nlohmann::json::array();
  for (const auto& e : history) j["executions"].push_back(execution_json(e, false));
  j["pending_runs"] = nlohmann::json::array();
  for (const auto& r : pending) {
    j["pending_runs"].push_back(
        {{"at", format_db_time(r.at)}, {"attempt", r.attempt}, {"kind", run_kind(r)}});
  }
  return j;
}

}  // namespace sked::detail
