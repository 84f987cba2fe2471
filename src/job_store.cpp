#include <sked/job_store.hpp>

#include <cstddef>

namespace sked {
namespace {

// Past this many steps through overdue fire times, jump straight to the present (a one-second cron down
// for years must not spin the claim for minutes).
constexpr std::size_t max_steps_per_claim = 1'000'000;

Execution record_for(const Job& job, TimePoint run_time, ExecutionStatus status) {
  Execution e;
  e.job_id = job.id;
  e.run_time = run_time;
  e.status = status;
  return e;
}

}  // namespace

Execution plan_requested_run(const Job& job, TimePoint requested, TimePoint now,
                             int running_instances) {
  const ExecutionStatus status = now - requested > job.misfire_grace_time  ? ExecutionStatus::missed
                                 : running_instances >= job.max_instances ? ExecutionStatus::max_instances
                                                                          : ExecutionStatus::started;
  return record_for(job, requested, status);
}

FirePlan plan_fire(const Job& job, TimePoint now, int running_instances) {
  FirePlan plan;
  // The common case, one due run time: decided without the lists the general case below builds.
  if (job.next_run_time && *job.next_run_time <= now) {
    const TimePoint rt = *job.next_run_time;
    const auto next = job.trigger->next_fire_time(rt, now);
    if (!next || *next > now) {
      plan.next_run_time = next;
      const ExecutionStatus status = now - rt > job.misfire_grace_time       ? ExecutionStatus::missed
                                     : running_instances >= job.max_instances ? ExecutionStatus::max_instances
                                                                              : ExecutionStatus::started;
      plan.executions.push_back(record_for(job, rt, status));
      return plan;
    }
  }
  std::vector<TimePoint> due;  // nearly always one element: no deque, whose first chunk alone is 512 bytes
  std::optional<TimePoint> t = job.next_run_time;
  std::size_t steps = 0;
  while (t && *t <= now) {
    due.push_back(*t);
    // Keep only the newest max_run_times_per_claim, trimming in bulk so the loop stays linear.
    if (due.size() >= 2 * max_run_times_per_claim) {
      due.erase(due.begin(), due.end() - static_cast<std::ptrdiff_t>(max_run_times_per_claim));
    }
    if (++steps == max_steps_per_claim) {
      t = job.trigger->next_fire_time(std::nullopt, now);
      continue;
    }
    t = job.trigger->next_fire_time(t, now);
  }
  plan.next_run_time = t;
  if (due.size() > max_run_times_per_claim) {
    due.erase(due.begin(), due.end() - static_cast<std::ptrdiff_t>(max_run_times_per_claim));
  }

  std::vector<TimePoint> runnable;
  for (const TimePoint rt : due) {
    if (now - rt > job.misfire_grace_time) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::missed));
    } else {
      runnable.push_back(rt);
    }
  }
  if (job.coalesce && runnable.size() > 1) {
    // Overdue runs fold into the latest one; the folded fire times are recorded, not silently dropped.
    for (std::size_t i = 0; i + 1 < runnable.size(); ++i) {
      plan.executions.push_back(record_for(job, runnable[i], ExecutionStatus::missed));
    }
    runnable.erase(runnable.begin(), runnable.end() - 1);
  }
  for (const TimePoint rt : runnable) {
    if (running_instances >= job.max_instances) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::max_instances));
    } else {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::started));
      ++running_instances;
    }
  }
  return plan;
}

}  // namespace sked
