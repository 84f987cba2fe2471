#pragma once
// The Trigger interface: when a job fires.

#include <sked/export.hpp>
#include <sked/time.hpp>

#include <nlohmann/json_fwd.hpp>

#include <concepts>
#include <memory>
#include <optional>
#include <string>

namespace sked {

/// Decides a job's fire times. Triggers are immutable values shared between threads; every member
/// function is const and thread-safe.
///
/// To write one, see docs/extending.md: implement the three pure functions, register a JSON reader
/// with `register_trigger_type` (serialization.hpp) if it must be persisted.
class SKED_API Trigger {
 public:
  virtual ~Trigger() = default;

  /// The next fire time strictly after `previous`, or the first one when `previous` is empty (then
  /// not before `now`). Empty when the trigger will never fire again. Must not read any clock.
  [[nodiscard]] virtual std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                                TimePoint now) const = 0;

  /// One line for people: `interval[0:00:15]`, `cron[minute='*/5', hour='9-17']`.
  [[nodiscard]] virtual std::string describe() const = 0;

  /// Versioned JSON, `{"type": "...", "version": N, ...}`, read back by `trigger_from_json`.
  [[nodiscard]] virtual nlohmann::json to_json() const = 0;

  /// Fills in what the trigger left to the scheduler when a job is added: the scheduler's time zone
  /// for a trigger that names none, and "now" for a start that was left open. Returns the completed
  /// trigger, or nullptr when nothing needed filling in. Throws `InvalidArgument` when the
  /// completed trigger would contradict itself (an interval whose end_date precedes its first fire
  /// time).
  [[nodiscard]] virtual std::shared_ptr<const Trigger> bind(TimePoint now,
                                                            const TimeZone& default_zone) const {
    (void)now;
    (void)default_zone;
    return nullptr;
  }
};

/// A shared, immutable trigger. Converts from any trigger value, so jobs can be written
/// `.trigger = sked::IntervalTrigger{std::chrono::seconds{15}}`.
class SKED_API TriggerPtr {
 public:
  TriggerPtr() = default;
  TriggerPtr(std::shared_ptr<const Trigger> trigger) noexcept
      : ptr_(std::move(trigger)) {}  // NOLINT
  template <typename T>
  requires std::derived_from<std::decay_t<T>, Trigger> TriggerPtr(
      T&& trigger)  // NOLINT(google-explicit-constructor): the designated-initializer form needs it
      : ptr_(std::make_shared<std::decay_t<T>>(std::forward<T>(trigger))) {}

  [[nodiscard]] const Trigger* get() const noexcept { return ptr_.get(); }
  [[nodiscard]] const Trigger& operator*() const noexcept { return *ptr_; }
  [[nodiscard]] const Trigger* operator->() const noexcept { return ptr_.get(); }
  [[nodiscard]] const std::shared_ptr<const Trigger>& shared() const noexcept { return ptr_; }
  explicit operator bool() const noexcept { return static_cast<bool>(ptr_); }

 private:
  std::shared_ptr<const Trigger> ptr_;
};

}  // namespace sked
