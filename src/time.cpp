#include <date/tz.h>

#include <sked/errors.hpp>
#include <sked/time.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace sked {
namespace detail {

// date's reader of the OS tz database knows only the transitions a zone file lists, which end in
// 2037; after that it keeps the last offset for ever. Zones whose DST rules run to the end of the
// file get their later years from an earlier year with the same calendar: the Gregorian calendar
// repeats every 28 years between 1901 and 2099, so "last Sunday of March" falls on the same date.
struct FutureRule {
  date::sys_seconds from;  // the start of date's last, open-ended period
};

}  // namespace detail
namespace {

constexpr int last_listed_year =
    2036;  // the last year whose following year's transitions are listed

const detail::FutureRule* future_rule(const date::time_zone* zone) {
  static std::mutex mutex;
  static std::map<const date::time_zone*, std::unique_ptr<detail::FutureRule>> cache;
  std::lock_guard lock(mutex);
  if (const auto it = cache.find(zone); it != cache.end()) return it->second.get();
  auto& slot = cache[zone];
  const auto last = zone->get_info(date::sys_days{date::year{2200} / 1 / 1});
  const date::year_month_day began{date::floor<date::days>(last.begin)};
  // Only a zone still switching offsets when its file ends needs the rule continued.
  if (last.end < date::sys_days{date::year{3000} / 1 / 1} || began.year() < date::year{2037})
    return nullptr;
  slot = std::make_unique<detail::FutureRule>(detail::FutureRule{last.begin});
  return slot.get();
}

// The number of days to move a time in `year` back to an earlier year with the same calendar.
date::days calendar_shift(date::year year) {
  const int y = static_cast<int>(year);
  const int back = 28 * ((y - last_listed_year + 27) / 28);
  return date::sys_days{date::year{y - back} / 1 / 1} - date::sys_days{year / 1 / 1};
}

void shift(date::sys_info& info, date::days by) {
  if (info.begin != date::sys_seconds::min()) info.begin -= by;
  if (info.end != date::sys_seconds::max()) info.end -= by;
}

}  // namespace

TimeZone::TimeZone() noexcept = default;

TimeZone::TimeZone(const date::time_zone* zone) : zone_(zone), future_(future_rule(zone)) {}

date::sys_info TimeZone::get_info(date::sys_seconds t) const {
  if (zone_ == nullptr) return info(LocalTime{t.time_since_epoch()}).first;
  if (future_ == nullptr || t < future_->from) return zone_->get_info(t);
  const auto by = calendar_shift(date::year_month_day{date::floor<date::days>(t)}.year());
  auto result = zone_->get_info(t + by);
  shift(result, by);
  return result;
}

date::local_info TimeZone::get_info(date::local_seconds t) const {
  if (zone_ == nullptr) return info(LocalTime{t.time_since_epoch()});
  // A day's margin covers any UTC offset: before it, the wall time certainly precedes the rule.
  if (future_ == nullptr ||
      t - date::days{1} < date::local_seconds{future_->from.time_since_epoch()}) {
    return zone_->get_info(t);
  }
  const auto by = calendar_shift(date::year_month_day{date::floor<date::days>(t)}.year());
  auto result = zone_->get_info(t + by);
  shift(result.first, by);
  shift(result.second, by);
  return result;
}

TimeZone TimeZone::locate(std::string_view name) {
  if (name.empty()) throw TimeZoneNotFound(std::string{name});
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return TimeZone{};
  try {
    return TimeZone{date::locate_zone(name)};
  } catch (const std::exception&) {
    throw TimeZoneNotFound(std::string{name});
  }
}

