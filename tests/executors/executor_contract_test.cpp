// What every Executor must do, run against both pools: each lease it takes is completed exactly
// once, whether the run finishes, the pool shuts down with or without waiting, or the pool refuses
// it.

#include "support/leases.hpp"
#include "support/process_group.hpp"

#include <sked/executors/process_pool.hpp>
#include <sked/executors/thread_pool.hpp>
#include <sked/tasks/shell.hpp>
#include <sked/triggers/date.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <set>
#include <thread>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

void register_tasks(sked::TaskRegistry& tasks) {
  tasks.add("noop", [](const sked::JobContext&) {});
  tasks.add("fails", [](const sked::JobContext&) { throw std::runtime_error("no luck"); });
  tasks.add("until_stopped", [](const sked::JobContext& ctx) {
    while (!ctx.stop_requested()) std::this_thread::sleep_for(1ms);
  });
}

// ThreadSanitizer's runtime starts a thread of its own, and a process pool refuses to fork its
// zygote from a program with threads (the process-pool tests are left out of the TSan run for that
// reason).
#if defined(__SANITIZE_THREAD__)
constexpr bool process_pool_available = false;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool process_pool_available = false;
#else
constexpr bool process_pool_available = true;
#endif
#else
constexpr bool process_pool_available = true;
#endif

struct ThreadPoolFactory {
  static constexpr bool available = true;
  static std::shared_ptr<sked::Executor> make(std::size_t workers, const sked::TaskRegistry&) {
    return std::make_shared<sked::ThreadPoolExecutor>(workers);
  }
};

struct ProcessPoolFactory {
  static constexpr bool available = process_pool_available;
  static std::shared_ptr<sked::Executor> make(std::size_t workers,
                                              const sked::TaskRegistry& tasks) {
    return std::make_shared<sked::ProcessPoolExecutor>(workers, tasks, 200ms);
  }
};

using ExecutorFactories = std::tuple<ThreadPoolFactory, ProcessPoolFactory>;

sked::Job job(const std::string& id, const std::string& task) {
  sked::Job j;
  j.id = id;
  j.name = id;
  j.task = task;
  j.trigger = std::make_shared<sked::DateTrigger>(t0);
  return j;
}

// A lease whose task is resolved from `tasks`, as the scheduler does before handing it over.
sked::RunLease lease(sked::test::LeaseCollector& done, const sked::TaskRegistry& tasks,
                     const std::string& id, const std::string& task) {
  auto run = done.lease(job(id, task));
  run.set_task(tasks.find(task));
  return run;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("every run of a batch is completed exactly once", "[executor][contract]",
                        ExecutorFactories) {
  const auto workers = static_cast<std::size_t>(GENERATE(1, 2, 4));
  if (!TestType::available) return;
  sked::TaskRegistry tasks;
  register_tasks(tasks);
  auto executor = TestType::make(workers, tasks);
  executor->start(nullptr);
  sked::test::LeaseCollector done;
  std::vector<sked::RunLease> runs;
  for (int i = 0; i < 30; ++i) {
    runs.push_back(lease(done, tasks, "r" + std::to_string(i), i % 3 == 0 ? "fails" : "noop"));
  }
  executor->submit_batch(runs);
  for (const auto& run : runs) CHECK_FALSE(run.active());  // all taken
  REQUIRE(done.wait_for(30));
  executor->shutdown(true);
  CHECK(done.count() == 30);
  for (int i = 0; i < 30; ++i) {
    const auto outcome = done.of("r" + std::to_string(i));
    CHECK(outcome.status == (i % 3 == 0 ? ExecutionStatus::error : ExecutionStatus::executed));
    if (i % 3 == 0) CHECK_THAT(outcome.exception, Catch::Contains("no luck"));
  }
  // Recorded in the store the leases came from, once each.
  CHECK(done.store()->get_executions({.status = ExecutionStatus::started}).empty());
  CHECK(done.store()->get_executions({.limit = 100}).size() == 30);
}

TEMPLATE_LIST_TEST_CASE(
    "shutdown without waiting stops running tasks and completes queued runs as errors",
    "[executor][contract][shutdown]", ExecutorFactories) {
  if (!TestType::available) return;
  sked::TaskRegistry tasks;
  register_tasks(tasks);
  auto executor = TestType::make(1, tasks);
  executor->start(nullptr);
  sked::test::LeaseCollector done;
  executor->submit(lease(done, tasks, "running", "until_stopped"));
  for (int i = 0; i < 3; ++i)
    executor->submit(lease(done, tasks, "queued" + std::to_string(i), "noop"));
  executor->shutdown(false);
  REQUIRE(done.wait_for(4));
  CHECK(done.count() == 4);
  // A queued run either ran before the stop or is reported as never started: never lost, never
  // twice.
  for (int i = 0; i < 3; ++i) {
    const auto outcome = done.of("queued" + std::to_string(i));
    if (outcome.status == ExecutionStatus::error)
      CHECK_THAT(outcome.exception, Catch::Contains("shut down"));
  }
  // After shutdown, a run is refused at once, as an error.
  executor->submit(lease(done, tasks, "late", "noop"));
  REQUIRE(done.wait_for(5));
  CHECK(done.of("late").status == ExecutionStatus::error);
  CHECK_THAT(done.of("late").exception, Catch::Contains("shut down"));
}

TEMPLATE_LIST_TEST_CASE("shutdown with waiting finishes every queued run first",
                        "[executor][contract][shutdown]", ExecutorFactories) {
  if (!TestType::available) return;
  sked::TaskRegistry tasks;
  register_tasks(tasks);
  auto executor = TestType::make(2, tasks);
  executor->start(nullptr);
  sked::test::LeaseCollector done;
  for (int i = 0; i < 10; ++i)
    executor->submit(lease(done, tasks, "r" + std::to_string(i), "noop"));
  executor->shutdown(true);
  CHECK(done.count() == 10);
  for (int i = 0; i < 10; ++i)
    CHECK(done.of("r" + std::to_string(i)).status == ExecutionStatus::executed);
}

TEMPLATE_LIST_TEST_CASE(
    "a shell run's command has its process group recorded with the run, timeout or not",
    "[executor][contract][survivor]", ExecutorFactories) {
  if (!TestType::available) return;
  sked::TaskRegistry tasks;
  register_tasks(tasks);
  sked::register_shell_task(tasks);
  const bool with_timeout = GENERATE(false, true);
  auto executor = TestType::make(1, tasks);
  executor->start(std::make_shared<sked::ManualClock>(t0));
  auto store = std::make_shared<sked::test::ProcessRecordingStore>();
  auto j = job("sh", "shell");
  j.args = {{"command", "exec sleep 30"}};
  // With a timeout the thread pool completes runs from its watchdog's thread too.
  if (with_timeout) j.timeout = 1h;
  store->add_job(j);
  auto run = store->start_run("sh", t0);
  run.set_task(tasks.find("shell"));
  executor->submit(std::move(run));
  CHECK_THAT(store->first_recorded(), Catch::StartsWith("sh pgid="));
  executor->shutdown(false);  // stops the command
}

}  // namespace SKED_TEST_FILE
