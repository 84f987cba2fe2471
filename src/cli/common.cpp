#include "common.hpp"

#include <sked/errors.hpp>
#include <sked/stores/sqlite.hpp>
#ifdef SKED_HAS_POSTGRES
#include <sked/stores/postgres.hpp>
#endif

#include "detail/sqlite_time.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace sked::cli {

bool is_postgres_db(std::string_view db) noexcept {
  return db.starts_with("postgresql://") || db.starts_with("postgres://") ||
         db.find("host=") != std::string_view::npos || db.find("dbname=") != std::string_view::npos;
}

void add_store_options(CLI::App& cmd, StoreArgs& args, bool json) {
  cmd.add_option("--db", args.db,
                 "The sked store: an SQLite file (default: sked.sqlite3) or a PostgreSQL database "
                 "(postgresql://user@host/dbname; ?schema=NAME picks the PostgreSQL schema, "
                 "default sked)")
      ->type_name("PATH|URL");
  cmd.add_option("--tz", args.tz, "IANA time zone to show times in (default: the local zone)")
      ->type_name("ZONE");
  if (json) cmd.add_flag("--json", args.json, "Print JSON with stable field names, for scripts");
}

void check_db_path(std::string_view command, const std::string& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(db, ec)) {
    fail(command,
         fmt::format("--db '{}' is a directory; give the path of a store file, such as '{}'", db,
                     (fs::path{db} / "sked.sqlite3").string()),
         exit_bad_input);
  }
  // Only a regular file can be a store: SQLite would open /dev/null or a FIFO, and put a -journal
  // file beside it with the device's mode (0666). A symbolic link is followed to a file, but one to
  // nothing would make SQLite create its target, wherever it points.
  if (fs::is_symlink(fs::symlink_status(db, ec)) && !fs::exists(db, ec)) {
    fail(command,
         fmt::format(
             "--db '{}' is a symbolic link to '{}', which does not exist; give the path of a "
             "store file",
             db, fs::read_symlink(db, ec).string()),
         exit_bad_input);
  }
  if (const auto status = fs::status(db, ec); fs::exists(status) && !fs::is_regular_file(status)) {
    fail(command,
         fmt::format("--db '{}' is not a regular file (a device, FIFO or socket); give the path of "
                     "a store file",
                     db),
         exit_bad_input);
  }
  const fs::path parent = fs::path{db}.parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    fail(command,
         fmt::format("--db '{}': the directory '{}' {}", db, parent.string(),
                     fs::exists(parent, ec) ? "is not a directory"
                                            : "does not exist (sked creates no directories)"),
         exit_bad_input);
  }
}

namespace {

void print_warning(std::string_view message) { std::cerr << "sked: warning: " << message << '\n'; }

#ifdef SKED_HAS_POSTGRES
// Takes sked's own `schema` parameter out of a connection string (libpq would refuse it): a URL's
// `?schema=NAME` or `&schema=NAME`, or a `schema=NAME` keyword. Returns what libpq gets.
std::string take_schema(const std::string& db, std::string& schema) {
  const bool url = db.starts_with("postgresql://") || db.starts_with("postgres://");
  const std::size_t query = url ? db.find('?') : 0;
  if (url && query == std::string::npos) return db;
  const char sep = url ? '&' : ' ';
  std::string rest = url ? db.substr(0, query) : std::string{};
  std::string kept;
  std::size_t begin = url ? query + 1 : 0;
  while (begin <= db.size()) {
    std::size_t end = db.find(sep, begin);
    if (end == std::string::npos) end = db.size();
    const std::string item = db.substr(begin, end - begin);
    if (item.starts_with("schema=")) {
      schema = item.substr(7);
    } else if (!item.empty()) {
      if (!kept.empty()) kept += sep;
      kept += item;
    }
    begin = end + 1;
  }
  if (url) return kept.empty() ? rest : rest + "?" + kept;
  return kept;
}

std::shared_ptr<JobStore> open_postgres(std::string_view command, const std::string& db,
                                        PostgresJobStoreOptions options) {
  options.on_warning = print_warning;
  try {
    const std::string conninfo = take_schema(db, options.schema);
    return std::make_shared<PostgresJobStore>(conninfo, options);
  } catch (const StoreError& e) {
    // Unreachable is a runtime failure; a database that is not a sked store of this version is
    // bad input.
    const std::string what = e.what();
    const bool unreachable = what.find("cannot connect") != std::string::npos;
    fail(command, what, unreachable ? exit_failure : exit_bad_input);
  } catch (const InvalidArgument& e) {
    fail(command, e.what(), exit_bad_input);
  }
}
#else
[[noreturn]] void no_postgres(std::string_view command, const std::string& db) {
  (void)db;
  fail(command,
       "--db names a PostgreSQL database, but this sked was built without PostgreSQL support "
       "(libpq)",
       exit_bad_input);
}
#endif

}  // namespace

