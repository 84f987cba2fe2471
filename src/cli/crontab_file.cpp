#include "crontab_file.hpp"

#include <sked/time.hpp>
#include <sked/triggers/cron.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <map>
#include <optional>

namespace sked::cli {
namespace {

struct Token {
  std::size_t begin = 0;
  std::size_t end = 0;
};

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<Token> tokens_of(std::string_view line, std::size_t from, std::size_t max) {
  std::vector<Token> out;
  std::size_t i = from;
  while (out.size() < max) {
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size()) break;
    const std::size_t begin = i;
    while (i < line.size() && !blank(line[i])) ++i;
    out.push_back({begin, i});
  }
  return out;
}

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// FNV-1a, 64 bits: stable across runs, platforms and compilers (std::hash is not).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string derived_id(std::string_view line, const std::vector<Token>& fields,
                       std::string_view command) {
  std::string key;
  for (const auto& t : fields) {
    if (!key.empty()) key += ' ';
    key += line.substr(t.begin, t.end - t.begin);
  }
  key += '\n';
  key += command;
  return fmt::format("cron-{:016x}", fnv1a(key));
}

// The offset of the first byte of `text` that does not belong to a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or npos.
std::size_t invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + n > text.size()) return i;
    if (byte(i + 1) < low || byte(i + 1) > high) return i;
    for (std::size_t k = 2; k < n; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

// A 7th token that reads as a year field rather than as the start of a command.
bool year_like(std::string_view token) {
  return token.find_first_not_of("0123456789*,-/") == std::string_view::npos;
}

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// The length of `NAME` in `NAME =` at the start of `rest`, or 0 when `rest` is not an environment
// line. A cron expression cannot start with a letter followed by `=`.
std::size_t env_name_length(std::string_view rest) {
  if (rest.empty() || !name_start(rest.front())) return 0;
  std::size_t n = 1;
  while (n < rest.size() && name_char(rest[n])) ++n;
  std::size_t k = n;
  while (k < rest.size() && blank(rest[k])) ++k;
  return k < rest.size() && rest[k] == '=' ? n : 0;
}

}  // namespace

CrontabError::CrontabError(std::string_view path, std::size_t line, std::size_t column,
                           std::string_view problem)
    : InvalidArgument(fmt::format("{}:{}:{}: {}", path, line, column, problem)),
      line_(line),
      column_(column) {}

