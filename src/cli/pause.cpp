// `sked pause JOB`: stops a job's fire times until it is resumed; a running scheduler notices at
// its next pass.

#include "common.hpp"

#include <sked/errors.hpp>

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct PauseArgs {
  StoreArgs store{};
  std::string job{};
};

void run_pause(const PauseArgs& args) {
  const auto store = open_store("pause", args.store, Access::write);
  // One atomic change: a claim that advances the job meanwhile is not overwritten by a stale copy.
  bool was_paused = false;
  const Job job = store->modify_job(args.job, [&](Job& j) {
    was_paused = j.paused();
    j.next_run_time.reset();
  });
  std::cout << (was_paused ? fmt::format("job '{}' is already paused\n", job.id)
                           : fmt::format("paused job '{}'\n", job.id))
            << std::flush;
}

}  // namespace

void register_pause(CLI::App& app) {
  auto args = std::make_shared<PauseArgs>();
  auto* cmd =
      app.add_subcommand("pause", "Pause a job: it keeps its place in the store but does not fire");
  cmd->add_option("job", args->job, "The job's id")->required()->type_name("JOB");
  add_store_options(*cmd, args->store, false);
  cmd->footer(help_text(R"(
Clears the job's next run time. A scheduler sharing the store notices at once (an SQLite store is
watched for changes; others are polled every max_wait, 1 s by default); runs already going are not stopped. `sked run-now` still runs a paused
job. Pausing a paused job changes nothing.

Never creates the store. Exit status: 0 ok, 1 no such job, or the store could not be written
(read-only, locked), 2 bad usage or a path that is not a sked store.

Examples:
  sked pause nightly-backup
  sked pause nightly-backup --db /var/lib/app/sked.sqlite3)"));
  cmd->callback([args] { run_command("pause", [&] { run_pause(*args); }); });
}

}  // namespace sked::cli
