#include "support/recorder.hpp"

#include <sked/stores/memory.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <random>
#include <tuple>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

TEST_CASE("100,000 jobs: finding the due ones asks only their triggers", "[store][memory][scale]") {
  std::atomic<long> calls{0};
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  const auto shared_store = std::make_shared<sked::MemoryJobStore>();
  auto& store = *shared_store;
  constexpr int n = 100'000;
  for (int i = 0; i < n; ++i) {
    sked::Job job;
    job.id = "job" + std::to_string(i);
    job.task = "t";
    // Job i is first due at t0 + i seconds; each fires every hour.
    job.trigger =
        std::make_shared<sked::test::CountingTrigger>(t0 + std::chrono::seconds{i}, 1h, &calls);
    job.misfire_grace_time = 1h;
    job.next_run_time = t0 + std::chrono::seconds{i};
    store.add_job(job);
  }
  REQUIRE(store.size() == n);
  calls = 0;
  const auto claims = store.claim_due_jobs(t0 + 9s, 1000, {});
  CHECK(claims.size() == 10);
  // One call per due job to find its next fire time; none for the other 99,990.
  CHECK(calls.load() == 10);
  CHECK(store.next_run_time() == t0 + 10s);
}

TEST_CASE("the memory store keeps a bounded history, dropping the oldest first",
          "[store][memory][history]") {
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  const auto shared_store = std::make_shared<sked::MemoryJobStore>(3);
  auto& store = *shared_store;
  sked::Job job;
  job.id = "j";
  job.task = "t";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1min, {.start_date = t0}});
  job.misfire_grace_time = 1h;
  job.coalesce = false;
  job.max_instances = 10;
  job.next_run_time = t0;
  store.add_job(job);
  (void)store.claim_due_jobs(t0 + 4min, 10, {});  // five runs
  const auto history = store.get_executions({});
  REQUIRE(history.size() == 3);
  CHECK(history.front().run_time == t0 + 4min);
  CHECK(history.back().run_time == t0 + 2min);
}

TEST_CASE("jobs that share everything but their id stay separate jobs", "[store][memory]") {
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  const auto shared_store = std::make_shared<sked::MemoryJobStore>();
  auto& store = *shared_store;
  auto make = [&](std::string id, int minutes) {
    sked::Job job;
    job.id = std::move(id);
    job.name = "report";
    job.task = "send";
    job.args = {{"to", "ops"}};
    job.trigger = std::make_shared<sked::IntervalTrigger>(
        sked::IntervalTrigger{std::chrono::minutes{minutes}, {.start_date = t0}});
    job.next_run_time = t0 + std::chrono::minutes{minutes};
    return job;
  };
  store.add_job(make("a", 1));
  store.add_job(make("b", 2));
  store.add_job(make("a-very-long-job-id-that-does-not-fit-in-a-short-string", 3));

  auto changed = make("b", 2);
  changed.args = {{"to", "dev"}};
  changed.name = "other";
  store.add_job(changed, true);

  const auto a = store.lookup_job("a");
  const auto b = store.lookup_job("b");
  const auto c = store.lookup_job("a-very-long-job-id-that-does-not-fit-in-a-short-string");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->args == nlohmann::json{{"to", "ops"}});
  CHECK(a->name == "report");
  CHECK(b->args == nlohmann::json{{"to", "dev"}});
  CHECK(b->name == "other");
  CHECK(c->id == "a-very-long-job-id-that-does-not-fit-in-a-short-string");
  CHECK(c->next_run_time == t0 + 3min);
  CHECK(a->trigger->describe() != c->trigger->describe());

  store.remove_job("a");
  store.add_job(make("a", 5));  // the same body again after every job holding it was removed
  CHECK(store.lookup_job("a")->args == nlohmann::json{{"to", "ops"}});
  CHECK(store.lookup_job("a")->next_run_time == t0 + 5min);
}

