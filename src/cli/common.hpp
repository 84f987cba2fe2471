#pragma once
// What the `sked` commands that work on a job store share: opening the store, the common options,
// tables, times, durations, JSON, and turning errors into exit statuses. One place, so every
// command prints and fails the same way.

#include "commands.hpp"

#include "detail/job_json.hpp"

#include <sked/execution.hpp>
#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/stores/registered_scheduler.hpp>
#include <sked/time.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sked::cli {

/// The options every store command takes: `--db`, `--tz` and (for listings) `--json`.
struct StoreArgs {
  std::string db = "sked.sqlite3";
  std::string tz{};
  bool json = false;
};

/// Whether `--db` names a PostgreSQL database (`postgresql://...`, `postgres://...` or a libpq
/// connection string with `host=` or `dbname=`) rather than an SQLite file.
[[nodiscard]] bool is_postgres_db(std::string_view db) noexcept;

/// Adds `--db PATH`, `--tz ZONE` and, with `json`, `--json` to `cmd`.
void add_store_options(CLI::App& cmd, StoreArgs& args, bool json = true);

/// How a command uses the store: `read` never writes; `write` changes it. Neither creates a missing
/// file nor migrates an older schema (only `sked run` does, as any scheduler does).
enum class Access { read, write };

/// Ends `command` with status 2 naming the problem when `db` cannot be a store file: a directory,
/// a device, FIFO or socket (`/dev/null`), a symbolic link to nothing, or a path into a directory
/// that does not exist (SQLite would only say "unable to open", or create what it should not).
void check_db_path(std::string_view command, const std::string& db);

/// Opens the store at `args.db` (an SQLite file or a PostgreSQL database). A missing file or
/// schema, one that is not a sked store or of another schema version ends the command with status
/// 2; a locked or unreachable database with status 1.
[[nodiscard]] std::shared_ptr<JobStore> open_store(std::string_view command, const StoreArgs& args,
                                                   Access access);

/// Opens `db` for a scheduler (`sked run`): creates a missing store and migrates an older schema
/// forward. A path or database that cannot be a store ends the command with status 2.
[[nodiscard]] std::shared_ptr<JobStore> open_scheduler_store(std::string_view command,
                                                             const std::string& db);

/// How messages name the store opened from `db`: the path, or for PostgreSQL the connection without
/// its password.
[[nodiscard]] std::string store_name(const JobStore& store, const std::string& db);

/// The live schedulers registered in `store` (none for a store that does not register them).
[[nodiscard]] std::vector<RegisteredScheduler> live_schedulers(const JobStore& store);

/// Runs `body`, turning sked errors into `sked <command>: <message>` and an exit status: 2 for bad
/// input (`InvalidArgument`, a bad time or zone, a cron expression), 1 for the rest (`JobNotFound`,
/// a store error such as a locked or read-only database).
void run_command(std::string_view command, const std::function<void()>& body);

/// `--tz`, or the local zone.
[[nodiscard]] TimeZone display_zone(const StoreArgs& args);

/// `2026-11-25 08:30:00+01:00`: whole seconds, in `zone`, with its offset.
[[nodiscard]] std::string human_time(TimePoint t, const TimeZone& zone);
/// ISO-8601 UTC to the microsecond, `2026-11-25T07:30:00.000000Z`, for JSON: as the store writes
/// times (years 0000-9999).
[[nodiscard]] std::string json_time(TimePoint t);
using detail::json_time;
/// `1.234s`.
[[nodiscard]] std::string human_duration(Duration d);

/// Reads `30d`, `12h`, `90s`, `1h30m`, `2w` (units w, d, h, m, s; at least one): a positive age
/// of at most 1,000,000,000 minutes (some 1,900 years). Throws `InvalidArgument` naming `option`
/// and the text for a sign, a zero total or anything else.
[[nodiscard]] Duration parse_age(std::string_view text, std::string_view option);
/// `--since`: an age (`2h`: two hours ago) or an ISO-8601 time (a wall time in `zone` without an
/// offset).
[[nodiscard]] TimePoint parse_since(std::string_view text, TimePoint now, const TimeZone& zone);

/// `text` safe to print on a terminal: control characters other than newline and tab (escape
/// sequences, a carriage return that hides the line before it, C1 controls) as `\x1b` or `\u009b`,
/// and bytes that are not UTF-8 as `\xff`. For the tables and details of text output, whose strings
/// (a job's output, its exception, its id) come from the store; --json output is JSON-escaped.
[[nodiscard]] std::string printable(std::string_view text);

/// Whether stdout is a terminal (and NO_COLOR is unset): then tables use colours.
[[nodiscard]] bool use_colour();
/// `text` in the colour that goes with an execution status or a job state (only on a terminal).
[[nodiscard]] std::string coloured(std::string_view text);

/// An aligned table: a header row, then rows; the last column is not padded. Cells are `printable`.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) {
    for (auto& cell : row) cell = printable(cell);
    rows_.push_back(std::move(row));
  }
  /// Cells of columns listed in `coloured_columns` are coloured by `coloured()` after padding.
  [[nodiscard]] std::string render(const std::vector<std::size_t>& coloured_columns = {}) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// The job state and the JSON shapes live in detail/job_json, shared with the HTTP server.
using detail::execution_json;
using detail::job_json;
using detail::job_state;
using detail::unclaimed_after;

/// A table of execution records, newest first.
[[nodiscard]] std::string executions_table(const std::vector<Execution>& executions,
                                           const TimeZone& zone, bool with_job);
/// One execution record, field by field, with its traceback or output tail.
[[nodiscard]] std::string execution_details(const Execution& e, const TimeZone& zone);

/// Prints `j` indented, with a final newline.
void print_json(const nlohmann::json& j);

}  // namespace sked::cli