TimeZone TimeZone::local() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string_view name{tz};
    if (name.front() == ':') name.remove_prefix(1);
    const auto refuse = [tz](std::string_view why) {
      return TimeZoneNotFound(
          tz, fmt::format("TZ='{}' {}: set TZ to an IANA name such as 'Europe/Berlin', "
                          "or unset it to use /etc/localtime",
                          tz, why));
    };
    if (!name.empty() && name.front() == '/') {
      // A zone file: its name is the part after "zoneinfo/", after following links
      // (/etc/localtime).
      std::error_code ec;
      const auto real = std::filesystem::canonical(std::filesystem::path{name}, ec).string();
      const auto at = real.rfind("/zoneinfo/");
      if (ec || at == std::string::npos) throw refuse("is not a file in a zoneinfo directory");
      try {
        return locate(std::string_view{real}.substr(at + 10));
      } catch (const TimeZoneNotFound&) {
        throw refuse("names a zone file sked cannot read");
      }
    }
    try {
      return locate(name);
    } catch (const TimeZoneNotFound&) {
      // `CET-1CEST,M3.5.0,M10.5.0/3`: an offset or a rule before any '/', which no zone name has.
      if (name.substr(0, name.find('/')).find_first_of(",+-0123456789") != std::string_view::npos) {
        throw refuse("is a POSIX TZ rule, which sked does not read");
      }
      throw refuse("is not a time zone in the tz database");
    }
  }
  try {
    return TimeZone{date::current_zone()};
  } catch (const std::exception&) {
    return TimeZone{};  // no /etc/localtime: UTC, as the C library assumes
  }
}

std::string_view TimeZone::name() const noexcept {
  if (zone_ == nullptr) return "UTC";
  return zone_->name();
}

LocalTime TimeZone::to_local(TimePoint t) const {
  return LocalTime{t.time_since_epoch() + offset(t)};
}

std::chrono::seconds TimeZone::offset(TimePoint t) const {
  if (!zone_) return std::chrono::seconds{0};
  return get_info(date::floor<std::chrono::seconds>(t)).offset;
}

date::local_info TimeZone::info(LocalTime t) const {
  if (!zone_) {
    date::local_info li{};
    li.result = date::local_info::unique;
    li.first.offset = std::chrono::seconds{0};
    li.first.begin = date::sys_seconds::min();
    li.first.end = date::sys_seconds::max();
    li.first.abbrev = "UTC";
    return li;
  }
  return get_info(date::floor<std::chrono::seconds>(t));
}

namespace {

[[noreturn]] void bad_time(std::string_view text, std::string_view why) {
  throw InvalidArgument(fmt::format("cannot read '{}' as an ISO-8601 time: {}", text, why));
}

// Reads exactly `n` digits at `pos`.
int digits(std::string_view text, std::string_view all, std::size_t& pos, std::size_t n,
           std::string_view what) {
  int value = 0;
  if (pos + n > text.size()) bad_time(all, fmt::format("expected {} at column {}", what, pos + 1));
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + n, value);
  if (ec != std::errc{} || end != text.data() + pos + n) {
    bad_time(all, fmt::format("expected {} at column {}", what, pos + 1));
  }
  pos += n;
  return value;
}

void expect(std::string_view text, std::size_t& pos, char c, std::string_view what) {
  if (pos >= text.size() || text[pos] != c) {
    bad_time(text, fmt::format("expected '{}' before the {} at column {}", c, what, pos + 1));
  }
  ++pos;
}

}  // namespace

