// The crontab-file reader of `sked run`: lines, ids, and errors with line and column.

#include "cli/crontab_file.hpp"

#include <catch2/catch.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using sked::cli::CrontabError;
using sked::cli::CrontabLine;
using sked::cli::parse_crontab_file;

TEST_CASE(
    "a crontab file's comments and blank lines are skipped; 5, 6, 7 fields and nicknames read",
    "[cli][crontab]") {
  const auto lines = parse_crontab_file(
      "# nightly\n"
      "\n"
      "   \t\n"
      "id=backup 30 2 * * *   pg_dump app > /backup/app.sql  \n"
      "*/10 * * * * *  echo  \"two  spaces\"\n"
      "0 0 0 1 1 * 2099 echo far\r\n"
      "@hourly find /tmp -delete\n",
      "jobs.cron");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == CrontabLine{"backup", "30 2 * * *", "pg_dump app > /backup/app.sql", 4});
  CHECK(lines[1].expression == "*/10 * * * * *");
  CHECK(lines[1].command == "echo  \"two  spaces\"");
  CHECK(lines[1].line == 5);
  CHECK(lines[2].expression == "0 0 0 1 1 * 2099");
  CHECK(lines[2].command == "echo far");
  CHECK(lines[3].expression == "@hourly");
  CHECK(lines[3].command == "find /tmp -delete");
}

TEST_CASE("a derived id depends on the expression and command only, not on the line's place",
          "[cli][crontab]") {
  const auto a = parse_crontab_file("@daily echo a\n*/5 * * * * echo b\n", "f");
  const auto b = parse_crontab_file("# moved\n*/5  *  * * *   echo b\n@daily echo a\n", "f");
  CHECK(a.at(0).id == b.at(1).id);
  CHECK(a.at(1).id == b.at(0).id);
  CHECK(a.at(0).id != a.at(1).id);
  CHECK(a.at(0).id.starts_with("cron-"));
  // 64 bits: 32 collided among a few tens of thousands of lines.
  CHECK(a.at(0).id.size() == 5 + 16);
  CHECK(a.at(0).id.find_first_not_of("0123456789abcdef", 5) == std::string::npos);
  CHECK(a.at(0).derived_id);
  CHECK_FALSE(parse_crontab_file("id=x @daily echo a\n", "f").at(0).derived_id);
  CHECK(parse_crontab_file("@daily echo c\n", "f").at(0).id != a.at(0).id);
}

