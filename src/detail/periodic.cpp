#include "detail/periodic.hpp"

#include <utility>

namespace sked::detail {

void Periodic::start(std::shared_ptr<Clock> clock, Duration interval, std::function<void()> fn) {
  // Subscribe (and, if not needed, unsubscribe) outside mutex_: the clock calls its listeners under
  // its own lock, and this listener takes mutex_.
  Subscription subscription = clock->on_jump([this] {
    std::lock_guard l(mutex_);
    cv_.notify_all();
  });
  std::unique_lock lock(mutex_);
  if (thread_.joinable() || stopping_) {
    lock.unlock();  // before `subscription` unsubscribes
    return;
  }
  // Timed from here, not from when the thread gets to run: on a loaded machine that can be seconds
  // of a ManualClock later.
  first_ = clock->now() + interval;
  clock_ = std::move(clock);
  interval_ = interval;
  fn_ = std::move(fn);
  subscription_ = std::move(subscription);
  thread_ = std::thread([this] { loop(); });
}

void Periodic::loop() {
  std::unique_lock lock(mutex_);
  TimePoint next = first_;
  while (!stopping_) {
    clock_->wait_until(cv_, lock, next);
    if (stopping_) break;
    if (clock_->now() < next) continue;
    lock.unlock();
    fn_();
    lock.lock();
    next = clock_->now() + interval_;
  }
}

void Periodic::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  subscription_.reset();
}

}  // namespace sked::detail
