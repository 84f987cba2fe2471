// libFuzzer target: arbitrary text as field-style expressions, one field per line in APScheduler's
// order (year, month, day, week, day_of_week, hour, minute, second); an empty line leaves the field
// unset.

#include "cron_fuzz_common.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::array<std::optional<std::string>, 8> fields;
  for (auto& field : fields) {
    if (text.empty()) break;
    const auto eol = text.find('\n');
    const auto line = text.substr(0, eol);
    if (!line.empty()) field = std::string{line};
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
  }
  sked::CronTrigger::Options o;
  const auto set = [](std::optional<sked::CronTrigger::Field>& slot,
                      const std::optional<std::string>& f) {
    if (f) slot = sked::CronTrigger::Field{*f};
  };
  set(o.year, fields[0]);
  set(o.month, fields[1]);
  set(o.day, fields[2]);
  set(o.week, fields[3]);
  set(o.day_of_week, fields[4]);
  set(o.hour, fields[5]);
  set(o.minute, fields[6]);
  set(o.second, fields[7]);
  try {
    sked::fuzz::walk(sked::CronTrigger{o});
  } catch (const sked::CronSyntaxError&) {
    // Rejected with a message: fine.
  }
  return 0;
}
