// `sked show JOB`: everything about one job, its next fire times and its latest executions.

#include "common.hpp"

#include <sked/errors.hpp>
#include <sked/trigger.hpp>

#include "detail/sqlite_time.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

namespace sked::cli {
namespace {

struct ShowArgs {
  StoreArgs store{};
  std::string job{};
};

constexpr int fire_times_shown = 5;
constexpr std::size_t executions_shown = 10;

void run_show(const ShowArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const auto store = open_store("show", args.store, Access::read);
  const TimePoint now = SystemClock{}.now();
  const auto job = store->lookup_job(args.job);
  if (!job) throw JobNotFound(args.job, store_name(*store, args.store.db));
  const auto history = store->get_executions({.job_id = job->id, .limit = executions_shown});
  const bool running = !live_schedulers(*store).empty();
  const auto fires = detail::next_fire_times(*job, now, fire_times_shown);
  // Run-now requests and retries waiting in the store, whichever scheduler will take them.
  const auto pending = store->pending_runs(job->id);
  if (args.store.json) {
    print_json(detail::job_details_json(*job, now, running, history, pending));
    return;
  }
  std::string out;
  out += fmt::format("id              {}\n", printable(job->id));
  out += fmt::format("name            {}\n", printable(job->name));
  out += fmt::format("task            {}\n", printable(job->task));
  out += fmt::format(
      "args            {}\n",
      printable(job->args->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  out +=
      fmt::format("trigger         {}\n", printable(job->trigger ? job->trigger->describe() : ""));
  const bool job_running = !history.empty() && history.front().status == ExecutionStatus::started;
  out += fmt::format("state           {}\n", coloured(job_state(*job, now, running, job_running)));
  out += fmt::format("executor        {}\n", printable(job->executor));
  // Only schedulers of this group run it; a job without one is shown as before.
  if (!job->group.empty()) out += fmt::format("group           {}\n", printable(job->group));
  out += fmt::format("max instances   {}\n", job->max_instances);
  out += fmt::format("coalesce        {}\n", job->coalesce ? "yes" : "no");
  out += fmt::format("misfire grace   {}\n", human_duration(job->misfire_grace_time));
  if (job->timeout) out += fmt::format("timeout         {}\n", human_duration(*job->timeout));
  out += "\nnext fire times:\n";
  if (fires.empty())
    out += job->next_run_time ? "  (none: the trigger is done)\n" : "  (none: paused)\n";
  for (const auto t : fires) out += fmt::format("  {}\n", human_time(t, zone));
  if (!pending.empty()) {
    out += "\npending runs:\n";
    for (const auto& r : pending) {
      out += r.attempt == 1 ? fmt::format("  {}  {}\n", human_time(r.at, zone), detail::run_kind(r))
                            : fmt::format("  {}  {} (attempt {})\n", human_time(r.at, zone),
                                          detail::run_kind(r), r.attempt);
    }
  }
  out += fmt::format("\nlast {} executions:\n", executions_shown);
  if (history.empty()) {
    out += "  (none)\n";
  } else {
    out += executions_table(history, zone, false);
  }
  std::cout << out << std::flush;
}

}  // namespace

void register_show(CLI::App& app) {
  auto args = std::make_shared<ShowArgs>();
  auto* cmd = app.add_subcommand("show", "Show one job: its settings, next fire times and history");
  cmd->add_option("job", args->job, "The job's id")->required()->type_name("JOB");
  add_store_options(*cmd, args->store);
  cmd->footer(help_text(R"(
Prints the job's fields, its next 5 fire times in --tz, its pending runs (a `sked run-now` request
not yet taken, retries of failed runs waiting for their time) and its last 10 execution records
(newest first, with duration and exception).

Never changes the store. Exit status: 0 ok, 1 no such job (or another runtime failure), 2 bad
usage or a path that is not a sked store.

--json prints one object: the fields of `sked jobs --json`, plus timeout (seconds or null),
next_fire_times (UTC), executions (as `sked executions --json`) and pending_runs (run-now
requests and retries waiting in the store: at, attempt, kind).

Examples:
  sked show nightly-backup
  sked show nightly-backup --tz UTC --json)"));
  cmd->callback([args] { run_command("show", [&] { run_show(*args); }); });
}

}  // namespace sked::cli