std::vector<CrontabLine> parse_crontab_file(std::string_view text, std::string_view path) {
  std::vector<CrontabLine> out;
  std::map<std::string, std::size_t, std::less<>> seen;  // id -> line
  std::map<std::string, std::string, std::less<>> env;   // the environment lines so far
  std::string zone;                                      // the last CRON_TZ
  std::size_t number = 0;
  std::size_t start = 0;
  // A byte order mark, as some editors write one.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  while (start <= text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++number;
    const auto fail = [&](std::size_t offset, std::string_view problem) {
      return CrontabError(path, number, offset + 1, problem);
    };

    std::size_t i = 0;
    while (i < line.size() && blank(line[i])) ++i;
    if (i == line.size() || line[i] == '#') continue;
    for (std::size_t k = i; k < line.size(); ++k) {
      if (line[k] == '\0') throw fail(k, "a NUL byte in the line");
    }
    if (const std::size_t bad = invalid_utf8(line); bad != std::string_view::npos) {
      throw fail(bad, fmt::format("byte 0x{:02X} is not UTF-8 text (save the file as UTF-8)",
                                  static_cast<unsigned char>(line[bad])));
    }

    if (const std::size_t n = env_name_length(line.substr(i));
        n > 0 && !line.substr(i).starts_with("id=")) {
      std::string name{line.substr(i, n)};
      if (name == "id")
        throw fail(
            i, "'id' is taken by job ids (id=NAME EXPRESSION COMMAND); use another variable name");
      std::size_t k = line.find('=', i + n) + 1;
      while (k < line.size() && blank(line[k])) ++k;
      std::string_view value = line.substr(k);
      while (!value.empty() && blank(value.back())) value.remove_suffix(1);
      if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
        const auto close = value.find(value.front(), 1);
        if (close == std::string_view::npos)
          throw fail(k, fmt::format("the value of {} has no closing {}", name, value.front()));
        if (close + 1 != value.size()) {
          throw fail(k + close + 1, fmt::format("text after the quoted value of {}", name));
        }
        value = value.substr(1, close - 1);
      }
      if (name == "CRON_TZ") {
        try {
          (void)TimeZone::locate(value);
        } catch (const TimeZoneNotFound& e) {
          throw fail(k, e.what());
        }
        zone = std::string{value};
      }
      if (value.size() > max_command_bytes) {
        throw fail(k, fmt::format("the value of {} is {} bytes long; at most {} are allowed", name,
                                  value.size(), max_command_bytes));
      }
      env[std::move(name)] = std::string{value};
      continue;
    }

    CrontabLine entry;
    entry.line = number;
    entry.env = env;
    entry.timezone = zone;
    std::size_t id_at = i;
    const bool named = line.substr(i).starts_with("id=");
    if (named) {
      std::size_t k = i + 3;
      while (k < line.size() && !blank(line[k])) {
        if (!id_char(line[k])) {
          throw fail(k,
                     fmt::format("'{}' is not allowed in a job id (letters, digits and ._:- are)",
                                 line[k]));
        }
        ++k;
      }
      entry.id = std::string{line.substr(i + 3, k - i - 3)};
      if (entry.id.empty()) throw fail(i, "'id=' needs a name, such as id=backup");
      i = k;
    }

    const auto tokens = tokens_of(line, i, 8);
    if (tokens.empty()) throw fail(i, "expected a cron expression and a command after the id");
    std::vector<Token> fields;
    std::optional<CronSyntaxError> first_error;
    const auto try_fields = [&](std::size_t n) {
      if (tokens.size() <= n) return false;  // no command after them
      const std::string_view expression =
          line.substr(tokens[0].begin, tokens[n - 1].end - tokens[0].begin);
      try {
        (void)CronTrigger::from_crontab(expression);
      } catch (const CronSyntaxError& e) {
        if (!first_error || n == 5) first_error = e;
        return false;
      }
      fields.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(n));
      return true;
    };
    const bool nickname = line[tokens[0].begin] == '@';
    bool found = nickname ? try_fields(1) : try_fields(7);
    if (!found && !nickname && tokens.size() > 7 && first_error &&
        first_error->position() >= tokens[6].begin - tokens[0].begin &&
        year_like(line.substr(tokens[6].begin, tokens[6].end - tokens[6].begin))) {
      // `* * * * * * 1969 echo x`: a bad year, not 6 fields and the command `1969 echo x`.
      throw fail(tokens[0].begin + first_error->position(), first_error->what());
    }
    if (!found && !nickname) found = try_fields(6) || try_fields(5);
    if (!found) {
      if (!nickname && tokens.size() >= 5) {
        // `0 9 * * echo hi`: four good fields, and the command where the fifth should be.
        const auto parses = [](std::string_view expression) {
          try {
            (void)CronTrigger::from_crontab(expression);
            return std::optional<std::size_t>{};
          } catch (const CronSyntaxError& e) {
            return std::optional<std::size_t>{e.position()};
          }
        };
        const std::string_view four = line.substr(tokens[0].begin, tokens[3].end - tokens[0].begin);
        const auto fifth_error =
            parses(line.substr(tokens[0].begin, tokens[4].end - tokens[0].begin));
        if (!parses(std::string{four} + " *") && fifth_error &&
            *fifth_error >= tokens[4].begin - tokens[0].begin) {
          throw fail(
              tokens[4].begin,
              fmt::format(
                  "a field is missing: '{}' has 4 fields, a crontab line needs 5 (minute hour "
                  "day-of-month month day-of-week) before the command",
                  four));
        }
      }
      if (first_error) {
        throw fail(tokens[0].begin + first_error->position(), first_error->what());
      }
      throw fail(tokens.back().end,
                 nickname ? "expected a command after the @nickname"
                          : "expected a cron expression (5, 6 or 7 fields, or an @nickname) and "
                            "then a command");
    }
    entry.expression =
        std::string{line.substr(fields.front().begin, fields.back().end - fields.front().begin)};
    std::string_view command = line.substr(fields.back().end);
    while (!command.empty() && blank(command.front())) command.remove_prefix(1);
    while (!command.empty() && blank(command.back())) command.remove_suffix(1);
    if (command.size() > max_command_bytes) {
      throw fail(static_cast<std::size_t>(command.data() - line.data()),
                 fmt::format("the command is {} bytes long; at most {} are allowed (put a long "
                             "script in a file and run that)",
                             command.size(), max_command_bytes));
    }
    entry.command = std::string{command};
    if (entry.id.empty()) {
      entry.id = derived_id(line, fields, entry.command);
      entry.derived_id = true;
    }

    if (const auto [it, fresh] = seen.emplace(entry.id, number); !fresh) {
      throw fail(id_at,
                 fmt::format("job id '{}' is used already on line {}{}", entry.id, it->second,
                             named ? "" : " (the same schedule and command twice)"));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace sked::cli
