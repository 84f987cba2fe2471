// The dashboard's HTML pages. They work without JavaScript: filters are GET forms, changes are POST
// forms that lead to a confirmation, and the one inline script only refreshes <main>.

#include "http/handlers.hpp"
#include "http/html.hpp"
#include "http/words.hpp"

#include "detail/job_json.hpp"
#include "detail/sqlite_time.hpp"

#include <sked/trigger.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sked::http::detail {
namespace {

constexpr std::size_t jobs_per_page = 50;
constexpr std::size_t runs_per_page = 50;
constexpr std::size_t chart_runs = 60;
constexpr int fire_times_shown = 5;

const char* const job_states[] = {"scheduled", "paused", "overdue", "task unknown"};
const char* const statuses[] = {"started", "executed",      "error",
                                "missed",  "max_instances", "interrupted"};

Reply html(const Frame& frame, std::string_view body) { return {200, page(frame, body)}; }

Frame frame_for(Context& ctx, std::string title, std::string section, bool live) {
  return {std::move(title), std::move(section), ctx.nonce, live, ctx.options.read_only};
}

std::string options(const char* const* values, std::size_t n, const std::string& current,
                    std::string_view any) {
  std::string out = fmt::format(R"(<option value="">{}</option>)", any);
  for (std::size_t i = 0; i < n; ++i) {
    out += fmt::format(R"(<option value="{}"{}>{}</option>)", escape(values[i]),
                       current == values[i] ? " selected" : "", escape(values[i]));
  }
  return out;
}

// Prev / next links that keep the filters.
std::string pager(std::string_view path, std::map<std::string, std::string> params,
                  std::size_t page, bool has_next, std::string_view summary) {
  std::string out = R"(<nav class="pager">)";
  if (page > 1) {
    params["page"] = std::to_string(page - 1);
    out += fmt::format(R"(<a rel="prev" href="{}{}">&larr; newer</a>)", path, query_string(params));
  }
  out += fmt::format(R"(<span class="muted">{}</span>)", summary);
  if (has_next) {
    params["page"] = std::to_string(page + 1);
    out += fmt::format(R"(<a rel="next" href="{}{}">older &rarr;</a>)", path, query_string(params));
  }
  return out + "</nav>";
}

// The trigger in words (when they can be found) above the trigger as written.
std::string trigger_cell(const Job& job) {
  if (!job.trigger) return "";
  const std::string words = trigger_words(*job.trigger);
  const std::string written = "<code>" + escape(job.trigger->describe()) + "</code>";
  return words.empty()
             ? written
             : fmt::format(R"(<span class="words">{}</span><br>{})", escape(words), written);
}

std::string job_link(const std::string& id) {
  return fmt::format(R"(<a href="/jobs/{}">{}</a>)", url_encode(id), escape(id));
}

std::string action_form(Context& ctx, const std::string& id, Action a, std::string_view label,
                        bool confirmed, bool danger = false) {
  return fmt::format(R"(<form class="inline" method="post" action="/jobs/{}/{}">)"
                     R"(<input type="hidden" name="csrf" value="{}">{})"
                     R"(<button type="submit" name="do" value="{}"{}>{}</button></form>)",
                     url_encode(id), action_name(a), escape(ctx.csrf),
                     confirmed ? R"(<input type="hidden" name="confirm" value="yes">)" : "",
                     action_name(a), danger ? R"( class="danger")" : "", label);
}

std::string history_table(const std::vector<Execution>& runs, bool with_job) {
  std::string out = "<table><thead><tr><th>ID</th>";
  if (with_job) out += "<th>Job</th>";
  out +=
      "<th>Status</th><th>Run time</th><th>Finished</th><th>Duration</th><th>Exception / output"
      "</th></tr></thead><tbody>";
  for (const auto& e : runs) {
    out += fmt::format(R"(<tr data-execution="{}"><td class="num">{}</td>)", e.id, e.id);
    if (with_job) out += "<td>" + job_link(e.job_id) + "</td>";
    out += fmt::format(
        R"(<td>{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>)",
        badge(to_string(e.status)), show_time(e.run_time), show_time(e.finished),
        show_seconds(e.duration ? std::optional{std::chrono::duration<double>(*e.duration).count()}
                                : std::nullopt));
    if (!e.exception.empty()) out += "<code>" + escape(e.exception) + "</code>";
    if (!e.traceback.empty()) {
      out += "<details><summary>output</summary><pre>" + escape(e.traceback) + "</pre></details>";
    }
    out += "</td></tr>";
  }
  if (runs.empty()) {
    out += fmt::format(R"(<tr><td colspan="{}" class="muted">No executions match.</td></tr>)",
                       with_job ? 7 : 6);
  }
  return out + "</tbody></table>";
}

std::string time_input_value(const std::optional<TimePoint>& t) {
  return t ? sked::detail::format_db_time(*t).substr(0, 19) : std::string{};
}

// The history filter form and table shared by the job and executions pages.
std::string history_section(Context& ctx, const httplib::Request& req, std::string_view path,
                            const std::optional<std::string>& job) {
  const auto status = status_param(req);
  const auto since = time_param(req, "since");
  const auto until = time_param(req, "until");
  const std::size_t page_no = page_param(req);
  const std::size_t size = size_param(req, runs_per_page);
  std::optional<std::string> job_filter = job;
  if (!job_filter && !param(req, "job").empty()) job_filter = param(req, "job");
  auto runs = ctx.view.history({.job_id = job_filter,
                                .status = status,
                                .since = since,
                                .until = until,
                                .offset = (page_no - 1) * size,
                                .limit = size + 1,
                                .traceback_tail = output_tail});
  const bool has_next = runs.size() > size;
  if (has_next) runs.pop_back();

  std::string out = fmt::format(R"(<form class="filters" method="get" action="{}">)", path);
  if (!job) {
    out += fmt::format(R"(<label>Job<input name="job" value="{}"></label>)",
                       escape(param(req, "job")));
  }
  out += fmt::format(R"(<label>Status<select name="status">{}</select></label>)",
                     options(statuses, std::size(statuses), param(req, "status"), "any"));
  out += fmt::format(
      R"(<label>Since (UTC)<input type="datetime-local" step="1" name="since" value="{}"></label>)",
      time_input_value(since));
  out += fmt::format(
      R"(<label>Until (UTC)<input type="datetime-local" step="1" name="until" value="{}"></label>)",
      time_input_value(until));
  out += R"(<button type="submit">Filter</button></form>)";
  out += history_table(runs, !job);
  std::map<std::string, std::string> keep{{"status", param(req, "status")},
                                          {"since", time_input_value(since)},
                                          {"until", time_input_value(until)}};
  if (!job) keep["job"] = param(req, "job");
  out += pager(path, keep, page_no, has_next, fmt::format("page {}", page_no));
  return out;
}

}  // namespace

