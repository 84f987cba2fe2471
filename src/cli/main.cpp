// The `sked` command-line tool. Exit status: 0 ok, 1 a runtime failure, 2 bad usage or input.

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"sked: preview schedules and inspect sked job stores", "sked"};
  app.set_version_flag("--version", std::string{"sked "} + SKED_VERSION);
  app.require_subcommand(0, 1);
  auto* help = app.add_subcommand("help", "Show this help");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (help->parsed() || app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  return 0;
}
