#include "support/recorder.hpp"
#include "support/temp_dir.hpp"

#include <sked/sked.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::EventKind;
using sked::ExecutionStatus;
using sked::test::EventRecorder;
using sked::test::LogRecorder;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

struct Fixture {
  std::shared_ptr<sked::ManualClock> clock = std::make_shared<sked::ManualClock>(t0);
  LogRecorder logs;
  EventRecorder events;
  std::shared_ptr<sked::MemoryJobStore> store = std::make_shared<sked::MemoryJobStore>();
  sked::BackgroundScheduler scheduler;

  explicit Fixture(sked::JobDefaults defaults = {}, std::size_t workers = 2)
      : scheduler({.clock = clock,
                   .timezone = sked::TimeZone::utc(),
                   .job_defaults = defaults,
                   .logger = logs.logger()}) {
    scheduler.add_jobstore(store);
    scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(workers));
    events.attach(scheduler);
  }

  void advance(sked::Duration d) {
    clock->advance(d);
    REQUIRE(scheduler.wait_idle());
  }
};

}  // namespace

TEST_CASE("an interval job runs at each interval as the clock advances", "[scheduler]") {
  Fixture f;
  std::atomic<int> runs{0};
  std::vector<sked::TimePoint> scheduled;
  std::mutex m;
  f.scheduler.add_job({.id = "tick",
                       .callable =
                           [&](const sked::JobContext& ctx) {
                             std::lock_guard l(m);
                             scheduled.push_back(ctx.scheduled_run_time());
                             ++runs;
                           },
                       .trigger = sked::IntervalTrigger{15s}});
  f.scheduler.start();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(runs == 0);
  CHECK(f.scheduler.waiting_until() ==
        t0 + 15s);  // the memory store and a ManualClock report changes
  f.advance(14s);
  CHECK(runs == 0);
  CHECK(f.scheduler.waiting_until() == t0 + 15s);
  f.advance(1s);
  CHECK(runs == 1);
  f.advance(15s);
  CHECK(runs == 2);
  CHECK(scheduled == std::vector{t0 + 15s, t0 + 30s});
  CHECK(f.scheduler.get_job("tick")->next_run_time == t0 + 45s);
}

TEST_CASE("a listener sees a job's life in order", "[scheduler][events]") {
  Fixture f;
  f.scheduler.tasks().add("noop", [](const sked::JobContext&) {});
  f.scheduler.start();
  f.scheduler.add_job({.id = "j", .task = "noop", .trigger = sked::IntervalTrigger{10s}});
  f.advance(10s);
  f.scheduler.remove_job("j");
  CHECK(f.events.kinds_for("j") == std::vector{EventKind::job_added, EventKind::job_submitted,
                                               EventKind::job_executed, EventKind::job_removed});
  const auto executed = f.events.events();
  const auto it = std::find_if(executed.begin(), executed.end(), [](const sked::Event& e) {
    return e.kind == EventKind::job_executed;
  });
  REQUIRE(it->execution);
  CHECK(it->execution->status == ExecutionStatus::executed);
  CHECK(it->scheduled_run_time == t0 + 10s);
}

TEST_CASE("a task that throws is recorded as an error and the scheduler keeps running",
          "[scheduler][errors]") {
  Fixture f;
  std::atomic<int> good_runs{0};
  f.scheduler.tasks().add("explode",
                          [](const sked::JobContext&) { throw std::runtime_error("disk full"); });
  f.scheduler.tasks().add("good", [&](const sked::JobContext&) { ++good_runs; });
  f.scheduler.add_job({.id = "bad", .task = "explode", .trigger = sked::IntervalTrigger{10s}});
  f.scheduler.add_job({.id = "fine", .task = "good", .trigger = sked::IntervalTrigger{10s}});
  f.scheduler.start();
  f.advance(10s);
  f.advance(10s);
  const auto errors = f.scheduler.get_executions({.job_id = "bad"});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].status == ExecutionStatus::error);
  CHECK(errors[0].exception == "std::runtime_error: disk full");
  CHECK(errors[0].finished == t0 + 20s);
  CHECK(good_runs == 2);
  CHECK(f.scheduler.get_job("bad"));  // the recurring job still recurs
  CHECK(f.logs.contains(sked::LogLevel::error, "disk full"));
}

TEST_CASE("runs missed beyond the grace time are recorded and logged", "[scheduler][misfire]") {
  Fixture f{{.misfire_grace_time = 2s, .coalesce = false, .max_instances = 5}};
  std::atomic<int> runs{0};
  f.scheduler.add_job({.id = "m",
                       .name = "minutely",
                       .callable = [&](const sked::JobContext&) { ++runs; },
                       .trigger = sked::IntervalTrigger{{.minutes = 1, .start_date = t0 + 1min}}});
  f.scheduler.start(true);  // paused: time passes without runs
  REQUIRE(f.scheduler.wait_idle());
  f.clock->advance(3min + 1s);
  f.scheduler.resume();
  REQUIRE(f.scheduler.wait_idle());
  // 00:01 and 00:02 are beyond the 2 s grace; 00:03 is 1 s late and runs.
  CHECK(runs == 1);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::missed}).size() == 2);
  CHECK(f.events.count(EventKind::job_missed) == 2);
  CHECK(
      f.logs.contains(sked::LogLevel::warning, "Run time of job 'minutely' was missed by 0:02:01"));
}

TEST_CASE("coalesce folds overdue runs into one run", "[scheduler][coalesce]") {
  Fixture f{{.misfire_grace_time = 1h, .coalesce = true}};
  std::atomic<int> runs{0};
  f.scheduler.add_job({.id = "c",
                       .callable = [&](const sked::JobContext&) { ++runs; },
                       .trigger = sked::IntervalTrigger{{.minutes = 1, .start_date = t0 + 1min}}});
  f.scheduler.start(true);
  REQUIRE(f.scheduler.wait_idle());
  f.clock->advance(5min);
  f.scheduler.resume();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(runs == 1);
  const auto executed = f.scheduler.get_executions({.status = ExecutionStatus::executed});
  REQUIRE(executed.size() == 1);
  CHECK(executed[0].run_time == t0 + 5min);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::missed}).size() == 4);
}

TEST_CASE("a job already running max_instances times is skipped and recorded",
          "[scheduler][max_instances]") {
  Fixture f{{}, 4};
  sked::test::Gate gate;
  f.scheduler.add_job({.id = "slow",
                       .callable = [&](const sked::JobContext&) { gate.wait(); },
                       .trigger = sked::IntervalTrigger{10s},
                       .max_instances = 1});
  f.scheduler.start();
  f.clock->advance(10s);
  REQUIRE(gate.wait_for_waiters(1));
  f.clock->advance(10s);
  REQUIRE(f.events.wait_for(EventKind::job_max_instances, 1));
  gate.open();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::max_instances}).size() == 1);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::executed}).size() == 1);
  CHECK(
      f.logs.contains(sked::LogLevel::warning, "maximum number of running instances reached (1)"));
}

TEST_CASE(
    "a job that does not coalesce runs every fire time, one after another, under its own run time",
    "[scheduler][coalesce][max_instances]") {
  Fixture f{{.misfire_grace_time = 1h, .coalesce = false}, 4};
  sked::test::Gate gate;
  std::mutex m;
  std::vector<sked::TimePoint> order;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  f.scheduler.add_job({.id = "slow",
                       .callable =
                           [&](const sked::JobContext& ctx) {
                             const int now_running = ++running;
                             if (now_running > most) most = now_running;
                             {
                               std::lock_guard l(m);
                               order.push_back(ctx.scheduled_run_time());
                             }
                             if (ctx.scheduled_run_time() == t0 + 10s) gate.wait();
                             --running;
                           },
                       .trigger = sked::IntervalTrigger{10s}});
  f.scheduler.start();
  f.clock->advance(10s);
  REQUIRE(gate.wait_for_waiters(1));
  // Two more fire times come while the first run is going: they wait instead of being skipped.
  f.clock->advance(10s);
  f.clock->advance(10s);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.scheduler.waiting_until() != t0 + 31s && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE(f.scheduler.waiting_until() == t0 + 31s);  // the loop saw 00:00:30 and went back to sleep
  CHECK(f.scheduler.get_job("slow")->next_run_time == t0 + 20s);
  // The end of each run starts the next waiting one at once, without the clock moving.
  gate.open();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(order == std::vector{t0 + 10s, t0 + 20s, t0 + 30s});
  CHECK(most == 1);
  const auto executed =
      f.scheduler.get_executions({.job_id = "slow", .status = ExecutionStatus::executed});
  REQUIRE(executed.size() == 3);
  CHECK(executed[0].run_time == t0 + 30s);
  CHECK(executed[2].run_time == t0 + 10s);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::max_instances}).empty());
  CHECK(f.events.count(EventKind::job_max_instances) == 0);
  CHECK(f.scheduler.get_job("slow")->next_run_time == t0 + 40s);
}

