// The `sked` command-line tool. Exit status: 0 ok, 1 a runtime failure, 2 bad usage or input.

#include "commands.hpp"

#include <iostream>

namespace sked::cli {

void fail(std::string_view command, std::string_view message, int status) {
  std::cerr << "sked " << command << ": " << message << '\n';
  throw CLI::RuntimeError(status);
}

}  // namespace sked::cli

int main(int argc, char** argv) {
  CLI::App app{
      "sked: preview cron schedules, inspect and change sked job stores, and run a crontab "
      "file as a daemon with its history in a store",
      "sked"};
  app.set_version_flag("--version", std::string{"sked "} + SKED_VERSION);
  app.require_subcommand(0, 1);
  std::string help_topic;
  auto* help = app.add_subcommand("help", "Show this help, or a command's (sked help COMMAND)");
  help->add_option("command", help_topic, "The command to explain");
  sked::cli::register_next(app);
  sked::cli::register_jobs(app);
  sked::cli::register_show(app);
  sked::cli::register_executions(app);
  sked::cli::register_pause(app);
  sked::cli::register_resume(app);
  sked::cli::register_remove(app);
  sked::cli::register_run_now(app);
  sked::cli::register_prune(app);
  sked::cli::register_run(app);
  sked::cli::register_serve(app);
  app.footer(sked::cli::help_text(R"(
Every command but `next` works on a sked store, an SQLite file (--db, default sked.sqlite3) that
`sked run` or an application using the sked library keeps its jobs and history in. Only `sked run`
creates or migrates a store; the others refuse a missing file, a file that is not a sked store, or
one of another schema version, and change nothing.

Exit status: 0 ok, 1 a runtime failure (no such job, a store locked or read-only), 2 bad usage
or input (the error names what and where). `sked COMMAND --help` explains each command, with
examples; colours appear only on a terminal (set NO_COLOR to turn them off).

Examples:
  sked run --crontab jobs.cron &          # a cron daemon with history
  sked jobs                               # what is scheduled, and how it went
  sked executions --status error --since 1d
  sked run-now nightly-backup)"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A command already reported what went wrong.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // `sked show: job is required`, naming the command as the commands' own errors do.
    std::string where = "sked";
    for (const auto* cmd : app.get_subcommands()) where += " " + cmd->get_name();
    std::cerr << where << ": " << e.what() << "\nRun '" << where
              << " --help' for more information.\n";
    return sked::cli::exit_bad_input;
  }
  if (help->parsed() || app.get_subcommands().empty()) {
    if (help_topic.empty()) {
      // Not app.help(): that shows the help of the subcommand that was parsed (`help` itself).
      std::cout << app.get_formatter()->make_help(&app, "sked", CLI::AppFormatMode::Normal);
      return 0;
    }
    for (const auto* cmd : app.get_subcommands({})) {
      if (cmd->get_name() == help_topic) {
        std::cout << cmd->help();
        return 0;
      }
    }
    std::cerr << "sked help: there is no command '" << help_topic << "' (see sked help)\n";
    return sked::cli::exit_bad_input;
  }
  return 0;
}