Reply jobs_page(Context& ctx, const httplib::Request& req) {
  const auto snapshot = ctx.view.jobs();
  const TimePoint now = SystemClock{}.now();
  const std::string q = param(req, "q");
  const std::string state = param(req, "state");
  const std::size_t page_no = page_param(req);
  const std::size_t size = size_param(req, jobs_per_page);

  const auto matching = matching_jobs(*snapshot, q, state, now);
  const std::size_t first = (page_no - 1) * size;
  const std::size_t last = std::min(matching.size(), first + size);

  std::string body = "<h1>Jobs</h1>";
  body += R"(<form class="filters" method="get" action="/">)";
  body += fmt::format(
      R"(<label>Search id, name or task<input type="search" name="q" value="{}"></label>)",
      escape(q));
  body += fmt::format(R"(<label>State<select name="state">{}</select></label>)",
                      options(job_states, std::size(job_states), state, "any"));
  body += R"(<button type="submit">Filter</button></form>)";
  body +=
      "<table><thead><tr><th>ID</th><th>Name</th><th>Task</th><th>Trigger</th>"
      "<th>Next run</th><th>State</th><th>Last status</th><th>Mean</th><th>p95</th>"
      "</tr></thead><tbody>";
  for (std::size_t i = first; i < last; ++i) {
    const Job& job = *matching[i];
    const JobStats stats = ctx.view.stats(job.id);
    body += fmt::format(
        R"(<tr data-job="{}"><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td>)"
        R"(<td>{}</td><td class="state">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>)",
        escape(job.id), job_link(job.id), escape(job.name), escape(job.task), trigger_cell(job),
        show_time(job.next_run_time), badge(snapshot->state_of(job, now)),
        stats.last ? badge(to_string(stats.last->status)) : "-", show_seconds(stats.mean_seconds),
        show_seconds(stats.p95_seconds));
  }
  if (first >= last) body += R"(<tr><td colspan="9" class="muted">No jobs match.</td></tr>)";
  body += "</tbody></table>";
  body += pager(
      "/", {{"q", q}, {"state", state}, {"size", param(req, "size")}}, page_no,
      last < matching.size(),
      fmt::format("{}-{} of {} jobs{}", matching.empty() ? 0 : first + 1, last, matching.size(),
                  matching.size() == snapshot->jobs.size()
                      ? ""
                      : fmt::format(" ({} in the store)", snapshot->jobs.size())));
  body += fmt::format(
      R"(<p class="muted">Mean and p95 are over each job's last {} finished runs. {} The list was )"
      R"(read from the store at {}.</p>)",
      stats_window,
      !snapshot->registry            ? ""
      : snapshot->schedulers_running ? "A scheduler is running on this store."
                                     : "No scheduler is running on this store.",
      show_time(snapshot->read_at));
  return html(frame_for(ctx, "Jobs", "jobs", true), body);
}