TEST_CASE("the memory store hands out due jobs in (time, insertion) order under random changes",
          "[store][memory][order]") {
  // A reference model (an ordered multimap) against the store, through adds, reschedules, pauses,
  // resumes and removals picked by a seeded generator.
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  const auto shared_store = std::make_shared<sked::MemoryJobStore>(0);
  auto& store = *shared_store;
  // id -> time, seq
  std::map<std::string, std::pair<std::optional<sked::TimePoint>, std::uint64_t>> model;
  std::uint64_t seq = 0;
  std::mt19937 rng{7};
  const auto trigger = std::make_shared<sked::DateTrigger>(t0);
  auto job_at = [&](const std::string& id, std::optional<sked::TimePoint> at) {
    sked::Job job;
    job.id = id;
    job.task = "t";
    job.trigger = trigger;
    job.misfire_grace_time = 1000h;
    job.next_run_time = at;
    return job;
  };
  auto random_time = [&] { return t0 + std::chrono::seconds{rng() % 50}; };  // many ties
  for (int step = 0; step < 5000; ++step) {
    const std::string id = "j" + std::to_string(rng() % 400);
    const auto found = model.find(id);
    switch (rng() % 4) {
      case 0:
      case 1:
        if (found == model.end()) {
          const auto at = random_time();
          store.add_job(job_at(id, at));
          model[id] = {at, seq++};
        } else {
          const std::optional<sked::TimePoint> at =
              rng() % 5 == 0 ? std::nullopt : std::optional{random_time()};
          store.add_job(job_at(id, at), true);
          found->second.first = at;
        }
        break;
      case 2:
        if (found != model.end()) {
          store.remove_job(id);
          model.erase(found);
        }
        break;
      default:
        if (found != model.end()) CHECK(store.lookup_job(id)->next_run_time == found->second.first);
    }
  }
  std::vector<std::tuple<sked::TimePoint, std::uint64_t, std::string>> expected;
  for (const auto& [id, entry] : model) {
    if (entry.first) expected.emplace_back(*entry.first, entry.second, id);
  }
  std::sort(expected.begin(), expected.end());
  REQUIRE(store.next_run_time() == std::get<0>(expected.front()));

  std::vector<std::string> ids_in_get_all;
  for (const auto& job : store.get_all_jobs()) {
    if (job.next_run_time) ids_in_get_all.push_back(job.id);
  }
  const auto claims = store.claim_due_jobs(t0 + 1h, 100'000, {});
  REQUIRE(claims.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(claims[i].job->id == std::get<2>(expected[i]));
    CHECK(ids_in_get_all[i] == std::get<2>(expected[i]));
  }
  CHECK_FALSE(store.next_run_time());
  // The paused ones are all that is left.
  CHECK(store.size() == model.size() - expected.size());
}

TEST_CASE(
    "the memory store refuses a second record of a kept fire time through any number of evictions",
    "[store][memory][once]") {
  // A small history evicts constantly, so the fingerprint index deletes as often as it inserts.
  const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");
  const auto store = std::make_shared<sked::MemoryJobStore>(50);
  sked::Job job;
  job.id = "j";
  job.task = "t";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1s, {.start_date = t0}});
  job.misfire_grace_time = 1h;
  job.next_run_time = t0;
  store->add_job(job);
  for (int i = 0; i < 500; ++i) {
    auto claims = store->claim_due_jobs(t0 + std::chrono::seconds{i}, 10, {});
    REQUIRE(claims.size() == 1);
    REQUIRE(claims[0].runs.size() == 1);
    claims[0].runs[0].complete({});
  }
  CHECK(store->get_executions({.limit = 1000}).size() == 50);
  // Each of the 50 kept fire times, written back as due, is refused; older ones are not known any
  // more.
  for (int i = 450; i < 500; ++i) {
    store->modify_job("j", [&](sked::Job& j) { j.next_run_time = t0 + std::chrono::seconds{i}; });
    const auto claims = store->claim_due_jobs(t0 + std::chrono::seconds{i}, 10, {});
    REQUIRE(claims.size() == 1);
    CHECK(claims[0].executions.empty());
  }
  CHECK(store->get_executions({.limit = 1000}).size() == 50);
}

}  // namespace SKED_TEST_FILE
