// What every JobStore must do, run against each store in StoreFactories.

#include "stores/store_factories.hpp"

#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "support/owner.hpp"

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;
using sked::test::StoreFactories;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

sked::Job interval_job(std::string id, sked::Duration every, std::optional<sked::TimePoint> next) {
  sked::Job job;
  job.id = id;
  job.name = id;
  job.task = "task";
  job.args = {{"id", id}};
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{every, {.start_date = t0}});
  job.misfire_grace_time = 60s;
  job.next_run_time = next;
  return job;
}

std::vector<std::string> ids(const std::vector<sked::Job>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("a store adds, finds, updates and removes jobs", "[store][contract]",
                        StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("a", 1min, t0 + 2min));
  store->add_job(interval_job("b", 1min, t0 + 1min));
  CHECK_THROWS_AS(store->add_job(interval_job("a", 1min, t0)), sked::ConflictingIdError);

  const auto a = store->lookup_job("a");
  REQUIRE(a);
  CHECK(a->next_run_time == t0 + 2min);
  CHECK(a->args == nlohmann::json{{"id", "a"}});
  CHECK_FALSE(store->lookup_job("zzz"));
  CHECK(store->next_run_time() == t0 + 1min);

  const auto moved = store->modify_job("a", [](sked::Job& j) { j.next_run_time = t0 + 30s; });
  CHECK(moved.next_run_time == t0 + 30s);
  CHECK(store->next_run_time() == t0 + 30s);
  CHECK_THROWS_AS(store->modify_job("zzz", [](sked::Job&) {}), sked::JobNotFound);
  // A change that fails (throws, or leaves the job invalid) writes nothing.
  CHECK_THROWS(store->modify_job("a", [](sked::Job& j) {
    j.name = "renamed";
    throw std::runtime_error("changed my mind");
  }));
  CHECK_THROWS_AS(store->modify_job("a", [](sked::Job& j) { j.max_instances = 0; }),
                  sked::InvalidArgument);
  CHECK_THROWS_AS(store->modify_job("a", [](sked::Job& j) { j.id = "b"; }), sked::InvalidArgument);
  CHECK(store->lookup_job("a")->name == "a");
  CHECK(store->lookup_job("a")->max_instances == 1);
  // Adding with replace_existing replaces in one step.
  auto replacement = interval_job("a", 5min, t0 + 40s);
  replacement.name = "replaced";
  store->add_job(replacement, true);
  CHECK(store->lookup_job("a")->name == "replaced");

  store->remove_job("a");
  CHECK_FALSE(store->lookup_job("a"));
  CHECK_THROWS_AS(store->remove_job("a"), sked::JobNotFound);
  store->remove_all_jobs();
  CHECK(store->get_all_jobs().empty());
  CHECK_FALSE(store->next_run_time());
}

TEMPLATE_LIST_TEST_CASE("a store lists jobs soonest first and paused jobs last",
                        "[store][contract]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("paused", 1min, std::nullopt));
  store->add_job(interval_job("late", 1min, t0 + 3min));
  store->add_job(interval_job("early", 1min, t0 + 1min));
  CHECK(ids(store->get_all_jobs()) == std::vector<std::string>{"early", "late", "paused"});
  CHECK(store->next_run_time() == t0 + 1min);
}

TEMPLATE_LIST_TEST_CASE("claiming takes only due jobs, advances them and records started runs",
                        "[store][contract][claim]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("due", 1min, t0));
  store->add_job(interval_job("later", 1min, t0 + 10min));
  store->add_job(interval_job("paused", 1min, std::nullopt));

  auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 2s);
  auto claims = store->claim_due_jobs(t0 + 1s, 100, {}, owner);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].job->id == "due");
  REQUIRE(claims[0].executions.size() == 1);
  const auto started = claims[0].executions[0];
  CHECK(started.status == ExecutionStatus::started);
  CHECK(started.run_time == t0);
  REQUIRE(claims[0].runs.size() == 1);
  CHECK(claims[0].runs[0].execution() == started);
  CHECK(store->lookup_job("due")->next_run_time == t0 + 1min);
  // Claimed once: the same fire time is never handed out again.
  CHECK(store->claim_due_jobs(t0 + 1s, 100, {}).empty());

  claims[0].runs[0].complete({.status = ExecutionStatus::executed, .duration = 1500us});
  CHECK_FALSE(claims[0].runs[0].active());
  auto finished = started;
  finished.status = ExecutionStatus::executed;
  finished.duration = 1500us;
  finished.finished = t0 + 2s;
  const auto history = store->get_executions({.job_id = "due"});
  REQUIRE(history.size() == 1);
  CHECK(history[0] == finished);
  REQUIRE(owner->ended.size() == 1);
  CHECK(owner->ended[0] == finished);
  // Completed exactly once: a second completion changes nothing.
  claims[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "late"});
  CHECK(store->get_executions({.job_id = "due"}).at(0) == finished);
  CHECK(owner->ended.size() == 1);
}

