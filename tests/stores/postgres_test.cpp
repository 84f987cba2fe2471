// What the PostgreSQL store does beyond the contract every store meets: sharing one schedule between
// connections, liveness by the server's clock, notifications, schema versions, surviving a restart.

#include "stores/store_factories.hpp"

#include <sked/errors.hpp>
#include <sked/stores/postgres.hpp>
#include <sked/triggers/interval.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

#ifndef SKED_PG_BINDIR
TEST_CASE("the PostgreSQL store's tests need the PostgreSQL server binaries", "[postgres]") {
  WARN("skipped: initdb was not found when sked was configured (Debian: apt-get install postgresql)");
}
#else

namespace {

using sked::test::PostgresServer;
using sked::test::PostgresStoreFactory;

const auto t0 = sked::parse_time("2026-01-01T00:00:00Z");

sked::Job interval_job(std::string id, sked::Duration every, std::optional<sked::TimePoint> next) {
  sked::Job job;
  job.id = id;
  job.name = id;
  job.task = "task";
  job.trigger = std::make_shared<sked::IntervalTrigger>(sked::IntervalTrigger{every, {.start_date = t0}});
  job.misfire_grace_time = sked::no_misfire_limit;
  job.next_run_time = next;
  return job;
}

}  // namespace

TEST_CASE("postgres store keeps times exact to the microsecond", "[postgres]") {
  PostgresStoreFactory factory;
  auto store = factory.make();
  for (const auto t : {t0 + 1us, t0 - 1us, sked::parse_time("1970-01-01T00:00:00Z") - 123'456us,
                       sked::parse_time("2999-12-31T23:59:59.999999Z"), sked::parse_time("1900-06-30T12:00:00.5Z")}) {
    store->add_job(interval_job("exact", 1s, t), true);
    CHECK(store->lookup_job("exact")->next_run_time == t);
    CHECK(store->next_run_time() == t);
  }
}

#endif
