// /metrics as Prometheus's own checker sees it: `promtool check metrics` (Debian's `prometheus`
// package ships it) must accept the exposition with and without per-job labels, on a store whose
// tasks and job ids hold every character a label value must escape, with runs of every status, one
// still going, on SQLite and (when built) PostgreSQL.
//
// Exit status: 0 when promtool accepted everything, 1 when it did not, 77 (ctest: skipped) when
// promtool is missing in a developer's build. In CI (SKED_CI or CI set and not 0/false) a missing
// promtool fails the test: there it must run.

#include "support/temp_dir.hpp"

#include <sked/http/server.hpp>
#include <sked/run_lease.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/triggers/interval.hpp>

#ifdef SKED_PG_BINDIR
#include "support/postgres_server.hpp"

#include <sked/stores/postgres.hpp>
#endif

#include <httplib.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

bool in_ci() {
  for (const char* name : {"SKED_CI", "CI"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0' && std::string{value} != "0" &&
        std::string{value} != "false")
      return true;
  }
  return false;
}

// promtool on PATH (or SKED_PROMTOOL); empty when there is none.
std::string find_promtool() {
  if (const char* given = std::getenv("SKED_PROMTOOL"); given != nullptr && *given != '\0')
    return given;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = dirs.find(':', start);
    const std::string dir =
        dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/promtool";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

// Jobs whose task and id hold a quote, a backslash, a newline and non-ASCII letters, and a record
// of every status; returns a run still going.
sked::RunLease fill(sked::JobStore& store) {
  const std::vector<std::pair<std::string, std::string>> jobs{
      {"plain", "mail"},
      {"quote\"d", "task \"quoted\""},
      {"back\\slash", "C:\\tasks\\nightly"},
      {"new\nline", "two\nlines"},
      {"z\u00fcrich-\u65e5\u672c", "r\u00e9sum\u00e9"},
  };
  for (const auto& [id, task] : jobs) {
    sked::Job job;
    job.id = id;
    job.name = id;
    job.task = task;
    job.trigger = std::make_shared<sked::IntervalTrigger>(sked::Duration{1h});
    job.next_run_time = sked::SystemClock{}.now() + 1h;
    store.add_job(job);
  }
  // A paused job and an overdue one, so that every state has a series.
  store.modify_job("plain", [](sked::Job& job) { job.next_run_time.reset(); });
  store.modify_job("quote\"d",
                   [](sked::Job& job) { job.next_run_time = sked::SystemClock{}.now() - 1h; });
  const auto t = sked::SystemClock{}.now() - 30min;
  int minute = 0;
  for (const auto& [id, task] : jobs) {
    for (const auto status : {sked::ExecutionStatus::executed, sked::ExecutionStatus::error,
                              sked::ExecutionStatus::missed, sked::ExecutionStatus::max_instances,
                              sked::ExecutionStatus::interrupted}) {
      auto lease = store.start_run(id, t + std::chrono::minutes{minute++});
      lease.complete(
          {.status = status,
           .duration = std::chrono::milliseconds{37 * minute},
           .exception = status == sked::ExecutionStatus::error ? "std::runtime_error: x" : ""});
    }
  }
  return store.start_run("back\\slash", sked::SystemClock{}.now() - 1s);
}

// Serves `store`, scrapes /metrics twice (the second reads incrementally) and runs promtool on the
// second scrape. False, with what promtool said, when it objects.
bool check(const std::string& promtool, const std::string& what,
           std::shared_ptr<sked::JobStore> store, bool per_job, const sked::test::TempDir& dir) {
  sked::http::Server server{std::move(store), {.port = 0, .per_job_metrics = per_job}};
  server.start();
  httplib::Client client{"127.0.0.1", server.port()};
  client.set_read_timeout(30);
  std::string body;
  for (int i = 0; i < 2; ++i) {
    const auto r = client.Get("/metrics");
    if (!r || r->status != 200) {
      std::cout << "FAIL " << what << ": GET /metrics answered " << (r ? r->status : -1) << '\n';
      return false;
    }
    body = r->body;
  }
  const std::string file = dir.file("metrics.txt");
  std::ofstream{file} << body;
  const std::string command = "'" + promtool + "' check metrics < '" + file + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    std::cout << "FAIL " << what << ": cannot run " << command << '\n';
    return false;
  }
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  if (status != 0) {
    std::cout << "FAIL " << what << ": promtool check metrics exited with " << status << ":\n"
              << output << "--- the exposition it read:\n"
              << body;
    return false;
  }
  std::cout << "ok   " << what << " (" << body.size() << " bytes)\n";
  return true;
}

}  // namespace

int main() {
  const std::string promtool = find_promtool();
  if (promtool.empty()) {
    if (in_ci()) {
      std::cout
          << "FAIL promtool is not installed, and CI must run this test "
             "(scripts/install-deps.sh installs Debian's prometheus package, which ships it)\n";
      return 1;
    }
    std::cout << "SKIPPED: promtool is not installed (Debian: apt-get install prometheus, or run "
                 "scripts/install-deps.sh); /metrics was not checked with it\n";
    return 77;
  }
  bool ok = true;
  sked::test::TempDir dir;
  {
    auto store = std::make_shared<sked::SqliteJobStore>(
        dir.file("metrics.sqlite3"),
        sked::SqliteJobStoreOptions{.on_warning = [](std::string_view) {}});
    const auto going = fill(*store);
    ok = check(promtool, "SQLite store, labels by task", store, false, dir) && ok;
    ok = check(promtool, "SQLite store, labels by task and job", store, true, dir) && ok;
  }
#ifdef SKED_PG_BINDIR
  {
    auto store = std::make_shared<sked::PostgresJobStore>(
        sked::test::PostgresServer::instance().conninfo(),
        sked::PostgresJobStoreOptions{.listen = false, .on_warning = [](std::string_view) {}});
    const auto going = fill(*store);
    ok = check(promtool, "PostgreSQL store, labels by task", store, false, dir) && ok;
    ok = check(promtool, "PostgreSQL store, labels by task and job", store, true, dir) && ok;
  }
#endif
  return ok ? 0 : 1;
}
