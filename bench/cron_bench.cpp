// Walks 10,000 successive fire times of each schedule in bench/cron_cases.json, in UTC and in DST
// zones. The peers run the same walks (bench/cron_side_by_side.sh). Build with the `release`
// preset:
//   cmake --preset release && cmake --build --preset release --target sked_cron_bench
//   build/release/bench/sked_cron_bench

#include <sked/triggers/cron.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <string>

namespace {

void walk(benchmark::State& state, const sked::CronTrigger& trigger, sked::TimePoint start,
          int fires) {
  int done = 0;
  for (auto _ : state) {
    // Strictly after start, as `sked next` and the peers walk.
    std::optional<sked::TimePoint> t = start;
    for (done = 0; done < fires; ++done) {
      t = trigger.next_fire_time(t, start);
      if (!t) break;
    }
    benchmark::DoNotOptimize(t);
  }
  if (done != fires) state.SkipWithError("the schedule ended before the walk did");
  state.SetItemsProcessed(state.iterations() * fires);
  // Time per fire time, shown in ns.
  state.counters["per_fire"] = benchmark::Counter(
      fires, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  std::ifstream in{SKED_CRON_CASES};
  if (!in) {
    std::cerr << "cannot read " << SKED_CRON_CASES << '\n';
    return 1;
  }
  const auto config = nlohmann::json::parse(in);
  const auto start = sked::parse_time(config.at("start").get<std::string>());
  const int fires = config.at("fires").get<int>();
  for (const auto& zone_name : config.at("zones")) {
    const auto zone = sked::TimeZone::locate(zone_name.get<std::string>());
    for (const auto& c : config.at("cases")) {
      const auto trigger =
          sked::CronTrigger::from_crontab(c.at("crontab").get<std::string>(), zone);
      const auto name = c.at("name").get<std::string>() + "/" + zone_name.get<std::string>();
      benchmark::RegisterBenchmark(name.c_str(), [trigger, start, fires](benchmark::State& state) {
        walk(state, trigger, start, fires);
      })->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