Reply job_page(Context& ctx, const httplib::Request& req, const std::string& id) {
  const auto job = ctx.view.store().lookup_job(id);
  if (!job) return error_page(ctx, 404, fmt::format("There is no job '{}' in the store.", id));
  const TimePoint now = SystemClock{}.now();
  const bool running = ctx.view.jobs()->schedulers_running;
  const JobStats stats = ctx.view.stats(id);
  const std::string state = sked::detail::job_state(
      *job, now, running, stats.last && stats.last->status == ExecutionStatus::started);

  std::string body = fmt::format("<h1>Job <code>{}</code></h1>", escape(job->id));
  if (const std::string done = param(req, "done"); !done.empty()) {
    body += fmt::format(R"(<p class="notice" role="status">{}</p>)", escape(done));
  }
  body += R"(<dl class="fields">)";
  const auto field = [&](std::string_view name, const std::string& value_html) {
    body += fmt::format("<dt>{}</dt><dd>{}</dd>", name, value_html);
  };
  field("name", escape(job->name));
  field("task", "<code>" + escape(job->task) + "</code>");
  field("args", "<code>" + escape(job->args->dump()) + "</code>");
  field("trigger", trigger_cell(*job));
  field("state", R"(<span id="state">)" + badge(state) + "</span>");
  field("next run", show_time(job->next_run_time));
  // Run-now requests and retries waiting in the store, whichever scheduler will take them.
  std::string pending;
  for (const auto& r : ctx.view.store().pending_runs(id)) {
    pending +=
        fmt::format(R"(<li class="pending">{} for {}{}</li>)", sked::detail::run_kind(r),
                    show_time(r.at), r.attempt == 1 ? "" : fmt::format(" (attempt {})", r.attempt));
  }
  field("pending runs", pending.empty() ? "none" : R"(<ul id="pending">)" + pending + "</ul>");
  field("last status", stats.last ? badge(to_string(stats.last->status)) : "-");
  field("mean / p95", show_seconds(stats.mean_seconds) + " / " + show_seconds(stats.p95_seconds));
  field("executor", escape(job->executor));
  field("max instances", std::to_string(job->max_instances));
  field("coalesce", job->coalesce ? "yes" : "no");
  field("misfire grace",
        job->misfire_grace_time == no_misfire_limit
            ? std::string{"none"}
            : show_seconds(std::chrono::duration<double>(job->misfire_grace_time).count()));
  body += "</dl>";

  if (!ctx.options.read_only) {
    body += R"(<div class="actions">)";
    body += action_form(ctx, id, Action::run_now, "Run now", false);
    body += job->paused() ? action_form(ctx, id, Action::resume, "Resume", false)
                          : action_form(ctx, id, Action::pause, "Pause", false);
    body += action_form(ctx, id, Action::remove, "Remove", false, true);
    body += "</div>";
  }

  body += "<h2>Next fire times</h2><ul>";
  for (const auto t : sked::detail::next_fire_times(*job, now, fire_times_shown)) {
    body += "<li>" + show_time(t) + "</li>";
  }
  if (!job->next_run_time) {
    body += "<li>none: paused</li>";
  } else if (!job->trigger || sked::detail::next_fire_times(*job, now, 1).empty()) {
    body += "<li>none: the trigger is done</li>";
  }
  body += "</ul>";

  body += fmt::format("<h2>Recent runs</h2>");
  body +=
      duration_chart(ctx.view.history({.job_id = id, .limit = chart_runs, .with_texts = false}));
  body += "<h2>History</h2>";
  body += history_section(ctx, req, "/jobs/" + url_encode(id), id);
  return html(frame_for(ctx, "Job " + job->id, "jobs", true), body);
}

