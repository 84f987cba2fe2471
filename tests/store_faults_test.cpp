// Faults of the store underneath the claim policy (JobStore): writes that fail, locks that are
// slow. Each store inherits this behaviour from the base class; a memory store with injected faults
// shows it.

#include "support/owner.hpp"

#include "detail/runs_here.hpp"

#include <sked/errors.hpp>
#include <sked/stores/memory.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;
using sked::ExecutionStatus;

namespace {

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

// A memory store whose next `fail_completions` completion writes throw, as SQLite does on a full
// disk, and whose claims first wait `lock_wait` on `clock` (another connection holding the lock).
class FaultyStore final : public sked::MemoryJobStore {
 public:
  FaultyStore() : MemoryJobStore(100'000) {}
  std::atomic<int> fail_completions{0};
  std::atomic<int> completion_attempts{0};
  sked::test::RecordingOwner* lock_clock = nullptr;
  sked::Duration lock_wait{0};

  std::vector<std::string> warnings() const {
    std::lock_guard lock(mutex_);
    return warnings_;
  }

  // Batching, as the SQLite store does: completions that finish while one is written wait and are
  // written together, all or none.
  bool batching = false;
  std::vector<std::size_t> batches;  // the size of each batch written or tried
  // Set, the next batch's write waits (from when `entered`) until `release` is called.
  bool hold_next_batch = false;
  void wait_until_held() {
    std::unique_lock lock(hold_mutex_);
    hold_cv_.wait(lock, [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(hold_mutex_);
    hold_next_batch = false;
    hold_cv_.notify_all();
  }

 protected:
  bool batches_completions_() const noexcept override { return batching; }
  void complete_many_(const std::vector<Completion>& batch) override {
    {
      std::unique_lock lock(hold_mutex_);
      batches.push_back(batch.size());
      if (hold_next_batch) {
        held_ = true;
        hold_cv_.notify_all();
        hold_cv_.wait(lock, [&] { return !hold_next_batch; });
      }
    }
    ++completion_attempts;
    if (fail_completions > 0) {
      --fail_completions;
      throw sked::StoreError("faulty.sqlite3", 13,
                             "recording how runs ended: database or disk is full");
    }
    for (const auto& c : batch) MemoryJobStore::complete_(*c.record, *c.retry);
  }
  void complete_(const sked::Execution& record,
                 const std::optional<sked::RunRequest>& retry) override {
    ++completion_attempts;
    if (fail_completions > 0) {
      --fail_completions;
      throw sked::StoreError("faulty.sqlite3", 13,
                             "recording how a run ended: database or disk is full");
    }
    MemoryJobStore::complete_(record, retry);
  }
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override {
    if (purpose == Purpose::claim && lock_clock && lock_wait > sked::Duration::zero()) {
      lock_clock->set_now(lock_clock->now() + std::exchange(lock_wait, sked::Duration{0}));
    }
    MemoryJobStore::transact_(purpose, body);
  }
  std::string name_() const override { return "faulty.sqlite3"; }
  void warn_(const std::string& message) const override {
    std::lock_guard lock(mutex_);
    warnings_.push_back(message);
  }

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::string> warnings_;
  std::mutex hold_mutex_;
  std::condition_variable hold_cv_;
  bool held_ = false;
};

sked::Job every_minute(std::string id, int max_instances = 1, sked::Duration interval = 1min) {
  sked::Job job;
  job.id = std::move(id);
  job.name = job.id;
  job.task = "t";
  job.trigger =
      std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{interval, {.start_date = t0}});
  job.misfire_grace_time = 60s;
  job.max_instances = max_instances;
  job.next_run_time = t0;
  return job;
}

sked::Execution only(const std::vector<sked::ClaimedJob>& claims) {
  REQUIRE(claims.size() == 1);
  REQUIRE(claims[0].executions.size() == 1);
  return claims[0].executions[0];
}

}  // namespace

TEST_CASE(
    "a completion the store cannot write is kept, retried and never counts as a running instance",
    "[store][faults][completion]") {
  const auto store = std::make_shared<FaultyStore>();
  store->batching = GENERATE(false, true);
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 1s);
  store->add_job(every_minute("j"));

  auto claims = store->claim_due_jobs(t0 + 1s, 10, {}, owner);
  REQUIRE(claims[0].runs.size() == 1);
  const auto first_id = claims[0].runs[0].execution().id;
  store->fail_completions = 7;
  owner->set_now(t0 + 3s);
  claims[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "E: exit status 1"});
  CHECK(store->unwritten_completions() == 1);
  // The owner hears of the run's end as usual; the store, not the owner, reports the write failure.
  REQUIRE(owner->ended.size() == 1);
  CHECK(owner->errors[0].empty());
  CHECK(store->get_executions({.id = first_id})[0].status == ExecutionStatus::started);

