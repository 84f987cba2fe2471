#pragma once
// Test doubles and helpers shared by the tests. They implement sked's real interfaces.

#include <sked/sked.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sked::test {

inline TimePoint at(const char* iso) { return parse_time(iso); }

/// Collects events; waits for them with a real-time bound (never a sleep).
class EventRecorder {
 public:
  void attach(Scheduler& scheduler, EventMask mask = all_events) {
    scheduler.add_listener([this](const Event& e) { push(e); }, mask);
  }
  void push(const Event& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
    cv_.notify_all();
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<EventKind> kinds_for(const std::string& job_id) const {
    std::vector<EventKind> out;
    for (const auto& e : events()) {
      if (e.job_id == job_id) out.push_back(e.kind);
    }
    return out;
  }
  std::size_t count(EventKind kind) const {
    std::size_t n = 0;
    for (const auto& e : events()) n += e.kind == kind ? 1 : 0;
    return n;
  }
  bool wait_for(EventKind kind, std::size_t n,
                std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] {
      std::size_t c = 0;
      for (const auto& e : events_) c += e.kind == kind ? 1 : 0;
      return c >= n;
    });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

/// Captures log lines.
class LogRecorder {
 public:
  Logger logger() {
    return [this](LogLevel level, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(level, std::string{message});
    };
  }
  bool contains(LogLevel level, std::string_view text) const {
    std::lock_guard lock(mutex_);
    for (const auto& [l, m] : lines_) {
      if (l == level && m.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

/// An interval trigger that counts how often it is asked for a fire time.
class CountingTrigger final : public Trigger {
 public:
  CountingTrigger(TimePoint start, Duration interval, std::atomic<long>* calls)
      : start_(start), interval_(interval), calls_(calls) {}
  std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                          TimePoint) const override {
    ++*calls_;
    return previous ? *previous + interval_ : start_;
  }
  std::string describe() const override { return "counting"; }
  nlohmann::json to_json() const override { return {{"type", "counting"}}; }

 private:
  TimePoint start_;
  Duration interval_;
  std::atomic<long>* calls_;
};

/// Blocks tasks until released, so tests control how long a run lasts without sleeping.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  bool wait_for_waiters(int n, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

}  // namespace sked::test

namespace sked::test {

/// A memory store whose claims fail while `fail_claims` is set, to test that a failing store never
/// stalls the scheduler.
class FailingStore final : public MemoryJobStore {
 public:
  std::atomic<bool> fail_claims{true};

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override {
    if (purpose == Purpose::claim && fail_claims) throw std::runtime_error("database on fire");
    MemoryJobStore::transact_(purpose, body);
  }
};

}  // namespace sked::test
