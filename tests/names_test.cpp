#include <sked/fmt.hpp>
#include <sked/names.hpp>

#include <catch2/catch.hpp>

#include <sstream>

// Each test file's helpers are its own, also when files are built together (unity batches).
namespace SKED_TEST_FILE {

TEST_CASE("enums print their enumerator's name, through to_string, streams and fmt", "[names]") {
  CHECK(sked::to_string(sked::SchedulerState::running) == "running");
  CHECK(sked::to_string(sked::SchedulerState::stopped) == "stopped");
  CHECK(sked::to_string(sked::SchedulerState::paused) == "paused");
  CHECK(sked::to_string(sked::LogLevel::warning) == "warning");
  CHECK(sked::to_string(sked::LogLevel::debug) == "debug");

  std::ostringstream os;
  os << sked::SchedulerState::paused << ' ' << sked::LogLevel::error << ' '
     << sked::EventKind::job_missed << ' ' << sked::ExecutionStatus::interrupted;
  CHECK(os.str() == "paused error job_missed interrupted");

  CHECK(fmt::format("{}|{:>8}|{}|{}", sked::SchedulerState::running, sked::LogLevel::info,
                    sked::EventKind::job_error, sked::ExecutionStatus::max_instances) ==
        "running|    info|job_error|max_instances");
}

}  // namespace SKED_TEST_FILE
