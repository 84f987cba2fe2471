#include <sked/errors.hpp>
#include <sked/executors/thread_pool.hpp>

#include "detail/defer_completions.hpp"
#include "detail/runs_here.hpp"

#include <algorithm>

namespace sked {

ThreadPoolExecutor::ThreadPoolExecutor(std::size_t max_workers) : max_workers_(max_workers) {
  if (max_workers == 0)
    throw InvalidArgument("thread pool executor: max_workers must be at least 1");
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true); }

void ThreadPoolExecutor::start(std::shared_ptr<Clock> clock) {
  std::lock_guard lock(mutex_);
  if (accepting_) return;
  accepting_ = true;
  clock_ = clock ? std::move(clock) : SystemClock::instance();
  clock_subscription_ = clock_->on_jump([this] {
    std::lock_guard l(watch_mutex_);
    watch_cv_.notify_all();
  });
  watchdog_ = std::jthread([this](std::stop_token stop) { watch(stop); });
  // Workers are started lazily in submit(), so an idle pool holds no threads.
}

template <typename Push>
bool ThreadPoolExecutor::enqueue(std::size_t count, Push push) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!accepting_) return false;
    push();
    busy_.fetch_add(count);
    publish_queued();
    const std::size_t queued = queue_.size() - head_;
    for (std::size_t i = 0; i < count && workers_.size() < max_workers_ && queued > idle_ + i;
         ++i) {
      workers_.emplace_back([this](std::stop_token stop) { work(stop); });
    }
    // Busy workers take the next item without waiting: only a sleeping one needs the (system-call)
    // wake-up, one at a time (the woken worker wakes the next if runs are left for it), and after
    // the lock is released so that it does not block on it at once.
    wake = idle_ > 0 && !waking_;
    if (wake) waking_ = true;
  }
  if (wake) cv_.notify_one();
  return true;
}

namespace {

Outcome refused_outcome() {
  Outcome refused;
  refused.status = ExecutionStatus::error;
  refused.exception = "sked::Error: the executor is shut down";
  return refused;
}

}  // namespace

void ThreadPoolExecutor::submit(RunLease run) {
  if (enqueue(1, [&] { queue_.push_back(std::move(run)); })) return;
  run.complete(refused_outcome());
}

void ThreadPoolExecutor::submit_batch(std::span<RunLease> runs) {
  const bool queued = enqueue(runs.size(), [&] {
    for (RunLease& run : runs) queue_.push_back(std::move(run));
  });
  if (queued) return;
  for (RunLease& run : runs) run.complete(refused_outcome());
}

namespace {

// The most queued runs one worker takes per trip through the lock.
constexpr std::size_t max_batch = 16;

// How long a worker looks for a run before it sleeps: 5.3 µs on the development machine (an Intel
// Xeon, ~20 ns a `pause`; its latency ranges from ~10 to ~140 cycles across x86 generations), about
// what a freed worker's claim takes.
constexpr int spin_rounds = 256;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

Outcome dropped_outcome() {
  Outcome outcome;
  outcome.status = ExecutionStatus::error;
  outcome.exception = "sked::Error: the executor shut down before the run started";
  return outcome;
}

}  // namespace

void ThreadPoolExecutor::work(std::stop_token stop) {
  std::vector<RunLease> batch;
  for (;;) {
    bool wake_next = false;
    {
      std::unique_lock lock(mutex_);
      // A worker retired by shutdown(false) takes nothing more, even if the pool is started again.
      if (stop.stop_requested()) return;
      // Drain the queue before honouring a stop: shutdown(wait) promises queued runs still run.
      bool spun = false;
      while (head_ == queue_.size() && accepting_) {
        // One worker at a time looks for a few microseconds before it sleeps. With short runs the
        // next one mostly comes that soon (a worker that frees claims it), and a sleeping worker
        // costs its submitter a system call and both of them a context switch: measured, about
        // one of each per run with trivial tasks.
        if (!spun && !spinning_) {
          spun = spinning_ = true;
          lock.unlock();
          for (int i = 0; i < spin_rounds && queued_.load(std::memory_order_relaxed) == 0; ++i)
            cpu_relax();
          lock.lock();
          spinning_ = false;
          continue;
        }
        ++idle_;
        cv_.wait(lock);
        --idle_;
        // The wake-up in flight has arrived (even if another worker took the run it was for), or
        // this return is spurious and one more may follow, which is harmless.
        waking_ = false;
      }
      if (head_ == queue_.size()) return;
      // A fair share of a long queue at once: with trivial tasks the lock the submitter needs too
      // was the bottleneck, at one trip per run. A short queue is taken one run at a time, so no
      // run waits behind another while a worker is free.
      const std::size_t take =
          std::clamp<std::size_t>((queue_.size() - head_) / max_workers_, 1, max_batch);
      for (std::size_t i = 0; i < take; ++i) batch.push_back(std::move(queue_[head_++]));
      if (head_ == queue_.size()) {
        queue_.clear();
        head_ = 0;
      } else if (head_ >= 256 && 2 * head_ >= queue_.size()) {
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
      publish_queued();
      wake_next = head_ < queue_.size() && idle_ > 0 && !waking_;
      if (wake_next) waking_ = true;
    }
    if (wake_next) cv_.notify_one();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // What shutdown(false) would have found still queued is reported as not started.
      if (i > 0 && stop.stop_requested()) {
        release_one();
        batch[i].complete(dropped_outcome());
        worker_freed();
        continue;
      }
      run_item(batch[i], stop);
    }
    batch.clear();
  }
}

