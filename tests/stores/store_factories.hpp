#pragma once
// The stores the shared contract suite runs against. A new store adds a factory here.

#include <sked/stores/memory.hpp>

#include <memory>
#include <tuple>

namespace sked::test {

struct MemoryStoreFactory {
  static constexpr const char* name = "memory";
  std::shared_ptr<JobStore> make() { return std::make_shared<MemoryJobStore>(); }
};

using StoreFactories = std::tuple<MemoryStoreFactory>;

}  // namespace sked::test
