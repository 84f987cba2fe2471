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
  CLI::App app{"sked: preview schedules and inspect sked job stores", "sked"};
  app.set_version_flag("--version", std::string{"sked "} + SKED_VERSION);
  app.require_subcommand(0, 1);
  auto* help = app.add_subcommand("help", "Show this help");
  sked::cli::register_next(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A command already reported what went wrong.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : sked::cli::exit_bad_input;
  }
  if (help->parsed() || app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  return 0;
}
