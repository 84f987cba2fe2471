// sked::http::Server on an ephemeral loopback port: the JSON API returns the tool's shapes, pages
// escape what the store holds, and nothing changes without a POST that carries the token or the
// page's CSRF token.

#include "support/temp_dir.hpp"

#include "detail/job_json.hpp"
#include "http/metrics.hpp"

#include <sked/errors.hpp>
#include <sked/http/server.hpp>
#include <sked/run_lease.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/triggers/interval.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const std::string xss = "<script>alert(1)</script>";
const std::string token = "0123456789abcdef0123456789abcdef";

sked::Job make_job(std::string id, std::string name, std::string task) {
  sked::Job job;
  job.id = std::move(id);
  job.name = std::move(name);
  job.task = std::move(task);
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::Duration{1h});
  job.next_run_time = sked::SystemClock{}.now() + 1h;
  return job;
}

// A store with three jobs and a few finished runs of `a`.
struct Fixture {
  sked::test::TempDir dir;
  std::shared_ptr<sked::SqliteJobStore> store =
      std::make_shared<sked::SqliteJobStore>(dir.file("s.sqlite3"));

  Fixture() {
    store->add_job(make_job("a", "alpha", "mail"));
    store->add_job(make_job("b", "beta", "mail"));
    store->add_job(make_job("x", xss, "report"));
    const auto t = sked::SystemClock{}.now() - 10min;
    for (int i = 0; i < 4; ++i) {
      auto lease = store->start_run("a", t + std::chrono::minutes{i});
      sked::Outcome outcome{.duration = std::chrono::milliseconds{100 * (i + 1)}};
      if (i == 3) {
        outcome.status = ExecutionStatus::error;
        outcome.exception = "std::runtime_error: " + xss;
      }
      lease.complete(outcome);
    }
  }
};

struct Client {
  httplib::Client http;
  explicit Client(std::uint16_t port) : http("127.0.0.1", port) {
    http.set_connection_timeout(5);
    http.set_read_timeout(5);
  }
};

// The fixture's store served on an ephemeral loopback port, and a client of it.
struct Served : Fixture {
  sked::http::Server server;
  Client c;
  explicit Served(sked::http::ServerOptions options = {.port = 0})
      : server{store, std::move(options)}, c{started(server)} {}
  static std::uint16_t started(sked::http::Server& s) {
    s.start();
    return s.port();
  }
};

nlohmann::json json_of(const httplib::Result& r) {
  REQUIRE(r);
  return nlohmann::json::parse(r->body);
}

std::string csrf_of(const std::string& page) {
  std::smatch m;
  REQUIRE(std::regex_search(page, m, std::regex{R"re(name="csrf" value="([0-9a-f]+)")re"}));
  return m[1];
}

bool paused(const sked::SqliteJobStore& store, const std::string& id) {
  return store.lookup_job(id)->paused();
}

}  // namespace

TEST_CASE("the JSON API returns the tool's job and execution shapes", "[http]") {
  Served f;
  auto& c = f.c;

  const auto jobs = c.http.Get("/api/jobs");
  REQUIRE(jobs->status == 200);
  CHECK(jobs->get_header_value("Content-Type") == "application/json");
  CHECK(jobs->get_header_value("X-Total-Count") == "3");
  const auto list = json_of(jobs);
  REQUIRE(list.size() == 3);
  const auto stored = f.store->lookup_job("a");
  const auto last = f.store->get_executions({.job_id = "a", .limit = 1});
  auto expected = sked::detail::job_json(*stored, sked::SystemClock{}.now(), true, last.front());
  auto got = list[0];
  // The state may differ by whether the test's store counts as a live scheduler; the rest may not.
  got.erase("state");
  expected.erase("state");
  CHECK(got == expected);
  CHECK(list[0]["last_status"] == "error");

  const auto one = json_of(c.http.Get("/api/jobs/a"));
  CHECK(one["executions"].size() == 4);
  CHECK(one["next_fire_times"].size() == 5);
  CHECK(one["pending_runs"].empty());
  CHECK(c.http.Get("/api/jobs/nope")->status == 404);

  const auto errors = json_of(c.http.Get("/api/executions?status=error"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] ==
        sked::detail::execution_json(
            f.store->get_executions({.status = ExecutionStatus::error}).front(), false));
  CHECK(c.http.Get("/api/executions?status=bogus")->status == 400);
  CHECK(json_of(c.http.Get("/api/jobs?q=ALPH")).size() == 1);
  CHECK(json_of(c.http.Get("/api/jobs?size=2&page=2")).size() == 1);
  CHECK(json_of(c.http.Get("/api/schedulers")).is_array());
}

