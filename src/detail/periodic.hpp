#pragma once
// A thread that calls a function at a fixed interval of a sked::Clock (a store's heartbeat).

#include <sked/time.hpp>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace sked::detail {

/// Calls a function every `interval` of a clock, on a thread of its own, until stopped. It follows
/// the clock: a ManualClock drives it in tests (advancing the clock wakes it). Stops and joins in
/// its destructor.
class Periodic {
 public:
  Periodic() = default;
  ~Periodic() { stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  /// Starts the thread; the first call comes one interval from now. Does nothing once started or
  /// stopped.
  void start(std::shared_ptr<Clock> clock, Duration interval, std::function<void()> fn);
  /// Stops the thread and waits for a call in progress. Never throws.
  void stop() noexcept;

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  bool stopping_ = false;
  std::shared_ptr<Clock> clock_;
  Duration interval_{};
  TimePoint first_{};
  std::function<void()> fn_;
  Subscription subscription_;
};

}  // namespace sked::detail
