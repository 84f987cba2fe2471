#pragma once
// Runs tasks on a fixed pool of threads.

#include <sked/executor.hpp>
#include <sked/export.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace sked {

/// Runs tasks on up to `max_workers` threads; runs beyond that wait in a queue. A task that throws
/// is reported as an error and the worker carries on.
///
/// A run with a `timeout` that is still going when it expires is asked to stop through its
/// JobContext's stop token and recorded at once as an error `timed out after 30s`; the scheduler
/// moves on. A thread cannot be killed, so a task that ignores the request keeps its worker until
/// it returns (its late result is discarded). Use `ProcessPoolExecutor` for tasks that may hang for
/// real.
///
/// This class is thread-safe.
class SKED_API ThreadPoolExecutor final : public Executor {
 public:
  /// Throws `InvalidArgument` when `max_workers` is 0.
  explicit ThreadPoolExecutor(std::size_t max_workers = 10);
  ~ThreadPoolExecutor() override;
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  /// `clock` may be null: the real clock.
  void start(std::shared_ptr<Clock> clock) override;
  void submit(RunLease run) override;
  /// Takes the whole batch under one lock and wakes one worker.
  void submit_batch(std::span<RunLease> runs) override;
  void shutdown(bool wait) override;
  /// Workers not running a task, less the runs queued for them. A worker whose task returned
  /// counts as free while it records the outcome.
  [[nodiscard]] std::size_t available() const override;

  [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }

 private:
  // One run in progress; settled by whichever comes first, the task returning or its timeout.
  struct Active {
    RunLease run{};
    std::stop_source stop{};
    std::atomic<bool> settled{false};
  };
  // Queues what enqueue() returns true for, with mutex_ held; false: the pool is shut down.
  template <typename Push>
  bool enqueue(std::size_t count, Push push);
  void work(std::stop_token stop);
  void run_item(RunLease& run, std::stop_token stop);
  void watch(std::stop_token stop);
  // A queued or running run is over for the worker: its task returned, or it was dropped. The
  // worker counts as free from here (available()); worker_freed() follows once the run completed,
  // so that the claim it may lead to finds the run no longer running.
  void release_one() noexcept;

  std::size_t max_workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  // A FIFO: queued runs are queue_[head_..]. A vector rather than a deque, whose 512-byte blocks
  // hold two runs each, so that queueing does not allocate once per two runs.
  std::vector<RunLease> queue_;
  std::size_t head_ = 0;
  std::vector<std::jthread> workers_;
  std::vector<std::jthread> retired_;  // asked to stop by shutdown(false), not joined yet
  std::size_t idle_ = 0;               // workers waiting on cv_
  bool spinning_ = false;              // a worker is looking for runs before it waits on cv_
  // queue_.size() - head_, for the spinning worker to read without the lock; set by
  // publish_queued() wherever the queue changes.
  std::atomic<std::size_t> queued_{0};
  void publish_queued() noexcept {  // with mutex_ held
    queued_.store(queue_.size() - head_, std::memory_order_relaxed);
  }
  bool waking_ = false;  // a worker was notified and has not taken the lock since
  bool accepting_ = false;
  // Runs queued or running (until their task returns), for available(): read without the lock.
  std::atomic<std::size_t> busy_{0};

  std::shared_ptr<Clock> clock_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  std::multimap<TimePoint, std::shared_ptr<Active>> deadlines_;
  std::jthread watchdog_;
  Subscription clock_subscription_;
};

}  // namespace sked