TEMPLATE_LIST_TEST_CASE("claiming respects the batch limit and removes finished one-shot jobs",
                        "[store][contract][claim]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  for (int i = 0; i < 5; ++i) {
    sked::Job job = interval_job("once" + std::to_string(i), 1min, t0);
    job.trigger = std::make_shared<sked::DateTrigger>(t0);
    store->add_job(job);
  }
  const auto first = store->claim_due_jobs(t0, 3, {});
  const auto second = store->claim_due_jobs(t0, 3, {});
  CHECK(first.size() == 3);
  CHECK(second.size() == 2);
  CHECK(store->get_all_jobs().empty());
  CHECK(store->get_executions({.status = ExecutionStatus::started}).size() == 5);
}

TEMPLATE_LIST_TEST_CASE(
    "a claim takes only the runs its room admits and leaves the other due jobs untouched",
    "[store][contract][claim][room]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  for (int i = 0; i < 4; ++i) {
    sked::Job job = interval_job("due" + std::to_string(i), 1min, t0);
    job.executor = i % 2 == 0 ? "pool" : "other";
    store->add_job(job);
  }
  // Long missed: settled at once, whatever the room, because it starts nothing.
  store->add_job(interval_job("late", 1h, t0 - 10min));
  (void)store->request_run("due0", t0);
  // Room for one run of "pool" and none of "other", whose jobs are left; then the claim ends.
  std::vector<std::pair<std::string, std::size_t>> asked;
  const sked::ClaimRoom room = [&](const sked::Job& job, std::size_t taken) {
    asked.emplace_back(job.id, taken);
    if (job.executor == "other") return sked::Room::leave;
    return taken < 1 ? sked::Room::take : sked::Room::full;
  };
  std::vector<sked::RunLease> runs;
  const auto claimed = store->claim_due_jobs(t0, 100, {}, {}, runs, room);
  std::vector<std::string> claimed_ids;
  for (const auto& c : claimed) claimed_ids.push_back(c.job->id);
  std::sort(claimed_ids.begin(), claimed_ids.end());
  CHECK(claimed_ids == std::vector<std::string>{"due0", "late"});
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].job().id == "due0");
  // "due2" was refused on room ("pool" full): the claim ended before the run request.
  CHECK(std::find(asked.begin(), asked.end(), std::pair<std::string, std::size_t>{"due2", 1}) !=
        asked.end());
  CHECK(store->get_executions({.status = ExecutionStatus::started}).size() == 1);
  CHECK(store->get_executions({.status = ExecutionStatus::missed}).size() == 1);
  // Left untouched: still due at t0, no record, the run request still pending.
  for (const char* id : {"due1", "due2", "due3"}) {
    const auto job = store->lookup_job(id);
    REQUIRE(job);
    CHECK(job->next_run_time == t0);
    CHECK(store->get_executions({.job_id = id}).empty());
  }
  CHECK(store->pending_runs("due0").size() == 1);
  // A claim with room takes them.
  std::vector<sked::RunLease> more;
  CHECK(store->claim_due_jobs(t0, 100, {}, {}, more).size() == 4);
  // due1-3; due0's request is recorded max_instances, its scheduled run not having ended.
  CHECK(more.size() == 3);
  CHECK(store->pending_runs().empty());
}

TEMPLATE_LIST_TEST_CASE("max_instances counts runs that have not completed",
                        "[store][contract][max_instances]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("slow", 1min, t0));
  auto first = store->claim_due_jobs(t0, 10, {});
  REQUIRE(first.at(0).executions.at(0).status == ExecutionStatus::started);
  const auto second = store->claim_due_jobs(t0 + 1min, 10, {});
  CHECK(second.at(0).executions.at(0).status == ExecutionStatus::max_instances);
  CHECK(second.at(0).runs.empty());
  first[0].runs.at(0).complete({});
  const auto third = store->claim_due_jobs(t0 + 2min, 10, {});
  CHECK(third.at(0).executions.at(0).status == ExecutionStatus::started);
}

