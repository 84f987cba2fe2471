#pragma once
// Triggers made of other triggers: fire when all agree (AndTrigger) or when any fires (OrTrigger).

#include <sked/export.hpp>
#include <sked/trigger.hpp>

#include <cstddef>
#include <vector>

namespace sked {

/// What AndTrigger and OrTrigger share: their child triggers, described, persisted and bound as
/// one.
class SKED_API CombiningTrigger : public Trigger {
 public:
  /// `and[cron[hour='9'], interval[2:00:00]]`, as APScheduler describes it.
  [[nodiscard]] std::string describe() const final;
  /// `{"type": "and", "version": 1, "triggers": [...]}`.
  [[nodiscard]] nlohmann::json to_json() const final;
  /// Binds every child (the scheduler's zone, an interval's start); nullptr when none needed it.
  [[nodiscard]] std::shared_ptr<const Trigger> bind(TimePoint now,
                                                    const TimeZone& default_zone) const final;
  [[nodiscard]] const std::vector<TriggerPtr>& triggers() const noexcept { return triggers_; }

 protected:
  /// Throws `InvalidArgument` for no children or an empty one.
  CombiningTrigger(std::vector<TriggerPtr> triggers, const char* kind);
  /// The same kind of trigger over other children.
  [[nodiscard]] virtual std::shared_ptr<const Trigger> with(
      std::vector<TriggerPtr> triggers) const = 0;
  /// The children of `to_json`'s output. Throws `SerializationError`.
  [[nodiscard]] static std::vector<TriggerPtr> children_from_json(const char* kind,
                                                                  const nlohmann::json& j);

 private:
  std::vector<TriggerPtr> triggers_;
  const char* kind_;
};

/// Fires at the instants every child trigger fires at, as APScheduler's `AndTrigger` does: each
/// round asks every child for its first fire time at or after the latest candidate, until all
/// agree. Times are compared as UTC instants, so cron children in a zone stay exact across DST.
///
/// Unlike APScheduler 3, the search is bounded: after `max_rounds` rounds without agreement the
/// trigger has no next fire time (empty), as if its schedule had ended, so a combination that can
/// never agree (`interval[0:00:02]` from :00 and from :01) ends the job instead of hanging the
/// scheduler. A child's jitter makes agreement unlikely: combine children without jitter.
///
/// Immutable and thread-safe.
///
/// **Example**: weekdays at 09:00 that are also every second hour of the job's life:
///   sked::AndTrigger{{sked::CronTrigger{{.day_of_week = "mon-fri", .hour = 9}},
///                     sked::IntervalTrigger{std::chrono::hours{2}}}}
class SKED_API AndTrigger final : public CombiningTrigger {
 public:
  /// Rounds of the search for a time all children agree on.
  static constexpr std::size_t max_rounds = 10'000;

  /// Throws `InvalidArgument` for no children or an empty one.
  explicit AndTrigger(std::vector<TriggerPtr> triggers);

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const override;
  /// Reads `to_json`'s output; children through `trigger_from_json`. Throws `SerializationError`.
  [[nodiscard]] static AndTrigger from_json(const nlohmann::json& j);

 private:
  [[nodiscard]] std::shared_ptr<const Trigger> with(
      std::vector<TriggerPtr> triggers) const override;
};

/// Fires whenever any child fires: the earliest of their next fire times, once when several agree,
/// as APScheduler's `OrTrigger`. Ends when every child has ended. Persisted as
/// `{"type": "or", "version": 1, "triggers": [...]}`. Immutable and thread-safe.
///
/// **Example**: at 08:00 on weekdays and at 10:00 at weekends:
///   sked::OrTrigger{{sked::CronTrigger{{.day_of_week = "mon-fri", .hour = 8}},
///                    sked::CronTrigger{{.day_of_week = "sat,sun", .hour = 10}}}}
class SKED_API OrTrigger final : public CombiningTrigger {
 public:
  /// Throws `InvalidArgument` for no children or an empty one.
  explicit OrTrigger(std::vector<TriggerPtr> triggers);

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const override;
  [[nodiscard]] static OrTrigger from_json(const nlohmann::json& j);

 private:
  [[nodiscard]] std::shared_ptr<const Trigger> with(
      std::vector<TriggerPtr> triggers) const override;
};

}  // namespace sked
