#pragma once
// Test doubles and helpers shared by the tests. They implement sked's real interfaces.

#include <sked/sked.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
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
  bool wait_for(EventKind kind, std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
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
  std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous, TimePoint) const override {
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
class FailingStore final : public JobStore {
 public:
  std::atomic<bool> fail_claims{true};
  void add_job(const Job& job) override { inner_.add_job(job); }
  void update_job(const Job& job) override { inner_.update_job(job); }
  void remove_job(std::string_view id) override { inner_.remove_job(id); }
  void remove_all_jobs() override { inner_.remove_all_jobs(); }
  std::optional<Job> lookup_job(std::string_view id) const override { return inner_.lookup_job(id); }
  std::vector<Job> get_all_jobs() const override { return inner_.get_all_jobs(); }
  std::optional<TimePoint> next_run_time() const override { return inner_.next_run_time(); }
  TimePoint request_run(std::string_view id, TimePoint at) override { return inner_.request_run(id, at); }
  bool withdraw_run_request(std::string_view id) override { return inner_.withdraw_run_request(id); }
  std::vector<ClaimedJob> claim_due_jobs(TimePoint now, std::size_t limit, const ClaimFilter& runnable) override {
    if (fail_claims) throw std::runtime_error("database on fire");
    return inner_.claim_due_jobs(now, limit, runnable);
  }
  Execution begin_execution(std::string_view id, TimePoint t) override { return inner_.begin_execution(id, t); }
  void complete_execution(const Execution& e) override { inner_.complete_execution(e); }
  std::vector<Execution> get_executions(const ExecutionQuery& q) const override { return inner_.get_executions(q); }
  std::size_t delete_old_executions(TimePoint cutoff) override { return inner_.delete_old_executions(cutoff); }

 private:
  MemoryJobStore inner_;
};

}  // namespace sked::test