TEMPLATE_LIST_TEST_CASE("a job that does not coalesce runs every due fire time, one after another",
                        "[store][contract][max_instances][coalesce]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1min, t0);
  job.coalesce = false;
  job.misfire_grace_time = 10min;
  store->add_job(job);
  // Three fire times are due: the first starts, the other two wait, unrecorded, and the job stays
  // on the first of them.
  auto first = store->claim_due_jobs(t0 + 2min + 1s, 10, {});
  REQUIRE(first.size() == 1);
  REQUIRE(first[0].executions.size() == 1);
  CHECK(first[0].executions[0].status == ExecutionStatus::started);
  CHECK(first[0].executions[0].run_time == t0);
  REQUIRE(first[0].runs.size() == 1);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
  CHECK(store->next_run_time() == t0 + 1min);
  // While it runs, claims leave the job alone (no record, no claim), also when one more fire time
  // comes meanwhile.
  CHECK(store->claim_due_jobs(t0 + 2min + 2s, 10, {}).empty());
  CHECK(store->claim_due_jobs(t0 + 3min + 1s, 10, {}).empty());
  CHECK(store->get_executions({.job_id = "j"}).size() == 1);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);

  // Each end of a run lets the next waiting fire time start, under its own run time.
  first[0].runs[0].complete({});
  std::vector<sked::TimePoint> started;
  for (int i = 0; i < 3; ++i) {
    auto claims = store->claim_due_jobs(t0 + 3min + 2s, 10, {});
    REQUIRE(claims.size() == 1);
    REQUIRE(claims[0].runs.size() == 1);
    started.push_back(claims[0].runs[0].execution().run_time);
    CHECK(store->claim_due_jobs(t0 + 3min + 2s, 10, {}).empty());
    claims[0].runs[0].complete({});
  }
  CHECK(started == std::vector{t0 + 1min, t0 + 2min, t0 + 3min});
  CHECK(store->lookup_job("j")->next_run_time == t0 + 4min);
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 4);
  for (const auto& e : history) CHECK(e.status == ExecutionStatus::executed);
}

TEMPLATE_LIST_TEST_CASE(
    "fire times waiting for a running instance are still missed beyond the grace time",
    "[store][contract][max_instances][coalesce][misfire]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1min, t0);
  job.coalesce = false;
  job.misfire_grace_time = 90s;
  store->add_job(job);
  auto first = store->claim_due_jobs(t0 + 1min + 1s, 10, {});
  REQUIRE(first.at(0).runs.size() == 1);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
  // Still running at 00:03:31: 00:01 and 00:02 are now later than the 90 s grace and are recorded
  // missed; 00:03 waits on.
  const auto late = store->claim_due_jobs(t0 + 3min + 31s, 10, {});
  REQUIRE(late.size() == 1);
  REQUIRE(late[0].executions.size() == 2);
  CHECK(late[0].executions[0].status == ExecutionStatus::missed);
  CHECK(late[0].executions[0].run_time == t0 + 1min);
  CHECK(late[0].executions[1].status == ExecutionStatus::missed);
  CHECK(late[0].executions[1].run_time == t0 + 2min);
  CHECK(late[0].runs.empty());
  CHECK(store->lookup_job("j")->next_run_time == t0 + 3min);
  first[0].runs[0].complete({});
  const auto next = store->claim_due_jobs(t0 + 3min + 40s, 10, {});
  REQUIRE(next.size() == 1);
  REQUIRE(next[0].runs.size() == 1);
  CHECK(next[0].runs[0].execution().run_time == t0 + 3min);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 4min);
  CHECK(store->get_executions({.job_id = "j", .status = ExecutionStatus::max_instances}).empty());
}

TEMPLATE_LIST_TEST_CASE(
    "a job that does not coalesce starts up to max_instances due fire times at once",
    "[store][contract][max_instances][coalesce]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1min, t0);
  job.coalesce = false;
  job.max_instances = 2;
  job.misfire_grace_time = 10min;
  store->add_job(job);
  auto claims = store->claim_due_jobs(t0 + 3min, 10, {});
  REQUIRE(claims.size() == 1);
  REQUIRE(claims[0].runs.size() == 2);
  CHECK(claims[0].runs[0].execution().run_time == t0);
  CHECK(claims[0].runs[1].execution().run_time == t0 + 1min);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 2min);
  // A job waiting for its instances does not count against a claim's limit: the next due job is
  // taken.
  store->add_job(interval_job("other", 1min, t0 + 3min));
  const auto other = store->claim_due_jobs(t0 + 3min, 1, {});
  REQUIRE(other.size() == 1);
  CHECK(other[0].job->id == "other");
  claims[0].runs[1].complete({});
  const auto third = store->claim_due_jobs(t0 + 3min, 10, {});
  REQUIRE(third.size() == 1);
  REQUIRE(third[0].runs.size() == 1);
  CHECK(third[0].runs[0].execution().run_time == t0 + 2min);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 3min);
}

