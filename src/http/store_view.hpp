#pragma once
// What the server reads from a store, through the public `JobStore` interface only, so that it
// serves any store (memory, SQLite, PostgreSQL, an application's own): a cached job list, history
// pages
// (`JobStore::get_executions`), pending runs, and the schedulers of the stores that register them.

#include <sked/execution.hpp>
#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/stores/registered_scheduler.hpp>
#include <sked/time.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sked::http::detail {

/// Every job at one moment, in the store's order (soonest next run first, paused last).
struct JobsSnapshot {
  std::vector<Job> jobs{};
  std::unordered_map<std::string, std::size_t> by_id{};
  /// Per job, `id\nname\ntask` in lower case: what the search looks in, folded once per read.
  std::vector<std::string> search_text{};
  bool schedulers_running = false;
  /// The jobs with a run going (a `started` record).
  std::unordered_set<std::string> running{};
  /// `detail::job_state` of a job in the snapshot.
  [[nodiscard]] std::string state_of(const Job& job, TimePoint now) const;
  /// Whether the store keeps a registry of its schedulers (else `schedulers_running` means
  /// nothing).
  bool registry = false;
  /// When the list was read.
  TimePoint read_at{};
};

/// A job's recent outcomes, from its newest records.
struct JobStats {
  std::optional<Execution> last{};
  std::optional<double> mean_seconds{};
  std::optional<double> p95_seconds{};
};
inline constexpr std::size_t stats_window = 100;

/// The most of a traceback (a command's output) that pages and the API show: its end.
inline constexpr std::size_t output_tail = 4000;

/// One scheduler registered in the store, and whether it is alive.
struct SchedulerRow {
  RegisteredScheduler scheduler{};
  bool alive = false;
};

/// Thread-safe.
class StoreView {
 public:
  /// `list_store`, when given, is another handle on the same store for reading the whole job list.
  StoreView(std::shared_ptr<JobStore> store, std::shared_ptr<JobStore> list_store,
            std::chrono::milliseconds snapshot_max_age);
  /// Stops the background reader.
  ~StoreView();
  StoreView(const StoreView&) = delete;
  StoreView& operator=(const StoreView&) = delete;

  [[nodiscard]] JobStore& store() const noexcept { return *store_; }
  /// The cached job list. The first call reads it; later calls return it at once and, once it is
  /// older than the maximum age or ten times as long as its last read took (whichever is longer:
  /// a store of 100,000 jobs is not read over and over), have it read again in the background.
  [[nodiscard]] std::shared_ptr<const JobsSnapshot> jobs();
  /// After this server changed a job: the next `jobs()` reads the list again before it returns.
  void invalidate();

  [[nodiscard]] JobStats stats(const std::string& job_id) const;
  /// `JobStore::get_executions`.
  [[nodiscard]] std::vector<Execution> history(const ExecutionQuery& q) const;
  /// Every scheduler registered in the store, alive or dead; empty for a store that keeps no
  /// registry (only the SQLite and PostgreSQL stores do).
  [[nodiscard]] std::optional<std::vector<SchedulerRow>> schedulers() const;
  /// How many registered schedulers are alive (0 for a store without a registry).
  [[nodiscard]] std::size_t live_schedulers() const;

 private:
  [[nodiscard]] std::shared_ptr<const JobsSnapshot> load() const;
  void install(std::shared_ptr<const JobsSnapshot> fresh, std::chrono::steady_clock::duration took,
               std::uint64_t generation);
  void refresher();

  std::shared_ptr<JobStore> store_;
  std::shared_ptr<JobStore> list_store_;
  std::chrono::milliseconds max_age_;

  // One read of the job list at a time.
  std::mutex load_mutex_;
  std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  std::shared_ptr<const JobsSnapshot> snapshot_;
  std::chrono::steady_clock::time_point taken_{};
  std::chrono::steady_clock::duration refresh_after_{};
  // invalidate() raises `wanted_`; a snapshot read after the last invalidation has `loaded_` equal.
  std::uint64_t wanted_ = 0;
  std::uint64_t loaded_ = 0;
  bool refresh_asked_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sked::http::detail