  // The next fire, while the store still refuses the first run's outcome, runs: the run that ended
  // is not a running instance, whatever its record says meanwhile.
  owner->set_now(t0 + 60s);
  auto next = store->claim_due_jobs(t0 + 60s, 10, {}, owner);
  CHECK(only(next).status == ExecutionStatus::started);
  next[0].runs.at(0).complete({});                               // waits behind the first
  auto second = store->claim_due_jobs(t0 + 60s, 10, {}, owner);  // nothing left due
  CHECK(second.empty());

  // The writes go on failing: each claim tries the oldest outcome once, and one warning covers them
  // all.
  for (int i = 2; i <= 4; ++i) {
    owner->set_now(t0 + i * 60s);
    (void)store->claim_due_jobs(
        t0 + i * 60s, 10, [](const sked::Job&) { return false; }, owner);
  }
  CHECK(store->fail_completions == 0);
  INFO(store->warnings().back());
  CHECK(store->warnings().size() == 1);
  CHECK_THAT(store->warnings().at(0), Catch::Contains("faulty.sqlite3") &&
                                          Catch::Contains("disk is full") &&
                                          Catch::Contains("kept"));

  // Space is back: the next claim writes it, as it ended, and says so once.
  owner->set_now(t0 + 5min);
  (void)store->claim_due_jobs(t0 + 5min, 10, {}, owner);
  CHECK(store->unwritten_completions() == 0);
  const auto first = store->get_executions({.id = first_id}).at(0);
  CHECK(first.status == ExecutionStatus::error);
  CHECK(first.exception == "E: exit status 1");
  CHECK(first.finished == t0 + 3s);
  REQUIRE(store->warnings().size() == 2);
  CHECK_THAT(store->warnings()[1], Catch::Contains("recorded how 2 run(s) ended"));
  CHECK(store->get_executions({.status = ExecutionStatus::max_instances}).empty());
}

namespace {

// Three jobs due at t0 + 1s in a store that batches completions, claimed for `owner`.
std::vector<sked::ClaimedJob> three_claimed_by(FaultyStore& store,
                                               const std::shared_ptr<sked::RunOwner>& owner) {
  store.batching = true;
  for (const char* id : {"a", "b", "c"}) store.add_job(every_minute(id));
  auto claims = store.claim_due_jobs(t0 + 1s, 10, {}, owner);
  REQUIRE(claims.size() == 3);
  return claims;
}

// Completes `claim`'s run on a thread of its own, and returns once the store holds its batch
// (FaultyStore::hold_next_batch) until `release()`.
std::thread completing_held(FaultyStore& store, sked::ClaimedJob& claim) {
  store.hold_next_batch = true;
  std::thread thread{[&claim] { claim.runs.at(0).complete({}); }};
  store.wait_until_held();
  return thread;
}

}  // namespace

TEST_CASE(
    "outcomes that finish while another is written are written together once it is, and their "
    "owners hear of them then",
    "[store][faults][completion]") {
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 1s);
  auto claims = three_claimed_by(*store, owner);

  std::thread first = completing_held(*store, claims[0]);
  // The threads that finish these go on at once; their runs still count as started until written.
  claims[1].runs.at(0).complete({});
  claims[2].runs.at(0).complete({.status = ExecutionStatus::error, .exception = "E: boom"});
  CHECK(owner->ended.empty());
  CHECK(store->get_executions({.status = ExecutionStatus::started}).size() == 3);
  store->release();
  first.join();

  CHECK(store->batches == std::vector<std::size_t>{1, 2});
  REQUIRE(owner->ended.size() == 3);
  CHECK(owner->ended[1].job_id == "b");
  CHECK(owner->ended[2].job_id == "c");
  CHECK(store->get_executions({.status = ExecutionStatus::executed}).size() == 2);
  CHECK(store->get_executions({.status = ExecutionStatus::error}).at(0).exception == "E: boom");
  CHECK(store->unwritten_completions() == 0);
}

TEST_CASE(
    "while a batch's ends are reported, its runs not reported yet count as runs of the reporting "
    "thread, so a listener's shutdown does not wait for them",
    "[store][faults][completion]") {
  // What Scheduler::shutdown(wait) counts as the runs it is called from (detail::runs_here).
  struct HereOwner final : sked::RunOwner {
    sked::TimePoint now() const override { return t0 + 1s; }
    void run_ended(const sked::RunLease& lease, const sked::Execution&,
                   std::optional<sked::TimePoint>, const std::string&) noexcept override {
      std::lock_guard lock(mutex);
      here.emplace_back(lease.job().id, sked::detail::runs_here());
    }
    std::mutex mutex;
    std::vector<std::pair<std::string, int>> here;
  };
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<HereOwner>();
  auto claims = three_claimed_by(*store, owner);

  std::thread first = completing_held(*store, claims[0]);
  claims[1].runs.at(0).complete({});
  claims[2].runs.at(0).complete({});
  store->release();
  first.join();
  using Here = std::vector<std::pair<std::string, int>>;
  CHECK(owner->here == Here{{"a", 1}, {"b", 2}, {"c", 1}});
  CHECK(sked::detail::runs_here() == 0);
}