TEMPLATE_LIST_TEST_CASE(
    "execution history is filtered, newest first, and old records can be deleted",
    "[store][contract][history]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1min, t0);
  job.max_instances = 100;
  job.coalesce = false;
  store->add_job(job);
  for (int i = 0; i < 4; ++i) {
    auto claims = store->claim_due_jobs(t0 + std::chrono::minutes{i}, 10, {});
    claims.at(0).runs.at(0).complete(
        {.status = i % 2 == 0 ? ExecutionStatus::executed : ExecutionStatus::error,
         .exception = i % 2 == 0 ? "" : "std::runtime_error: boom"});
  }
  const auto all = store->get_executions({.job_id = "j"});
  REQUIRE(all.size() == 4);
  CHECK(all.front().run_time == t0 + 3min);
  CHECK(all.back().run_time == t0);
  CHECK(store->get_executions({.job_id = "j", .limit = 2}).size() == 2);
  const auto errors = store->get_executions({.status = ExecutionStatus::error});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].exception == "std::runtime_error: boom");
  CHECK(store->get_executions({.since = t0 + 2min}).size() == 2);
  CHECK(store->get_executions({.job_id = "other"}).empty());

  CHECK(store->delete_old_executions(t0 + 2min) == 2);
  CHECK(store->get_executions({}).size() == 2);
}

TEMPLATE_LIST_TEST_CASE("execution history pages by offset and run time, and reads on from an id",
                        "[store][contract][history]", StoreFactories) {
  using sked::ExecutionOrder;
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1h, t0 + 24h));
  store->add_job(interval_job("k", 1h, t0 + 24h));
  // Written out of run-time order: ids follow the writes, listings follow run times.
  const std::vector<std::pair<std::string, int>> writes{{"j", 5}, {"j", 1}, {"k", 3},
                                                        {"j", 4}, {"k", 0}, {"j", 2}};
  for (const auto& [job, minute] : writes) {
    auto lease = store->start_run(job, t0 + std::chrono::minutes{minute});
    const bool failed = minute % 2 == 1;
    lease.complete({.status = failed ? ExecutionStatus::error : ExecutionStatus::executed,
                    .duration = std::chrono::milliseconds{minute},
                    .exception = failed ? "std::runtime_error: boom" : "",
                    .traceback = "output \u2713 " + std::to_string(minute)});
  }
  const auto minutes = [](const std::vector<sked::Execution>& records) {
    std::vector<int> out;
    for (const auto& e : records) {
      out.push_back(static_cast<int>(
          std::chrono::duration_cast<std::chrono::minutes>(e.run_time - t0).count()));
    }
    return out;
  };
  using Minutes = std::vector<int>;

  const auto all = store->get_executions({});
  CHECK(minutes(all) == Minutes{5, 4, 3, 2, 1, 0});
  // Pages of two put together are the whole listing; past the end there is nothing.
  std::vector<sked::Execution> paged;
  for (std::size_t offset = 0; offset < 6; offset += 2) {
    const auto page = store->get_executions({.offset = offset, .limit = 2});
    CHECK(page.size() == 2);
    paged.insert(paged.end(), page.begin(), page.end());
  }
  CHECK(paged == all);
  CHECK(store->get_executions({.offset = 6}).empty());
  CHECK(store->get_executions({.limit = 0}).empty());

  // Run times from `since` up to, not including, `until`; with the job and status filters.
  CHECK(minutes(store->get_executions({.since = t0 + 1min, .until = t0 + 4min})) ==
        Minutes{3, 2, 1});
  CHECK(minutes(store->get_executions({.until = t0 + 1min})) == Minutes{0});
  CHECK(minutes(store->get_executions({.job_id = "j", .offset = 1, .limit = 2})) == Minutes{4, 2});
  CHECK(minutes(store->get_executions({.status = ExecutionStatus::error, .until = t0 + 5min})) ==
        Minutes{3, 1});

  // In the order written, and on from the last record read.
  const auto written = store->get_executions({.order = ExecutionOrder::oldest_id_first});
  CHECK(minutes(written) == Minutes{5, 1, 3, 4, 0, 2});
  CHECK(std::is_sorted(written.begin(), written.end(),
                       [](const auto& a, const auto& b) { return a.id < b.id; }));
  const auto on = store->get_executions(
      {.after_id = written[2].id, .order = ExecutionOrder::oldest_id_first, .limit = 2});
  CHECK(minutes(on) == Minutes{4, 0});
  CHECK(minutes(store->get_executions(
            {.after_id = written[2].id, .order = ExecutionOrder::oldest_id_first, .offset = 1})) ==
        Minutes{0, 2});
  CHECK(minutes(store->get_executions({.job_id = "k",
                                       .after_id = written[2].id,
                                       .order = ExecutionOrder::oldest_id_first})) == Minutes{0});
  CHECK(store
            ->get_executions(
                {.after_id = written.back().id, .order = ExecutionOrder::oldest_id_first})
            .empty());
  CHECK(minutes(store->get_executions({.after_id = written[4].id})) == Minutes{2});

  // Only the texts asked for; a traceback's tail counts characters, not bytes.
  const auto newest = all.front();
  CHECK(newest.exception == "std::runtime_error: boom");
  CHECK(newest.traceback == "output \u2713 5");
  const auto bare = store->get_executions({.id = newest.id, .with_texts = false});
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].exception.empty());
  CHECK(bare[0].traceback.empty());
  CHECK(bare[0].status == newest.status);
  CHECK(bare[0].duration == newest.duration);
  CHECK(bare[0].finished == newest.finished);
  CHECK(store->get_executions({.id = newest.id, .traceback_tail = 3}).at(0).traceback ==
        "\u2713 5");
  CHECK(store->get_executions({.id = newest.id, .traceback_tail = 3}).at(0).exception ==
        newest.exception);
  CHECK(store->get_executions({.id = newest.id, .traceback_tail = 0}).at(0).traceback.empty());
  CHECK(store->get_executions({.id = newest.id, .traceback_tail = 100}).at(0).traceback ==
        newest.traceback);
}