std::shared_ptr<JobStore> open_scheduler_store(std::string_view command, const std::string& db) {
  if (is_postgres_db(db)) {
#ifdef SKED_HAS_POSTGRES
    return open_postgres(command, db, {});
#else
    no_postgres(command, db);
#endif
  }
  check_db_path(command, db);
  try {
    return std::make_shared<SqliteJobStore>(db);
  } catch (const StoreError& e) {
    fail(command, e.what(), exit_bad_input);
  }
}

std::string store_name(const JobStore& store, const std::string& db) {
#ifdef SKED_HAS_POSTGRES
  if (const auto* pg = dynamic_cast<const PostgresJobStore*>(&store)) return pg->description();
#endif
  (void)store;
  return db;
}

std::vector<RegisteredScheduler> live_schedulers(const JobStore& store) {
  if (const auto* sqlite = dynamic_cast<const SqliteJobStore*>(&store))
    return sqlite->live_schedulers();
#ifdef SKED_HAS_POSTGRES
  if (const auto* pg = dynamic_cast<const PostgresJobStore*>(&store)) return pg->live_schedulers();
#endif
  return {};
}

std::shared_ptr<JobStore> open_store(std::string_view command, const StoreArgs& args,
                                     Access access) {
  if (is_postgres_db(args.db)) {
#ifdef SKED_HAS_POSTGRES
    // A tool's store hears of no changes: it claims nothing.
    return open_postgres(
        command, args.db,
        {.create_schema = false, .read_only = access == Access::read, .listen = false});
#else
    no_postgres(command, args.db);
#endif
  }
  check_db_path(command, args.db);
  SqliteJobStoreOptions options;
  options.open_mode = access == Access::read ? SqliteOpenMode::read_only : SqliteOpenMode::existing;
  options.on_warning = print_warning;
  try {
    return std::make_shared<SqliteJobStore>(args.db, options);
  } catch (const StoreError& e) {
    // A file that is missing or not a store of this version is bad input; a busy or read-only one
    // is a runtime failure.
    const int primary = e.code() & 0xff;
    const bool busy = primary == 5 /* SQLITE_BUSY */ || primary == 6 /* SQLITE_LOCKED */ ||
                      primary == 8 /* SQLITE_READONLY */;
    std::error_code ec;
    if (!std::filesystem::exists(args.db, ec)) {
      fail(command,
           fmt::format(
               "{}; `sked run --crontab FILE --db {}` makes one, as does a program that adds "
               "jobs to a sked::SqliteJobStore",
               e.what(), args.db),
           exit_bad_input);
    }
    fail(command, e.what(), busy ? exit_failure : exit_bad_input);
  }
}

void run_command(std::string_view command, const std::function<void()>& body) {
  try {
    body();
  } catch (const CLI::RuntimeError&) {
    throw;  // reported already
  } catch (const InvalidArgument& e) {
    fail(command, e.what(), exit_bad_input);
  } catch (const TimeZoneNotFound& e) {
    fail(command, e.what(), exit_bad_input);
  } catch (const CronSyntaxError& e) {
    fail(command, e.what(), exit_bad_input);
  } catch (const std::exception& e) {
    fail(command, e.what(), exit_failure);
  }
}

TimeZone display_zone(const StoreArgs& args) {
  return args.tz.empty() ? TimeZone::local() : TimeZone::locate(args.tz);
}

std::string human_time(TimePoint t, const TimeZone& zone) {
  std::string text = format_time(std::chrono::floor<std::chrono::seconds>(t), zone);
  if (const auto pos = text.find('T'); pos != std::string::npos) text[pos] = ' ';
  return text;
}

std::string json_time(TimePoint t) { return detail::format_db_time(t); }

std::string human_duration(Duration d) {
  if (d == no_misfire_limit) return "none";  // the only unbounded duration a store holds
  return fmt::format("{:.3f}s", static_cast<double>(d.count()) / 1e6);
}

