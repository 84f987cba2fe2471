#include <sked/errors.hpp>
#include <sked/executors/thread_pool.hpp>

namespace sked {

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : max_workers_(max_workers) {
  if (max_workers == 0) throw InvalidArgument("thread pool executor: max_workers must be at least 1");
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true); }

void ThreadPoolExecutor::start() {
  std::lock_guard lock(mutex_);
  if (accepting_) return;
  accepting_ = true;
  // Workers are started lazily in submit(), so an idle pool holds no threads.
}

void ThreadPoolExecutor::submit(Run run, CompletionFn done) {
  {
    std::lock_guard lock(mutex_);
    if (accepting_) {
      queue_.push_back(Item{std::move(run), std::move(done)});
      if (workers_.size() < max_workers_ && queue_.size() > idle_) {
        workers_.emplace_back([this](std::stop_token stop) { work(stop); });
      }
      cv_.notify_one();
      return;
    }
  }
  Outcome refused;
  refused.status = ExecutionStatus::error;
  refused.exception = "sked::Error: the executor is shut down";
  done(run, std::move(refused));
}

void ThreadPoolExecutor::work(std::stop_token stop) {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      // Drain the queue before honouring a stop: shutdown(wait) promises queued runs still run.
      ++idle_;
      cv_.wait(lock, [&] { return !queue_.empty() || !accepting_; });
      --idle_;
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    Outcome outcome = run_task(item.run, stop);
    item.done(item.run, std::move(outcome));
  }
}

void ThreadPoolExecutor::shutdown(bool wait) {
  std::vector<std::jthread> workers;
  std::deque<Item> dropped;
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    if (!wait) dropped.swap(queue_);
    workers.swap(workers_);
    cv_.notify_all();
  }
  for (auto& item : dropped) {
    Outcome outcome;
    outcome.status = ExecutionStatus::error;
    outcome.exception = "sked::Error: the executor shut down before the run started";
    item.done(item.run, std::move(outcome));
  }
  if (!wait) {
    for (auto& w : workers) w.request_stop();
  }
  for (auto& w : workers) {
    if (w.get_id() == std::this_thread::get_id()) {
      w.detach();  // shutdown from inside a task: the worker exits by itself once the task returns
    } else if (w.joinable()) {
      w.join();
    }
  }
}

}  // namespace sked