TEMPLATE_LIST_TEST_CASE("jobs the claim filter rejects stay due and untouched",
                        "[store][contract][claim]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto foreign = interval_job("foreign", 1min, t0);
  foreign.task = "elsewhere";
  store->add_job(foreign);
  store->add_job(interval_job("mine", 1min, t0 + 1s));
  const sked::ClaimFilter only_mine = [](const sked::Job& job) { return job.task != "elsewhere"; };

  const auto claims = store->claim_due_jobs(t0 + 2s, 10, only_mine);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].job->id == "mine");
  CHECK(store->lookup_job("foreign")->next_run_time == t0);
  CHECK(store->get_executions({.job_id = "foreign"}).empty());
  // Once runnable, it is claimed like any other due job.
  CHECK(store->claim_due_jobs(t0 + 2s, 10, {}).at(0).job->id == "foreign");
}

TEMPLATE_LIST_TEST_CASE(
    "a job's group is stored with it, and a claim for some groups leaves the others' jobs due",
    "[store][contract][claim][group]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto a = interval_job("a", 1min, t0);
  a.group = "crontab:/etc/a.cron";
  auto b = interval_job("b", 1min, t0);
  b.group = "crontab:/etc/b.cron";
  store->add_job(a);
  store->add_job(b);
  store->add_job(interval_job("any", 1min, t0));
  CHECK(store->lookup_job("a")->group == "crontab:/etc/a.cron");
  CHECK(store->lookup_job("any")->group.empty());
  CHECK(store->modify_job("b", [](sked::Job& j) { j.group = "crontab:/etc/b2.cron"; }).group ==
        "crontab:/etc/b2.cron");
  // A run request for b goes to b's group too.
  (void)store->request_run("b", t0);

  const std::vector<std::string> a_only{"crontab:/etc/a.cron"};
  const auto claims = store->claim_due_jobs(
      t0 + 1s, 10, [&](const sked::Job& j) { return sked::runs_in(j, a_only); });
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].job->id == "a");
  CHECK(claims[0].job->group == "crontab:/etc/a.cron");
  CHECK(store->get_executions({.job_id = "b"}).empty());
  CHECK(store->get_executions({.job_id = "any"}).empty());
  CHECK(store->pending_runs("b").size() == 1);
  CHECK(store->lookup_job("b")->next_run_time == t0);

  // The default scheduler groups ({""}) take the job without a group, and only it.
  const std::vector<std::string> ungrouped{""};
  const auto rest = store->claim_due_jobs(
      t0 + 1s, 10, [&](const sked::Job& j) { return sked::runs_in(j, ungrouped); });
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].job->id == "any");
  CHECK(store->get_executions({.job_id = "b"}).empty());
}

