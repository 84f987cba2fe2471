#include "support/leases.hpp"
#include "support/recorder.hpp"

#include <sked/errors.hpp>
#include <sked/executors/thread_pool.hpp>
#include <sked/triggers/date.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <future>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

sked::Job job_named(std::int64_t id) {
  sked::Job job;
  job.id = "job" + std::to_string(id);
  job.task = "t";
  job.trigger = std::make_shared<sked::DateTrigger>(sked::TimePoint{});
  return job;
}

// Each run's lease comes from the collector's own store; its outcome comes back to the collector.
struct Collected : sked::test::LeaseCollector {
  sked::RunLease run(sked::TaskFn fn, std::int64_t id = 1,
                     std::optional<sked::Duration> timeout = {}) {
    auto job = job_named(id);
    job.timeout = timeout;
    return lease(job, std::move(fn));
  }
};

}  // namespace

TEST_CASE("the thread pool runs at most max_workers tasks at once", "[executor][thread_pool]") {
  const auto workers = GENERATE(1, 2, 4);
  sked::ThreadPoolExecutor pool{static_cast<std::size_t>(workers)};
  pool.start(nullptr);
  sked::test::Gate gate;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  Collected done;
  const int runs = workers * 3;
  for (int i = 0; i < runs; ++i) {
    pool.submit(done.run(
        [&](const sked::JobContext&) {
          const int now = ++running;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          gate.wait();
          --running;
        },
        i));
  }
  REQUIRE(gate.wait_for_waiters(workers));
  gate.open();
  REQUIRE(done.wait_for(static_cast<std::size_t>(runs)));
  CHECK(peak.load() == workers);
  for (const auto& o : done.outcomes) CHECK(o.status == ExecutionStatus::executed);
}

TEST_CASE("a task that throws is an error with the exception's type and message",
          "[executor][thread_pool]") {
  sked::ThreadPoolExecutor pool{1};
  pool.start(nullptr);
  Collected done;
  pool.submit(
      done.run([](const sked::JobContext&) { throw std::invalid_argument("bad input 42"); }));
  pool.submit(done.run([](const sked::JobContext&) { throw 7; }, 2));
  pool.submit(done.run([](const sked::JobContext&) {}, 3));
  REQUIRE(done.wait_for(3));
  CHECK(done.outcomes[0].status == ExecutionStatus::error);
  CHECK(done.outcomes[0].exception == "std::invalid_argument: bad input 42");
  CHECK(done.outcomes[1].exception == "int (not derived from std::exception)");
  CHECK(done.outcomes[2].status == ExecutionStatus::executed);  // the worker survived
}

TEST_CASE(
    "shutdown with wait finishes queued runs; without, it stops tasks and reports queued ones",
    "[executor][thread_pool][shutdown]") {
  SECTION("wait") {
    sked::ThreadPoolExecutor pool{1};
    pool.start(nullptr);
    Collected done;
    sked::test::Gate gate;
    pool.submit(done.run([&](const sked::JobContext&) { gate.wait(); }));
    pool.submit(done.run([](const sked::JobContext&) {}, 2));
    REQUIRE(gate.wait_for_waiters(1));
    auto stopped = std::async(std::launch::async, [&] { pool.shutdown(true); });
    gate.open();
    stopped.get();
    REQUIRE(done.outcomes.size() == 2);
    CHECK(done.outcomes[1].status == ExecutionStatus::executed);
  }
  SECTION("no wait") {
    sked::ThreadPoolExecutor pool{1};
    pool.start(nullptr);
    // Which outcome arrives first depends on whether the worker took the queued run with the first
    // one: each run reports to its own collector.
    Collected running;
    Collected queued;
    std::atomic<bool> entered{false};
    pool.submit(running.run([&](const sked::JobContext& ctx) {
      entered = true;
      while (!ctx.stop_requested()) std::this_thread::yield();
    }));
    pool.submit(queued.run([](const sked::JobContext&) {}, 2));
    while (!entered) std::this_thread::yield();
    pool.shutdown(false);
    REQUIRE(queued.wait_for(1));
    REQUIRE(running.wait_for(1));
    CHECK(queued.outcomes[0].status == ExecutionStatus::error);
    CHECK_THAT(queued.outcomes[0].exception, Catch::Contains("shut down before the run started"));
    CHECK(running.outcomes[0].status ==
          ExecutionStatus::executed);  // the running task returned when asked
  }
}

TEST_CASE("a freed worker's listener finds its run completed and may hand it the next run",
          "[executor][thread_pool][available]") {
  // How a scheduler keeps one worker busy without waking its loop: the listener claims the next
  // run, submits it, and listens again, all on the worker's thread.
  sked::ThreadPoolExecutor pool(1);
  pool.start(nullptr);
  Collected done;
  constexpr int total = 5;
  std::atomic<int> submitted{1};
  std::atomic<bool> completed_first{true};
  std::function<void()> listen = [&] {
    // The run that freed the worker has been completed (recorded) before the listener is called.
    if (done.count() < static_cast<std::size_t>(submitted.load())) completed_first = false;
    if (submitted.load() == total) return;
    CHECK(pool.available() == 1);
    const int id = submitted.fetch_add(1);
    pool.notify_when_available(listen);  // from inside a listener: does not wait for itself
    pool.submit(done.run([](const sked::JobContext&) {}, id));
  };
  pool.notify_when_available(listen);
  pool.submit(done.run([](const sked::JobContext&) {}, 0));
  REQUIRE(done.wait_for(total));
  pool.shutdown(true);
  CHECK(completed_first);
  CHECK(done.count() == total);
}

TEST_CASE("a thread pool needs at least one worker", "[executor][thread_pool][errors]") {
  CHECK_THROWS_AS(sked::ThreadPoolExecutor{0}, sked::InvalidArgument);
}

TEST_CASE("a run past its timeout is asked to stop and recorded as timed out",
          "[executor][thread_pool][timeout]") {
  auto clock = std::make_shared<sked::ManualClock>(sked::parse_time("2026-01-01T00:00:00Z"));
  sked::ThreadPoolExecutor pool{2};
  pool.start(clock);
  Collected done;
  std::atomic<bool> entered{false};
  std::atomic<bool> saw_stop{false};
  pool.submit(done.run(
      [&](const sked::JobContext& ctx) {
        entered = true;
        while (!ctx.stop_requested()) std::this_thread::yield();
        saw_stop = true;
      },
      1, 30s));
  while (!entered) std::this_thread::yield();
  clock->advance(29s);
  pool.submit(done.run([](const sked::JobContext&) {}, 2));
  REQUIRE(done.wait_for(1));
  CHECK(done.outcomes[0].status ==
        ExecutionStatus::executed);  // the quick run, not the timed-out one
  clock->advance(1s);
  REQUIRE(done.wait_for(2));
  CHECK(done.outcomes[1].status == ExecutionStatus::error);
  CHECK(done.outcomes[1].exception == "timed out after 30s");
  pool.shutdown(true);
  CHECK(saw_stop);
  CHECK(done.outcomes.size() == 2);  // the late return is not reported twice
}

}  // namespace SKED_TEST_FILE
