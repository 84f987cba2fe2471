#include <sked/serialization.hpp>
#include <sked/triggers/date.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using sked::parse_time;

TEST_CASE("a date trigger fires once, even when its time has passed", "[triggers][date]") {
  const sked::DateTrigger trigger{parse_time("2026-12-24T18:00:00+01:00")};
  const auto now = parse_time("2026-12-01T00:00:00Z");
  CHECK(trigger.next_fire_time(std::nullopt, now) == parse_time("2026-12-24T17:00:00Z"));
  CHECK_FALSE(trigger.next_fire_time(parse_time("2026-12-24T17:00:00Z"), now).has_value());
  // Late: still reported, so the misfire policy decides between running and recording a miss.
  CHECK(trigger.next_fire_time(std::nullopt, parse_time("2027-01-01T00:00:00Z")) ==
        trigger.run_date());
  CHECK(trigger.describe() == "date[2026-12-24T17:00:00Z]");
}

TEST_CASE("a date trigger round-trips through JSON", "[triggers][date][serialization]") {
  const sked::DateTrigger trigger{parse_time("2026-12-24T17:00:00.123456Z")};
  const auto back = sked::trigger_from_json(trigger.to_json());
  const auto* date = dynamic_cast<const sked::DateTrigger*>(back.get());
  REQUIRE(date != nullptr);
  CHECK(*date == trigger);
}

}  // namespace SKED_TEST_FILE
