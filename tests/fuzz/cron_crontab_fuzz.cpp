// libFuzzer target: arbitrary text as a crontab line (scripts/fuzz.sh builds and runs it).

#include "cron_fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  try {
    sked::fuzz::walk(sked::CronTrigger::from_crontab(text));
  } catch (const sked::CronSyntaxError& e) {
    // A rejection must point inside the expression.
    if (e.position() > text.size()) __builtin_trap();
  }
  return 0;
}
