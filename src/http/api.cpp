// The JSON API: the shapes of the `sked` tool's --json output (detail/job_json), so a script reads
// the same fields from either.

#include "http/handlers.hpp"

#include "detail/job_json.hpp"
#include "detail/sqlite_time.hpp"

#include <sked/trigger.hpp>

namespace sked::http::detail {
namespace {

Reply json_reply(const nlohmann::json& j, int status = 200) {
  return {status, j.dump(), "application/json"};
}

}  // namespace

Reply api_error(int status, std::string_view message) {
  return json_reply({{"error", message}}, status);
}

Reply api_jobs(Context& ctx, const httplib::Request& req) {
  const auto snapshot = ctx.view.jobs();
  const TimePoint now = SystemClock{}.now();
  const std::string state = param(req, "state");
  const std::string q = param(req, "q");
  const std::size_t page_no = page_param(req);
  const std::size_t size = size_param(req, 100);
  const auto matching = matching_jobs(*snapshot, q, state, now);
  auto list = nlohmann::json::array();
  for (std::size_t i = (page_no - 1) * size; i < matching.size() && list.size() < size; ++i) {
    const Job& job = *matching[i];
    list.push_back(sked::detail::job_json(job, now, snapshot->schedulers_running,
                                          ctx.view.stats(job.id).last));
  }
  Reply r = json_reply(list);
  r.headers.emplace_back("X-Total-Count", std::to_string(matching.size()));
  return r;
}

Reply api_job(Context& ctx, const httplib::Request& req, const std::string& id) {
  const auto job = ctx.view.store().lookup_job(id);
  if (!job) return api_error(404, "there is no job '" + id + "'");
  const TimePoint now = SystemClock{}.now();
  const auto history = ctx.view.history({.job_id = id,
                                         .status = status_param(req),
                                         .limit = size_param(req, 10),
                                         .traceback_tail = 0});
  // As `sked show --json`.
  return json_reply(sked::detail::job_details_json(*job, now, ctx.view.jobs()->schedulers_running,
                                                   history, ctx.view.store().pending_runs(id)));
}

Reply api_executions(Context& ctx, const httplib::Request& req) {
  ExecutionQuery q;
  if (const auto job = param(req, "job"); !job.empty()) q.job_id = job;
  q.status = status_param(req);
  q.since = time_param(req, "since");
  q.until = time_param(req, "until");
  const std::size_t page_no = page_param(req);
  q.limit = size_param(req, 100);
  q.offset = (page_no - 1) * q.limit;
  const bool with_output = param(req, "output") == "1";
  q.traceback_tail = with_output ? output_tail : 0;
  auto list = nlohmann::json::array();
  for (const auto& e : ctx.view.history(q))
    list.push_back(sked::detail::execution_json(e, with_output));
  return json_reply(list);
}

Reply api_schedulers(Context& ctx) {
  auto list = nlohmann::json::array();
  // A store without a registry (memory) has none to list.
  for (const auto& row : ctx.view.schedulers().value_or(std::vector<SchedulerRow>{})) {
    const auto& s = row.scheduler;
    list.push_back({{"id", s.id},
                    {"host", s.host},
                    {"pid", s.pid},
                    {"started", sked::detail::format_db_time(s.started)},
                    {"heartbeat", sked::detail::format_db_time(s.heartbeat)},
                    {"alive", row.alive}});
  }
  return json_reply(list);
}

}  // namespace sked::http::detail