Reply executions_page(Context& ctx, const httplib::Request& req) {
  std::string body = "<h1>Executions</h1>";
  body += history_section(ctx, req, "/executions", std::nullopt);
  return html(frame_for(ctx, "Executions", "executions", true), body);
}

Reply schedulers_page(Context& ctx, const httplib::Request&) {
  const auto registered = ctx.view.schedulers();
  std::string body = "<h1>Schedulers</h1>";
  if (!registered) {
    body +=
        R"(<p class="muted">This store keeps no registry of the schedulers that use it (only the )"
        R"(SQLite and PostgreSQL stores do).</p>)";
    return html(frame_for(ctx, "Schedulers", "schedulers", true), body);
  }
  const auto& rows = *registered;
  body +=
      "<table><thead><tr><th>ID</th><th>Host</th><th>PID</th><th>Started</th>"
      "<th>Heartbeat</th><th>Alive</th></tr></thead><tbody>";
  for (const auto& row : rows) {
    const auto& s = row.scheduler;
    body += fmt::format(
        R"(<tr><td><code>{}</code></td><td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>)",
        escape(s.id), escape(s.host), s.pid, show_time(s.started), show_time(s.heartbeat),
        badge(row.alive ? "alive" : "dead"));
  }
  if (rows.empty()) {
    body +=
        R"(<tr><td colspan="6" class="muted">No scheduler has claimed jobs from this store.</td></tr>)";
  }
  body += "</tbody></table>";
  return html(frame_for(ctx, "Schedulers", "schedulers", true), body);
}

Reply confirm_page(Context& ctx, Action a, const std::string& id) {
  std::string question;
  switch (a) {
    case Action::run_now:
      question = "Run job <code>{}</code> now, outside its schedule?";
      break;
    case Action::pause:
      question = "Pause job <code>{}</code>? It keeps its place in the store but does not fire.";
      break;
    case Action::resume:
      question = "Resume job <code>{}</code>? Its next run is computed from now.";
      break;
    case Action::remove:
      question = "Remove job <code>{}</code> from the store? Its history stays.";
      break;
  }
  std::string body =
      "<h1>Confirm</h1><p>" + fmt::format(fmt::runtime(question), escape(id)) + "</p>";
  body += R"(<div class="actions">)";
  body += action_form(ctx, id, a, "Yes, " + std::string{action_name(a)}, true, a == Action::remove);
  body += fmt::format(R"(<a href="/jobs/{}">Cancel</a>)", url_encode(id));
  body += "</div>";
  return html(frame_for(ctx, "Confirm", "jobs", false), body);
}

Reply login_page(Context& ctx, bool failed) {
  std::string body = "<h1>Sign in</h1>";
  if (failed) body += R"(<p class="notice">That token is not the one this server was given.</p>)";
  body += fmt::format(
      R"(<form method="post" action="/login"><input type="hidden" name="csrf" value="{}">)"
      R"(<label>Token <input type="password" name="token" autocomplete="current-password" autofocus></label> )"
      R"(<button type="submit">Sign in</button></form>)",
      escape(ctx.csrf));
  Reply r = html(frame_for(ctx, "Sign in", "", false), body);
  if (failed) r.status = 401;
  return r;
}

Reply error_page(Context& ctx, int status, std::string_view message) {
  Reply r =
      html(frame_for(ctx, "Error", "", false),
           fmt::format(R"(<h1>{}</h1><p class="notice">{}</p><p><a href="/">All jobs</a></p>)",
                       status, escape(message)));
  r.status = status;
  return r;
}

}  // namespace sked::http::detail