TimePoint parse_time(std::string_view text, const TimeZone& zone) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const int y = digits(text, text, pos, 4, "a 4-digit year");
  expect(text, pos, '-', "month");
  const int mo = digits(text, text, pos, 2, "a 2-digit month");
  expect(text, pos, '-', "day");
  const int d = digits(text, text, pos, 2, "a 2-digit day");
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) bad_time(text, "no such date");
  int h = 0, mi = 0, s = 0;
  Duration frac{0};
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ' || text[pos] == 't')) {
    ++pos;
    h = digits(text, text, pos, 2, "a 2-digit hour");
    expect(text, pos, ':', "minute");
    mi = digits(text, text, pos, 2, "2-digit minutes");
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      s = digits(text, text, pos, 2, "2-digit seconds");
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        std::int64_t us = 0;
        int n = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (n < 6) {
            us = us * 10 + (text[pos] - '0');
            ++n;
          }
          ++pos;
        }
        if (n == 0)
          bad_time(text,
                   fmt::format("expected digits after the decimal point at column {}", pos + 1));
        while (n < 6) {
          us *= 10;
          ++n;
        }
        frac = Duration{us};
      }
    }
    if (h > 23 || mi > 59 || s > 59) bad_time(text, "time of day out of range");
  }
  const auto local = LocalTime{date::local_days{ymd}.time_since_epoch()} + hours{h} + minutes{mi} +
                     seconds{s} + frac;
  if (pos == text.size()) {
    const auto li = zone.info(local);
    switch (li.result) {
      case date::local_info::unique:
        return TimePoint{local.time_since_epoch() - li.first.offset};
      case date::local_info::ambiguous:
        return TimePoint{local.time_since_epoch() - li.first.offset};
      case date::local_info::nonexistent:
        return TimePoint{li.second.begin};
    }
  }
  seconds offset{0};
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const int oh = digits(text, text, pos, 2, "a 2-digit offset hour");
    int om = 0;
    if (pos < text.size() && text[pos] == ':') ++pos;
    if (pos < text.size()) om = digits(text, text, pos, 2, "2-digit offset minutes");
    offset = sign * (hours{oh} + minutes{om});
  } else {
    bad_time(text, fmt::format("unexpected '{}' at column {}", text[pos], pos + 1));
  }
  if (pos != text.size()) bad_time(text, fmt::format("unexpected text at column {}", pos + 1));
  return TimePoint{local.time_since_epoch() - offset};
}

std::string format_time(TimePoint t, const TimeZone& zone) {
  using namespace std::chrono;
  const auto offset = zone.offset(t);
  const auto local = t.time_since_epoch() + offset;
  const auto days = floor<date::days>(local);
  const date::year_month_day ymd{date::sys_days{days}};
  const date::hh_mm_ss<Duration> tod{local - days};
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  tod.hours().count(), tod.minutes().count(), tod.seconds().count());
  if (tod.subseconds().count() != 0) {
    std::string us = fmt::format("{:06}", tod.subseconds().count());
    while (us.back() == '0') us.pop_back();
    out += '.' + us;
  }
  if (zone == TimeZone{}) return out + "Z";
  const auto off_min = duration_cast<minutes>(offset).count();
  const auto a = off_min < 0 ? -off_min : off_min;
  out += fmt::format("{}{:02}:{:02}", off_min < 0 ? '-' : '+', a / 60, a % 60);
  return out;
}

std::string format_duration(Duration d) {
  using namespace std::chrono;
  std::string sign;
  if (d < Duration::zero()) {
    sign = "-";
    d = -d;
  }
  const auto days = duration_cast<date::days>(d);
  d -= days;
  const auto h = duration_cast<hours>(d);
  d -= h;
  const auto m = duration_cast<minutes>(d);
  d -= m;
  const auto s = duration_cast<seconds>(d);
  d -= s;
  std::string out = sign;
  if (days.count() != 0)
    out += fmt::format("{} day{}, ", days.count(), days.count() == 1 ? "" : "s");
  out += fmt::format("{}:{:02}:{:02}", h.count(), m.count(), s.count());
  if (d.count() != 0) out += fmt::format(".{:06}", d.count());
  return out;
}

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

void SystemClock::wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                             TimePoint deadline) const {
  // Wait by the steady clock for the remaining time; a step of the wall clock wakes the sleepers
  // through on_jump. At most a day per call: a far deadline (TimePoint::max) must not overflow the
  // steady clock's nanoseconds, and a spurious return is allowed.
  const auto remaining = deadline - now();
  if (remaining <= Duration::zero()) return;
  cv.wait_for(lock, std::min<Duration>(remaining, std::chrono::hours{24}));
}

namespace {

// A thread blocked on a timerfd armed far ahead on CLOCK_REALTIME with TFD_TIMER_CANCEL_ON_SET:
// the kernel cancels it whenever the wall clock is set (and on a resume from suspend), which the
// thread reports to every subscriber. It runs while someone subscribes, and is joined when the last
// one leaves: a program's thread count is back to one once its schedulers are shut down (a process
// pool must be created while it is). Never destroyed, so that a thread still running at exit does
// not outlive its object.
class ClockSteps {
 public:
  static ClockSteps& get() {
    static ClockSteps* const steps = new ClockSteps;
    return *steps;
  }
  [[nodiscard]] bool works() const noexcept { return timer_ >= 0 && stop_ >= 0; }

