// Triggers in words, as the dashboard shows them beside the trigger as written.

#include "http/words.hpp"

#include <sked/time.hpp>
#include <sked/triggers/combining.hpp>
#include <sked/triggers/cron.hpp>
#include <sked/triggers/date.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sked::http::detail::trigger_words;

namespace {

std::string cron(std::string_view line) {
  return trigger_words(sked::CronTrigger::from_crontab(line));
}

}  // namespace

TEST_CASE("intervals and dates in words", "[http][words]") {
  CHECK(trigger_words(sked::IntervalTrigger{15min}) == "every 15 minutes");
  CHECK(trigger_words(sked::IntervalTrigger{1h}) == "every hour");
  CHECK(trigger_words(sked::IntervalTrigger{90s}) == "every 90 seconds");
  CHECK(trigger_words(sked::IntervalTrigger{24h}) == "every day");
  CHECK(trigger_words(sked::IntervalTrigger{24h * 14}) == "every 2 weeks");
  CHECK(trigger_words(sked::IntervalTrigger{1500ms}) == "every 1500 milliseconds");
  CHECK(trigger_words(sked::IntervalTrigger{1h, {.jitter = 30s}}) ==
        "every hour, up to 30 seconds late");
  CHECK(trigger_words(sked::DateTrigger{sked::parse_time("2026-01-31T09:00:00Z")}) ==
        "once, at 2026-01-31 09:00:00Z");
}

TEST_CASE("crontab lines in words", "[http][words]") {
  CHECK(cron("*/5 * * * *") == "every 5 minutes");
  CHECK(cron("* * * * *") == "every minute");
  CHECK(cron("* * * * * *") == "every second");
  CHECK(cron("*/10 * * * * *") == "every 10 seconds");
  CHECK(cron("0 9 * * *") == "every day at 09:00");
  CHECK(cron("30 9 * * 1-5") == "at 09:30 on Monday to Friday");
  CHECK(cron("30 9 * * sat,sun") == "at 09:30 on Saturday and Sunday");
  CHECK(cron("0 0,12 * * *") == "every day at 00:00 and 12:00");
  CHECK(cron("15 * * * *") == "every hour at minute 15");
  CHECK(cron("0 */6 * * *") == "every 6 hours at minute 0");
  CHECK(cron("*/15 9-17 * * mon-fri") ==
        "every 15 minutes during hour 9 to 17 on Monday to Friday");
  CHECK(cron("0 9 1 * 1") == "at 09:00 on day 1 of the month or Monday");
  CHECK(cron("0 0 1 1 *") == "at 00:00 on day 1 of the month in January");
  CHECK(cron("@yearly") == "at 00:00 on day 1 of the month in January");
  CHECK(cron("@hourly") == "every hour, on the hour");
  CHECK(cron("@weekly") == "at 00:00 on Sunday");
  CHECK(cron("0 0 * * 7") == "at 00:00 on Sunday");
  CHECK(cron("0 12 * 6-8 *") == "every day at 12:00 in June to August");
  CHECK(cron("30 15 10 * * * 2027") == "every day at 10:15:30, year 2027");
  // What it cannot put in words it quotes, never misreads.
  CHECK(cron("0 0 L * *") == "at 00:00 on day-of-month field 'L'");
  CHECK(cron("0 0 * * 5#3") == "at 00:00 on weekday field '5#3'");
  CHECK(cron("1-10/3 2 * * *") == "every day at second 0, minute 1-10/3, hour 2");
  CHECK(trigger_words(sked::CronTrigger::from_crontab("0 9 * * *",
                                                      sked::TimeZone::locate("Europe/Berlin"))) ==
        "every day at 09:00 (Europe/Berlin)");
}

TEST_CASE("the field style in words counts weekdays from Monday", "[http][words]") {
  CHECK(trigger_words(sked::CronTrigger{{.day_of_week = "mon-fri", .hour = 9, .minute = 30}}) ==
        "at 09:30 on Monday to Friday");
  CHECK(trigger_words(sked::CronTrigger{{.day_of_week = 0, .hour = 8}}) == "at 08:00 on Monday");
  CHECK(trigger_words(sked::CronTrigger{{.hour = 5}}) == "every day at 05:00");
  CHECK(trigger_words(sked::CronTrigger{{.minute = "*/20"}}) == "every 20 minutes");
  CHECK(trigger_words(sked::CronTrigger{{.month = 3, .day = 15, .hour = 12}}) ==
        "at 12:00 on day 15 of the month in March");
  CHECK(trigger_words(sked::CronTrigger{{.day = 1, .day_of_week = "mon"}}) ==
        "at 00:00 on day 1 of the month if it is a Monday");
}

TEST_CASE("combined triggers in words", "[http][words]") {
  const sked::OrTrigger either{
      {sked::IntervalTrigger{1h}, sked::DateTrigger{sked::parse_time("2026-01-31T09:00:00Z")}}};
  CHECK(trigger_words(either) ==
        "whenever any of these fires: every hour and once, at 2026-01-31 09:00:00Z");
  const sked::AndTrigger both{
      {sked::CronTrigger::from_crontab("0 9 * * *"), sked::IntervalTrigger{48h}}};
  CHECK(trigger_words(both) == "when all of these agree: every day at 09:00 and every 2 days");
}
