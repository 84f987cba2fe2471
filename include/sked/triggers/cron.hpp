#pragma once
// Fires when the wall clock in a time zone matches a cron schedule.

#include <sked/export.hpp>
#include <sked/trigger.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sked {
namespace detail {
struct CronSchedule;
}  // namespace detail

/// Fires whenever the wall clock in its time zone matches a schedule, written either field by field
/// as APScheduler's CronTrigger takes it, or as a crontab line read the way cronie (Vixie cron)
/// reads it. docs/cron.md has the full syntax, the DST rules and how sked differs from cronie,
/// croner and APScheduler.
///
/// - Fire times are computed on the zone's wall clock and returned as UTC instants. A trigger
///   without a zone takes the scheduler's when the job is added (`bind`); until then, UTC.
/// - DST: a *fixed-time* schedule (none of second, minute, hour starts with `*`) whose wall time
///   falls in a spring-forward gap fires once, at the first instant after the gap, and fires once
///   in a repeated hour, at the first occurrence. A *wildcard* schedule has no fire times in a gap
///   and fires in both passes of a repeated hour.
/// - A bad expression throws `CronSyntaxError` naming the field, the token, its column and the
///   allowed range. A schedule that can never match (`0 0 30 2 *`) builds, and has no next fire
///   time.
/// - Jitter delays each fire time by an amount in [0, jitter) derived from the fire time and the
///   seed, so a reloaded trigger fires identically. It should be smaller than the gap between fire
///   times.
///
/// Immutable and thread-safe; copies share the compiled schedule.
///
/// **Example**:
///   sked::CronTrigger{{.day_of_week = "mon-fri", .hour = "9-17", .minute = "*/15"}}
///   sked::CronTrigger::from_crontab("30 2 * * *", sked::TimeZone::locate("Europe/Berlin"))
class SKED_API CronTrigger final : public Trigger {
 public:
  /// One field of the field style: an expression (`"*/5"`, `"mon-fri"`, `"last fri"`) or a number.
  class Field {
   public:
    Field(const char* text) : text_(text) {}             // NOLINT(google-explicit-constructor)
    Field(std::string text) : text_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
    Field(std::string_view text) : text_(text) {}        // NOLINT(google-explicit-constructor)
    Field(int value) : text_(std::to_string(value)) {}   // NOLINT(google-explicit-constructor)
    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    friend bool operator==(const Field&, const Field&) = default;

   private:
    std::string text_;
  };

  /// APScheduler's CronTrigger arguments. Unset fields more significant than the most significant
  /// set one are `*`; unset fields less significant than it take their minimum (`hour = 5` fires at
  /// 05:00:00 each day); with no field set at all the trigger fires every second. `day_of_week`
  /// counts `0 = mon`, as APScheduler does.
  struct Options {
    std::optional<Field> year{};
    std::optional<Field> month{};
    std::optional<Field> day{};
    std::optional<Field> week{};
    std::optional<Field> day_of_week{};
    std::optional<Field> hour{};
    std::optional<Field> minute{};
    std::optional<Field> second{};
    /// Earliest fire time (inclusive).
    std::optional<TimePoint> start_date{};
    /// Latest fire time (inclusive).
    std::optional<TimePoint> end_date{};
    /// Empty: the scheduler's zone, filled in by `bind`.
    std::optional<TimeZone> timezone{};
    Duration jitter{0};
    /// Seeds the jitter; 0 picks one at random when the trigger is built.
    std::uint64_t jitter_seed = 0;
  };

  /// Throws `CronSyntaxError` for a bad field and `InvalidArgument` for an end before the start or
  /// a negative jitter.
  explicit CronTrigger(Options options);

  /// Reads a crontab line as cronie does: `min hour dom mon dow`; six fields put seconds first,
  /// seven add a year last; `@daily` and the other nicknames; Quartz's `L`, `W`, `#` and `?`.
  /// `options` may set everything but the fields. Throws `CronSyntaxError`, or `InvalidArgument`
  /// when `options` sets a field.
  [[nodiscard]] static CronTrigger from_crontab(std::string_view expression, Options options);
  [[nodiscard]] static CronTrigger from_crontab(std::string_view expression, const TimeZone& zone);
  [[nodiscard]] static CronTrigger from_crontab(std::string_view expression);

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const override;
  /// `cron[hour='9-17', minute='*/15']` (the fields that were given) or `cron['*/5 * * * *']`.
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] nlohmann::json to_json() const override;
  [[nodiscard]] std::shared_ptr<const Trigger> bind(TimePoint now,
                                                    const TimeZone& default_zone) const override;
  /// Reads `to_json`'s output. Throws `SerializationError` naming what is wrong.
  [[nodiscard]] static CronTrigger from_json(const nlohmann::json& j);

  /// The crontab line this trigger was read from; empty for the field style.
  [[nodiscard]] const std::string& crontab() const noexcept { return crontab_; }
  /// The fields as given (field style only; unset fields are empty).
  [[nodiscard]] const Options& fields() const noexcept { return fields_; }
  /// True when none of second, minute and hour starts with `*` (this picks the DST rules).
  [[nodiscard]] bool fixed_time() const noexcept;
  [[nodiscard]] const std::optional<TimePoint>& start_date() const noexcept { return start_date_; }
  [[nodiscard]] const std::optional<TimePoint>& end_date() const noexcept { return end_date_; }
  [[nodiscard]] const std::optional<TimeZone>& timezone() const noexcept { return timezone_; }
  [[nodiscard]] Duration jitter() const noexcept { return jitter_; }
  [[nodiscard]] std::uint64_t jitter_seed() const noexcept { return jitter_seed_; }

  friend bool operator==(const CronTrigger& a, const CronTrigger& b) noexcept;

 private:
  CronTrigger() = default;
  void take_options(const Options& options);
  [[nodiscard]] std::optional<TimePoint> next_grid_time(TimePoint from) const;
  [[nodiscard]] TimePoint jittered(TimePoint grid_time) const noexcept;

  std::shared_ptr<const detail::CronSchedule> schedule_;
  std::string crontab_;
  Options fields_;  // only the field expressions are kept here; the rest lives in the members below
  std::optional<TimePoint> start_date_;
  std::optional<TimePoint> end_date_;
  std::optional<TimeZone> timezone_;
  Duration jitter_{0};
  std::uint64_t jitter_seed_ = 0;
};

}  // namespace sked
