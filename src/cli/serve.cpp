// `sked serve --db STORE`: the store's dashboard, JSON API and Prometheus metrics over HTTP
// (sked::http::Server). SIGTERM/SIGINT stop it.

#include "common.hpp"

#include <sked/errors.hpp>
#include <sked/http/server.hpp>

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include <pthread.h>

namespace sked::cli {
namespace {

struct ServeArgs {
  StoreArgs store{};
  std::string listen = "127.0.0.1:8080";
  std::string token_file{};
  bool read_only = false;
  bool per_job_metrics = false;
};

// `127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:80`.
std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  const auto bad = [&] {
    return InvalidArgument(fmt::format(
        "--listen '{}': expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080 (port 0: any free "
        "port)",
        text));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad();
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') throw bad();
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  const unsigned long n = std::stoul(port);
  if (n > 65535) throw bad();
  return {host, static_cast<std::uint16_t>(n)};
}

std::string read_token(const std::string& path) {
  std::ifstream in{path};
  if (!in) throw InvalidArgument(fmt::format("--token-file '{}': cannot read it", path));
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16 || token.find_first_of(" \t\r\n") != std::string::npos) {
    throw InvalidArgument(
        fmt::format("--token-file '{}': expected one line of at least 16 characters without spaces "
                    "(e.g. from `openssl rand -hex 32`)",
                    path));
  }
  return token;
}

void run_serve(const ServeArgs& args) {
  http::ServerOptions options;
  std::tie(options.host, options.port) = parse_listen(args.listen);
  if (!args.token_file.empty()) options.token = read_token(args.token_file);
  options.read_only = args.read_only;
  options.per_job_metrics = args.per_job_metrics;

  // Taken by sigwait on this thread; the server's threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);

  // Any store: the server reads it through the JobStore interface only. The whole job list is read
  // on a second, read-only handle, so that its long read holds up no page.
  const auto store = open_store("serve", args.store, args.read_only ? Access::read : Access::write);
  options.job_list_store = open_store("serve", args.store, Access::read);
  http::Server server{store, options};
  server.start();
  const std::string shown =
      options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]";
  std::cout << fmt::format("sked serve: http://{}:{}/ serving {}{}\n", shown, server.port(),
                           store_name(*store, args.store.db), args.read_only ? " (read-only)" : "")
            << std::flush;
  int signal = 0;
  sigwait(&signals, &signal);
  server.stop();
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve a store's dashboard, JSON API and Prometheus metrics over HTTP");
  cmd->add_option("--db", args->store.db,
                  "The sked store: an SQLite file (default: sked.sqlite3) or a PostgreSQL database "
                  "(postgresql://user@host/dbname)")
      ->type_name("PATH|URL");
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (default: 127.0.0.1:8080)")
      ->type_name("HOST:PORT");
  cmd->add_option("--token-file", args->token_file,
                  "A file holding the token every request must carry (needed for any address "
                  "but loopback)")
      ->type_name("FILE");
  cmd->add_flag("--read-only", args->read_only, "Show only: no run now, pause, resume or remove");
  cmd->add_flag("--per-job-metrics", args->per_job_metrics,
                "Label run metrics by job as well as by task (one series per job)");
  cmd->footer(help_text(R"(
Pages (they work without JavaScript; a small script refreshes them every 2 s):
  /                 jobs: search, filter by state, paged
  /jobs/ID          one job: next fire times, history, a chart of recent runs, actions
  /executions       history across jobs, by job, status and time
  /schedulers       the scheduler processes registered in the store
JSON under /api/ (the fields of `sked jobs --json` and friends) and Prometheus metrics at
/metrics; docs/http.md describes them.

Binds loopback by default. Any other address needs --token-file: then every request carries
the token (Authorization: Bearer TOKEN, or a browser signs in once). Changes are POSTs with the
token or the page's CSRF token, never GETs. Never creates or migrates a store.

Exit status: 0 after SIGTERM/SIGINT, 1 a runtime failure (the address is in use), 2 bad usage
or input.

Examples:
  sked serve --db jobs.sqlite3
  sked serve --db postgresql://sked@db.example/app
  sked serve --db jobs.sqlite3 --read-only --listen 127.0.0.1:9090
  sked serve --db jobs.sqlite3 --listen 0.0.0.0:8080 --token-file /etc/sked/token)"));
  cmd->callback([args] { run_command("serve", [&] { run_serve(*args); }); });
}

}  // namespace sked::cli