TEST_CASE("job ids are unique unless replace_existing", "[scheduler][jobs]") {
  Fixture f;
  f.scheduler.add_job({.id = "dup", .task = "a", .trigger = sked::IntervalTrigger{10s}});
  CHECK_THROWS_AS(
      f.scheduler.add_job({.id = "dup", .task = "b", .trigger = sked::IntervalTrigger{10s}}),
      sked::ConflictingIdError);
  CHECK(f.scheduler.get_job("dup")->task == "a");
  f.scheduler.add_job(
      {.id = "dup", .task = "b", .trigger = sked::IntervalTrigger{20s}, .replace_existing = true});
  CHECK(f.scheduler.get_job("dup")->task == "b");
  CHECK(f.scheduler.get_jobs().size() == 1);
}

TEST_CASE("jobs are modified, rescheduled, paused, resumed and removed", "[scheduler][jobs]") {
  Fixture f;
  f.scheduler.add_job({.id = "j", .task = "t", .trigger = sked::IntervalTrigger{10s}});
  CHECK(f.scheduler.get_job("j")->next_run_time == t0 + 10s);

  f.scheduler.modify_job("j",
                         {.name = "renamed", .args = nlohmann::json{{"x", 1}}, .max_instances = 3});
  auto job = *f.scheduler.get_job("j");
  CHECK(job.name == "renamed");
  CHECK(job.args->at("x") == 1);
  CHECK(job.max_instances == 3);

  f.scheduler.reschedule_job("j", sked::IntervalTrigger{1min});
  CHECK(f.scheduler.get_job("j")->next_run_time == t0 + 1min);

  f.scheduler.pause_job("j");
  CHECK(f.scheduler.get_job("j")->paused());
  f.clock->advance(5min);
  f.scheduler.resume_job("j");
  CHECK(f.scheduler.get_job("j")->next_run_time == t0 + 5min);  // on the grid, not before now

  f.scheduler.remove_job("j");
  CHECK_FALSE(f.scheduler.get_job("j"));
  CHECK_THROWS_AS(f.scheduler.remove_job("j"), sked::JobNotFound);
  CHECK_THROWS_WITH(f.scheduler.pause_job("nope"), Catch::Contains("'nope'"));
  CHECK_THROWS_AS(f.scheduler.modify_job("j", {.max_instances = 0}), sked::JobNotFound);

  f.scheduler.add_job({.id = "a", .task = "t", .trigger = sked::IntervalTrigger{10s}});
  f.scheduler.add_job({.id = "b", .task = "t", .trigger = sked::IntervalTrigger{10s}});
  f.scheduler.remove_all_jobs();
  CHECK(f.scheduler.get_jobs().empty());
  CHECK(f.events.count(EventKind::all_jobs_removed) == 1);
}

TEST_CASE("a rejected change leaves the job as it was", "[scheduler][jobs][errors]") {
  Fixture f;
  f.scheduler.add_job({.id = "j", .task = "t", .trigger = sked::IntervalTrigger{10s}});
  CHECK_THROWS_WITH(f.scheduler.modify_job("j", {.max_instances = 0}),
                    Catch::Contains("max_instances"));
  CHECK(f.scheduler.get_job("j")->max_instances == 1);
  CHECK_THROWS_WITH(
      f.scheduler.reschedule_job(
          "j", sked::IntervalTrigger{{.seconds = 1, .start_date = t0 - 2h, .end_date = t0 - 1h}}),
      Catch::Contains("will never fire"));
  CHECK(f.scheduler.get_job("j")->next_run_time == t0 + 10s);
}

TEST_CASE("bad job specs are rejected with what is wrong", "[scheduler][jobs][errors]") {
  Fixture f;
  CHECK_THROWS_WITH(f.scheduler.add_job({.id = "x"}),
                    Catch::Contains("'x'") && Catch::Contains("no task"));
  CHECK_THROWS_WITH(f.scheduler.add_job({.id = "x", .task = "t", .executor = "gpu"}),
                    Catch::Contains("executor") && Catch::Contains("'gpu'"));
  CHECK_THROWS_WITH(f.scheduler.add_job({.id = "x", .task = "t", .jobstore = "redis"}),
                    Catch::Contains("job store") && Catch::Contains("'redis'"));
  CHECK_THROWS_WITH(
      f.scheduler.add_job({.id = "x", .task = "t", .callable = [](const sked::JobContext&) {}}),
      Catch::Contains("not both"));
  CHECK(f.scheduler.get_jobs().empty());
}

TEST_CASE("a job without a trigger runs once, now", "[scheduler][jobs]") {
  Fixture f;
  std::atomic<int> runs{0};
  f.scheduler.start();
  f.scheduler.add_job({.callable = [&](const sked::JobContext&) { ++runs; }});
  REQUIRE(f.scheduler.wait_idle());
  CHECK(runs == 1);
  CHECK(f.scheduler.get_jobs().empty());
}

TEST_CASE(
    "a job whose task is not registered is kept, reported once, and runs once the task appears",
    "[scheduler][tasks]") {
  Fixture f;
  f.scheduler.add_job({.id = "orphan", .task = "not_here", .trigger = sked::IntervalTrigger{10s}});
  CHECK(f.logs.contains(sked::LogLevel::warning, "not registered"));
  f.scheduler.start();
  f.advance(10s);
  f.advance(10s);
  CHECK(f.events.count(EventKind::job_task_unknown) == 1);
  CHECK(f.logs.contains(sked::LogLevel::warning, "its task 'not_here' is not registered"));
  CHECK(f.scheduler.get_executions({.job_id = "orphan"}).empty());  // nothing claimed, nothing lost
  CHECK(f.scheduler.get_job("orphan")->next_run_time == t0 + 10s);
  // While it waits, the loop polls at max_wait instead of spinning on the due job.
  CHECK(f.scheduler.waiting_until() == t0 + 21s);

  std::atomic<int> ran{0};
  f.scheduler.tasks().add("not_here", [&](const sked::JobContext&) { ++ran; });
  f.advance(1s);
  CHECK(ran == 1);  // the overdue fire times coalesce into one run
  const auto history = f.scheduler.get_executions({.job_id = "orphan"});
  REQUIRE(history.size() == 2);
  CHECK(history[0].status == ExecutionStatus::executed);
  CHECK(history[1].status == ExecutionStatus::missed);
  CHECK(f.scheduler.get_job("orphan")->next_run_time == t0 + 30s);
}

TEST_CASE("schedulers sharing a store run only the jobs of their groups", "[scheduler][group]") {
  const auto store = std::make_shared<sked::MemoryJobStore>();
  const auto clock = std::make_shared<sked::ManualClock>(t0);
  LogRecorder logs;
  std::mutex m;
  std::multiset<std::string> ran;  // "scheduler:job"
  const auto make = [&](std::string name, std::vector<std::string> groups) {
    auto s = std::make_unique<sked::BackgroundScheduler>(
        sked::SchedulerOptions{.clock = clock,
                               .timezone = sked::TimeZone::utc(),
                               .logger = logs.logger(),
                               .groups = std::move(groups)});
    s->tasks().add("note", [&, name](const sked::JobContext& ctx) {
      std::lock_guard l(m);
      ran.insert(name + ":" + ctx.job_id());
    });
    s->add_jobstore(store);
    return s;
  };
  auto a = make("a", {"a.cron"});
  auto b = make("b", {"b.cron"});
  auto plain = make("plain", {""});
  a->add_job(
      {.id = "of-a", .task = "note", .trigger = sked::IntervalTrigger{10s}, .group = "a.cron"});
  a->add_job(
      {.id = "of-b", .task = "note", .trigger = sked::IntervalTrigger{10s}, .group = "b.cron"});
  a->add_job({.id = "of-any", .task = "note", .trigger = sked::IntervalTrigger{10s}});
  CHECK(a->get_job("of-b")->group == "b.cron");
  for (auto* s : {a.get(), b.get(), plain.get()}) s->start();
  for (int i = 0; i < 3; ++i) {
    clock->advance(10s);
    for (auto* s : {a.get(), b.get(), plain.get()}) REQUIRE(s->wait_idle());
  }
  CHECK(ran == std::multiset<std::string>{"a:of-a", "a:of-a", "a:of-a", "b:of-b", "b:of-b",
                                          "b:of-b", "plain:of-any", "plain:of-any",
                                          "plain:of-any"});
  // Another group's job is not "a task not registered here".
  CHECK_FALSE(logs.contains(sked::LogLevel::warning, "not registered"));
  for (auto* s : {a.get(), b.get(), plain.get()}) s->shutdown();
}

