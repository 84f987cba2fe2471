#pragma once
// A RunOwner for store tests: a fixed clock, and every record a lease ended with.

#include <sked/run_lease.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sked::test {

class RecordingOwner final : public RunOwner {
 public:
  explicit RecordingOwner(TimePoint now) : now_(now) {}
  TimePoint now() const override { return now_; }
  void run_ended(const RunLease&, const Execution& record, std::optional<TimePoint> retry_at,
                 const std::string& error) noexcept override {
    std::lock_guard lock(mutex_);
    ended.push_back(record);
    retries.push_back(retry_at);
    errors.push_back(error);
  }
  void set_now(TimePoint t) { now_ = t; }

  std::vector<Execution> ended;
  std::vector<std::optional<TimePoint>> retries;
  std::vector<std::string> errors;

 private:
  std::mutex mutex_;
  TimePoint now_;
};

}  // namespace sked::test
