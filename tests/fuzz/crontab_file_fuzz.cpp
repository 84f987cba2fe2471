// libFuzzer target: arbitrary text as the crontab file `sked run --crontab` reads. scripts/fuzz.sh
// builds it. A file is refused with CrontabError pointing at a line and column inside it, or read
// into lines whose expressions parse and whose ids are unique.

#include "cli/crontab_file.hpp"

#include <sked/triggers/cron.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  const auto lines_in_text =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  try {
    const auto lines = sked::cli::parse_crontab_file(text, "fuzz.cron");
    std::set<std::string> ids;
    for (const auto& line : lines) {
      if (line.line < 1 || line.line > lines_in_text || line.command.empty()) __builtin_trap();
      if (!ids.insert(line.id).second) __builtin_trap();
      (void)sked::CronTrigger::from_crontab(
          line.expression);  // throws if the reader let a bad one through
    }
  } catch (const sked::cli::CrontabError& e) {
    if (e.line() < 1 || e.line() > lines_in_text) __builtin_trap();
  }
  return 0;
}
