#pragma once
// Real leases for executor tests: each comes from a memory store, and how it ended is collected.

#include <sked/job_store.hpp>
#include <sked/stores/memory.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sked::test {

class LeaseCollector {
 public:
  /// A lease for `job` (added to this collector's own store), running `task` when one is given.
  RunLease lease(const Job& job, TaskFn task = {}) {
    store_->add_job(job, true);
    RunLease run = store_->start_run(job.id, job.next_run_time.value_or(TimePoint{}), state_);
    if (task) run.set_task(std::make_shared<const TaskFn>(std::move(task)));
    return run;
  }
  std::size_t count() const {
    std::lock_guard l(state_->mutex);
    return state_->outcomes.size();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds{10}) const {
    std::unique_lock l(state_->mutex);
    return state_->cv.wait_for(l, timeout, [&] { return state_->outcomes.size() >= n; });
  }
  /// How the run of `job_id` ended.
  Outcome of(const std::string& job_id) const {
    std::lock_guard l(state_->mutex);
    for (std::size_t i = 0; i < state_->job_ids.size(); ++i) {
      if (state_->job_ids[i] == job_id) return state_->outcomes[i];
    }
    FAIL("no outcome for " << job_id);
    return {};
  }
  const std::shared_ptr<MemoryJobStore>& store() const { return store_; }

 private:
  struct State final : RunOwner {
    mutable std::mutex mutex;
    std::condition_variable cv;
    std::vector<Outcome> outcomes;
    std::vector<std::string> job_ids;
    TimePoint now() const override { return SystemClock::instance()->now(); }
    void run_ended(const RunLease& run, const Execution& record, std::optional<TimePoint>,
                   const std::string&) noexcept override {
      std::lock_guard l(mutex);
      outcomes.push_back(Outcome{record.status, record.duration.value_or(Duration{0}),
                                 record.exception, record.traceback});
      job_ids.push_back(run.job().id);
      cv.notify_all();
    }
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::shared_ptr<MemoryJobStore> store_ = std::make_shared<MemoryJobStore>();

 public:
  /// Every outcome so far, in the order the runs ended (read once the runs are known to have
  /// ended).
  std::vector<Outcome>& outcomes = state_->outcomes;
};

}  // namespace sked::test
