#pragma once
// Instants, durations, clocks and time zones.
//
// An instant is always UTC (`TimePoint`); wall-clock times are `date::local_time` and only ever
// meet an instant through a `TimeZone`, which reports DST gaps and repeats as data rather than
// guessing.

#include <sked/export.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// date's types as <date/tz.h> declares them, without its 10,000 lines in every file that includes
// sked: the few functions below that return them need <date/tz.h> where they are called.
namespace date {
struct local_t;
struct sys_info;
struct local_info;
class time_zone;
}  // namespace date

namespace sked {
namespace detail {
struct FutureRule;
}  // namespace detail

using Duration = std::chrono::microseconds;
using TimePoint = std::chrono::sys_time<Duration>;
/// A wall-clock time, `date::local_time<Duration>`.
using LocalTime = std::chrono::time_point<date::local_t, Duration>;

/// An IANA time zone from the OS tz database. Cheap to copy; compares by identity.
class SKED_API TimeZone {
 public:
  /// UTC.
  TimeZone() noexcept;
  /// Looks a zone up by IANA name ("Europe/Berlin"). Throws `TimeZoneNotFound` naming it when
  /// unknown.
  [[nodiscard]] static TimeZone locate(std::string_view name);
  [[nodiscard]] static TimeZone utc() noexcept { return TimeZone{}; }
  /// The machine's zone: TZ when it is set, else /etc/localtime, else UTC. TZ may be an IANA name
  /// (`Europe/Berlin`, `:Europe/Berlin`) or a path into a zoneinfo directory. Throws
  /// `TimeZoneNotFound` naming TZ's value for anything else (an unknown name, a POSIX rule such as
  /// `CET-1CEST,M3.5.0,M10.5.0/3`, another file), as APScheduler does: guessing UTC would shift
  /// every wall-clock schedule by hours without a word.
  [[nodiscard]] static TimeZone local();

  [[nodiscard]] std::string_view name() const noexcept;
  [[nodiscard]] const date::time_zone* get() const noexcept { return zone_; }

  [[nodiscard]] LocalTime to_local(TimePoint t) const;
  /// Offset from UTC in force at `t`.
  [[nodiscard]] std::chrono::seconds offset(TimePoint t) const;
  /// How a wall-clock time maps to instants: unique, nonexistent (in a gap) or ambiguous
  /// (repeated).
  [[nodiscard]] date::local_info info(LocalTime t) const;

  /// The offset period in force at `t`. Unlike `get()->get_info`, it keeps applying the zone's DST
  /// rule after the last transition its tz file lists (2037): date's reader of the OS database
  /// stops there.
  [[nodiscard]] date::sys_info get_info(std::chrono::sys_seconds t) const;
  [[nodiscard]] date::local_info get_info(
      std::chrono::time_point<date::local_t, std::chrono::seconds> t) const;

  friend bool operator==(const TimeZone& a, const TimeZone& b) noexcept {
    return a.zone_ == b.zone_;
  }

 private:
  explicit TimeZone(const date::time_zone* zone);
  const date::time_zone* zone_ = nullptr;  // nullptr means UTC
  const detail::FutureRule* future_ = nullptr;
};

/// Parses an ISO-8601 instant: `2026-03-29T03:00:00+02:00`, `...Z`, fractional seconds to the
/// microsecond. Without an offset the text is a wall time in `zone` (the earlier instant when it is
/// repeated, the first instant after the gap when it does not exist). Throws `Error` naming the
/// text.
[[nodiscard]] SKED_API TimePoint parse_time(std::string_view text,
                                            const TimeZone& zone = TimeZone{});

/// Formats an instant as ISO-8601 in `zone` with its offset (`2026-03-29T03:00:00+02:00`);
/// fractional seconds only when the instant has them.
[[nodiscard]] SKED_API std::string format_time(TimePoint t, const TimeZone& zone = TimeZone{});

/// Formats a duration as APScheduler prints a timedelta: `0:00:03`, `1 day, 2:00:00`,
/// `0:00:00.250000`.
[[nodiscard]] SKED_API std::string format_duration(Duration d);

/// Unsubscribes on destruction. Move-only.
class SKED_API Subscription {
 public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }
  void reset() noexcept {
    if (cancel_) std::exchange(cancel_, nullptr)();
  }

 private:
  std::function<void()> cancel_;
};

/// Where the scheduler reads the time and sleeps. Implementations are thread-safe.
class SKED_API Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
  /// Blocks on `cv` (with `lock` held on entry and exit) until this clock reaches `deadline` or
  /// `cv` is notified. Spurious returns are allowed; callers re-check their state.
  virtual void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          TimePoint deadline) const = 0;
  /// Calls `fn` whenever the clock jumps (moved by hand, or the system's wall clock set), so
  /// sleepers can re-evaluate. `fn` must not block.
  [[nodiscard]] virtual Subscription on_jump(std::function<void()> fn) {
    (void)fn;
    return {};
  }
  /// True when `on_jump` reports every jump: a sleeper may then wait until its deadline, however
  /// far. False (the default): sleepers bound each wait (the scheduler by `max_wait`) to notice
  /// jumps.
  [[nodiscard]] virtual bool reports_jumps() const noexcept { return false; }
};

/// The real wall clock (std::chrono::system_clock). Waits run on the steady clock; a step of the
/// wall clock (`settimeofday`, an NTP step, a resume from suspend) is heard through a timerfd
/// (`TFD_TIMER_CANCEL_ON_SET`, one thread per process, started by the first `on_jump`) and calls
/// the `on_jump` functions on that thread.
class SKED_API SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override;
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  TimePoint deadline) const override;
  [[nodiscard]] Subscription on_jump(std::function<void()> fn) override;
  /// False only where the kernel offers no timerfd that hears clock steps.
  [[nodiscard]] bool reports_jumps() const noexcept override;
  /// A shared instance.
  [[nodiscard]] static std::shared_ptr<SystemClock> instance();
};

/// A clock that moves only when told to. Sleepers never wake because real time passes, only when
/// the clock is advanced or set, so tests are exact and never sleep.
///
/// **Example**:
///   auto clock = std::make_shared<sked::ManualClock>(sked::parse_time("2026-01-01T00:00:00Z"));
///   clock->advance(std::chrono::seconds{15});   // wakes a scheduler waiting on it
class SKED_API ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{});
  [[nodiscard]] TimePoint now() const override;
  void wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                  TimePoint deadline) const override;
  [[nodiscard]] Subscription on_jump(std::function<void()> fn) override;
  [[nodiscard]] bool reports_jumps() const noexcept override { return true; }

  /// Moves the clock forward (or backward, for a negative `d`) and wakes every sleeper.
  void advance(Duration d);
  /// Sets the clock, forward or backward, and wakes every sleeper.
  void set(TimePoint t);

 private:
  void notify();

  std::atomic<std::int64_t> now_us_;
  mutable std::mutex listeners_mutex_;
  std::uint64_t next_listener_ = 0;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> listeners_;
};

}  // namespace sked
