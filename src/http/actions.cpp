#include "http/handlers.hpp"

#include <sked/errors.hpp>
#include <sked/trigger.hpp>

#include <fmt/format.h>

#include "detail/job_json.hpp"
#include "detail/sqlite_time.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sked::http::detail {

std::string param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string{};
}

namespace {
std::size_t positive(const httplib::Request& req, const char* name, std::size_t fallback,
                     std::size_t max) {
  const std::string text = param(req, name);
  if (text.empty()) return fallback;
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n == 0 || n > max) {
    throw InvalidArgument(
        fmt::format("parameter {}='{}': expected a whole number from 1 to {}", name, text, max));
  }
  return n;
}
}  // namespace

std::size_t page_param(const httplib::Request& req) { return positive(req, "page", 1, 1'000'000); }

std::size_t size_param(const httplib::Request& req, std::size_t size) {
  return positive(req, "size", size, 500);
}

std::optional<TimePoint> time_param(const httplib::Request& req, const char* name) {
  std::string text = param(req, name);
  if (text.empty()) return std::nullopt;
  // <input type="datetime-local"> sends 2026-12-01T15:02, without seconds.
  if (text.size() == 16 && text[10] == 'T') text += ":00";
  try {
    return parse_time(text, TimeZone::utc());
  } catch (const Error&) {
    throw InvalidArgument(fmt::format(
        "parameter {}='{}': expected an ISO-8601 time such as 2026-01-31T09:00:00Z", name, text));
  }
}

std::optional<ExecutionStatus> status_param(const httplib::Request& req) {
  const std::string text = param(req, "status");
  if (text.empty()) return std::nullopt;
  const auto status = parse_execution_status(text);
  if (!status) {
    throw InvalidArgument(fmt::format(
        "parameter status='{}': expected started, executed, error, missed, max_instances or "
        "interrupted",
        text));
  }
  return status;
}

std::vector<const Job*> matching_jobs(const JobsSnapshot& snapshot, std::string_view q,
                                      std::string_view state, TimePoint now) {
  std::string folded{q};
  for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // A scan of the cached list and its folded text: 100,000 jobs take a few milliseconds.
  std::vector<const Job*> out;
  for (std::size_t i = 0; i < snapshot.jobs.size(); ++i) {
    const Job& job = snapshot.jobs[i];
    if (!folded.empty() && snapshot.search_text[i].find(folded) == std::string::npos) continue;
    if (!state.empty() && snapshot.state_of(job, now) != state) {
      continue;
    }
    out.push_back(&job);
  }
  return out;
}

std::optional<Action> parse_action(std::string_view name) {
  if (name == "run-now") return Action::run_now;
  if (name == "pause") return Action::pause;
  if (name == "resume") return Action::resume;
  if (name == "remove") return Action::remove;
  return std::nullopt;
}

std::string_view action_name(Action a) {
  switch (a) {
    case Action::run_now:
      return "run-now";
    case Action::pause:
      return "pause";
    case Action::resume:
      return "resume";
    case Action::remove:
      return "remove";
  }
  return "";
}

bool set_paused(JobStore& store, const std::string& id, bool paused) {
  const TimePoint now = SystemClock{}.now();
  bool changed = false;
  // One atomic change, as Scheduler::pause_job / resume_job and `sked pause` / `sked resume`.
  (void)store.modify_job(id, [&](Job& job) {
    changed = job.paused() != paused;
    if (!changed) return;
    if (paused) {
      job.next_run_time.reset();
      return;
    }
    // Resuming computes the next fire time from now.
    job.next_run_time = job.trigger->next_fire_time(std::nullopt, now);
    if (!job.next_run_time) {
      throw Error(
          fmt::format("job '{}' will not fire again (its trigger is done); it stays paused", id));
    }
  });
  return changed;
}

std::string apply(Context& ctx, Action a, const std::string& id) {
  JobStore& store = ctx.view.store();
  std::string done;
  switch (a) {
    case Action::run_now: {
      const TimePoint at = store.request_run(id, SystemClock{}.now());
      done = fmt::format("asked for a run of job '{}' at {}", id, sked::detail::format_db_time(at));
      break;
    }
    case Action::pause:
      done = set_paused(store, id, true) ? fmt::format("paused job '{}'", id)
                                         : fmt::format("job '{}' was already paused", id);
      break;
    case Action::resume:
      done = set_paused(store, id, false) ? fmt::format("resumed job '{}'", id)
                                          : fmt::format("job '{}' was not paused", id);
      break;
    case Action::remove:
      store.remove_job(id);
      done = fmt::format("removed job '{}'", id);
      break;
  }
  ctx.view.invalidate();
  return done;
}

}  // namespace sked::http::detail
