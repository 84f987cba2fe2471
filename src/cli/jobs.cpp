// `sked jobs`: every job in a store, one line each.

#include "common.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace sked::cli {
namespace {

constexpr std::size_t name_width = 40;

// What the NAME column shows: the name, or, for a job named by its id (as `sked run` names the
// lines of a crontab, to keep commands out of its log), the command it runs, cut to fit.
std::string shown_name(const Job& job) {
  std::string text = job.name;
  if (job.name == job.id && job.args->is_object() && job.args->contains("command") &&
      job.args->at("command").is_string()) {
    text = job.args->at("command").get<std::string>();
  }
  if (text.size() > name_width) {
    std::size_t cut = name_width - 3;
    // Not in the middle of a UTF-8 character.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

void run_jobs(const StoreArgs& args) {
  const TimeZone zone = display_zone(args);
  const auto store = open_store("jobs", args, Access::read);
  const TimePoint now = SystemClock{}.now();
  const auto jobs = store->get_all_jobs();
  const bool running = !live_schedulers(*store).empty();
  if (args.json) {
    auto list = nlohmann::json::array();
    for (const auto& job : jobs) {
      const auto last = store->get_executions({.job_id = job.id, .limit = 1});
      list.push_back(
          job_json(job, now, running, last.empty() ? std::nullopt : std::optional{last.front()}));
    }
    print_json(list);
    return;
  }
  // A GROUP column only when the jobs are in more than one group: the store of one crontab file
  // looks as it always did.
  const bool groups = std::any_of(jobs.begin(), jobs.end(),
                                  [&](const Job& job) { return job.group != jobs.front().group; });
  std::vector<std::string> header{"ID",       "NAME",  "TASK",       "TRIGGER",
                                  "NEXT RUN", "STATE", "LAST STATUS"};
  if (groups) header.emplace_back("GROUP");
  Table table{header};
  for (const auto& job : jobs) {
    const auto last = store->get_executions({.job_id = job.id, .limit = 1});
    std::vector<std::string> row{
        job.id,
        shown_name(job),
        job.task,
        job.trigger ? job.trigger->describe() : "",
        job.next_run_time ? human_time(*job.next_run_time, zone) : "-",
        job_state(job, now, running,
                  !last.empty() && last.front().status == ExecutionStatus::started),
        last.empty() ? "-" : std::string{to_string(last.front().status)}};
    if (groups) row.push_back(job.group.empty() ? "-" : job.group);
    table.add(row);
  }
  std::cout << table.render({5, 6}) << std::flush;
}

}  // namespace

void register_jobs(CLI::App& app) {
  auto args = std::make_shared<StoreArgs>();
  auto* cmd = app.add_subcommand("jobs", "List the jobs in a store");
  add_store_options(*cmd, *args);
  cmd->footer(help_text(R"(
Prints one line per job, soonest next run first and paused jobs last:
  ID, NAME, TASK, TRIGGER   the job as it is stored; for a job named by its id (`sked run` names
                            crontab lines so) NAME shows the command it runs, cut to 40 characters
  NEXT RUN                  in --tz (default: the local zone); '-' while paused
  STATE                     scheduled; paused; or, due for more than 10 s and not claimed:
                            task unknown while schedulers run on the store (none has the job's
                            task registered), overdue while none runs
  LAST STATUS               of its newest execution record ('-' when it has none)
  GROUP                     when the jobs are in several groups: the schedulers that may run it
                            ('-': any)

Never changes the store, and never creates it. Exit status: 0 ok, 1 a runtime failure, 2 bad
usage or a path that is not a sked store.

--json prints an array of objects with the fields id, name, task, args, trigger, trigger_json,
next_run_time (UTC, or null while paused), state, last_status, last_run_time, executor, group
(null: any scheduler), max_instances, coalesce, misfire_grace_time (seconds; null: no limit).

Examples:
  sked jobs
  sked jobs --db /var/lib/app/sked.sqlite3 --tz Europe/Berlin
  sked jobs --json | jq -r '.[] | select(.state == "paused") | .id')"));
  cmd->callback([args] { run_command("jobs", [&] { run_jobs(*args); }); });
}

}  // namespace sked::cli
