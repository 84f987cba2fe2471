#pragma once
// Deterministic jitter shared by the triggers: a fire time's delay is a hash of the fire time and
// the trigger's seed, so a reloaded trigger fires at the same instants and jitter never drifts.

#include <sked/time.hpp>

#include <cstdint>
#include <random>

namespace sked::detail {

inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A non-zero seed for a trigger built without one.
inline std::uint64_t random_jitter_seed() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t seed = 0;
  while (seed == 0) seed = rng();
  return seed;
}

/// `grid_time` delayed by an amount in [0, jitter).
inline TimePoint jittered(TimePoint grid_time, Duration jitter, std::uint64_t seed) noexcept {
  if (jitter <= Duration::zero()) return grid_time;
  const auto h =
      splitmix64(seed ^ static_cast<std::uint64_t>(grid_time.time_since_epoch().count()));
  return grid_time +
         Duration{static_cast<std::int64_t>(h % static_cast<std::uint64_t>(jitter.count()))};
}

}  // namespace sked::detail