void ThreadPoolExecutor::run_item(RunLease& run, std::stop_token stop) {
  if (!run.job().timeout) {
    // The common case needs no watchdog: the worker's own stop token serves the run.
    Outcome outcome = run_task(run, std::move(stop));
    release_one();
    // The run's end is written with the claim this worker makes next, if it makes one.
    const detail::DeferCompletions defer;
    run.complete(std::move(outcome));
    worker_freed();
    return;
  }
  auto active = std::make_shared<Active>();
  active->run = std::move(run);
  // Taken before the watchdog may complete the run from its own thread.
  auto record_process_group = active->run.process_group_recorder();
  // Stopping the pool without waiting stops every running task.
  std::stop_callback forward(stop, [&active] { active->stop.request_stop(); });
  std::multimap<TimePoint, std::shared_ptr<Active>>::iterator watched;
  {
    std::lock_guard lock(watch_mutex_);
    watched = deadlines_.emplace(clock_->now() + *active->run.job().timeout, active);
    watch_cv_.notify_all();
  }
  Outcome outcome =
      detail::run_task(*active->run.task(), active->run.job(), active->run.execution().run_time,
                       active->stop.get_token(), std::move(record_process_group));
  release_one();
  {
    std::lock_guard lock(watch_mutex_);
    if (!active->settled.load()) deadlines_.erase(watched);
  }
  const detail::DeferCompletions defer;
  if (!active->settled.exchange(true)) active->run.complete(std::move(outcome));
  worker_freed();
}

std::size_t ThreadPoolExecutor::available() const {
  return max_workers_ - std::min(max_workers_, busy_.load());
}

void ThreadPoolExecutor::release_one() noexcept { busy_.fetch_sub(1); }

void ThreadPoolExecutor::watch(std::stop_token stop) {
  std::unique_lock lock(watch_mutex_);
  while (!stop.stop_requested()) {
    const TimePoint now = clock_->now();
    std::vector<std::shared_ptr<Active>> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto active = std::move(deadlines_.begin()->second);
      deadlines_.erase(deadlines_.begin());
      if (!active->settled.exchange(true)) expired.push_back(std::move(active));
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& active : expired) {
        active->stop.request_stop();
        Outcome outcome;
        outcome.status = ExecutionStatus::error;
        outcome.duration = *active->run.job().timeout;
        outcome.exception = timed_out_message(*active->run.job().timeout);
        active->run.complete(std::move(outcome));
      }
      lock.lock();
      continue;
    }
    if (deadlines_.empty()) {
      watch_cv_.wait(lock);
    } else {
      clock_->wait_until(watch_cv_, lock, deadlines_.begin()->first);
    }
  }
}

void ThreadPoolExecutor::shutdown(bool wait) {
  std::vector<std::jthread> workers;
  std::vector<RunLease> dropped;
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    if (!wait) {
      dropped.assign(std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(head_)),
                     std::make_move_iterator(queue_.end()));
      queue_.clear();
      head_ = 0;
      publish_queued();
    }
    workers.swap(workers_);
    cv_.notify_all();
  }
  for (auto& run : dropped) {
    release_one();
    run.complete(dropped_outcome());
  }
  if (!dropped.empty()) worker_freed();
  if (!wait) {
    // Asked to stop, not waited for: a thread cannot be killed, and a task that ignores its stop
    // token must not hold the caller. The workers are joined by a later shutdown(true) or the
    // destructor.
    for (auto& w : workers) w.request_stop();
    std::lock_guard lock(mutex_);
    for (auto& w : workers) retired_.push_back(std::move(w));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    for (auto& w : retired_) workers.push_back(std::move(w));
    retired_.clear();
  }
  for (auto& w : workers) {
    if (w.get_id() == std::this_thread::get_id()) {
      w.detach();  // shutdown from inside a task: the worker exits by itself once the task returns
    } else if (w.joinable()) {
      w.join();
    }
  }
  if (watchdog_.joinable()) {
    {
      std::lock_guard lock(watch_mutex_);
      watchdog_.request_stop();
      watch_cv_.notify_all();
    }
    if (watchdog_.get_id() != std::this_thread::get_id()) watchdog_.join();
  }
  clock_subscription_.reset();
}

}  // namespace sked
