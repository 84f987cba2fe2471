// `sked executions`: execution history, newest first; `--id N` shows one record in full.

#include "common.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct ExecutionsArgs {
  StoreArgs store{};
  std::string job{};
  std::string status{};
  std::string since{};
  std::size_t limit = 50;
  std::optional<std::int64_t> id{};
};

void run_executions(const ExecutionsArgs& args) {
  const TimeZone zone = display_zone(args.store);
  ExecutionQuery query;
  query.limit = args.limit;
  if (!args.job.empty()) query.job_id = args.job;
  if (!args.status.empty()) {
    query.status = parse_execution_status(args.status);
    if (!query.status) {
      throw InvalidArgument(fmt::format(
          "--status '{}': expected started, executed, error, missed, max_instances or interrupted",
          args.status));
    }
  }
  if (!args.since.empty()) query.since = parse_since(args.since, SystemClock{}.now(), zone);
  const auto store = open_store("executions", args.store, Access::read);
  if (args.id) {
    const auto found = store->get_executions({.id = *args.id, .limit = 1});
    if (found.empty()) {
      throw Error(fmt::format("no execution with the id {} was found in job store '{}'", *args.id,
                              store_name(*store, args.store.db)));
    }
    if (args.store.json) {
      print_json(execution_json(found.front(), true));
    } else {
      std::cout << execution_details(found.front(), zone) << std::flush;
    }
    return;
  }
  const auto history = store->get_executions(query);
  if (args.store.json) {
    auto list = nlohmann::json::array();
    for (const auto& e : history) list.push_back(execution_json(e, false));
    print_json(list);
    return;
  }
  std::cout << executions_table(history, zone, true) << std::flush;
}

}  // namespace

void register_executions(CLI::App& app) {
  auto args = std::make_shared<ExecutionsArgs>();
  auto* cmd = app.add_subcommand("executions", "List execution history, newest first");
  cmd->add_option("--job", args->job, "Only this job's executions")->type_name("ID");
  cmd->add_option("--status", args->status,
                  "Only this status: started, executed, error, missed, max_instances, interrupted")
      ->type_name("STATUS");
  cmd->add_option("--since", args->since,
                  "Only runs at or after this: an age (2h, 7d, 1h30m) or an ISO-8601 time (a wall "
                  "time in --tz without an offset)")
      ->type_name("WHEN");
  cmd->add_option("--limit", args->limit, "At most this many records (default: 50)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000'000}))
      ->type_name("N");
  cmd->add_option("--id", args->id, "Show this one execution record in full, with its output tail")
      ->type_name("N");
  add_store_options(*cmd, args->store);
  cmd->footer(help_text(R"(
Lists execution records, newest run time first: ID, JOB, STATUS, RUN TIME (the scheduled fire time,
in --tz), DURATION (1.234s) and the first line of the EXCEPTION of a failed run. With --id N it
prints that one record with its traceback, or the output tail of a shell command.

Statuses: started (running now), executed, error, missed (later than the misfire grace time, or
folded by coalescing), max_instances (skipped: too many runs going), interrupted (its scheduler
died or stopped while it ran).

Never changes the store. Exit status: 0 ok (also when nothing matches), 1 no such execution
(--id) or another runtime failure, 2 bad usage or input.

--json prints an array of objects with the fields id, job_id, status, run_time, finished (UTC, or
null), duration (seconds, or null) and exception; with --id one object that adds traceback.

Examples:
  sked executions --job nightly-backup --limit 10
  sked executions --status error --since 1d
  sked executions --id 42
  sked executions --since 2026-01-31T00:00:00 --tz Europe/Berlin --json)"));
  cmd->callback([args] { run_command("executions", [&] { run_executions(*args); }); });
}

}  // namespace sked::cli