TEST_CASE("pages escape every string from the store and allow only their own nonce's script",
          "[http]") {
  Served f;
  auto& c = f.c;
  for (const char* path : {"/", "/jobs/x", "/jobs/a", "/executions", "/schedulers"}) {
    INFO(path);
    const auto r = c.http.Get(path);
    REQUIRE(r->status == 200);
    CHECK(r->body.find(xss) == std::string::npos);
    const std::string csp = r->get_header_value("Content-Security-Policy");
    std::smatch m;
    REQUIRE(std::regex_search(csp, m, std::regex{"script-src 'nonce-([0-9a-f]+)'"}));
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(r->body.find("<script nonce=\"" + m[1].str() + "\">") != std::string::npos);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
  }
  CHECK(c.http.Get("/")->body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(c.http.Get("/jobs/a")->body.find("<svg") != std::string::npos);
  const auto css = c.http.Get("/assets/sked.css");
  CHECK(css->status == 200);
  CHECK(css->get_header_value("Content-Type").starts_with("text/css"));
}

TEST_CASE("a change needs a POST with the page's CSRF token and a confirmation", "[http]") {
  Served f;
  auto& c = f.c;
  const std::string csrf = csrf_of(c.http.Get("/jobs/a")->body);

  SECTION("a GET never changes anything") {
    CHECK(c.http.Get("/jobs/a/pause")->status == 405);
    CHECK(c.http.Get("/api/jobs/a/remove")->status == 405);
    CHECK_FALSE(paused(*f.store, "a"));
    CHECK(f.store->lookup_job("a"));
  }
  SECTION("a POST without the CSRF token or with a wrong one is refused") {
    CHECK(
        c.http.Post("/jobs/a/pause", "confirm=yes", "application/x-www-form-urlencoded")->status ==
        403);
    CHECK(c.http.Post("/jobs/a/pause", "confirm=yes&csrf=00", "application/x-www-form-urlencoded")
              ->status == 403);
    CHECK(c.http.Post("/api/jobs/a/pause", "", "application/json")->status == 403);
    CHECK_FALSE(paused(*f.store, "a"));
  }
  SECTION("the form asks for a confirmation, then pauses, resumes and removes") {
    const auto ask =
        c.http.Post("/jobs/a/pause", "csrf=" + csrf, "application/x-www-form-urlencoded");
    CHECK(ask->status == 200);
    CHECK(ask->body.find("name=\"confirm\" value=\"yes\"") != std::string::npos);
    CHECK_FALSE(paused(*f.store, "a"));
    const std::string yes = "confirm=yes&csrf=" + csrf;
    const auto done = c.http.Post("/jobs/a/pause", yes, "application/x-www-form-urlencoded");
    CHECK(done->status == 303);
    CHECK(paused(*f.store, "a"));
    CHECK(c.http.Post("/jobs/a/resume", yes, "application/x-www-form-urlencoded")->status == 303);
    CHECK_FALSE(paused(*f.store, "a"));
    CHECK(*f.store->lookup_job("a")->next_run_time > sked::SystemClock{}.now());
    CHECK(c.http.Post("/jobs/a/remove", yes, "application/x-www-form-urlencoded")->status == 303);
    CHECK_FALSE(f.store->lookup_job("a"));
  }
  SECTION("the API takes the CSRF token as a header; run now leaves a pending request") {
    httplib::Headers h{{"X-CSRF-Token", csrf}};
    const auto r = c.http.Post("/api/jobs/b/run-now", h, "", "application/json");
    CHECK(r->status == 200);
    const auto pending = json_of(c.http.Get("/api/jobs/b"))["pending_runs"];
    REQUIRE(pending.size() == 1);
    CHECK(pending[0]["kind"] == "run-now request");
    CHECK(c.http.Get("/jobs/b")->body.find("id=\"pending\"") != std::string::npos);
    CHECK(c.http.Post("/api/jobs/nope/pause", h, "", "application/json")->status == 404);
  }
  SECTION("a request from a page of another host name is refused (DNS rebinding)") {
    const auto r = c.http.Get("/", {{"Host", "evil.example"}});
    CHECK(r->status == 421);
  }
  SECTION("a body past the limit is refused") {
    CHECK(c.http
              .Post("/jobs/a/pause", std::string(100'000, 'a'), "application/x-www-form-urlencoded")
              ->status == 413);
  }
}

TEST_CASE("with a token, nothing is served to a client without it", "[http]") {
  Served f{{.port = 0, .token = token}};
  auto& c = f.c;

  CHECK(c.http.Get("/api/jobs")->status == 401);
  CHECK(c.http.Get("/metrics")->status == 401);
  CHECK(c.http.Get("/api/jobs", {{"Authorization", "Bearer wrong"}})->status == 401);
  const auto page = c.http.Get("/");
  CHECK(page->status == 303);
  CHECK(page->get_header_value("Location") == "/login");
  CHECK(c.http.Post("/api/jobs/a/pause", "", "application/json")->status == 401);
  CHECK_FALSE(paused(*f.store, "a"));

  const httplib::Headers bearer{{"Authorization", "Bearer " + token}};
  CHECK(c.http.Get("/api/jobs", bearer)->status == 200);
  CHECK(c.http.Get("/metrics", bearer)->status == 200);
  // A client holding the token needs no CSRF token.
  CHECK(c.http.Post("/api/jobs/a/pause", bearer, "", "application/json")->status == 200);
  CHECK(paused(*f.store, "a"));

  // A browser signs in on the login page and then carries a session cookie.
  const std::string csrf = csrf_of(c.http.Get("/login")->body);
  CHECK(c.http.Post("/login", "csrf=" + csrf + "&token=wrong", "application/x-www-form-urlencoded")
            ->status == 401);
  const auto in = c.http.Post("/login", "csrf=" + csrf + "&token=" + token,
                              "application/x-www-form-urlencoded");
  REQUIRE(in->status == 303);
  std::string cookie = in->get_header_value("Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  cookie = cookie.substr(0, cookie.find(';'));
  CHECK(cookie.find(token) == std::string::npos);
  CHECK(c.http.Get("/", {{"Cookie", cookie}})->status == 200);
}

TEST_CASE("a non-loopback address is refused without a token", "[http]") {
  Fixture f;
  CHECK_THROWS_AS((sked::http::Server{f.store, {.host = "0.0.0.0", .port = 0}}),
                  sked::InvalidArgument);
}

TEST_CASE("a read-only server shows no actions and refuses every change", "[http]") {
  Served f{{.port = 0, .read_only = true}};
  auto& c = f.c;
  const auto page = c.http.Get("/jobs/a");
  CHECK(page->body.find("action=\"/jobs/a/pause\"") == std::string::npos);
  const std::string csrf = csrf_of(c.http.Get("/login")->body);
  CHECK(
      c.http.Post("/jobs/a/pause", "confirm=yes&csrf=" + csrf, "application/x-www-form-urlencoded")
          ->status == 403);
  CHECK(
      c.http.Post("/api/jobs/a/remove", {{"X-CSRF-Token", csrf}}, "", "application/json")->status ==
      403);
  CHECK_FALSE(paused(*f.store, "a"));
  CHECK(f.store->lookup_job("a"));
}

namespace {

// A small reader of the Prometheus text format (0.0.4): every sample's family is declared by
// # TYPE before it, families are not interleaved, and histogram buckets are cumulative and end in
// +Inf equal to _count.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::string current;
  std::istringstream in{text};
  std::string line;
  std::map<std::string, double> last_bucket;
  const std::regex sample{
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$)"};
  while (std::getline(in, line)) {
    INFO(line);
    if (line.starts_with("# HELP ")) continue;
    if (line.starts_with("# TYPE ")) {
      std::istringstream words{line.substr(7)};
      std::string name, type;
      words >> name >> type;
      CHECK_FALSE(types.contains(name));
      types[name] = type;
      current = name;
      continue;
    }
    std::smatch m;
    REQUIRE(std::regex_match(line, m, sample));
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (types[current] == "histogram" && family == current + suffix) family = current;
    }
    CHECK(family == current);
    const double value = m[4] == "+Inf" ? INFINITY : std::stod(m[4]);
    samples[m[1].str() + "{" + m[3].str() + "}"] = value;
    if (m[1].str().ends_with("_bucket")) {
      const std::string series =
          m[1].str() + std::regex_replace(m[3].str(), std::regex{R"(,?le="[^"]*")"}, "");
      CHECK(value >= last_bucket[series]);
      last_bucket[series] = value;
    }
  }
  return samples;
}

}  // namespace

TEST_CASE("/metrics counts runs by task and status in the Prometheus text format", "[http]") {
  Served f;
  auto& c = f.c;
  const auto r = c.http.Get("/metrics");
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
  const auto m = parse_metrics(r->body);
  CHECK(m.at(R"(sked_runs_total{task="mail",status="executed"})") == 3);
  CHECK(m.at(R"(sked_runs_total{task="mail",status="error"})") == 1);
  CHECK(m.at(R"(sked_run_duration_seconds_count{task="mail"})") == 4);
  CHECK(m.at(R"(sked_run_duration_seconds_bucket{task="mail",le="0.1"})") == 1);
  CHECK(m.at(R"(sked_run_duration_seconds_bucket{task="mail",le="+Inf"})") == 4);
  CHECK(m.at(R"(sked_jobs{task="mail",state="scheduled"})") == 2);
  CHECK(m.contains(R"(sked_next_run_timestamp_seconds{task="report"})"));
  CHECK(m.contains(R"(sked_last_success_timestamp_seconds{task="mail"})"));
  CHECK(m.contains("sked_schedulers_live{}"));

  // Later scrapes read only what is new.
  auto lease = f.store->start_run("b", sked::SystemClock{}.now() - 1s);
  const auto running = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(running.at(R"(sked_runs_started{task="mail"})") == 1);
  lease.complete({.duration = 20ms});
  const auto after = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(after.at(R"(sked_runs_total{task="mail",status="executed"})") == 4);
  CHECK(after.at(R"(sked_runs_started{task="mail"})") == 0);

  // promtool, when it is installed, agrees (Debian's `prometheus` package ships it).
  if (std::filesystem::exists("/usr/bin/promtool")) {
    sked::test::TempDir dir;
    const std::string file = dir.file("metrics.txt");
    std::ofstream{file} << c.http.Get("/metrics")->body;
    const std::string command = "/usr/bin/promtool check metrics < " + file + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    INFO(output);
    CHECK(pclose(pipe) == 0);
  } else {
    WARN("promtool is not installed: checked with the test's own parser only");
  }
}

TEST_CASE("per-job metrics add a job label", "[http]") {
  Served f{{.port = 0, .per_job_metrics = true}};
  auto& c = f.c;
  const auto m = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(m.at(R"(sked_runs_total{task="mail",job="a",status="executed"})") == 3);
  CHECK(sked::http::detail::label_value("a\"b\\c\nd") == R"(a\"b\\c\nd)");
}
