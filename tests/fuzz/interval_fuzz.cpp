// libFuzzer target: interval specs, as JSON trigger documents (`{"type": "interval", "interval_us":
// ..., "start_date": ..., "end_date": ..., "jitter_us": ..., "timezone": ...}` and the other
// trigger types `trigger_from_json` dispatches to). scripts/fuzz.sh builds it. A spec is refused
// with SerializationError or InvalidArgument (when read or bound), or it makes a trigger whose
// bound form reads back to itself and whose fire times move forward.

#include <sked/errors.hpp>
#include <sked/serialization.hpp>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  std::shared_ptr<const sked::Trigger> trigger;
  try {
    trigger = sked::trigger_from_json(doc);
  } catch (const sked::SerializationError&) {
    return 0;
  } catch (const sked::InvalidArgument&) {
    return 0;
  }
  const auto now = sked::parse_time("2026-10-25T00:30:00Z");
  try {
    if (auto bound = trigger->bind(now, sked::TimeZone::locate("Europe/Berlin"))) trigger = bound;
  } catch (const sked::InvalidArgument&) {
    return 0;  // a trigger that cannot fire after now (an end before its first fire time)
  }
  if (sked::trigger_from_json(trigger->to_json())->to_json() != trigger->to_json())
    __builtin_trap();
  std::optional<sked::TimePoint> t = now;
  for (int i = 0; i < 8 && t; ++i) {
    const auto next = trigger->next_fire_time(t, now);
    if (next && *next <= *t) __builtin_trap();
    t = next;
  }
  return 0;
}
