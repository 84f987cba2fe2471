// `sked resume JOB`: schedules a paused job again from now.

#include "common.hpp"

#include <sked/errors.hpp>
#include <sked/trigger.hpp>

#include <fmt/format.h>

#include <iostream>

namespace sked::cli {
namespace {

struct ResumeArgs {
  StoreArgs store{};
  std::string job{};
};

void run_resume(const ResumeArgs& args) {
  const TimeZone zone = display_zone(args.store);
  const auto store = open_store("resume", args.store, Access::write);
  const TimePoint now = SystemClock{}.now();
  // One atomic change, as Scheduler::resume_job: the next fire time from now.
  bool was_paused = true;
  const Job job = store->modify_job(args.job, [&](Job& j) {
    was_paused = j.paused();
    if (!was_paused) return;
    j.next_run_time = j.trigger->next_fire_time(std::nullopt, now);
    if (!j.next_run_time) {
      throw Error(
          fmt::format("job '{}' will not fire again (its trigger is done); it stays paused", j.id));
    }
  });
  if (!was_paused) {
    std::cout << fmt::format("job '{}' is not paused (next run {})\n", job.id,
                             human_time(*job.next_run_time, zone))
              << std::flush;
    return;
  }
  std::cout << fmt::format("resumed job '{}'; next run {}\n", job.id,
                           human_time(*job.next_run_time, zone))
            << std::flush;
}

}  // namespace

void register_resume(CLI::App& app) {
  auto args = std::make_shared<ResumeArgs>();
  auto* cmd = app.add_subcommand("resume", "Resume a paused job from now");
  cmd->add_option("job", args->job, "The job's id")->required()->type_name("JOB");
  add_store_options(*cmd, args->store, false);
  cmd->footer(help_text(R"(
Sets the job's next run time to its trigger's first fire time after now (fire times missed while it
was paused are not run). A scheduler sharing the store notices at its next pass. Resuming a job that
is not paused changes nothing.

Never creates the store. Exit status: 0 ok, 1 no such job, a trigger that will not fire again,
or the store could not be written, 2 bad usage or a path that is not a sked store.

Examples:
  sked resume nightly-backup
  sked resume nightly-backup --tz UTC)"));
  cmd->callback([args] { run_command("resume", [&] { run_resume(*args); }); });
}

}  // namespace sked::cli
