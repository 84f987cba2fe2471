#pragma once
// The stores the shared contract suite runs against. A new store adds a factory here.

#include "stores/minimal_store.hpp"
#include "support/temp_dir.hpp"

#include <sked/stores/memory.hpp>
#include <sked/stores/sqlite.hpp>

#include <memory>
#include <tuple>

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

using StoreFactories = std::tuple<MemoryStoreFactory, SqliteStoreFactory, MinimalStoreFactory>;

}  // namespace sked::test
