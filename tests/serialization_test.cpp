#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

using namespace std::chrono_literals;

TEST_CASE("a job's state round-trips through JSON", "[serialization]") {
  sked::Job job;
  job.id = "report";
  job.name = "Weekly report";
  job.task = "send_report";
  job.args = {{"to", "ops@example.com"}, {"retries", 3}};
  job.trigger = std::make_shared<sked::IntervalTrigger>(
      sked::IntervalTrigger{{.weeks = 1, .start_date = sked::parse_time("2026-01-05T08:00:00Z")}});
  job.executor = "processes";
  job.misfire_grace_time = 90s;
  job.coalesce = false;
  job.max_instances = 3;
  const auto next = sked::parse_time("2026-01-12T08:00:00Z");

  const auto state = sked::job_state_to_json(job);
  CHECK(state["version"] == sked::job_state_version);
  const auto back = sked::job_from_state_json("report", next, state);
  CHECK(back.id == "report");
  CHECK(back.name == job.name);
  CHECK(back.task == job.task);
  CHECK(back.args == job.args);
  CHECK(back.executor == job.executor);
  CHECK(back.misfire_grace_time == 90s);
  CHECK(back.coalesce == false);
  CHECK(back.max_instances == 3);
  CHECK(back.next_run_time == next);
  CHECK(back.trigger->to_json() == job.trigger->to_json());
}

TEST_CASE("a job's group round-trips, and a state written before groups reads as no group",
          "[serialization][group]") {
  sked::Job job;
  job.id = "j";
  job.name = "j";
  job.task = "t";
  job.trigger = std::make_shared<sked::IntervalTrigger>(1h);
  // No group: the state is what it was before groups existed.
  CHECK_FALSE(sked::job_state_to_json(job).contains("group"));
  CHECK(sked::job_from_state_json("j", std::nullopt, sked::job_state_to_json(job)).group.empty());
  job.group = "crontab:/etc/sked/a.cron";
  const auto state = sked::job_state_to_json(job);
  CHECK(state["group"] == "crontab:/etc/sked/a.cron");
  CHECK(sked::job_from_state_json("j", std::nullopt, state).group == "crontab:/etc/sked/a.cron");
  auto bad = state;
  bad["group"] = 7;
  CHECK_THROWS_WITH(sked::job_from_state_json("j", std::nullopt, bad), Catch::Contains("'j'"));
  bad["group"] = "tab\there";
  CHECK_THROWS_WITH(
      sked::job_from_state_json("j", std::nullopt, bad),
      Catch::Contains("'j'") && Catch::Contains("group must not contain control characters"));
}

TEST_CASE("a job bound to a callable cannot be persisted", "[serialization][errors]") {
  sked::Job job;
  job.id = "lambda";
  job.callable = std::make_shared<const sked::TaskFn>([](const sked::JobContext&) {});
  job.trigger = std::make_shared<sked::IntervalTrigger>(1h);
  CHECK_THROWS_WITH(sked::job_state_to_json(job),
                    Catch::Contains("'lambda'") && Catch::Contains("callable"));
}

TEST_CASE("unreadable job state names the job and what is wrong", "[serialization][errors]") {
  CHECK_THROWS_WITH(sked::job_from_state_json("j1", std::nullopt, nlohmann::json::array()),
                    Catch::Contains("'j1'") && Catch::Contains("not a JSON object"));
  CHECK_THROWS_WITH(sked::job_from_state_json("j2", std::nullopt, {{"version", 99}}),
                    Catch::Contains("'j2'") && Catch::Contains("version 99"));
  nlohmann::json state = {{"version", 1},
                          {"name", "n"},
                          {"task", "t"},
                          {"misfire_grace_time_us", 0},
                          {"coalesce", true},
                          {"max_instances", 1},
                          {"trigger", {{"type", "lunar"}}}};
  CHECK_THROWS_WITH(sked::job_from_state_json("j3", std::nullopt, state),
                    Catch::Contains("'j3'") && Catch::Contains("unknown type 'lunar'"));
  state["trigger"] = {{"type", "interval"}, {"interval_us", -5}};
  CHECK_THROWS_WITH(sked::job_from_state_json("j4", std::nullopt, state),
                    Catch::Contains("'j4'") && Catch::Contains("must be positive"));
  state.erase("coalesce");
  CHECK_THROWS_AS(sked::job_from_state_json("j5", std::nullopt, state), sked::SerializationError);
}

TEST_CASE("custom trigger types can be registered for reading", "[serialization]") {
  sked::register_trigger_type("every_hour", [](const nlohmann::json&) {
    return std::make_shared<sked::IntervalTrigger>(std::chrono::hours{1});
  });
  const auto t = sked::trigger_from_json({{"type", "every_hour"}});
  CHECK(dynamic_cast<const sked::IntervalTrigger&>(*t).interval() == 1h);
}

TEST_CASE("numbers that do not fit their field are refused, naming the field",
          "[serialization][errors]") {
  // Found by tests/fuzz/job_state_fuzz.cpp: a float too large for the field was converted with a
  // plain cast (undefined behaviour) instead of being refused.
  nlohmann::json state = sked::job_state_to_json([] {
    sked::Job job;
    job.id = "j";
    job.name = "j";
    job.task = "t";
    job.trigger =
        std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{std::chrono::seconds{5}});
    return job;
  }());
  const auto now = sked::parse_time("2026-01-01T00:00:00Z");
  auto with = [&](const char* field, nlohmann::json value) {
    auto s = state;
    s[field] = std::move(value);
    return s;
  };
  CHECK_THROWS_WITH(
      sked::job_from_state_json("j", now, with("max_instances", 1e12)),
      Catch::Contains("job 'j'") && Catch::Contains("'max_instances' must be an integer"));
  CHECK_THROWS_WITH(sked::job_from_state_json("j", now, with("misfire_grace_time_us", 5.0e19)),
                    Catch::Contains("'misfire_grace_time_us' must be an integer"));
  CHECK_THROWS_AS(sked::job_from_state_json("j", now, with("version", 1.5)),
                  sked::SerializationError);
  auto trigger = state["trigger"];
  trigger["jitter_us"] = 1;
  trigger["jitter_seed"] = 50548973288877169344.0;
  CHECK_THROWS_WITH(sked::trigger_from_json(trigger),
                    Catch::Contains("'jitter_seed' must be an integer"));
  trigger["jitter_seed"] = 7;
  trigger["interval_us"] = -1e30;
  CHECK_THROWS_WITH(sked::trigger_from_json(trigger),
                    Catch::Contains("'interval_us' must be an integer"));
}

TEST_CASE("no misfire limit is stored as null and read back", "[serialization][misfire]") {
  sked::Job job;
  job.id = "j";
  job.name = "j";
  job.task = "t";
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{1min});
  job.misfire_grace_time = sked::no_misfire_limit;
  const auto state = sked::job_state_to_json(job);
  CHECK(state.at("misfire_grace_time_us").is_null());
  CHECK(sked::job_from_state_json("j", std::nullopt, state).misfire_grace_time ==
        sked::no_misfire_limit);
  CHECK_THAT(job.describe(), Catch::EndsWith("paused, misfire grace: none)"));
  job.misfire_grace_time = 5s;
  CHECK(sked::job_state_to_json(job).at("misfire_grace_time_us") == 5'000'000);
  CHECK(job.describe().find("misfire") == std::string::npos);
}

}  // namespace SKED_TEST_FILE
