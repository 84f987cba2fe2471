#pragma once
// The stores the shared contract suite runs against. A new store adds a factory here.

#include "stores/minimal_store.hpp"
#include "support/temp_dir.hpp"

#include <sked/stores/memory.hpp>
#include <sked/stores/sqlite.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <tuple>

#ifdef SKED_PG_BINDIR
#include "support/postgres_server.hpp"

#include <sked/stores/postgres.hpp>
#endif

namespace sked::test {

struct MemoryStoreFactory {
  static constexpr const char* name = "memory";
  std::shared_ptr<JobStore> make() { return std::make_shared<MemoryJobStore>(); }
};

/// A fresh file in a scratch directory per factory.
struct SqliteStoreFactory {
  static constexpr const char* name = "sqlite";
  TempDir dir;
  std::shared_ptr<JobStore> make() {
    return std::make_shared<SqliteJobStore>(
        dir.file("contract.sqlite3"), SqliteJobStoreOptions{.on_warning = [](std::string_view) {}});
  }
};

/// The smallest store the hooks allow (tests/stores/minimal_store.hpp): proof that a store author
/// writes storage only.
struct MinimalStoreFactory {
  static constexpr const char* name = "minimal";
  std::shared_ptr<JobStore> make() { return std::make_shared<MinimalJobStore>(); }
};

#ifdef SKED_PG_BINDIR
/// A fresh schema per factory in the test process's own PostgreSQL server
/// (tests/support/postgres_server.hpp); stores made by one factory share it, as processes would.
struct PostgresStoreFactory {
  static constexpr const char* name = "postgres";
  std::string schema = next_schema();
  std::shared_ptr<JobStore> make() {
    return std::make_shared<PostgresJobStore>(PostgresServer::instance().conninfo(), options());
  }
  [[nodiscard]] PostgresJobStoreOptions options() const {
    return PostgresJobStoreOptions{
        .schema = schema, .listen = false, .on_warning = [](std::string_view) {}};
  }
  static std::string next_schema() {
    static std::atomic<int> n{0};
    return "contract_" + std::to_string(++n);
  }
};

using StoreFactories =
    std::tuple<MemoryStoreFactory, SqliteStoreFactory, MinimalStoreFactory, PostgresStoreFactory>;
#else
using StoreFactories = std::tuple<MemoryStoreFactory, SqliteStoreFactory, MinimalStoreFactory>;
#endif

}  // namespace sked::test