Duration parse_age(std::string_view text, std::string_view option) {
  const auto bad = [&](std::string_view why = {}) {
    return InvalidArgument(fmt::format(
        "{} '{}': {}expected an age such as 30d, 12h, 90s or 1h30m (units w, d, h, m, s)", option,
        text, why));
  };
  if (text.empty()) throw bad();
  Duration total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    // Digits only: from_chars would take a sign, and `-1d` would reach into the future.
    if (text[i] < '0' || text[i] > '9') {
      throw bad(text[i] == '-' || text[i] == '+' ? "an age has no sign; " : "");
    }
    long long n = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data() + text.size()) throw bad();
    i = static_cast<std::size_t>(end - text.data());
    std::chrono::seconds unit{0};
    switch (text[i]) {
      case 'w':
        unit = std::chrono::weeks{1};
        break;
      case 'd':
        unit = std::chrono::days{1};
        break;
      case 'h':
        unit = std::chrono::hours{1};
        break;
      case 'm':
        unit = std::chrono::minutes{1};
        break;
      case 's':
        unit = std::chrono::seconds{1};
        break;
      default:
        throw bad();
    }
    ++i;
    if (n > 1'000'000'000LL / std::max<long long>(1, unit.count() / 60)) throw bad();
    total += std::chrono::duration_cast<Duration>(unit * n);
    if (total > std::chrono::minutes{1'000'000'000})
      throw bad("longer than 1,000,000,000 minutes; ");
  }
  if (total <= Duration::zero()) throw bad("an age must be longer than zero; ");
  return total;
}

TimePoint parse_since(std::string_view text, TimePoint now, const TimeZone& zone) {
  // An age has neither the dashes of a date nor the colons of a time.
  if (text.find_first_of("-:") == std::string_view::npos) {
    return now - parse_age(text, "--since");
  }
  try {
    return parse_time(text, zone);
  } catch (const Error&) {
    throw InvalidArgument(
        fmt::format("--since '{}': expected an age such as 2h or 7d, or an ISO-8601 time such as "
                    "2026-01-31T09:00:00",
                    text));
  }
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
        out += fmt::format("\\x{:02x}", c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is kept, but for the C1 controls (U+0080-U+009F).
    const std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    bool valid = n != 0 && i + n <= text.size() && c >= 0xc2 && c <= 0xf4;
    for (std::size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (valid && n == 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 > 0x9f);  // overlong, surrogate
    }
    if (valid && n == 4) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 > 0x8f);
    }
    if (!valid) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    const auto c1 = static_cast<unsigned char>(text[i + 1]);
    if (c == 0xc2 && c1 < 0xa0) {
      out += fmt::format("\\u{:04x}", c1);  // U+0080-U+009F
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool use_colour() {
  static const bool on = isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;
  return on;
}

std::string coloured(std::string_view text) {
  if (!use_colour()) return std::string{text};
  std::string_view trimmed = text.substr(0, text.find_last_not_of(' ') + 1);
  const char* code = nullptr;
  if (trimmed == "executed" || trimmed == "scheduled") code = "32";  // green
  if (trimmed == "error" || trimmed == "interrupted" || trimmed == "task unknown") code = "31";
  if (trimmed == "missed" || trimmed == "max_instances" || trimmed == "paused" ||
      trimmed == "overdue") {
    code = "33";
  }
  if (trimmed == "started") code = "36";
  if (code == nullptr) return std::string{text};
  return fmt::format("\x1b[{}m{}\x1b[0m{}", code, trimmed, text.substr(trimmed.size()));
}

std::string Table::render(const std::vector<std::size_t>& coloured_columns) const {
  std::vector<std::size_t> widths(header_.size(), 0);
  const auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  std::string out;
  const auto line = [&](const std::vector<std::string>& row, bool header) {
    std::string text;
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      const bool last = c + 1 == row.size();
      std::string cell = last ? row[c] : fmt::format("{:<{}}", row[c], widths[c]);
      if (!header && std::find(coloured_columns.begin(), coloured_columns.end(), c) !=
                         coloured_columns.end()) {
        cell = coloured(cell);
      }
      text += cell;
      if (!last) text += "  ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  };
  line(header_, true);
  for (const auto& row : rows_) line(row, false);
  return out;
}

namespace {
// The first line of a message, cut to fit a table.
std::string one_line(std::string_view text, std::size_t max = 72) {
  text = text.substr(0, text.find('\n'));
  if (text.size() <= max) return std::string{text};
  return std::string{text.substr(0, max - 3)} + "...";
}
}  // namespace

std::string executions_table(const std::vector<Execution>& executions, const TimeZone& zone,
                             bool with_job) {
  std::vector<std::string> header{"ID"};
  if (with_job) header.emplace_back("JOB");
  for (const char* h : {"STATUS", "RUN TIME", "DURATION", "EXCEPTION"}) header.emplace_back(h);
  Table table{header};
  for (const auto& e : executions) {
    std::vector<std::string> row{std::to_string(e.id)};
    if (with_job) row.push_back(e.job_id);
    row.emplace_back(to_string(e.status));
    row.push_back(human_time(e.run_time, zone));
    row.push_back(e.duration ? human_duration(*e.duration) : "-");
    row.push_back(one_line(e.exception));
    table.add(std::move(row));
  }
  return table.render({with_job ? 2u : 1u});
}

std::string execution_details(const Execution& e, const TimeZone& zone) {
  std::string out;
  out += fmt::format("execution  {}\n", e.id);
  out += fmt::format("job        {}\n", printable(e.job_id));
  out += fmt::format("status     {}\n", coloured(to_string(e.status)));
  out += fmt::format("run time   {}\n", human_time(e.run_time, zone));
  out += fmt::format("finished   {}\n", e.finished ? human_time(*e.finished, zone) : "-");
  out += fmt::format("duration   {}\n", e.duration ? human_duration(*e.duration) : "-");
  if (!e.exception.empty()) out += fmt::format("exception  {}\n", printable(e.exception));
  if (!e.traceback.empty()) {
    out += "output / traceback:\n";
    out += printable(e.traceback);
    if (out.back() != '\n') out += '\n';
  }
  return out;
}

void print_json(const nlohmann::json& j) {
  // A command's output tail need not be UTF-8: such bytes print as U+FFFD rather than failing.
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n'
            << std::flush;
}

}  // namespace sked::cli