TEST_CASE("a batch the store cannot write is kept whole and written again, oldest first",
          "[store][faults][completion]") {
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 1s);
  auto claims = three_claimed_by(*store, owner);

  store->fail_completions = 2;  // the first batch, then its outcome tried again before the next
  std::thread first = completing_held(*store, claims[0]);
  claims[1].runs.at(0).complete({});
  claims[2].runs.at(0).complete({});
  store->release();
  first.join();
  // Every outcome of the failed batches is kept; every owner heard, without an error.
  CHECK(store->unwritten_completions() == 3);
  REQUIRE(owner->ended.size() == 3);
  CHECK(owner->errors == std::vector<std::string>(3));
  CHECK(store->get_executions({.status = ExecutionStatus::started}).size() == 3);
  REQUIRE(store->warnings().size() == 1);
  CHECK_THAT(store->warnings()[0], Catch::Contains("disk is full") && Catch::Contains("kept"));

  // The next claim writes them all.
  owner->set_now(t0 + 2s);
  (void)store->claim_due_jobs(t0 + 2s, 10, {}, owner);
  CHECK(store->unwritten_completions() == 0);
  CHECK(store->get_executions({.status = ExecutionStatus::executed}).size() == 3);
}

TEST_CASE("a kept completion keeps its retry, written with it",
          "[store][faults][completion][retry]") {
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  auto job = every_minute("j");
  job.retry = {.max_attempts = 2, .backoff = 10s};
  store->add_job(job);
  auto claims = store->claim_due_jobs(t0, 10, {}, owner);
  store->fail_completions = 1;
  claims[0].runs[0].complete({.status = ExecutionStatus::error, .exception = "E: boom"});
  CHECK(owner->retries.at(0) == t0 + 10s);
  CHECK(store->pending_runs().empty());
  // The claim at the retry's time writes the outcome and its retry first, then claims the retry.
  owner->set_now(t0 + 10s);
  const auto retried = store->claim_due_jobs(t0 + 10s, 10, {}, owner);
  REQUIRE(retried.size() == 1);
  REQUIRE(retried[0].runs.size() == 1);
  CHECK(retried[0].runs[0].attempt() == 2);
}

TEST_CASE("kept completions are bounded, the oldest dropped first and reported once",
          "[store][faults][completion]") {
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0);
  store->add_job(every_minute("j"));
  store->fail_completions = 1'000'000;
  for (std::size_t i = 0; i < sked::max_unwritten_completions + 5; ++i) {
    auto run = store->start_run("j", t0 + sked::Duration{static_cast<long>(i)}, owner);
    run.complete({});
  }
  CHECK(store->unwritten_completions() == sked::max_unwritten_completions);
  // Each completion tries the oldest kept outcome once, then waits behind it: one write per
  // completion, as without faults.
  CHECK(store->completion_attempts == static_cast<int>(sked::max_unwritten_completions + 5));
  REQUIRE(store->warnings().size() == 2);
  CHECK_THAT(store->warnings()[1], Catch::Contains("dropped"));
  store->fail_completions = 0;
  (void)store->claim_due_jobs(t0, 10, {}, owner);
  CHECK(store->unwritten_completions() == 0);
  CHECK(store->get_executions({.status = ExecutionStatus::executed, .limit = 100'000}).size() ==
        sked::max_unwritten_completions);
  // The dropped ones stay `started` until the liveness check of a restart records them interrupted.
  CHECK(store->get_executions({.status = ExecutionStatus::started, .limit = 100'000}).size() == 5);
}

TEST_CASE("lateness is decided once the claim holds the store, not when it asked for it",
          "[store][faults][misfire]") {
  const auto store = std::make_shared<FaultyStore>();
  const auto owner = std::make_shared<sked::test::RecordingOwner>(t0 + 59s);
  store->add_job(every_minute("j", 1, 10min));  // 60 s grace
  // Asked on time, but another connection held the lock for 75 s: the run is missed, not executed.
  store->lock_clock = owner.get();
  store->lock_wait = 75s;
  const auto e = only(store->claim_due_jobs(t0 + 59s, 10, {}, owner));
  CHECK(e.status == ExecutionStatus::missed);
  CHECK(e.run_time == t0);
  // Without the wait, the next fire is on time.
  owner->set_now(t0 + 10min + 59s);
  const auto next = only(store->claim_due_jobs(owner->now(), 10, {}, owner));
  CHECK(next.status == ExecutionStatus::started);
  CHECK(next.run_time == t0 + 10min);
}

}  // namespace SKED_TEST_FILE
