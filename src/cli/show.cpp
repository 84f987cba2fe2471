// `sked show JOB`: everything about one job, its next fire times and its latest executions.

#include "common.hpp"

#include <sked/errors.hpp>
#include <sked/trigger.hpp>

#include "detail/sqlite_time.hpp"

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct ShowArgs {
  StoreArgs store{};
  std::string job{};
};

constexpr int fire_times_shown = 5;
constexpr std::size_t executions_shown = 10;

std::vector<TimePoint> next_fire_times(const Job& job, TimePoint now) {
  std::vector<TimePoint> out;
  if (!job.next_run_time || !job.trigger) return out;
  std::optional<TimePoint> t = job.next_run_time;
  // A fire time past the year 9999 is never reached: no store can hold it.
  while (t && *t <= detail::last_db_time && static_cast<int>(out.size()) < fire_times_shown) {
    out.push_back(*t);
    t = job.trigger->next_fire_time(t, std::max(now, *t));
  }
  return out;
}

void run_show(const ShowArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const auto store = open_store("show", args.store, Access::read);
  const TimePoint now = SystemClock{}.now();
  const auto job = store->lookup_job(args.job);
  if (!job) throw JobNotFound(args.job, store_name(*store, args.store.db));
  const auto history = store->get_executions({.job_id = job->id, .limit = executions_shown});
  const bool running = !live_schedulers(*store).empty();
  const auto fires = next_fire_times(*job, now);
  // Run-now requests and retries waiting in the store, whichever scheduler will take them.
  const auto pending = store->pending_runs(job->id);
  const auto kind = [](const RunRequest& r) { return r.attempt == 1 ? "run-now request" : "retry"; };
  if (args.store.json) {
    auto j = job_json(*job, now, running,
                      history.empty() ? std::nullopt : std::optional{history.front()});
    j["timeout"] = job->timeout ? nlohmann::json(static_cast<double>(job->timeout->count()) / 1e6)
                                : nlohmann::json{};
    j["next_fire_times"] = nlohmann::json::array();
    for (const auto t : fires) j["next_fire_times"].push_back(json_time(t));
    j["executions"] = nlohmann::json::array();
    for (const auto& e : history) j["executions"].push_back(execution_json(e, false));
    j["pending_runs"] = nlohmann::json::array();
    for (const auto& r : pending) {
      j["pending_runs"].push_back({{"at", json_time(r.at)}, {"attempt", r.attempt}, {"kind", kind(r)}});
    }
    print_json(j);
    return;
  }
  std::string out;
  out += fmt::format("id              {}\n", job->id);
  out += fmt::format("name            {}\n", job->name);
  out += fmt::format("task            {}\n", job->task);
  out += fmt::format("args            {}\n", job->args.dump());
  out += fmt::format("trigger         {}\n", job->trigger ? job->trigger->describe() : "");
  out += fmt::format("state           {}\n", coloured(job_state(*job, now, running)));
  out += fmt::format("executor        {}\n", job->executor);
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
      out += r.attempt == 1 ? fmt::format("  {}  {}\n", human_time(r.at, zone), kind(r))
                            : fmt::format("  {}  {} (attempt {})\n", human_time(r.at, zone), kind(r), r.attempt);
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
