#pragma once
// Reading the crontab-style file of `sked run --crontab FILE`. Pure: text in, lines out, so that
// tests and a fuzz target can drive it without the tool (it depends on sked only, not on CLI11).

#include <sked/errors.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sked::cli {

/// One job line of a crontab file.
struct CrontabLine {
  /// From an `id=NAME` prefix, or derived from the line: `cron-` and 16 hex digits of a 64-bit hash
  /// of the expression (fields joined by single blanks) and the command, so that reordering lines,
  /// or adding others, never changes it. (Before, derived ids had 8 digits: the first 8 of these.)
  std::string id{};
  /// The cron expression as written (5, 6 or 7 fields, or an @nickname).
  std::string expression{};
  /// The rest of the line, for `/bin/sh -c`.
  std::string command{};
  /// 1-based.
  std::size_t line = 0;
  /// The `NAME=value` lines above this one, as cronie passes them to the command (the last value of
  /// a name wins); `CRON_TZ` and `MAILTO` included.
  std::map<std::string, std::string, std::less<>> env{};
  /// From the last `CRON_TZ=` line above this one; empty: the daemon's zone.
  std::string timezone{};
  /// Whether `id` was derived (the line has no `id=`).
  bool derived_id = false;

  friend bool operator==(const CrontabLine&, const CrontabLine&) = default;
};

/// The longest command a line may have, in bytes, and the longest variable value: Linux refuses to
/// pass a longer argument or environment string to /bin/sh (128 KiB), so every run would fail.
inline constexpr std::size_t max_command_bytes = 64 * 1024;

/// A line that cannot be read. `what()` reads `PATH:LINE:COLUMN: problem`.
class CrontabError : public InvalidArgument {
 public:
  CrontabError(std::string_view path, std::size_t line, std::size_t column,
               std::string_view problem);
  [[nodiscard]] std::size_t line() const noexcept { return line_; }
  [[nodiscard]] std::size_t column() const noexcept { return column_; }

 private:
  std::size_t line_;
  std::size_t column_;
};

/// Reads a crontab file's text. Each line is blank, a comment (`#` first), an environment line
/// `NAME=value` (as cronie reads it: blanks around `=` allowed, the value may be quoted with ' or
/// ", nothing is expanded; `CRON_TZ` sets the zone of the lines below it and must name a zone; the
/// name `id` is taken by job ids), or `[id=NAME] EXPRESSION COMMAND`: EXPRESSION is an @nickname or
/// 5 to 7 cron fields as `CronTrigger::from_crontab` reads them, taking as many fields (7, 6, then
/// 5) as make a valid expression with a command after them; a 7th field that looks like a year
/// (digits and `*,-/`) and is not a valid one is an error, not the start of the command. NAME is
/// letters, digits and `._:-`. The text must be UTF-8 (a byte order mark at the start is skipped;
/// comments are not checked). Throws `CrontabError` (with `path` in the message) for a bad
/// expression, a missing command, a bad or repeated id, a byte that is not UTF-8, a command or
/// value over `max_command_bytes`.
[[nodiscard]] std::vector<CrontabLine> parse_crontab_file(std::string_view text,
                                                          std::string_view path);

}  // namespace sked::cli