  Subscription subscribe(std::function<void()> fn) {
    if (!works()) return {};
    std::lock_guard life(life_mutex_);
    std::uint64_t id = 0;
    {
      std::lock_guard lock(mutex_);
      id = next_++;
      listeners_.emplace_back(id, std::move(fn));
    }
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    return Subscription{[this, id] { unsubscribe(id); }};
  }

 private:
  ClockSteps()
      : timer_(::timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC)), stop_(::eventfd(0, EFD_CLOEXEC)) {
    if (timer_ >= 0 && !arm()) {
      ::close(timer_);
      timer_ = -1;
    }
  }

  // Far ahead (a year): the timer is there to be cancelled, not to expire.
  bool arm() const noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    itimerspec spec{};
    spec.it_value.tv_sec = now.tv_sec + 365L * 24 * 3600;
    return ::timerfd_settime(timer_, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, nullptr) ==
           0;
  }

  void unsubscribe(std::uint64_t id) {
    std::lock_guard life(life_mutex_);
    {
      std::lock_guard lock(mutex_);
      std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
      if (!listeners_.empty()) return;
    }
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    thread_.join();
    std::uint64_t drained = 0;
    (void)!::read(stop_, &drained, sizeof drained);
  }

  void loop() {
    for (;;) {
      std::array<pollfd, 2> fds{{{timer_, POLLIN, 0}, {stop_, POLLIN, 0}}};
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if ((fds[1].revents & POLLIN) != 0) return;
      std::uint64_t expirations = 0;
      const auto n = ::read(timer_, &expirations, sizeof expirations);
      const bool stepped = n < 0 && errno == ECANCELED;
      // Re-armed before the listeners run, so a second step while they run is heard too.
      if (!arm()) return;
      if (!stepped) continue;
      // Under the lock so that an unsubscribed listener is never called afterwards.
      std::lock_guard lock(mutex_);
      for (const auto& [id, fn] : listeners_) fn();
    }
  }

  int timer_;
  int stop_;               // an eventfd: the last subscriber left
  std::mutex life_mutex_;  // orders starting and joining the thread
  std::thread thread_;
  std::mutex mutex_;  // guards the listeners; held while they run
  std::uint64_t next_ = 0;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> listeners_;
};

}  // namespace

Subscription SystemClock::on_jump(std::function<void()> fn) {
  return ClockSteps::get().subscribe(std::move(fn));
}

bool SystemClock::reports_jumps() const noexcept { return ClockSteps::get().works(); }

std::shared_ptr<SystemClock> SystemClock::instance() {
  static const auto clock = std::make_shared<SystemClock>();
  return clock;
}

ManualClock::ManualClock(TimePoint start) : now_us_(start.time_since_epoch().count()) {}

TimePoint ManualClock::now() const { return TimePoint{Duration{now_us_.load()}}; }

void ManualClock::wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                             TimePoint deadline) const {
  // Real time never moves this clock: only advance()/set() do, and they notify through on_jump.
  if (now() >= deadline) return;
  cv.wait(lock);
}

Subscription ManualClock::on_jump(std::function<void()> fn) {
  std::lock_guard lock(listeners_mutex_);
  const auto id = next_listener_++;
  listeners_.emplace_back(id, std::move(fn));
  return Subscription{[this, id] {
    std::lock_guard l(listeners_mutex_);
    std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
  }};
}

void ManualClock::advance(Duration d) {
  now_us_.fetch_add(d.count());
  notify();
}

void ManualClock::set(TimePoint t) {
  now_us_.store(t.time_since_epoch().count());
  notify();
}

void ManualClock::notify() {
  // Called under the lock so that an unsubscribed listener is never called afterwards.
  std::lock_guard lock(listeners_mutex_);
  for (const auto& [id, fn] : listeners_) fn();
}

}  // namespace sked