TEST_CASE("tasks see their id, arguments and scheduled time", "[scheduler][tasks]") {
  Fixture f;
  std::promise<std::tuple<std::string, nlohmann::json, sked::TimePoint>> seen;
  f.scheduler.tasks().add("echo", [&](const sked::JobContext& ctx) {
    seen.set_value({ctx.job_id(), ctx.args(), ctx.scheduled_run_time()});
  });
  f.scheduler.add_job(
      {.id = "e", .task = "echo", .args = {{"n", 42}}, .trigger = sked::DateTrigger{t0 + 5s}});
  f.scheduler.start();
  f.advance(5s);
  const auto [id, args, when] = seen.get_future().get();
  CHECK(id == "e");
  CHECK(args == nlohmann::json{{"n", 42}});
  CHECK(when == t0 + 5s);
}

TEST_CASE("a throwing listener or store never stalls the loop", "[scheduler][errors]") {
  Fixture f;
  f.scheduler.add_listener([](const sked::Event&) { throw std::runtime_error("listener broke"); });
  std::atomic<int> runs{0};
  f.scheduler.start();
  // The listener throws on job_added; the add still wakes the loop, so the due job runs.
  f.scheduler.add_job(
      {.callable = [&](const sked::JobContext&) { ++runs; }, .trigger = sked::DateTrigger{t0}});
  REQUIRE(f.scheduler.wait_idle());
  CHECK(runs == 1);
  CHECK(f.logs.contains(sked::LogLevel::error, "listener broke"));

  auto broken = std::make_shared<sked::test::FailingStore>();
  f.scheduler.add_jobstore(broken, "broken");
  f.scheduler.add_job({.callable = [&](const sked::JobContext&) { ++runs; },
                       .trigger = sked::DateTrigger{t0 + 1s},
                       .jobstore = "broken"});
  f.scheduler.add_job({.callable = [&](const sked::JobContext&) { ++runs; },
                       .trigger = sked::DateTrigger{t0 + 1s}});
  f.advance(1s);
  CHECK(runs == 2);  // the healthy store's job ran
  CHECK(f.logs.contains(sked::LogLevel::error, "database on fire"));
  broken->fail_claims = false;  // the store recovers: its job runs on the next pass, not lost
  f.advance(1s);
  CHECK(runs == 3);
}

TEST_CASE("shutdown waits for running jobs when asked to", "[scheduler][shutdown]") {
  Fixture f;
  sked::test::Gate gate;
  std::atomic<bool> finished{false};
  f.scheduler.add_job({.callable =
                           [&](const sked::JobContext&) {
                             gate.wait();
                             finished = true;
                           },
                       .trigger = sked::DateTrigger{t0}});
  f.scheduler.start();
  REQUIRE(gate.wait_for_waiters(1));
  auto stopping = std::async(std::launch::async, [&] { f.scheduler.shutdown(true); });
  CHECK(stopping.wait_for(50ms) == std::future_status::timeout);  // still waiting for the job
  gate.open();
  stopping.get();
  CHECK(finished);
  CHECK(f.scheduler.state() == sked::SchedulerState::stopped);
  CHECK(f.events.count(EventKind::scheduler_shutdown) == 1);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::executed}).size() == 1);
}

TEST_CASE("stores and executors added or removed while the scheduler runs count at once",
          "[scheduler][stores]") {
  Fixture f;
  f.scheduler.start();
  auto store = std::make_shared<sked::MemoryJobStore>();
  auto executor = std::make_shared<sked::ThreadPoolExecutor>(1);
  const std::weak_ptr<sked::JobStore> store_seen = store;
  const std::weak_ptr<sked::Executor> executor_seen = executor;
  f.scheduler.add_jobstore(std::move(store), "second");
  f.scheduler.add_executor(std::move(executor), "other");
  std::atomic<int> ran{0};
  const auto count = [&ran](const sked::JobContext&) { ++ran; };
  f.scheduler.add_job({.id = "late",
                       .callable = count,
                       .trigger = sked::DateTrigger{t0 + 1s},
                       .executor = "other",
                       .jobstore = "second"});
  f.advance(1s);
  CHECK(ran == 1);
  CHECK(f.scheduler.get_executions({.job_id = "late"}, "second").size() == 1);

  // Once removed, the scheduler holds neither: a store's file or connection is closed when the
  // caller lets go of it too.
  f.scheduler.add_job({.id = "later",
                       .callable = count,
                       .trigger = sked::DateTrigger{t0 + 2s},
                       .executor = "other",
                       .jobstore = "second"});
  f.scheduler.remove_jobstore("second");
  f.scheduler.remove_executor("other");
  CHECK(store_seen.expired());
  CHECK(executor_seen.expired());
  f.advance(1s);
  CHECK(ran == 1);
  CHECK_THROWS_AS(f.scheduler.jobstore("second"), sked::AliasNotFound);

  // A store added again under the same alias is claimed from like the first.
  auto again = std::make_shared<sked::MemoryJobStore>();
  f.scheduler.add_jobstore(again, "second");
  f.scheduler.add_job({.id = "again",
                       .callable = count,
                       .trigger = sked::DateTrigger{t0 + 3s},
                       .jobstore = "second"});
  f.advance(1s);
  CHECK(ran == 2);
  CHECK(again->get_executions({.job_id = "again"}).size() == 1);
}

TEST_CASE("scheduler state changes are events, and start twice is an error", "[scheduler][state]") {
  Fixture f;
  f.scheduler.start();
  CHECK_THROWS_AS(f.scheduler.start(), sked::SchedulerStateError);
  f.scheduler.pause();
  CHECK(f.scheduler.state() == sked::SchedulerState::paused);
  f.scheduler.resume();
  f.scheduler.shutdown();
  f.scheduler.shutdown();  // idempotent
  CHECK(f.events.count(EventKind::scheduler_started) == 1);
  CHECK(f.events.count(EventKind::scheduler_paused) == 1);
  CHECK(f.events.count(EventKind::scheduler_resumed) == 1);
  CHECK(f.events.count(EventKind::scheduler_shutdown) == 1);
  // A stopped scheduler can be started again.
  std::atomic<int> runs{0};
  f.scheduler.add_job(
      {.callable = [&](const sked::JobContext&) { ++runs; }, .trigger = sked::DateTrigger{t0}});
  f.scheduler.start();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(runs == 1);
}

TEST_CASE("listener masks select events", "[scheduler][events]") {
  Fixture f;
  EventRecorder only_errors;
  f.scheduler.add_listener([&](const sked::Event& e) { only_errors.push(e); },
                           EventKind::job_error | EventKind::job_missed);
  const auto id =
      f.scheduler.add_listener([](const sked::Event&) { FAIL("removed listener called"); });
  f.scheduler.remove_listener(id);
  f.scheduler.add_job({.callable = [](const sked::JobContext&) { throw std::logic_error("x"); },
                       .trigger = sked::DateTrigger{t0}});
  f.scheduler.start();
  REQUIRE(f.scheduler.wait_idle());
  const auto seen = only_errors.events();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == EventKind::job_error);
  CHECK(seen[0].execution->exception == "std::logic_error: x");
}

