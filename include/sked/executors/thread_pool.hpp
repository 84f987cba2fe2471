#pragma once
// Runs tasks on a fixed pool of threads.

#include <sked/executor.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace sked {

/// Runs tasks on up to `max_workers` threads; runs beyond that wait in a queue. A task that throws is
/// reported as an error and the worker carries on. This class is thread-safe.
class ThreadPoolExecutor final : public Executor {
 public:
  /// Throws `InvalidArgument` when `max_workers` is 0.
  explicit ThreadPoolExecutor(std::size_t max_workers = 10);
  ~ThreadPoolExecutor() override;
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void start() override;
  void submit(Run run, CompletionFn done) override;
  void shutdown(bool wait) override;

  [[nodiscard]] std::size_t max_workers() const noexcept { return max_workers_; }

 private:
  struct Item {
    Run run{};
    CompletionFn done{};
  };
  void work(std::stop_token stop);

  std::size_t max_workers_;
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::deque<Item> queue_;
  std::vector<std::jthread> workers_;
  std::size_t idle_ = 0;
  bool accepting_ = false;
};

}  // namespace sked
