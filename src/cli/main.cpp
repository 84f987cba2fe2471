// The `sked` command-line tool. Exit status: 0 ok, 1 a runtime failure, 2 bad usage or input.

#include "commands.hpp"

#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

namespace sked::cli {
namespace {

// Edits (insert, delete, replace, swap two neighbours) from a to b.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The command `word` was probably meant to be, if one is close enough.
std::string closest_command(const CLI::App& app, std::string_view word) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto* cmd : app.get_subcommands({})) {
    const auto& name = cmd->get_name();
    const std::size_t d = name.starts_with(word) && word.size() >= 2 ? 1 : distance(word, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

}  // namespace

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
one of another schema version, and change nothing. --db also takes a PostgreSQL database,
postgresql://user@host/dbname, shared by schedulers on several hosts; ?schema=NAME picks the
PostgreSQL schema (default sked), so several schedules can share one database.

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
    if (app.get_subcommands().empty() && argc > 1 && argv[1][0] != '-') {
      const std::string_view word = argv[1];
      const auto guess = sked::cli::closest_command(app, word);
      std::cerr << "sked: there is no command '" << word << "'"
                << (guess.empty() ? std::string{} : " (did you mean '" + guess + "'?)")
                << "\nRun 'sked help' for the list of commands.\n";
      return sked::cli::exit_bad_input;
    }
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
        std::cout << cmd->help("sked");  // `Usage: sked jobs`, as `sked jobs --help` prints it
        return 0;
      }
    }
    const auto guess = sked::cli::closest_command(app, help_topic);
    std::cerr << "sked help: there is no command '" << help_topic << "'"
              << (guess.empty() ? std::string{} : " (did you mean '" + guess + "'?)")
              << " (see sked help)\n";
    return sked::cli::exit_bad_input;
  }
  return 0;
}
