#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/combining.hpp>

#include "detail/json_integer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace sked {
namespace {

// A child whose first fire time for `now = bound` lies before `bound` (a date trigger's run date,
// which the scheduler treats as a misfire) is stepped forward this many times at most.
constexpr int max_steps = 1'000;

// The child's first fire time at or after `bound`. `next_fire_time(nullopt, bound)` is that for
// cron and bound interval triggers; stepping covers any trigger that answers with an earlier time.
std::optional<TimePoint> first_from(const Trigger& child, TimePoint bound) {
  auto t = child.next_fire_time(std::nullopt, bound);
  for (int step = 0; t && *t < bound; ++step) {
    if (step == max_steps) return std::nullopt;
    t = child.next_fire_time(t, bound);
  }
  return t;
}

std::optional<TimePoint> after(std::optional<TimePoint> previous) {
  if (!previous) return std::nullopt;
  if (*previous == TimePoint::max()) return TimePoint::max();
  return *previous + Duration{1};
}

}  // namespace

CombiningTrigger::CombiningTrigger(std::vector<TriggerPtr> triggers, const char* kind)
    : triggers_(std::move(triggers)), kind_(kind) {
  if (triggers_.empty())
    throw InvalidArgument(fmt::format("{} trigger: needs at least one trigger", kind_));
  for (std::size_t i = 0; i < triggers_.size(); ++i) {
    if (!triggers_[i])
      throw InvalidArgument(fmt::format("{} trigger: trigger {} is empty", kind_, i + 1));
  }
}

std::string CombiningTrigger::describe() const {
  std::string out = fmt::format("{}[", kind_);
  for (std::size_t i = 0; i < triggers_.size(); ++i) {
    if (i > 0) out += ", ";
    out += triggers_[i]->describe();
  }
  return out + "]";
}

nlohmann::json CombiningTrigger::to_json() const {
  nlohmann::json children = nlohmann::json::array();
  for (const auto& t : triggers_) children.push_back(t->to_json());
  return {{"type", kind_}, {"version", 1}, {"triggers", std::move(children)}};
}

std::shared_ptr<const Trigger> CombiningTrigger::bind(TimePoint now,
                                                      const TimeZone& default_zone) const {
  std::vector<TriggerPtr> bound;
  bool changed = false;
  for (const auto& t : triggers_) {
    auto b = t->bind(now, default_zone);
    changed = changed || b != nullptr;
    bound.emplace_back(b ? std::move(b) : t.shared());
  }
  return changed ? with(std::move(bound)) : nullptr;
}

std::vector<TriggerPtr> CombiningTrigger::children_from_json(const char* kind,
                                                             const nlohmann::json& j) {
  int version = 0;
  try {
    version = detail::json_integer_or(j, "version", 0);
  } catch (const nlohmann::json::exception& e) {
    throw SerializationError(fmt::format("{} trigger: {}", kind, e.what()));
  }
  if (version != 1) {
    throw SerializationError(
        fmt::format("{} trigger: version {} is not one this sked reads (1)", kind, version));
  }
  if (!j.contains("triggers") || !j["triggers"].is_array() || j["triggers"].empty()) {
    throw SerializationError(fmt::format("{} trigger: 'triggers' must be a non-empty array", kind));
  }
  std::vector<TriggerPtr> out;
  std::size_t i = 0;
  for (const auto& child : j["triggers"]) {
    ++i;
    try {
      out.emplace_back(trigger_from_json(child));
    } catch (const SerializationError& e) {
      throw SerializationError(fmt::format("{} trigger: trigger {}: {}", kind, i, e.what()));
    }
  }
  return out;
}

AndTrigger::AndTrigger(std::vector<TriggerPtr> triggers)
    : CombiningTrigger(std::move(triggers), "and") {}

std::optional<TimePoint> AndTrigger::next_fire_time(std::optional<TimePoint> previous,
                                                    TimePoint now) const {
  std::vector<std::optional<TimePoint>> times;
  times.reserve(triggers().size());
  const auto from = after(previous);
  for (const auto& t : triggers())
    times.push_back(from ? first_from(*t, *from) : t->next_fire_time(std::nullopt, now));
  for (std::size_t round = 0; round < max_rounds; ++round) {
    if (std::any_of(times.begin(), times.end(), [](const auto& t) { return !t; }))
      return std::nullopt;
    const auto [lo, hi] = std::minmax_element(times.begin(), times.end());
    if (**lo == **hi) return *lo;
    const TimePoint latest = **hi;
    for (std::size_t i = 0; i < times.size(); ++i) {
      if (*times[i] < latest) times[i] = first_from(*triggers()[i], latest);
    }
  }
  return std::nullopt;
}

std::shared_ptr<const Trigger> AndTrigger::with(std::vector<TriggerPtr> triggers) const {
  return std::make_shared<AndTrigger>(std::move(triggers));
}

AndTrigger AndTrigger::from_json(const nlohmann::json& j) {
  return AndTrigger{children_from_json("and", j)};
}

OrTrigger::OrTrigger(std::vector<TriggerPtr> triggers)
    : CombiningTrigger(std::move(triggers), "or") {}

std::optional<TimePoint> OrTrigger::next_fire_time(std::optional<TimePoint> previous,
                                                   TimePoint now) const {
  // After a fire time, each child is asked for its first time after it rather than for its own next
  // time after it: an interval child would otherwise count its interval from another child's time.
  const auto from = after(previous);
  std::optional<TimePoint> earliest;
  for (const auto& t : triggers()) {
    const auto next = from ? first_from(*t, *from) : t->next_fire_time(std::nullopt, now);
    if (next && (!earliest || *next < *earliest)) earliest = next;
  }
  return earliest;
}

std::shared_ptr<const Trigger> OrTrigger::with(std::vector<TriggerPtr> triggers) const {
  return std::make_shared<OrTrigger>(std::move(triggers));
}

OrTrigger OrTrigger::from_json(const nlohmann::json& j) {
  return OrTrigger{children_from_json("or", j)};
}

}  // namespace sked
