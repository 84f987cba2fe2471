// sked::http::Server on an ephemeral loopback port: the JSON API returns the tool's shapes, pages
// escape what the store holds, and nothing changes without a POST that carries the token or the
// page's CSRF token. What reads the store runs against every kind of store (memory, SQLite, the
// minimal test store and, when built, PostgreSQL): the server uses the JobStore interface only.

#include "stores/store_factories.hpp"
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

#include <chrono>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>

#include <unistd.h>

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const std::string xss = "<script>alert(1)</script>";
const std::string token = "0123456789abcdef0123456789abcdef";

using sked::test::SqliteStoreFactory;
// Every store the server is tried on.
#ifdef SKED_PG_BINDIR
using ServedStores = std::tuple<sked::test::SqliteStoreFactory, sked::test::MemoryStoreFactory,
                                sked::test::MinimalStoreFactory, sked::test::PostgresStoreFactory>;
#else
using ServedStores = std::tuple<sked::test::SqliteStoreFactory, sked::test::MemoryStoreFactory,
                                sked::test::MinimalStoreFactory>;
#endif

// Whether a store keeps a registry of its schedulers (SQLite, PostgreSQL).
template <typename Factory>
constexpr bool registers_schedulers() {
  const std::string_view name = Factory::name;
  return name == "sqlite" || name == "postgres";
}

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
template <typename Factory = SqliteStoreFactory>
struct Fixture {
  Factory factory;
  std::shared_ptr<sked::JobStore> store = factory.make();

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
        outcome.traceback = "line 1\n" + xss + "\nlast line";
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
template <typename Factory = SqliteStoreFactory>
struct Served : Fixture<Factory> {
  sked::http::Server server;
  Client c;
  explicit Served(sked::http::ServerOptions options = {.port = 0})
      : server{this->store, std::move(options)}, c{started(server)} {}
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

bool paused(const sked::JobStore& store, const std::string& id) {
  return store.lookup_job(id)->paused();
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("the JSON API returns the tool's job and execution shapes", "[http]",
                        ServedStores) {
  Served<TestType> f;
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

  // History pages: newest first, by page and size, bounded in time on both sides, with the end of
  // the output on request.
  const auto newest = json_of(c.http.Get("/api/executions?job=a"));
  REQUIRE(newest.size() == 4);
  CHECK(newest[0]["status"] == "error");
  CHECK_FALSE(newest[0].contains("traceback"));
  const auto second = json_of(c.http.Get("/api/executions?job=a&size=2&page=2"));
  REQUIRE(second.size() == 2);
  CHECK(second[0] == newest[2]);
  CHECK(second[1] == newest[3]);
  CHECK(json_of(c.http.Get("/api/executions?job=a&size=2&page=3")).empty());
  const std::string until = newest[1]["run_time"];
  const auto older = json_of(c.http.Get("/api/executions?job=a&until=" + until));
  REQUIRE(older.size() == 2);
  CHECK(older[0] == newest[2]);
  const std::string since = newest[2]["run_time"];
  CHECK(json_of(c.http.Get("/api/executions?job=a&since=" + since + "&until=" + until)).size() ==
        1);
  const auto with_output = json_of(c.http.Get("/api/executions?status=error&output=1"));
  REQUIRE(with_output.size() == 1);
  CHECK(with_output[0]["traceback"] == "line 1\n" + xss + "\nlast line");
  CHECK(c.http.Get("/api/executions?until=yesterday")->status == 400);
  CHECK(c.http.Get("/api/executions?page=0")->status == 400);
}

TEMPLATE_LIST_TEST_CASE(
    "pages escape every string from the store and allow only their own nonce's script", "[http]",
    ServedStores) {
  Served<TestType> f;
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
  const auto job = c.http.Get("/jobs/a")->body;
  CHECK(job.find("<svg") != std::string::npos);
  // The failed run's exception and output, escaped.
  CHECK(job.find("std::runtime_error: &lt;script&gt;") != std::string::npos);
  CHECK(job.find("last line") != std::string::npos);
  const auto executions = c.http.Get("/executions?status=error")->body;
  CHECK(executions.find("data-execution") != std::string::npos);
  CHECK(executions.find("last line") != std::string::npos);
  CHECK(c.http.Get("/executions?status=missed")->body.find("No executions match.") !=
        std::string::npos);
  const auto css = c.http.Get("/assets/sked.css");
  CHECK(css->status == 200);
  CHECK(css->get_header_value("Content-Type").starts_with("text/css"));
}

TEMPLATE_LIST_TEST_CASE("a change needs a POST with the page's CSRF token and a confirmation",
                        "[http]", ServedStores) {
  Served<TestType> f;
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
    // The job list shows the change at once.
    CHECK(c.http.Get("/api/jobs")->get_header_value("X-Total-Count") == "2");
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
  Served<> f{{.port = 0, .token = token}};
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
  Fixture<> f;
  CHECK_THROWS_AS((sked::http::Server{f.store, {.host = "0.0.0.0", .port = 0}}),
                  sked::InvalidArgument);
  CHECK_THROWS_AS((sked::http::Server{nullptr, {.port = 0}}), sked::InvalidArgument);
}

TEST_CASE("a read-only server shows no actions and refuses every change", "[http]") {
  Served<> f{{.port = 0, .read_only = true}};
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

TEMPLATE_LIST_TEST_CASE("/metrics counts runs by task and status in the Prometheus text format",
                        "[http]", ServedStores) {
  Served<TestType> f;
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
  // Only a store that registers its schedulers can tell how many are alive.
  CHECK(m.contains("sked_schedulers_live{}") == registers_schedulers<TestType>());

  // Later scrapes read only what is new.
  auto lease = f.store->start_run("b", sked::SystemClock{}.now() - 1s);
  const auto running = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(running.at(R"(sked_runs_started{task="mail"})") == 1);
  lease.complete({.duration = 20ms});
  auto missed = f.store->start_run("x", sked::SystemClock{}.now() - 2s);
  missed.complete({.status = ExecutionStatus::missed});
  const auto after = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(after.at(R"(sked_runs_total{task="mail",status="executed"})") == 4);
  CHECK(after.at(R"(sked_runs_started{task="mail"})") == 0);
  CHECK(after.at(R"(sked_runs_total{task="report",status="missed"})") == 1);
  // Counted once, however often it is scraped.
  CHECK(parse_metrics(c.http.Get("/metrics")->body) == after);
}

namespace {

// A store whose writers commit out of id order, as PostgreSQL's may: records in `hidden` are not
// visible yet.
class LateCommitStore final : public sked::test::MinimalJobStore {
 public:
  std::set<std::int64_t> hidden;

 protected:
  std::vector<sked::Execution> query_executions_(const sked::ExecutionQuery& q) const override {
    auto out = MinimalJobStore::query_executions_(q);
    std::erase_if(out, [&](const sked::Execution& e) { return hidden.contains(e.id); });
    return out;
  }
};

struct LateCommitStoreFactory {
  static constexpr const char* name = "late";
  std::shared_ptr<LateCommitStore> made;
  std::shared_ptr<sked::JobStore> make() { return made = std::make_shared<LateCommitStore>(); }
};

}  // namespace

TEST_CASE("/metrics counts a record that became visible after one with a higher id", "[http]") {
  Served<LateCommitStoreFactory> f;
  auto& c = f.c;
  const auto executed = [&] {
    return parse_metrics(c.http.Get("/metrics")->body)
        .at(R"(sked_runs_total{task="mail",status="executed"})");
  };
  CHECK(executed() == 3);
  auto early = f.store->start_run("b", sked::SystemClock{}.now() - 3s);
  auto late = f.store->start_run("b", sked::SystemClock{}.now() - 2s);
  early.complete({.duration = 10ms});
  late.complete({.duration = 10ms});
  // The first of the two commits last.
  const auto ids =
      f.store->get_executions({.job_id = "b", .order = sked::ExecutionOrder::oldest_id_first});
  REQUIRE(ids.size() == 2);
  f.factory.made->hidden.insert(ids[0].id);
  CHECK(executed() == 4);
  f.factory.made->hidden.clear();
  CHECK(executed() == 5);
  CHECK(executed() == 5);
}

TEST_CASE("per-job metrics add a job label", "[http]") {
  Served<> f{{.port = 0, .per_job_metrics = true}};
  auto& c = f.c;
  const auto m = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(m.at(R"(sked_runs_total{task="mail",job="a",status="executed"})") == 3);
  CHECK(m.contains(R"(sked_next_run_timestamp_seconds{task="mail",job="b"})"));
  CHECK(sked::http::detail::label_value("a\"b\\c\nd") == R"(a\"b\\c\nd)");
}

TEST_CASE("per-job metrics label a bounded number of jobs", "[http]") {
  Served<> f{{.port = 0, .per_job_metrics = true, .max_job_series = 2}};
  auto& c = f.c;
  for (int i = 0; i < 5; ++i)
    f.store->add_job(make_job("more" + std::to_string(i), "more", "mail"));
  const auto m = parse_metrics(c.http.Get("/metrics")->body);
  std::set<std::string> jobs;
  for (const auto& [series, value] : m) {
    std::smatch found;
    if (std::regex_search(series, found, std::regex{R"re(job="([^"]*)")re"})) jobs.insert(found[1]);
  }
  // Two jobs by name, the rest together.
  CHECK(jobs.size() == 3);
  CHECK(jobs.contains(""));
}

TEST_CASE("the schedulers page lists the registered schedulers, alive and dead", "[http]") {
  Served<> f;
  auto& c = f.c;
  // The fixture's store registered when it started its runs.
  CHECK(json_of(c.http.Get("/api/schedulers")).size() == 1);
  // One scheduler that claims now, and one whose last heartbeat is an hour old.
  const std::string file = f.factory.dir.file("contract.sqlite3");
  auto live = std::make_shared<sked::SqliteJobStore>(
      file, sked::SqliteJobStoreOptions{.scheduler_id = "live-one",
                                        .on_warning = [](std::string_view) {}});
  (void)live->claim_due_jobs(sked::SystemClock{}.now(), 10, {});
  auto clock = std::make_shared<sked::ManualClock>(sked::SystemClock{}.now() - 1h);
  auto stale = std::make_shared<sked::SqliteJobStore>(
      file,
      sked::SqliteJobStoreOptions{
          .scheduler_id = "stale-one", .clock = clock, .on_warning = [](std::string_view) {}});
  (void)stale->claim_due_jobs(clock->now(), 10, {});

  const auto list = json_of(c.http.Get("/api/schedulers"));
  REQUIRE(list.size() == 3);
  // The latest heartbeat first: the stale one last.
  CHECK(list[2]["id"] == "stale-one");
  CHECK(list[2]["alive"] == false);
  for (std::size_t i : {0U, 1U}) {
    CHECK(list[i]["alive"] == true);
    CHECK(list[i]["pid"] == static_cast<std::int64_t>(getpid()));
  }
  CHECK((list[0]["id"] == "live-one" || list[1]["id"] == "live-one"));
  const auto page = c.http.Get("/schedulers")->body;
  CHECK(page.find("live-one") != std::string::npos);
  CHECK(page.find("s-dead") != std::string::npos);
  const auto m = parse_metrics(c.http.Get("/metrics")->body);
  CHECK(m.at("sked_schedulers_live{}") == 2);
}

#ifdef SKED_PG_BINDIR
TEST_CASE("the schedulers page lists a PostgreSQL store's schedulers, alive and dead",
          "[http][postgres]") {
  Served<sked::test::PostgresStoreFactory> f;
  auto& c = f.c;
  auto options = f.factory.options();
  options.scheduler_id = "live-one";
  auto live = std::make_shared<sked::PostgresJobStore>(
      sked::test::PostgresServer::instance().conninfo(), options);
  (void)live->claim_due_jobs(sked::SystemClock{}.now(), 10, {});
  // Liveness is the database server's clock: a heartbeat an hour old, written as another host
  // would.
  (void)sked::test::PostgresServer::instance().psql(
      "INSERT INTO " + f.factory.schema +
      ".sked_scheduler (id, host, pid, started, heartbeat) VALUES ('stale-one', 'elsewhere', 7, "
      "now() - interval '2 hours', now() - interval '1 hour')");

  // With the fixture's store, which registered when it started its runs.
  const auto list = json_of(c.http.Get("/api/schedulers"));
  REQUIRE(list.size() == 3);
  CHECK(list[2]["id"] == "stale-one");
  CHECK(list[2]["host"] == "elsewhere");
  CHECK(list[2]["pid"] == 7);
  CHECK(list[2]["alive"] == false);
  CHECK((list[0]["id"] == "live-one" || list[1]["id"] == "live-one"));
  CHECK(list[0]["alive"] == true);
  CHECK(list[1]["alive"] == true);
  CHECK(parse_metrics(c.http.Get("/metrics")->body).at("sked_schedulers_live{}") == 2);
  CHECK(c.http.Get("/")->body.find("A scheduler is running on this store.") != std::string::npos);
}
#endif

TEST_CASE("a store without a registry of schedulers says so", "[http]") {
  Served<sked::test::MemoryStoreFactory> f;
  auto& c = f.c;
  CHECK(json_of(c.http.Get("/api/schedulers")).empty());
  const auto page = c.http.Get("/schedulers");
  REQUIRE(page->status == 200);
  CHECK(page->body.find("keeps no registry") != std::string::npos);
  CHECK(c.http.Get("/")->body.find("scheduler is running") == std::string::npos);
}

TEMPLATE_LIST_TEST_CASE("the job list shows changes made elsewhere once it is read again", "[http]",
                        ServedStores) {
  Served<TestType> f{{.port = 0, .snapshot_max_age = 50ms}};
  auto& c = f.c;
  const auto total = [&] { return c.http.Get("/api/jobs")->get_header_value("X-Total-Count"); };
  CHECK(total() == "3");
  // As another process would: straight into the store, not through the server.
  f.store->add_job(make_job("later", "added elsewhere", "mail"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (total() != "4" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(total() == "4");
  CHECK(c.http.Get("/?q=elsewhere")->body.find("data-job=\"later\"") != std::string::npos);
}

TEST_CASE("the job list can be read on a second handle of the store", "[http]") {
  Fixture<> f;
  // Another connection to the same file, as `sked serve` opens.
  sked::http::Server server{
      f.store, {.port = 0, .snapshot_max_age = 50ms, .job_list_store = f.factory.make()}};
  server.start();
  Client c{server.port()};
  CHECK(c.http.Get("/api/jobs")->get_header_value("X-Total-Count") == "3");
  const std::string csrf = csrf_of(c.http.Get("/login")->body);
  // A change through the server shows at once, though the list is read on the other handle.
  CHECK(
      c.http.Post("/api/jobs/a/remove", {{"X-CSRF-Token", csrf}}, "", "application/json")->status ==
      200);
  CHECK(c.http.Get("/api/jobs")->get_header_value("X-Total-Count") == "2");
  f.store->add_job(make_job("later", "added elsewhere", "mail"));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.http.Get("/api/jobs")->get_header_value("X-Total-Count") != "3" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(c.http.Get("/api/jobs")->get_header_value("X-Total-Count") == "3");
}
