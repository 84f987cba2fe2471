#pragma once
// How the SQLite store writes instants: fixed-width UTC text, `2026-01-01T09:30:00.000000Z`.
//
// Text rather than integer microseconds so that `SELECT * FROM sked_job_execution` in the sqlite3
// shell is readable as it is and SQLite's date functions accept the values (`datetime(run_time)`);
// fixed width (always six fractional digits, years 0000-9999) so that comparing the text compares
// the instants, which lets `next_run_time <= ?` and `ORDER BY run_time` use the indexes.

#include <sked/export.hpp>  // SKED_API here: sked::http and the tool link these, not part of the API
#include <sked/time.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sked::detail {

/// The last instant `format_db_time` can write: 9999-12-31T23:59:59.999999Z.
inline constexpr TimePoint last_db_time{
    std::chrono::sys_days{std::chrono::year{9999} / 12 / 31}.time_since_epoch() +
    std::chrono::microseconds{86'399'999'999}};

/// Throws `InvalidArgument` for an instant outside the years 0000-9999, which cannot be written in
/// a form that sorts.
[[nodiscard]] SKED_API std::string format_db_time(TimePoint t);

/// Reads `format_db_time`'s output; also any ISO-8601 instant `parse_time` takes, for values typed
/// in by hand. Empty when the text is neither.
[[nodiscard]] std::optional<TimePoint> parse_db_time(std::string_view text) noexcept;

}  // namespace sked::detail
