#pragma once
// Fires at a fixed interval of elapsed time.

#include <sked/export.hpp>
#include <sked/trigger.hpp>

#include <cstdint>

namespace sked {

/// Fires every `interval` of elapsed time from `start_date`, with APScheduler's semantics: the
/// first fire time is `start_date + n * interval` for the smallest n that is not before now, and
/// fire times after `end_date` are dropped. The interval is elapsed (UTC) time, so DST changes
/// shift the wall-clock time.
///
/// Jitter delays each fire time by a pseudo-random amount in [0, jitter) that is derived from the
/// fire time and the trigger's seed, so fire times never drift and a reloaded trigger fires
/// identically.
///
/// **Example**:
///   sked::IntervalTrigger{std::chrono::minutes{5}}
///   sked::IntervalTrigger{{.hours = 1, .start_date = sked::parse_time("2026-01-01T00:30:00Z")}}
class SKED_API IntervalTrigger final : public Trigger {
 public:
  struct Options {
    std::int64_t weeks = 0;
    std::int64_t days = 0;
    std::int64_t hours = 0;
    std::int64_t minutes = 0;
    std::int64_t seconds = 0;
    /// Empty: the moment the job is added plus one interval (APScheduler's default).
    std::optional<TimePoint> start_date{};
    std::optional<TimePoint> end_date{};
    /// Used by describe() and to show times; empty: the scheduler's zone.
    std::optional<TimeZone> timezone{};
    Duration jitter{0};
    /// Seeds the jitter; 0 picks one at random when the trigger is built.
    std::uint64_t jitter_seed = 0;
  };

  /// Throws `InvalidArgument` for an interval that is not positive, an end before the start, or a
  /// jitter that is negative or not smaller than the interval.
  explicit IntervalTrigger(Duration interval);
  explicit IntervalTrigger(Options options);
  IntervalTrigger(Duration interval, Options options);

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] nlohmann::json to_json() const override;
  [[nodiscard]] std::shared_ptr<const Trigger> bind(TimePoint now,
                                                    const TimeZone& default_zone) const override;
  [[nodiscard]] static IntervalTrigger from_json(const nlohmann::json& j);

  [[nodiscard]] Duration interval() const noexcept { return interval_; }
  [[nodiscard]] const std::optional<TimePoint>& start_date() const noexcept { return start_date_; }
  [[nodiscard]] const std::optional<TimePoint>& end_date() const noexcept { return end_date_; }
  [[nodiscard]] const std::optional<TimeZone>& timezone() const noexcept { return timezone_; }
  [[nodiscard]] Duration jitter() const noexcept { return jitter_; }
  [[nodiscard]] std::uint64_t jitter_seed() const noexcept { return jitter_seed_; }

  friend bool operator==(const IntervalTrigger& a, const IntervalTrigger& b) noexcept {
    return a.interval_ == b.interval_ && a.start_date_ == b.start_date_ &&
           a.end_date_ == b.end_date_ && a.timezone_ == b.timezone_ && a.jitter_ == b.jitter_ &&
           a.jitter_seed_ == b.jitter_seed_;
  }

 private:
  [[nodiscard]] TimePoint jittered(TimePoint grid_time) const noexcept;
  void validate() const;

  Duration interval_;
  std::optional<TimePoint> start_date_;
  std::optional<TimePoint> end_date_;
  std::optional<TimeZone> timezone_;
  Duration jitter_{0};
  std::uint64_t jitter_seed_ = 0;
};

}  // namespace sked