TEMPLATE_LIST_TEST_CASE("a run begun outside the schedule is recorded and counts as running",
                        "[store][contract][run_now]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0 + 1min));
  auto run = store->start_run("j", t0 + 10s);
  const auto started = run.execution();
  CHECK(started.status == ExecutionStatus::started);
  CHECK(started.job_id == "j");
  CHECK(started.id != 0);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);  // the schedule is unchanged
  CHECK_THROWS_AS((void)store->start_run("nope", t0), sked::JobNotFound);
  // One instance is running, so the regular fire time is skipped under max_instances = 1.
  CHECK(store->claim_due_jobs(t0 + 1min, 10, {}).at(0).executions.at(0).status ==
        ExecutionStatus::max_instances);
  run.complete({});
  const auto history = store->get_executions({.job_id = "j", .status = ExecutionStatus::executed});
  REQUIRE(history.size() == 1);
  CHECK(history[0].run_time == t0 + 10s);
}

TEMPLATE_LIST_TEST_CASE(
    "a run request is claimed once at its time, paused or not, and leaves the schedule alone",
    "[store][contract][run_request]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1h, t0 + 1h));
  auto paused = interval_job("p", 1h, std::nullopt);
  store->add_job(paused);
  CHECK(store->request_run("j", t0 + 10s) == t0 + 10s);
  CHECK(store->request_run("p", t0 + 20s) == t0 + 20s);
  // The scheduler wakes for a request as for a fire time.
  CHECK(store->next_run_time() == t0 + 10s);
  CHECK(store->claim_due_jobs(t0 + 5s, 10, {}).empty());

  const auto claims = store->claim_due_jobs(t0 + 30s, 10, {});
  REQUIRE(claims.size() == 2);
  CHECK(claims[0].job->id == "j");
  REQUIRE(claims[0].executions.size() == 1);
  CHECK(claims[0].executions[0].status == ExecutionStatus::started);
  CHECK(claims[0].executions[0].run_time == t0 + 10s);
  CHECK(claims[1].job->id == "p");
  CHECK(claims[1].executions.at(0).run_time == t0 + 20s);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1h);
  CHECK(store->lookup_job("p")->paused());
  CHECK(store->next_run_time() == t0 + 1h);
  // Taken once: the request is gone with the claim.
  CHECK(store->claim_due_jobs(t0 + 40s, 10, {}).empty());
  CHECK_FALSE(store->withdraw_run_request("j"));
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 1);
  CHECK(store->get_executions({.id = history[0].id}).at(0).run_time == t0 + 10s);
}

TEMPLATE_LIST_TEST_CASE(
    "run requests merge, can be withdrawn, go with their job and obey max_instances",
    "[store][contract][run_request]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));
  CHECK_THROWS_AS((void)store->request_run("nope", t0), sked::JobNotFound);

  // A second request while one is pending is the same run.
  CHECK(store->request_run("j", t0 + 1s) == t0 + 1s);
  CHECK(store->request_run("j", t0 + 2s) == t0 + 1s);
  CHECK(store->withdraw_run_request("j"));
  CHECK_FALSE(store->withdraw_run_request("j"));
  const auto scheduled = store->claim_due_jobs(t0 + 2s, 10, {});
  CHECK(scheduled.size() == 1);  // the scheduled run only

  // The scheduled run is still going: a requested run is skipped under max_instances = 1.
  (void)store->request_run("j", t0 + 3s);
  const auto skipped = store->claim_due_jobs(t0 + 3s, 10, {});
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].executions.at(0).status == ExecutionStatus::max_instances);
  CHECK(skipped[0].executions.at(0).run_time == t0 + 3s);

  // A claim filter that rejects the job leaves the request pending.
  (void)store->request_run("j", t0 + 4s);
  const sked::ClaimFilter none = [](const sked::Job&) { return false; };
  CHECK(store->claim_due_jobs(t0 + 5s, 10, none).empty());
  CHECK(store->next_run_time() == t0 + 4s);
  // A request far older than the misfire grace time is recorded missed.
  const auto late = store->claim_due_jobs(t0 + 4s + 61s, 10, {});
  REQUIRE(late.size() == 2);  // the scheduled fire time at t0 + 1min and the request
  CHECK(late[1].executions.at(0).status == ExecutionStatus::missed);

  // Removing the job drops its request.
  (void)store->request_run("j", t0 + 10min);
  store->remove_job("j");
  CHECK_FALSE(store->next_run_time());
  CHECK_FALSE(store->withdraw_run_request("j"));

  // A request is the next run time also when no job is scheduled at all.
  store->add_job(interval_job("p", 1h, std::nullopt));
  (void)store->request_run("p", t0 + 20min);
  CHECK(store->next_run_time() == t0 + 20min);
}