TEST_CASE("the blocking scheduler runs the loop in the calling thread until shutdown",
          "[scheduler][blocking]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::BlockingScheduler scheduler{{.clock = clock, .timezone = sked::TimeZone::utc()}};
  std::thread::id loop_thread;
  std::atomic<int> runs{0};
  scheduler.add_listener(
      [&](const sked::Event&) {
        loop_thread = std::this_thread::get_id();
        if (++runs == 3) scheduler.shutdown(false);
      },
      static_cast<sked::EventMask>(EventKind::job_submitted));
  scheduler.add_job(
      {.callable = [](const sked::JobContext&) {}, .trigger = sked::IntervalTrigger{10s}});
  auto mover = std::async(std::launch::async, [&] {
    // Moves the clock whenever the loop (started below, on this test's thread) has gone idle.
    while (runs < 3) {
      if (scheduler.state() == sked::SchedulerState::running && scheduler.wait_idle(100ms)) {
        clock->advance(10s);
      } else {
        std::this_thread::yield();
      }
    }
  });
  scheduler.start();  // returns after the listener's shutdown
  mover.get();
  CHECK(runs == 3);
  CHECK(loop_thread == std::this_thread::get_id());
}

namespace {

// Polls `done` until it holds or ten seconds pass (real time).
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct sigaction disposition(int signal) {
  struct sigaction now {};
  ::sigaction(signal, nullptr, &now);
  return now;
}

}  // namespace

TEST_CASE(
    "a blocking scheduler stopping on signals: SIGINT lets the running job finish, then start() "
    "returns",
    "[scheduler][blocking][signals]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  LogRecorder logs;
  sked::BlockingScheduler scheduler{{.clock = clock,
                                     .timezone = sked::TimeZone::utc(),
                                     .logger = logs.logger(),
                                     .log_level = sked::LogLevel::info}};
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(2));
  scheduler.stop_on_signals();
  sked::test::Gate gate;
  std::atomic<bool> job_done{false};
  std::atomic<bool> returned{false};
  scheduler.add_job({.id = "slow", .callable = [&](const sked::JobContext&) {
                       gate.wait();
                       job_done = true;
                     }});  // runs once, now
  const auto before = disposition(SIGINT);
  // Ctrl-C while the job runs; start() must still be waiting for it when the job is let go.
  auto ctrl_c = std::async(std::launch::async, [&] {
    if (!gate.wait_for_waiters(1)) return false;
    ::kill(::getpid(), SIGINT);
    const bool heard =
        eventually([&] { return logs.contains(sked::LogLevel::warning, "SIGINT received"); });
    const bool still_in_start = !returned;
    gate.open();
    return heard && still_in_start;
  });
  scheduler.start();
  returned = true;
  CHECK(ctrl_c.get());
  CHECK(job_done);  // start() returned after the job finished, not before
  CHECK(scheduler.state() == sked::SchedulerState::stopped);
  CHECK(logs.contains(sked::LogLevel::warning,
                      "SIGINT received: shutting down once the 1 running job(s) end (SIGINT again "
                      "asks them to stop)"));
  CHECK(logs.contains(sked::LogLevel::info, "Scheduler has been shut down"));
  const auto runs = scheduler.get_executions({.job_id = "slow"});
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].status == ExecutionStatus::executed);
  // The disposition from before start() is back (Catch's own handler, here).
  CHECK(disposition(SIGINT).sa_handler == before.sa_handler);
  // Started again, it stops on signals again: SIGTERM with nothing running.
  auto term = std::async(std::launch::async, [&] {
    if (!eventually([&] { return scheduler.state() == sked::SchedulerState::running; }))
      return false;
    ::kill(::getpid(), SIGTERM);
    return true;
  });
  scheduler.start();
  CHECK(term.get());
  CHECK(logs.contains(sked::LogLevel::info, "SIGTERM received: shutting down"));
}

TEST_CASE("a second signal asks running jobs to stop and start() returns without waiting for them",
          "[scheduler][blocking][signals]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  LogRecorder logs;
  sked::BlockingScheduler scheduler{
      {.clock = clock, .timezone = sked::TimeZone::utc(), .logger = logs.logger()}};
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(2));
  scheduler.stop_on_signals({SIGUSR1});
  std::atomic<bool> started{false};
  std::atomic<bool> stop_seen{false};
  scheduler.add_job({.id = "stubborn", .callable = [&](const sked::JobContext& ctx) {
                       started = true;
                       std::mutex m;
                       std::condition_variable_any cv;
                       std::unique_lock lock(m);
                       (void)cv.wait_for(lock, ctx.stop_token(), 30s, [] { return false; });
                       stop_seen = ctx.stop_requested();
                     }});
  const auto before = disposition(SIGUSR1);
  auto twice = std::async(std::launch::async, [&] {
    if (!eventually([&] { return started.load(); })) return false;
    ::kill(::getpid(), SIGUSR1);
    if (!eventually([&] {
          return logs.contains(sked::LogLevel::warning, "SIGUSR1 received: shutting down");
        })) {
      return false;
    }
    ::kill(::getpid(), SIGUSR1);
    return true;
  });
  scheduler.start();
  CHECK(twice.get());
  CHECK(logs.contains(sked::LogLevel::warning,
                      "SIGUSR1 received again: asking running jobs to stop"));
  scheduler.shutdown(true);  // stopped already: waits for the run a second signal cut short
  CHECK(stop_seen);
  CHECK(scheduler.get_executions({.job_id = "stubborn"}).at(0).status == ExecutionStatus::executed);
  CHECK(disposition(SIGUSR1).sa_handler == before.sa_handler);
}

TEST_CASE("stop_on_signals refuses signals it cannot catch and a second scheduler at once",
          "[scheduler][blocking][signals]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  sked::BlockingScheduler first{{.clock = clock, .timezone = sked::TimeZone::utc()}};
  CHECK_THROWS_AS(first.stop_on_signals({SIGKILL}), sked::InvalidArgument);
  CHECK_THROWS_AS(first.stop_on_signals({SIGSEGV}), sked::InvalidArgument);
  CHECK_THROWS_AS(first.stop_on_signals({0}), sked::InvalidArgument);
  first.stop_on_signals({SIGUSR2});
  auto running = std::async(std::launch::async, [&] { first.start(); });
  REQUIRE(eventually([&] { return first.state() == sked::SchedulerState::running; }));
  sked::BlockingScheduler second{{.clock = clock, .timezone = sked::TimeZone::utc()}};
  second.stop_on_signals({SIGUSR2});
  CHECK_THROWS_AS(second.start(), sked::SchedulerStateError);
  CHECK(second.state() == sked::SchedulerState::stopped);
  first.shutdown();
  running.get();
  // Once the first returned, the second may.
  auto again = std::async(std::launch::async, [&] { second.start(); });
  REQUIRE(eventually([&] { return second.state() == sked::SchedulerState::running; }));
  second.shutdown();
  again.get();
}

TEST_CASE(
    "shutdown(true) after a task's shutdown(false) waits for that task's end and its log line",
    "[scheduler][shutdown][blocking]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  LogRecorder logs;
  sked::BlockingScheduler scheduler{{.clock = clock,
                                     .timezone = sked::TimeZone::utc(),
                                     .logger = logs.logger(),
                                     .log_level = sked::LogLevel::info}};
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(1));
  sked::test::Gate gate;
  scheduler.add_job({.id = "last", .name = "last run", .callable = [&](const sked::JobContext&) {
                       scheduler.shutdown(false);  // as print_task does after --runs N
                       gate.wait();  // the task goes on a while after stopping its scheduler
                     }});
  scheduler.start();  // returns as soon as the loop stopped, the task still running
  auto release = std::async(std::launch::async, [&] {
    const bool waiting = gate.wait_for_waiters(1);
    // Long enough for a shutdown(true) that does not wait to have returned (the test then fails).
    std::this_thread::sleep_for(50ms);
    gate.open();
    return waiting;
  });
  scheduler.shutdown(true);
  // Whatever main prints now comes after the last run's log line.
  CHECK(logs.contains(sked::LogLevel::info, "Job 'last run' executed successfully"));
  CHECK(release.get());
}

