// `sked remove JOB`: deletes a job from the store; its history stays.

#include "common.hpp"

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct RemoveArgs {
  StoreArgs store{};
  std::string job{};
};

void run_remove(const RemoveArgs& args) {
  const auto store = open_store("remove", args.store, Access::write);
  store->remove_job(args.job);  // JobNotFound names the job and the store
  std::cout << fmt::format("removed job '{}'\n", args.job) << std::flush;
}

}  // namespace

void register_remove(CLI::App& app) {
  auto args = std::make_shared<RemoveArgs>();
  auto* cmd = app.add_subcommand("remove", "Remove a job from the store (its history stays)");
  cmd->add_option("job", args->job, "The job's id")->required()->type_name("JOB");
  add_store_options(*cmd, args->store, false);
  cmd->footer(help_text(R"(
Deletes the job and any pending run-now request. Its execution records stay (see `sked prune`); a
run already going finishes and is recorded. A job that `sked run` added from a crontab comes back on
its next reload while its line is in the file.

Never creates the store. Exit status: 0 ok, 1 no such job or the store could not be written, 2 bad
usage or a path that is not a sked store.

Example:
  sked remove old-report)"));
  cmd->callback([args] { run_command("remove", [&] { run_remove(*args); }); });
}

}  // namespace sked::cli
