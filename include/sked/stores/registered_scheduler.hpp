#pragma once
// A scheduler process registered in a shared store (the SQLite and PostgreSQL stores keep a table
// of them, with heartbeats, so that the runs of one that died are found).

#include <sked/export.hpp>
#include <sked/time.hpp>

#include <cstdint>
#include <string>

namespace sked {

/// A scheduler process registered in a store (table `sked_scheduler`).
struct SKED_API RegisteredScheduler {
  std::string id{};
  std::string host{};
  std::int64_t pid = 0;
  TimePoint started{};
  /// Its last heartbeat; it is dead once this is older than the store's `stale_after`.
  TimePoint heartbeat{};
  /// Whether it is alive: its heartbeat is within `stale_after` and, on this host, its process
  /// runs. `live_schedulers()` lists only these; `registered_schedulers()` the dead ones too, until
  /// a claim finds them dead and removes them.
  bool alive = true;
};

}  // namespace sked