TEST_CASE("print_jobs lists each store's jobs as APScheduler does",
          "[scheduler][jobs][print_jobs]") {
  Fixture f;
  f.scheduler.tasks().add("print_task", [](const sked::JobContext&) {});
  f.scheduler.add_job(
      {.id = "print_task__job", .task = "print_task", .trigger = sked::IntervalTrigger{15s}});
  std::ostringstream out;
  f.scheduler.print_jobs(out);
  CHECK(out.str() ==
        "Jobstore default:\n"
        "    print_task (trigger: interval[0:00:15], next run at: 2026-01-01 00:00:15 UTC)\n");
}

TEST_CASE("print_jobs shows paused jobs, unknown tasks, empty stores and the scheduler's zone",
          "[scheduler][jobs][print_jobs]") {
  auto clock = std::make_shared<sked::ManualClock>(sked::parse_time("2026-06-01T06:00:00Z"));
  sked::BackgroundScheduler scheduler{{.clock = clock,
                                       .timezone = sked::TimeZone::locate("Europe/Berlin"),
                                       .logger = [](sked::LogLevel, std::string_view) {}}};
  scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>());
  scheduler.add_jobstore(std::make_shared<sked::MemoryJobStore>(), "archive");
  scheduler.tasks().add("send_report", [](const sked::JobContext&) {});
  scheduler.add_job({.id = "report",
                     .task = "send_report",
                     .trigger = sked::CronTrigger{{.day_of_week = "mon-fri", .hour = 9}}});
  scheduler.add_job({.id = "cleanup",
                     .name = "nightly cleanup",
                     .task = "send_report",
                     .trigger = sked::IntervalTrigger{1h},
                     .paused = true});
  scheduler.add_job({.id = "sync", .task = "sync", .trigger = sked::IntervalTrigger{5min}});
  std::ostringstream out;
  scheduler.print_jobs(out);
  CHECK(out.str() ==
        "Jobstore archive:\n"
        "    No scheduled jobs\n"
        "Jobstore default:\n"
        "    sync (trigger: interval[0:05:00], next run at: 2026-06-01 08:05:00 CEST, "
        "task 'sync' not registered here)\n"
        "    send_report (trigger: cron[day_of_week='mon-fri', hour='9'], next run at: 2026-06-01 "
        "09:00:00 CEST)\n"
        "    nightly cleanup (trigger: interval[1:00:00], paused)\n");
  std::ostringstream one;
  scheduler.print_jobs(one, "archive");
  CHECK(one.str() == "Jobstore archive:\n    No scheduled jobs\n");
  CHECK_THROWS_AS(scheduler.print_jobs(one, "nope"), sked::AliasNotFound);
}

TEST_CASE("run_job_now runs a job outside its schedule and returns its record",
          "[scheduler][run_now]") {
  Fixture f;
  std::atomic<int> runs{0};
  f.scheduler.tasks().add("quick", [&](const sked::JobContext&) { ++runs; });
  f.scheduler.add_job({.id = "q", .task = "quick", .trigger = sked::IntervalTrigger{1h}});
  f.scheduler.start();
  f.clock->advance(10min);
  const auto record = f.scheduler.run_job_now("q", 5s);
  CHECK(record.status == ExecutionStatus::executed);
  CHECK(record.run_time == t0 + 10min);
  CHECK(record.job_id == "q");
  CHECK(runs == 1);
  CHECK(f.scheduler.get_job("q")->next_run_time == t0 + 1h);  // the schedule is unchanged
  CHECK_THROWS_AS(f.scheduler.run_job_now("nope"), sked::JobNotFound);
}

TEST_CASE("run_job_now reports a slow job as still running when its wait ends",
          "[scheduler][run_now]") {
  Fixture f;
  sked::test::Gate gate;
  f.scheduler.tasks().add("slow", [&](const sked::JobContext&) { gate.wait(); });
  f.scheduler.add_job({.id = "s", .task = "slow", .trigger = sked::IntervalTrigger{1h}});
  f.scheduler.start();
  auto waiting = std::async(std::launch::async, [&] { return f.scheduler.run_job_now("s", 30s); });
  REQUIRE(gate.wait_for_waiters(1));
  f.clock->advance(30s);  // the wait is measured by the scheduler's clock
  const auto record = waiting.get();
  CHECK(record.status == ExecutionStatus::started);
  gate.open();
  REQUIRE(f.scheduler.wait_idle());
  CHECK(f.scheduler.get_executions({.job_id = "s"}).at(0).status == ExecutionStatus::executed);
}

TEST_CASE("a failing run is retried with backoff, each attempt its own record",
          "[scheduler][retry]") {
  Fixture f;
  std::atomic<int> attempts{0};
  f.scheduler.tasks().add("flaky", [&](const sked::JobContext&) {
    if (++attempts < 3) throw std::runtime_error("try again");
  });
  f.scheduler.add_job(
      {.id = "r",
       .task = "flaky",
       .trigger = sked::IntervalTrigger{1h},
       .retry = {.max_attempts = 4, .backoff = 10s, .multiplier = 2.0, .max_backoff = 1min}});
  f.scheduler.start();
  f.advance(1h);
  CHECK(attempts == 1);
  f.advance(9s);
  CHECK(attempts == 1);
  f.advance(1s);  // first retry 10 s after the failure
  CHECK(attempts == 2);
  f.advance(20s);  // second retry 20 s after that one failed
  CHECK(attempts == 3);
  f.advance(10min);
  CHECK(attempts == 3);  // succeeded: no more retries
  const auto history = f.scheduler.get_executions({.job_id = "r"});
  REQUIRE(history.size() == 3);
  CHECK(history[0].status == ExecutionStatus::executed);
  CHECK(history[0].run_time == t0 + 1h + 30s);
  CHECK(history[1].status == ExecutionStatus::error);
  CHECK(history[2].run_time == t0 + 1h);
  CHECK(f.scheduler.get_job("r")->next_run_time == t0 + 2h);  // the regular schedule is unaffected
}

TEST_CASE("retries stop after max_attempts", "[scheduler][retry]") {
  Fixture f;
  std::atomic<int> attempts{0};
  f.scheduler.add_job({.id = "r",
                       .callable =
                           [&](const sked::JobContext&) {
                             ++attempts;
                             throw std::runtime_error("always");
                           },
                       .trigger = sked::DateTrigger{t0 + 1s},
                       .retry = {.max_attempts = 2, .backoff = 5s}});
  f.scheduler.start();
  f.advance(1s);
  CHECK(attempts == 1);
  f.advance(5s);  // the one-shot job is gone from the store, but its retry still runs
  CHECK(attempts == 2);
  f.advance(1h);
  CHECK(attempts == 2);
  CHECK(f.scheduler.get_executions({.job_id = "r", .status = ExecutionStatus::error}).size() == 2);
}

namespace {
// Takes the first run of each batch, then refuses: the scheduler must record the rest, not lose
// them.
class TakesOneExecutor final : public sked::Executor {
 public:
  std::vector<sked::RunLease> taken;
  void start(std::shared_ptr<sked::Clock>) override {}
  void submit(sked::RunLease run) override {
    run.complete(sked::Outcome{});
    taken.push_back(std::move(run));
  }
  void submit_batch(std::span<sked::RunLease> runs) override {
    submit(std::move(runs.front()));
    throw std::runtime_error("queue full");
  }
  void shutdown(bool) override {}
};
}  // namespace

TEST_CASE("runs an executor refuses from a batch are recorded as errors, the ones it took run",
          "[scheduler][executor][errors]") {
  Fixture f;
  auto executor = std::make_shared<TakesOneExecutor>();
  f.scheduler.add_executor(executor, "picky");
  f.scheduler.tasks().add("t", [](const sked::JobContext&) {});
  for (int i = 0; i < 3; ++i) {
    f.scheduler.add_job({.id = "j" + std::to_string(i),
                         .task = "t",
                         .trigger = sked::DateTrigger{t0},
                         .executor = "picky"});
  }
  f.scheduler.start();
  REQUIRE(f.scheduler.wait_idle());
  const auto history = f.store->get_executions({});
  REQUIRE(history.size() == 3);
  CHECK(executor->taken.size() == 1);
  int refused = 0;
  for (const auto& e : history) {
    if (e.status == ExecutionStatus::error) {
      ++refused;
      CHECK_THAT(e.exception, Catch::Contains("executor 'picky' refused the run: queue full"));
    } else {
      CHECK(e.status == ExecutionStatus::executed);
      CHECK(e.job_id == executor->taken.front().job().id);
    }
  }
  CHECK(refused == 2);
}

