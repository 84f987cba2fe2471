#pragma once
// A throwaway PostgreSQL server for the PostgreSQL store's tests: started on first use, once per
// test process, in a temporary directory, reachable only through a Unix socket there; stopped (and
// its directory removed) when the process exits, also after failed tests.
//
// Under ctest, every test process shares one server instead (the `postgres` fixture,
// tests/support/postgres_fixture.sh, started once per ctest run; SKED_TEST_PG_DIR names its
// directory): each process works in a database of its own, created on first use and dropped at
// exit, so that the processes ctest runs side by side never see each other's schemas. Starting a
// server per test process was most of the PostgreSQL tests' time. Tests that stop or restart the
// server use `own()`.
//
// Built only when CMake found the server binaries (SKED_PG_BINDIR); as root, the server runs as the
// `postgres` user, since PostgreSQL refuses to run as root.

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

namespace sked::test {

class PostgresServer {
 public:
  /// The server, started on the first call. Throws `std::runtime_error` with the server's log when
  /// it cannot start.
  static PostgresServer& instance() {
    static PostgresServer* server = [] {
      const char* shared = std::getenv("SKED_TEST_PG_DIR");
      if (shared == nullptr || *shared == '\0') return &own();
      // Stopped by atexit, never destroyed: other statics may use it.
      auto* s = new PostgresServer(std::filesystem::path{shared});
      std::atexit([] { instance().stop(); });
      return s;
    }();
    return *server;
  }

  /// A server of this process alone, started on the first call: for tests that stop or restart it.
  static PostgresServer& own() {
    static PostgresServer* server = [] {
      auto* s = new PostgresServer();
      std::atexit([] { own().stop(); });
      return s;
    }();
    return *server;
  }

  /// The server's settings (`-c name=value ...` on its command line), read when `instance()` first
  /// starts it and at every restart: set them before. The default is a scratch server's: no fsync,
  /// no full-page writes, so that a commit costs no disk flush. Commits stay synchronous, so that a
  /// committed change survives the crash of a restart test.
  static std::string& settings() {
    static std::string s = "-c fsync=off -c full_page_writes=off";
    return s;
  }

  /// A libpq connection string for `dbname` (by default this process's database).
  [[nodiscard]] std::string conninfo(const std::string& dbname = {}) const {
    return fmt::format("host={} port=5432 user=postgres dbname={}", dir_.string(),
                       dbname.empty() ? db_ : dbname);
  }
  /// The same as a URL (the socket directory percent-encoded as the host).
  [[nodiscard]] std::string url() const {
    std::string host;
    for (const char c : dir_.string()) host += c == '/' ? std::string{"%2F"} : std::string(1, c);
    return fmt::format("postgresql://postgres@{}:5432/{}", host, db_);
  }

  /// Kills the server the hard way (as a crash would) and starts it again.
  void restart_immediately() { pg_ctl("restart -m immediate"); }
  /// Kills the server the hard way and leaves it down until `start()`.
  void kill() { pg_ctl("stop -m immediate"); }
  void start() { pg_ctl("start"); }

  /// Runs `sql` with psql in this process's database; returns its output (unaligned, tuples only).
  std::string psql(const std::string& sql) const { return psql_in(db_, sql); }

 private:
  std::string psql_in(const std::string& dbname, const std::string& sql) const {
    const auto out = dir_ / fmt::format("psql-{}.out", getpid());
    run(fmt::format("{}/psql -X -q -A -t -v ON_ERROR_STOP=1 -h {} -U postgres -d {} -c "
                    "\"{}\" >{} 2>&1",
                    SKED_PG_BINDIR, dir_.string(), dbname, sql, out.string()),
        out);
    std::ifstream in{out};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Attaches to the fixture's server in `dir`, in a new database of this process's own.
  explicit PostgresServer(std::filesystem::path dir)
      : dir_(std::move(dir)), db_(fmt::format("sked_test_{}", getpid())), attached_(true) {
    // Left by an earlier process with this pid that crashed.
    (void)psql_in("postgres", fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db_));
    (void)psql_in("postgres", fmt::format("CREATE DATABASE {}", db_));
  }

  PostgresServer() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sked-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + pattern);
    dir_ = pattern;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr)
        throw std::runtime_error(
            "running as root and there is no `postgres` user to run PostgreSQL");
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("chown failed on " + dir_.string());
      as_user_ = "runuser -u postgres -- ";
    }
    // atexit does not run when the test process crashes or is killed (a ctest timeout): a watcher
    // outside it stops the server and removes the directory once this process is gone.
    const std::string watcher = fmt::format(
        "(while kill -0 {} 2>/dev/null; do sleep 1; done; {}{}/pg_ctl -D {}/data -m immediate "
        "stop; "
        "rm -rf {}) >/dev/null 2>&1 </dev/null &",
        getpid(), as_user_, SKED_PG_BINDIR, dir_.string(), dir_.string());
    (void)std::system(watcher.c_str());
    const auto log = dir_ / "initdb.log";
    run(fmt::format(
            "{}{}/initdb -D {}/data -A trust -U postgres -E UTF8 --locale=C --no-sync >{} 2>&1",
            as_user_, SKED_PG_BINDIR, dir_.string(), log.string()),
        log);
    pg_ctl("start");
  }

  void pg_ctl(const std::string& action) {
    if (attached_) {
      throw std::logic_error(
          "this test stops or restarts the PostgreSQL server, which the test processes share: use "
          "PostgresServer::own()");
    }
    const auto log = dir_ / "server.log";
    // Unix socket only (no TCP port shared with other processes).
    run(fmt::format(
            "{}{}/pg_ctl -D {}/data -l {} -w -t 60 -o \"-c listen_addresses='' -k {} {}\" {} "
            ">>{}.ctl 2>&1",
            as_user_, SKED_PG_BINDIR, dir_.string(), log.string(), dir_.string(), settings(),
            action, log.string()),
        log);
  }

  void stop() noexcept {
    if (attached_) {
      try {
        (void)psql_in("postgres", fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", db_));
      } catch (...) {
        // The fixture's cleanup removes the whole server.
      }
      return;
    }
    const std::string cmd = fmt::format("{}{}/pg_ctl -D {}/data -m immediate stop >/dev/null 2>&1",
                                        as_user_, SKED_PG_BINDIR, dir_.string());
    (void)std::system(cmd.c_str());
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static void run(const std::string& command, const std::filesystem::path& log) {
    if (std::system(command.c_str()) != 0) {
      std::ifstream in{log};
      std::stringstream text;
      text << in.rdbuf();
      throw std::runtime_error(fmt::format("`{}` failed:\n{}", command, text.str()));
    }
  }

  std::filesystem::path dir_;
  std::string db_ = "postgres";
  bool attached_ = false;
  std::string as_user_;
};

}  // namespace sked::test