TEST_CASE("a bad crontab line is reported with the path, line and column", "[cli][crontab]") {
  const auto error_of = [](std::string_view text) -> std::string {
    try {
      (void)parse_crontab_file(text, "jobs.cron");
    } catch (const CrontabError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error_of("# ok\n  0 61 * * * echo x\n") ==
        "jobs.cron:2:5: hour: '61' is out of range 0-23 (at column 3 of '0 61 * * *')");
  CHECK(error_of("* * * * *\n") ==
        "jobs.cron:1:10: expected a cron expression (5, 6 or 7 fields, or an @nickname) and then a "
        "command");
  CHECK(error_of("@daily\n") == "jobs.cron:1:7: expected a command after the @nickname");
  CHECK(error_of("@fortnightly echo x\n").starts_with("jobs.cron:1:1: "));
  CHECK(error_of("id= @daily echo x\n") == "jobs.cron:1:1: 'id=' needs a name, such as id=backup");
  CHECK(error_of("id=a/b @daily echo x\n") ==
        "jobs.cron:1:5: '/' is not allowed in a job id (letters, digits and ._:- are)");
  CHECK(error_of("id=a @daily echo x\nid=a @hourly echo y\n") ==
        "jobs.cron:2:1: job id 'a' is used already on line 1");
  CHECK(error_of("@daily echo x\n@daily echo x\n").find("(the same schedule and command twice)") !=
        std::string::npos);
  CHECK(error_of("0 9 * * echo hi\n") ==
        "jobs.cron:1:9: a field is missing: '0 9 * *' has 4 fields, a crontab line needs 5 (minute "
        "hour "
        "day-of-month month day-of-week) before the command");
  CHECK(
      error_of("id=x 0 9 * * date\n").starts_with("jobs.cron:1:14: a field is missing: '0 9 * *'"));
  CHECK(error_of("CRON_TZ=Mars/Base\n@daily echo x\n") ==
        "jobs.cron:1:9: unknown time zone 'Mars/Base' (expected an IANA name such as "
        "'Europe/Berlin')");
  CHECK(error_of("GREETING=\"hello\n") ==
        "jobs.cron:1:10: the value of GREETING has no closing \"");
  CHECK(error_of("GREETING='a' b\n") == "jobs.cron:1:13: text after the quoted value of GREETING");
  CHECK(error_of("id = x\n").starts_with("jobs.cron:1:1: 'id' is taken by job ids"));
  // A 7th field that reads as a year is one: not 6 fields and the command `1969 echo x`.
  CHECK(error_of("* * * * * * 1969 echo x\n") ==
        "jobs.cron:1:13: year: '1969' is out of range 1970-9999 (at column 13 of "
        "'* * * * * * 1969')");
  CHECK(error_of("id=y 0 0 0 1 1 * 2099-10000 echo x\n")
            .starts_with("jobs.cron:1:23: year: '10000' is out of range"));
  // Bytes that are not UTF-8, wherever they are on the line (comments are not checked).
  CHECK(error_of("# caf\xe9\n@daily echo a\n@daily echo b\n@daily echo caf\xe9\n") ==
        "jobs.cron:4:16: byte 0xE9 is not UTF-8 text (save the file as UTF-8)");
  CHECK(
      error_of("GREETING=gr\xc3\xbc\xc3\n").starts_with("jobs.cron:1:14: byte 0xC3 is not UTF-8"));
  // A surrogate and an overlong form.
  CHECK(error_of("@daily echo \xed\xa0\x80\n").starts_with("jobs.cron:1:13: byte 0xED"));
  CHECK(error_of("@daily echo \xc0\xaf\n").starts_with("jobs.cron:1:13: byte 0xC0"));
  // A command too long to pass to /bin/sh fails every run: refused with its line.
  CHECK(error_of("\n@daily " + std::string(sked::cli::max_command_bytes + 1, 'x') + "\n") ==
        "jobs.cron:2:8: the command is 65537 bytes long; at most 65536 are allowed (put a long "
        "script in a file and run that)");
  CHECK(error_of("BIG=" + std::string(sked::cli::max_command_bytes + 1, 'x') + "\n")
            .starts_with("jobs.cron:1:5: the value of BIG is 65537 bytes long"));
  try {
    (void)parse_crontab_file("\n\n 0 0 32 * * echo\n", "f");
    FAIL("accepted");
  } catch (const CrontabError& e) {
    CHECK(e.line() == 3);
    CHECK(e.column() == 6);
  }
}

TEST_CASE("a crontab file's UTF-8 text is read, with or without a byte order mark",
          "[cli][crontab]") {
  const auto lines = parse_crontab_file(
      "\xef\xbb\xbf"
      "id=a @daily echo gr\xc3\xbc\xc3\x9f \xf0\x9f\x8c\x8d\n",
      "f");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].id == "a");
  CHECK(lines[0].command == "echo gr\xc3\xbc\xc3\x9f \xf0\x9f\x8c\x8d");
  CHECK(parse_crontab_file("\xef\xbb\xbf@daily echo x\n", "f").at(0).id ==
        parse_crontab_file("@daily echo x\n", "f").at(0).id);
  const std::string longest = "@daily " + std::string(sked::cli::max_command_bytes, 'x');
  CHECK(parse_crontab_file(longest, "f").size() == 1);
}

TEST_CASE("environment lines apply to the lines below them, as cronie reads them",
          "[cli][crontab]") {
  const auto lines = parse_crontab_file(
      "@daily echo before\n"
      "SHELL=/bin/bash\n"
      "PATH = /usr/local/bin:/usr/bin:/bin\n"
      "MAILTO=\"ops@example.com\"\n"
      "GREETING = 'hello  world'  \n"
      "EMPTY=\n"
      "CRON_TZ=Europe/Berlin\n"
      "id=a 30 2 * * * echo $GREETING\n"
      "CRON_TZ=UTC\n"
      "GREETING=bye\n"
      "id=b @hourly echo $GREETING\n",
      "jobs.cron");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].env.empty());
  CHECK(lines[0].timezone.empty());
  using Env = std::map<std::string, std::string, std::less<>>;
  CHECK(lines[1].env == Env{{"SHELL", "/bin/bash"},
                            {"PATH", "/usr/local/bin:/usr/bin:/bin"},
                            {"MAILTO", "ops@example.com"},
                            {"GREETING", "hello  world"},
                            {"EMPTY", ""},
                            {"CRON_TZ", "Europe/Berlin"}});
  CHECK(lines[1].timezone == "Europe/Berlin");
  CHECK(lines[1].line == 8);
  CHECK(lines[2].env.at("GREETING") == "bye");
  CHECK(lines[2].timezone == "UTC");
  // A variable's line is not a job, and does not change the ids of the jobs.
  CHECK(lines[0].id == parse_crontab_file("@daily echo before\n", "f").at(0).id);
}

}  // namespace SKED_TEST_FILE