TEST_CASE(
    "a run requested in the store (sked run-now) is run once by the scheduler, paused job or not",
    "[scheduler][run_request]") {
  Fixture f;
  std::mutex m;
  std::vector<sked::TimePoint> runs;
  f.scheduler.add_job({.id = "job",
                       .callable =
                           [&](const sked::JobContext& ctx) {
                             std::lock_guard l(m);
                             runs.push_back(ctx.scheduled_run_time());
                           },
                       .trigger = sked::IntervalTrigger{1h},
                       .paused = true});
  f.scheduler.start();
  REQUIRE(f.scheduler.wait_idle());
  // As another process would: straight into the store, without waking the scheduler.
  CHECK(f.store->request_run("job", t0 + 1500ms) == t0 + 1500ms);
  f.advance(1s);  // the loop's next pass (max_wait) sees the request and sleeps until it is due
  CHECK(f.scheduler.waiting_until() == t0 + 1500ms);
  f.advance(500ms);
  f.advance(1s);
  std::lock_guard l(m);
  CHECK(runs == std::vector<sked::TimePoint>{t0 + 1500ms});
  const auto history = f.store->get_executions({.job_id = "job"});
  REQUIRE(history.size() == 1);
  CHECK(history[0].status == ExecutionStatus::executed);
  CHECK(f.store->lookup_job("job")->paused());
}

TEST_CASE("run_job_now at an instant that already has a run records it a microsecond later",
          "[scheduler][run_now]") {
  Fixture f;
  std::atomic<int> runs{0};
  f.scheduler.tasks().add("t", [&](const sked::JobContext&) { ++runs; });
  f.scheduler.add_job(
      {.id = "j", .task = "t", .trigger = sked::IntervalTrigger{1h}, .next_run_time = t0 + 1s});
  f.scheduler.start();
  f.advance(1s);
  REQUIRE(runs == 1);
  // The clock has not moved: the scheduled run at t0 + 1s holds that instant.
  const auto now = f.scheduler.run_job_now("j", 10s);
  CHECK(now.status == ExecutionStatus::executed);
  CHECK(now.run_time == t0 + 1s + 1us);
  CHECK(runs == 2);
  CHECK(f.scheduler.get_executions({.job_id = "j"}).size() == 2);
}

TEST_CASE("a failed run's retry survives a restart and runs in the next scheduler on the store",
          "[scheduler][retry][sqlite]") {
  sked::test::TempDir dir;
  const std::string path = dir.file("retry.sqlite3");
  auto clock = std::make_shared<sked::ManualClock>(t0);
  std::atomic<int> attempts{0};
  const auto make = [&] {
    auto scheduler = std::make_unique<sked::BackgroundScheduler>(sked::SchedulerOptions{
        .clock = clock, .timezone = sked::TimeZone::utc(), .logger = [](auto, auto) {}});
    scheduler->tasks().add("flaky", [&](const sked::JobContext&) {
      if (++attempts == 1) throw std::runtime_error("first try fails");
    });
    scheduler->add_jobstore(std::make_shared<sked::SqliteJobStore>(
        path, sked::SqliteJobStoreOptions{.clock = clock, .on_warning = [](std::string_view) {}}));
    return scheduler;
  };
  {
    auto first = make();
    first->add_job({.id = "r",
                    .task = "flaky",
                    .trigger = sked::IntervalTrigger{1h},
                    .next_run_time = t0 + 1s,
                    .retry = {.max_attempts = 2, .backoff = 30s}});
    first->start();
    clock->advance(1s);
    REQUIRE(first->wait_idle());
    REQUIRE(attempts == 1);
    first->shutdown();
  }
  {
    auto second = make();
    // Visible to anyone reading the store, before any scheduler runs it.
    const auto pending = second->jobstore()->pending_runs("r");
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].attempt == 2);
    CHECK(pending[0].at == t0 + 31s);
    second->start();
    clock->advance(30s);
    REQUIRE(second->wait_idle());
    CHECK(attempts == 2);
    const auto history = second->get_executions({.job_id = "r"});
    REQUIRE(history.size() == 2);
    CHECK(history[0].status == ExecutionStatus::executed);
    CHECK(history[0].run_time == t0 + 31s);
    CHECK(second->jobstore()->pending_runs().empty());
    second->shutdown();
  }
}

TEST_CASE("shutdown without waiting returns while a task that ignores its stop token runs on",
          "[scheduler][shutdown]") {
  Fixture f;
  sked::test::Gate gate;
  f.scheduler.tasks().add("stubborn", [&](const sked::JobContext&) { gate.wait(); });
  f.scheduler.add_job({.id = "s", .task = "stubborn", .trigger = sked::DateTrigger{t0 + 1s}});
  f.scheduler.start();
  f.clock->advance(1s);
  REQUIRE(gate.wait_for_waiters(1));
  auto stopping = std::async(std::launch::async, [&] { f.scheduler.shutdown(false); });
  // Returns with the task still blocked (APScheduler's shutdown(wait=False) does the same).
  REQUIRE(stopping.wait_for(10s) == std::future_status::ready);
  CHECK(f.store->get_executions({.job_id = "s"}).at(0).status == ExecutionStatus::started);
  gate.open();
  REQUIRE(f.scheduler.wait_idle());
  // The run is recorded as it ended, after the scheduler stopped.
  CHECK(f.store->get_executions({.job_id = "s"}).at(0).status == ExecutionStatus::executed);
}

TEST_CASE("shutdown with a grace period waits for runs up to it, then asks them to stop",
          "[scheduler][shutdown]") {
  Fixture f;
  std::atomic<bool> started{false};
  f.scheduler.tasks().add("until_stopped", [&](const sked::JobContext& ctx) {
    started = true;
    while (!ctx.stop_requested()) std::this_thread::yield();
  });
  f.scheduler.add_job({.id = "u", .task = "until_stopped", .trigger = sked::DateTrigger{t0 + 1s}});
  f.scheduler.start();
  f.clock->advance(1s);
  while (!started) std::this_thread::yield();
  f.scheduler.shutdown(std::chrono::milliseconds{50});
  REQUIRE(f.scheduler.wait_idle());
  CHECK(f.logs.contains(sked::LogLevel::warning, "1 run(s) still going after"));
  CHECK(f.store->get_executions({.job_id = "u"}).at(0).status == ExecutionStatus::executed);
}

TEST_CASE("shutdown with a grace period called by a task returns once the other runs end",
          "[scheduler][shutdown]") {
  Fixture f;
  sked::test::Gate gate;
  std::atomic<bool> stopping{false};
  std::promise<void> returned;
  auto has_returned = returned.get_future();
  f.scheduler.add_job({.id = "other",
                       .callable = [&](const sked::JobContext&) { gate.wait(); },
                       .trigger = sked::DateTrigger{t0 + 1s}});
  f.scheduler.add_job({.id = "stopper",
                       .callable =
                           [&](const sked::JobContext&) {
                             stopping = true;
                             // Its own run cannot end before this returns: only the other one is
                             // waited for.
                             f.scheduler.shutdown(std::chrono::milliseconds{30s});
                             returned.set_value();
                           },
                       .trigger = sked::DateTrigger{t0 + 1s}});
  f.scheduler.start();
  f.clock->advance(1s);
  REQUIRE(gate.wait_for_waiters(1));
  while (!stopping || f.scheduler.state() != sked::SchedulerState::stopped)
    std::this_thread::yield();
  CHECK(has_returned.wait_for(0s) == std::future_status::timeout);
  gate.open();
  // Not the 30 s grace: the other run's end wakes it.
  CHECK(has_returned.wait_for(10s) == std::future_status::ready);
  REQUIRE(f.scheduler.wait_idle(40s));
  CHECK_FALSE(f.logs.contains(sked::LogLevel::warning, "still going"));
}

TEST_CASE("shutdown with a grace period returns at once when nothing runs",
          "[scheduler][shutdown]") {
  Fixture f;
  f.scheduler.start();
  f.scheduler.shutdown(std::chrono::milliseconds{std::chrono::hours{1}});
  CHECK(f.scheduler.state() == sked::SchedulerState::stopped);
  CHECK_FALSE(f.logs.contains(sked::LogLevel::warning, "still going"));
}

