#include <sked/events.hpp>

namespace sked {

std::string_view to_string(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::scheduler_started:
      return "scheduler_started";
    case EventKind::scheduler_shutdown:
      return "scheduler_shutdown";
    case EventKind::scheduler_paused:
      return "scheduler_paused";
    case EventKind::scheduler_resumed:
      return "scheduler_resumed";
    case EventKind::executor_added:
      return "executor_added";
    case EventKind::executor_removed:
      return "executor_removed";
    case EventKind::jobstore_added:
      return "jobstore_added";
    case EventKind::jobstore_removed:
      return "jobstore_removed";
    case EventKind::all_jobs_removed:
      return "all_jobs_removed";
    case EventKind::job_added:
      return "job_added";
    case EventKind::job_removed:
      return "job_removed";
    case EventKind::job_modified:
      return "job_modified";
    case EventKind::job_executed:
      return "job_executed";
    case EventKind::job_error:
      return "job_error";
    case EventKind::job_missed:
      return "job_missed";
    case EventKind::job_submitted:
      return "job_submitted";
    case EventKind::job_max_instances:
      return "job_max_instances";
    case EventKind::job_task_unknown:
      return "job_task_unknown";
  }
  return "unknown";
}

}  // namespace sked
