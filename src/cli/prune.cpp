// `sked prune --older-than AGE`: deletes old execution records.

#include "common.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct PruneArgs {
  StoreArgs store{};
  std::string older_than{};
};

void run_prune(const PruneArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const Duration age = parse_age(args.older_than, "--older-than");
  const auto store = open_store("prune", args.store, Access::write);
  const TimePoint now = SystemClock{}.now();
  const TimePoint cutoff = now - age;
  if (cutoff >= now) {
    // parse_age takes positive ages only; a cutoff at or after now would delete every record.
    throw InvalidArgument(fmt::format("--older-than '{}': the cutoff {} is not in the past",
                                      args.older_than, human_time(cutoff, zone)));
  }
  const std::size_t deleted = store->delete_old_executions(cutoff);
  if (args.store.json) {
    print_json({{"deleted", deleted}, {"cutoff", json_time(cutoff)}});
    return;
  }
  std::cout << fmt::format("deleted {} execution record{} with a run time before {}\n", deleted,
                           deleted == 1 ? "" : "s", human_time(cutoff, zone))
            << std::flush;
}

}  // namespace

void register_prune(CLI::App& app) {
  auto args = std::make_shared<PruneArgs>();
  auto* cmd = app.add_subcommand("prune", "Delete execution records older than an age");
  cmd->add_option("--older-than", args->older_than,
                  "Age of the records to delete: 30d, 12h, 90s, 1h30m, 2w")
      ->type_name("AGE")
      ->required();
  add_store_options(*cmd, args->store);
  cmd->footer(help_text(R"(
Deletes the execution records whose run time is before now minus the age, a few thousand per
transaction so that schedulers sharing the store keep running. Runs still going (status started) are
never deleted.

Never creates the store. Exit status: 0 ok, 1 the store could not be written, 2 bad usage, a bad
age or a path that is not a sked store.

--json prints {"deleted": N, "cutoff": "<UTC time>"}.

Examples:
  sked prune --older-than 30d
  sked prune --older-than 1h30m --db /var/lib/app/sked.sqlite3)"));
  cmd->callback([args] { run_command("prune", [&] { run_prune(*args); }); });
}

}  // namespace sked::cli