TEST_CASE(
    "a one-shot job whose trigger is done is removed after its run was submitted, with an event",
    "[scheduler][events]") {
  Fixture f;
  f.scheduler.tasks().add("t", [](const sked::JobContext&) {});
  f.scheduler.add_job({.id = "once", .task = "t", .trigger = sked::DateTrigger{t0 + 1s}});
  f.scheduler.start();
  f.advance(1s);
  const auto kinds = f.events.kinds_for("once");
  const auto at = [&](EventKind k) {
    return std::find(kinds.begin(), kinds.end(), k) - kinds.begin();
  };
  REQUIRE(at(EventKind::job_removed) < static_cast<long>(kinds.size()));
  CHECK(at(EventKind::job_added) < at(EventKind::job_submitted));
  CHECK(at(EventKind::job_submitted) < at(EventKind::job_removed));
  CHECK_FALSE(f.scheduler.get_job("once"));
}

namespace {
// Counts the claims the loop makes: one per pass of the loop that looks at the store.
class ClaimCountingStore : public sked::MemoryJobStore {
 public:
  std::atomic<int> claims{0};

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override {
    if (purpose == Purpose::claim) ++claims;
    sked::MemoryJobStore::transact_(purpose, body);
  }
};
}  // namespace

TEST_CASE("adding jobs due after the loop's next wake-up does not wake it; one due sooner does",
          "[scheduler][jobs]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  auto store = std::make_shared<ClaimCountingStore>();
  sked::BackgroundScheduler scheduler(
      {.clock = clock, .timezone = sked::TimeZone::utc(), .max_wait = 10min});
  scheduler.add_jobstore(store);
  std::atomic<int> runs{0};
  scheduler.add_job({.id = "soon",
                     .callable = [&](const sked::JobContext&) { ++runs; },
                     .trigger = sked::DateTrigger{t0 + 5min}});
  scheduler.start();
  REQUIRE(scheduler.wait_idle());
  REQUIRE(scheduler.waiting_until() == t0 + 5min);
  const int passes = store->claims.load();

  for (int i = 0; i < 100; ++i) {
    scheduler.add_job({.id = "later" + std::to_string(i),
                       .callable = [&](const sked::JobContext&) { ++runs; },
                       .trigger = sked::DateTrigger{t0 + 1h}});
  }
  scheduler.add_job({.id = "paused",
                     .callable = [&](const sked::JobContext&) { ++runs; },
                     .trigger = sked::DateTrigger{t0 + 1min},
                     .paused = true});
  REQUIRE(scheduler.wait_idle());
  CHECK(store->claims.load() == passes);
  CHECK(scheduler.waiting_until() == t0 + 5min);

  scheduler.add_job({.id = "now", .callable = [&](const sked::JobContext&) { ++runs; }});
  REQUIRE(scheduler.wait_idle());
  CHECK(store->claims.load() > passes);
  CHECK(runs == 1);
  CHECK(scheduler.waiting_until() == t0 + 5min);
  scheduler.shutdown();
}

namespace {
// A clock whose sleepers wake at their deadline at once, as if that much time had passed, up to
// `until`; past it they wait to be woken, as a ManualClock's do. A loop that polled every max_wait
// would pass through each poll instead of sleeping through them.
class FastForwardClock final : public sked::Clock {
 public:
  FastForwardClock(sked::TimePoint start, sked::TimePoint until, bool reports_jumps)
      : now_us_(start.time_since_epoch().count()), until_(until), reports_jumps_(reports_jumps) {}
  [[nodiscard]] sked::TimePoint now() const override {
    return sked::TimePoint{sked::Duration{now_us_.load()}};
  }
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  sked::TimePoint deadline) const override {
    if (deadline > until_) {
      cv.wait(lock);
      return;
    }
    if (deadline > now()) now_us_.store(deadline.time_since_epoch().count());
  }
  [[nodiscard]] bool reports_jumps() const noexcept override { return reports_jumps_; }

 private:
  mutable std::atomic<std::int64_t> now_us_;
  const sked::TimePoint until_;
  const bool reports_jumps_;
};

// A memory store that says it cannot report changes, as a store shared with other processes but
// without a way to hear them.
class PolledStore final : public sked::MemoryJobStore {
 public:
  std::atomic<int> claims{0};
  [[nodiscard]] bool reports_changes() const noexcept override { return false; }

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override {
    if (purpose == Purpose::claim) ++claims;
    sked::MemoryJobStore::transact_(purpose, body);
  }
};

// Passes the loop made from start until the one-shot job due in an hour ran and it slept for good.
template <typename Store>
int passes_through_an_idle_hour(bool clock_reports_jumps) {
  auto clock = std::make_shared<FastForwardClock>(t0, t0 + 2h, clock_reports_jumps);
  auto store = std::make_shared<Store>();
  sked::BackgroundScheduler scheduler({.clock = clock, .timezone = sked::TimeZone::utc()});
  scheduler.add_jobstore(store);
  std::atomic<int> runs{0};
  scheduler.add_job({.id = "hourly",
                     .callable = [&](const sked::JobContext&) { ++runs; },
                     .trigger = sked::DateTrigger{t0 + 1h}});
  scheduler.start();
  REQUIRE(scheduler.wait_idle(10s));
  CHECK(runs == 1);
  CHECK(clock->now() >= t0 + 1h);
  scheduler.shutdown();
  return store->claims.load();
}
}  // namespace

TEST_CASE(
    "an idle loop sleeps until the next run time, not every max_wait, when its stores and clock "
    "report "
    "their changes",
    "[scheduler][idle]") {
  // The start, the run an hour later, and at most one more: not one per max_wait (3,600).
  CHECK(passes_through_an_idle_hour<ClaimCountingStore>(true) <= 3);
}

TEST_CASE("a store that cannot report other processes' changes is polled every max_wait",
          "[scheduler][idle]") {
  CHECK(passes_through_an_idle_hour<PolledStore>(true) >= 3600);
}

TEST_CASE("a clock that cannot report its jumps bounds every sleep by max_wait",
          "[scheduler][idle][clock]") {
  CHECK(passes_through_an_idle_hour<ClaimCountingStore>(false) >= 3600);
}

TEST_CASE(
    "a change made directly through a store wakes the scheduler using it when it makes a run due "
    "sooner",
    "[scheduler][idle]") {
  auto clock = std::make_shared<sked::ManualClock>(t0);
  auto store = std::make_shared<ClaimCountingStore>();
  sked::BackgroundScheduler scheduler({.clock = clock, .timezone = sked::TimeZone::utc()});
  scheduler.add_jobstore(store);
  std::atomic<int> runs{0};
  scheduler.tasks().add("count", [&](const sked::JobContext&) { ++runs; });
  scheduler.add_job({.id = "hourly", .task = "count", .trigger = sked::IntervalTrigger{1h}});
  scheduler.start();
  REQUIRE(scheduler.wait_idle());
  REQUIRE(scheduler.waiting_until() == t0 + 1h);
  const int passes = store->claims.load();

  // As sked::http's dashboard does on the scheduler's own store.
  (void)store->modify_job("hourly", [](sked::Job& job) { job.name = "renamed"; });
  REQUIRE(scheduler.wait_idle());
  CHECK(store->claims.load() == passes);  // nothing due sooner

  const auto at = store->request_run("hourly", t0);
  CHECK(at == t0);
  REQUIRE(scheduler.wait_idle());
  CHECK(store->claims.load() > passes);
  CHECK(runs == 1);
  CHECK(scheduler.waiting_until() == t0 + 1h);
  scheduler.shutdown();
}