TEMPLATE_LIST_TEST_CASE(
    "a fire time runs at most once, even after a stale copy of its job is written back",
    "[store][contract][claim][once]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));
  const auto stale = *store->lookup_job("j");  // read before the claim: next run t0
  auto first = store->claim_due_jobs(t0, 10, {});
  REQUIRE(first.at(0).runs.size() == 1);
  first[0].runs[0].complete({});
  // Written back as it was read, as a read-modify-write elsewhere would: t0 is due again.
  store->add_job(stale, true);
  const auto again = store->claim_due_jobs(t0 + 1s, 10, {});
  REQUIRE(again.size() == 1);
  CHECK(again[0].runs.empty());
  CHECK(again[0].executions.empty());
  CHECK(store->get_executions({.job_id = "j"}).size() == 1);
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1min);
}

TEMPLATE_LIST_TEST_CASE("an admin change made after a claim keeps what the claim advanced",
                        "[store][contract][modify]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));
  const auto claims = store->claim_due_jobs(t0, 10, {});
  REQUIRE(claims.size() == 1);
  const auto renamed = store->modify_job("j", [](sked::Job& job) { job.name = "renamed"; });
  CHECK(renamed.next_run_time == t0 + 1min);
  CHECK(store->claim_due_jobs(t0 + 1s, 10, {}).empty());
}

TEMPLATE_LIST_TEST_CASE(
    "a run started at an instant that has a record gets the next free microsecond",
    "[store][contract][run_now]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1min, t0);
  job.max_instances = 5;
  store->add_job(job);
  auto scheduled = store->claim_due_jobs(t0, 10, {});
  REQUIRE(scheduled.at(0).runs.size() == 1);
  auto now1 = store->start_run("j", t0);
  auto now2 = store->start_run("j", t0);
  CHECK(now1.execution().run_time == t0 + 1us);
  CHECK(now2.execution().run_time == t0 + 2us);
  scheduled[0].runs[0].complete({});
  now1.complete({});
  now2.complete({});
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 3);
  for (const auto& e : history) CHECK(e.status == ExecutionStatus::executed);
}

TEMPLATE_LIST_TEST_CASE("a lease dropped without completing is recorded interrupted",
                        "[store][contract][lease]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  store->add_job(interval_job("j", 1min, t0));
  {
    auto claims = store->claim_due_jobs(t0, 10, {});
    REQUIRE(claims.at(0).runs.size() == 1);
    sked::RunLease moved = std::move(claims[0].runs[0]);
    CHECK(moved.active());
    CHECK_FALSE(claims[0].runs[0].active());
  }
  const auto history = store->get_executions({.job_id = "j"});
  REQUIRE(history.size() == 1);
  CHECK(history[0].status == ExecutionStatus::interrupted);
  CHECK_THAT(history[0].exception, Catch::Contains("dropped before it finished"));
  // No longer a running instance: the next fire time starts.
  CHECK(store->claim_due_jobs(t0 + 1min, 10, {}).at(0).executions.at(0).status ==
        ExecutionStatus::started);
}

