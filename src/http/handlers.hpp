#pragma once
// The server's request handlers: HTML pages (pages.cpp), the JSON API (api.cpp) and the changes
// both make (actions.cpp). server.cpp routes to them after authorization.

#include <sked/http/server.hpp>

#include "http/metrics.hpp"
#include "http/store_view.hpp"

#include <httplib.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sked::http::detail {

/// What every handler may use.
struct Context {
  StoreView& view;
  Metrics& metrics;
  const ServerOptions& options;
  /// This response's script nonce and the CSRF token its forms carry.
  std::string nonce{};
  std::string csrf{};
};

/// What a handler answers; server.cpp adds the security headers.
struct Reply {
  int status = 200;
  std::string body{};
  std::string content_type = "text/html; charset=utf-8";
  /// For 303 redirects after a form's change.
  std::string location{};
  /// Paging facts of the JSON API (X-Total-Count), beside its bare arrays.
  std::vector<std::pair<std::string, std::string>> headers{};
};

/// The jobs of `snapshot` whose id, name or task contains `q` (ignoring case) and whose state is
/// `state` (any when empty), in the snapshot's order.
[[nodiscard]] std::vector<const Job*> matching_jobs(const JobsSnapshot& snapshot,
                                                    std::string_view q, std::string_view state,
                                                    TimePoint now);

/// A query or form parameter, empty when absent.
[[nodiscard]] std::string param(const httplib::Request& req, const char* name);
/// A 1-based page number and a page size (default `size`, at most 500). Throws `InvalidArgument`.
[[nodiscard]] std::size_t page_param(const httplib::Request& req);
[[nodiscard]] std::size_t size_param(const httplib::Request& req, std::size_t size);
/// `since`/`until`: an ISO-8601 time (UTC unless it has an offset) or empty. Throws
/// `InvalidArgument` naming the parameter.
[[nodiscard]] std::optional<TimePoint> time_param(const httplib::Request& req, const char* name);
/// `status`: an execution status or empty. Throws `InvalidArgument`.
[[nodiscard]] std::optional<ExecutionStatus> status_param(const httplib::Request& req);

// Changes, shared by the forms and the API. Throw `JobNotFound`, or `Error` when a job cannot be
// resumed (its trigger is done).
enum class Action { run_now, pause, resume, remove };
[[nodiscard]] std::optional<Action> parse_action(std::string_view name);
[[nodiscard]] std::string_view action_name(Action a);
/// Does `a` to job `id`; returns a sentence saying what happened.
std::string apply(Context& ctx, Action a, const std::string& id);
/// Pauses or resumes (next run from the trigger, from now) in one atomic store change. Returns
/// false when the job already was in that state.
bool set_paused(JobStore& store, const std::string& id, bool paused);

// Pages.
[[nodiscard]] Reply jobs_page(Context& ctx, const httplib::Request& req);
[[nodiscard]] Reply job_page(Context& ctx, const httplib::Request& req, const std::string& id);
[[nodiscard]] Reply executions_page(Context& ctx, const httplib::Request& req);
[[nodiscard]] Reply schedulers_page(Context& ctx, const httplib::Request& req);
/// The confirmation a form's change asks for before it is done (works without JavaScript).
[[nodiscard]] Reply confirm_page(Context& ctx, Action a, const std::string& id);
[[nodiscard]] Reply login_page(Context& ctx, bool failed);
[[nodiscard]] Reply error_page(Context& ctx, int status, std::string_view message);

// JSON API.
[[nodiscard]] Reply api_jobs(Context& ctx, const httplib::Request& req);
[[nodiscard]] Reply api_job(Context& ctx, const httplib::Request& req, const std::string& id);
[[nodiscard]] Reply api_executions(Context& ctx, const httplib::Request& req);
[[nodiscard]] Reply api_schedulers(Context& ctx);
[[nodiscard]] Reply api_error(int status, std::string_view message);

}  // namespace sked::http::detail