TEST_CASE(
    "each job's events come in the order of what happened, also for jobs added to a running "
    "scheduler",
    "[scheduler][events]") {
  Fixture f{{}, 4};
  f.scheduler.tasks().add("t", [](const sked::JobContext&) {});
  f.scheduler.start();
  // Jobs due at once, added while the loop is busy claiming the ones before them: job_added must
  // still come first (it came after job_submitted or job_executed in 13 of 50 such adds).
  for (int i = 0; i < 50; ++i) f.scheduler.add_job({.id = "now" + std::to_string(i), .task = "t"});
  REQUIRE(f.scheduler.wait_idle());
  for (int i = 0; i < 50; ++i) {
    const std::string id = "now" + std::to_string(i);
    INFO(id);
    auto kinds = f.events.kinds_for(id);
    REQUIRE(kinds.size() == 4);
    CHECK(kinds[0] == EventKind::job_added);
    CHECK(kinds[1] == EventKind::job_submitted);
    // The run's end and the removal of the job (its schedule ended when the run was claimed) are
    // reported from different threads, in either order, as APScheduler reports them.
    std::sort(kinds.begin() + 2, kinds.end());
    CHECK(std::vector(kinds.begin() + 2, kinds.end()) ==
          std::vector{std::min(EventKind::job_executed, EventKind::job_removed),
                      std::max(EventKind::job_executed, EventKind::job_removed)});
  }
}

TEST_CASE(
    "tasks and listeners that shut the scheduler down and wait never wait for themselves or each "
    "other",
    "[scheduler][shutdown]") {
  Fixture f{{}, 2};
  sked::test::Gate gate;
  std::atomic<int> returned{0};
  f.scheduler.add_listener([&](const sked::Event&) { f.scheduler.shutdown(); },
                           static_cast<sked::EventMask>(EventKind::job_executed));
  for (int i = 0; i < 2; ++i) {
    f.scheduler.add_job(
        {.id = "stopper" + std::to_string(i), .callable = [&](const sked::JobContext&) {
           gate.wait();
           f.scheduler.shutdown();  // the first stops it; the second finds it stopped
           ++returned;
         }});
  }
  f.scheduler.start();
  REQUIRE(gate.wait_for_waiters(2));
  gate.open();
  auto main_shutdown = std::async(std::launch::async, [&] { f.scheduler.shutdown(); });
  REQUIRE(main_shutdown.wait_for(10s) == std::future_status::ready);
  CHECK(returned == 2);
  CHECK(f.scheduler.get_executions({.status = ExecutionStatus::executed}).size() == 2);
}

namespace {

// Tasks that block until released: counts the tasks that began.
class Gate {
 public:
  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  ~Gate() { release(1000); }
  void enter() {
    std::unique_lock lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_ > 0; });
    --released_;
  }
  [[nodiscard]] bool wait_entered(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [&] { return entered_ >= n; });
  }
  void release(int n) {
    std::lock_guard lock(mutex_);
    released_ += n;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int entered_ = 0;
  int released_ = 0;
};

}  // namespace

TEST_CASE("a scheduler claims no more runs than its workers can start, and more as they free",
          "[scheduler][room]") {
  Fixture f;  // two workers
  Gate gate;
  for (int i = 0; i < 4; ++i) {
    f.scheduler.add_job({.id = "j" + std::to_string(i),
                         .callable = [&gate](const sked::JobContext&) { gate.enter(); },
                         .trigger = sked::DateTrigger{t0}});
  }
  f.scheduler.start();
  REQUIRE(gate.wait_entered(2));
  // A record says `started` only for a run a worker has: the other two jobs wait in the store, due
  // and unrecorded, for whichever scheduler sharing it has a free worker first.
  CHECK(f.store->get_executions({}).size() == 2);
  CHECK(f.store->get_executions({.status = ExecutionStatus::started}).size() == 2);
  CHECK(f.store->get_all_jobs().size() == 2);
  CHECK(f.store->next_run_time() == t0);
  // A worker frees: the loop claims again at once, with the clock standing still.
  gate.release(1);
  REQUIRE(gate.wait_entered(3));
  REQUIRE(f.events.wait_for(EventKind::job_executed, 1));
  CHECK(f.store->get_executions({.status = ExecutionStatus::started}).size() == 2);
  CHECK(f.store->get_all_jobs().size() == 1);
  gate.release(3);
  REQUIRE(f.scheduler.wait_idle());
  CHECK(f.store->get_executions({.status = ExecutionStatus::executed}).size() == 4);
  CHECK(f.events.count(EventKind::job_max_instances) == 0);
}

TEST_CASE("a worker that frees claims and starts the runs left due itself, not the loop",
          "[scheduler][room]") {
  Fixture f{{}, 1};  // one worker
  Gate gate;
  std::mutex mutex;
  std::vector<std::thread::id> ran_on;        // per run, in order
  std::vector<std::thread::id> submitted_on;  // per job_submitted, in order
  f.scheduler.add_listener(
      [&](const sked::Event&) {
        std::lock_guard lock(mutex);
        submitted_on.push_back(std::this_thread::get_id());
      },
      static_cast<sked::EventMask>(EventKind::job_submitted));
  for (int i = 0; i < 3; ++i) {
    f.scheduler.add_job({.id = "j" + std::to_string(i),
                         .callable =
                             [&](const sked::JobContext&) {
                               {
                                 std::lock_guard lock(mutex);
                                 ran_on.push_back(std::this_thread::get_id());
                               }
                               gate.enter();
                             },
                         .trigger = sked::DateTrigger{t0}});
  }
  f.scheduler.start();
  REQUIRE(gate.wait_entered(1));
  // The loop has finished its pass and sleeps: a state to wait for, not a time.
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!f.scheduler.waiting_until() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  REQUIRE(f.scheduler.waiting_until());
  CHECK(f.store->get_executions({}).size() == 1);  // the others wait, due and unrecorded
  // Each run that ends has its worker claim the next one, once the run is recorded: the loop,
  // asleep, is not woken for it, and wait_idle() does not return in between.
  gate.release(3);
  REQUIRE(f.scheduler.wait_idle());
  CHECK(f.store->get_executions({.status = ExecutionStatus::executed}).size() == 3);
  std::lock_guard lock(mutex);
  REQUIRE(ran_on.size() == 3);
  REQUIRE(submitted_on.size() == 3);
  CHECK(submitted_on[0] != ran_on[0]);  // the loop's first claim
  CHECK(submitted_on[1] == ran_on[0]);  // the worker's, as its first run ended
  CHECK(submitted_on[2] == ran_on[0]);
}

TEST_CASE("schedulers sharing a SQLite store each claim what their workers can start",
          "[scheduler][room][sqlite]") {
  sked::test::TempDir dir;
  const std::string path = dir.file("shared.sqlite3");
  auto clock = std::make_shared<sked::ManualClock>(t0);
  Gate gate;
  std::mutex mutex;
  std::map<std::string, int> ran_by;  // scheduler name: runs begun
  const auto make = [&](const std::string& name) {
    auto scheduler = std::make_unique<sked::BackgroundScheduler>(sked::SchedulerOptions{
        .clock = clock, .timezone = sked::TimeZone::utc(), .logger = [](auto, auto) {}});
    scheduler->tasks().add("block", [&, name](const sked::JobContext&) {
      {
        std::lock_guard lock(mutex);
        ++ran_by[name];
      }
      gate.enter();
    });
    scheduler->add_jobstore(std::make_shared<sked::SqliteJobStore>(
        path, sked::SqliteJobStoreOptions{.clock = clock, .on_warning = [](std::string_view) {}}));
    scheduler->add_executor(std::make_shared<sked::ThreadPoolExecutor>(2));
    return scheduler;
  };
  auto a = make("a");
  auto b = make("b");
  for (int i = 0; i < 4; ++i) {
    a->add_job({.id = "j" + std::to_string(i), .task = "block", .trigger = sked::DateTrigger{t0}});
  }
  a->start();
  REQUIRE(gate.wait_entered(2));
  // a took what its two workers can start; the other two jobs wait, due and unrecorded.
  CHECK(a->get_executions({}).size() == 2);
  CHECK(a->jobstore()->next_run_time() == t0);
  b->start();
  REQUIRE(gate.wait_entered(4));
  {
    std::lock_guard lock(mutex);
    CHECK(ran_by == std::map<std::string, int>{{"a", 2}, {"b", 2}});
  }
  const auto records = b->get_executions({});
  CHECK(records.size() == 4);
  for (const auto& record : records) CHECK(record.status == ExecutionStatus::started);
  gate.release(4);
  REQUIRE(a->wait_idle());
  REQUIRE(b->wait_idle());
  CHECK(a->get_executions({.status = ExecutionStatus::executed}).size() == 4);
  CHECK(a->get_executions({.status = ExecutionStatus::max_instances}).empty());
}

}  // namespace SKED_TEST_FILE