TEMPLATE_LIST_TEST_CASE(
    "a failed run's retry is stored, listed, claimed at its time and counted as an attempt",
    "[store][contract][retry]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("j", 1h, t0);
  job.retry = {.max_attempts = 3, .backoff = 10s, .multiplier = 2};
  store->add_job(job);
  auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 1s);
  auto claims = store->claim_due_jobs(t0, 10, {}, owner);
  claims.at(0).runs.at(0).complete({.status = ExecutionStatus::error, .exception = "boom"});
  REQUIRE(owner->retries.size() == 1);
  CHECK(owner->retries[0] == t0 + 11s);
  const auto pending = store->pending_runs("j");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].attempt == 2);
  CHECK(pending[0].at == t0 + 11s);
  CHECK(store->next_run_time() == t0 + 11s);
  CHECK(store->claim_due_jobs(t0 + 10s, 10, {}, owner).empty());

  owner->set_now(t0 + 12s);
  auto retry = store->claim_due_jobs(t0 + 11s, 10, {}, owner);
  REQUIRE(retry.size() == 1);
  REQUIRE(retry[0].runs.size() == 1);
  CHECK(retry[0].runs[0].attempt() == 2);
  CHECK(retry[0].runs[0].execution().run_time == t0 + 11s);
  retry[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "boom again"});
  // The third attempt waits backoff * multiplier after the second failure.
  CHECK(store->pending_runs("j").at(0).at == t0 + 12s + 20s);
  CHECK(store->pending_runs("j").at(0).attempt == 3);
  auto last = store->claim_due_jobs(t0 + 32s, 10, {}, owner);
  last.at(0).runs.at(0).complete({.status = ExecutionStatus::error, .exception = "still"});
  // max_attempts reached: nothing more is planned, and the schedule was never moved.
  CHECK(store->pending_runs().empty());
  CHECK(store->lookup_job("j")->next_run_time == t0 + 1h);
  CHECK(store->get_executions({.job_id = "j", .status = ExecutionStatus::error}).size() == 3);
  // Removing a job drops its pending retries.
  store->add_job(job, true);
  auto again = store->claim_due_jobs(t0 + 1h, 10, {}, owner);
  again.at(0).runs.at(0).complete({.status = ExecutionStatus::error});
  CHECK(store->pending_runs("j").size() == 1);
  store->remove_job("j");
  CHECK(store->pending_runs().empty());
}

TEMPLATE_LIST_TEST_CASE("a one-shot job's retry runs after the job left the store",
                        "[store][contract][retry]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  auto job = interval_job("once", 1min, t0);
  job.trigger = std::make_shared<sked::DateTrigger>(t0);
  job.retry = {.max_attempts = 2, .backoff = 5s};
  store->add_job(job);
  auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  auto claims = store->claim_due_jobs(t0, 10, {}, owner);
  CHECK_FALSE(store->lookup_job("once"));  // its schedule ended with this claim
  claims.at(0).runs.at(0).complete({.status = ExecutionStatus::error});
  auto retry = store->claim_due_jobs(t0 + 5s, 10, {}, owner);
  REQUIRE(retry.size() == 1);
  CHECK(retry[0].job->id == "once");
  CHECK(retry[0].job->args == nlohmann::json{{"id", "once"}});
  REQUIRE(retry[0].runs.size() == 1);
  CHECK(retry[0].runs[0].attempt() == 2);
}

TEMPLATE_LIST_TEST_CASE("args nested deeper than max_args_depth are refused and nothing is stored",
                        "[store][contract][json]", StoreFactories) {
  TestType factory;
  const auto store = factory.make();
  auto job = interval_job("deep", 1min, t0);
  // Built and destroyed without recursion; copying or dumping it would overflow the stack.
  nlohmann::json deep = 1;
  for (int i = 0; i < 200'000; ++i) {
    nlohmann::json outer = nlohmann::json::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  job.args = std::move(deep);
  CHECK_THROWS_AS(store->add_job(job), sked::InvalidArgument);
  CHECK_FALSE(store->lookup_job("deep"));
  CHECK(store->get_all_jobs().empty());
}

TEMPLATE_LIST_TEST_CASE(
    "a job with a combined trigger is stored, read back and claimed like any other",
    "[store][contract][combining]", StoreFactories) {
  TestType factory;
  auto store = factory.make();
  const auto berlin = sked::TimeZone::locate("Europe/Berlin");
  auto job = interval_job("combined", 1min, t0 + 1h);
  job.trigger = std::make_shared<sked::OrTrigger>(
      sked::OrTrigger{{sked::CronTrigger::from_crontab("30 2 * * *", berlin),
                       sked::AndTrigger{{sked::CronTrigger::from_crontab("0 * * * *", berlin),
                                         sked::IntervalTrigger{{.hours = 2, .start_date = t0}}}}}});
  store->add_job(job);
  const auto back = store->lookup_job("combined");
  REQUIRE(back);
  CHECK(back->trigger->to_json() == job.trigger->to_json());
  CHECK(back->trigger->describe() == job.trigger->describe());
  const auto claims = store->claim_due_jobs(t0 + 1h, 10, {});
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].executions.at(0).status == ExecutionStatus::started);
  // 01:00 UTC is 02:00 in Berlin; the next fire time is 02:30 Berlin (the cron child), 01:30 UTC.
  CHECK(store->lookup_job("combined")->next_run_time == t0 + 1h + 30min);
}

}  // namespace SKED_TEST_FILE
