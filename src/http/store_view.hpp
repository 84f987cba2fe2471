#pragma once
// What the server reads from a store: a cached job list, execution pages, run requests and
// schedulers. Jobs come through the store's interface; the rest through a read-only SQL connection
// on the store's file (the documented schema, docs/sqlite.md), for what `JobStore` does not offer
// (an upper time bound and offsets for history pages, every scheduler registered rather than the
// live ones, reading history incrementally for the metrics).

#include <sked/execution.hpp>
#include <sked/job.hpp>
#include <sked/stores/sqlite.hpp>
#include <sked/time.hpp>

#include <SQLiteCpp/Database.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
};

/// A job's recent outcomes, from its newest records.
struct JobStats {
  std::optional<Execution> last{};
  std::optional<double> mean_seconds{};
  std::optional<double> p95_seconds{};
};
inline constexpr std::size_t stats_window = 100;

/// Filters for a history page, newest first.
struct HistoryQuery {
  std::optional<std::string> job_id{};
  std::optional<ExecutionStatus> status{};
  std::optional<TimePoint> since{};
  std::optional<TimePoint> until{};
  std::size_t offset = 0;
  std::size_t limit = 50;
};

/// One scheduler registered in the file, and whether it is alive.
struct SchedulerRow {
  RegisteredScheduler scheduler{};
  bool alive = false;
};

/// Thread-safe.
class StoreView {
 public:
  StoreView(std::shared_ptr<SqliteJobStore> store, std::chrono::milliseconds snapshot_max_age);

  [[nodiscard]] SqliteJobStore& store() const noexcept { return *store_; }
  /// The cached job list: read again once older than the maximum age and the file changed (or
  /// after `invalidate()`).
  [[nodiscard]] std::shared_ptr<const JobsSnapshot> jobs();
  /// After this server changed a job, so that the next page shows it.
  void invalidate();

  [[nodiscard]] JobStats stats(const std::string& job_id) const;
  /// Records matching `q`, newest first, with at most `traceback_tail` bytes of their output.
  [[nodiscard]] std::vector<Execution> history(const HistoryQuery& q,
                                               std::size_t traceback_tail = 4000);
  [[nodiscard]] std::vector<SchedulerRow> schedulers();
  /// Records with an id at or above `from_id`, at most `limit`, in id order, without their
  /// exception and output (what the metrics count).
  [[nodiscard]] std::vector<Execution> records_from(std::int64_t from_id, std::size_t limit);

 private:
  std::int64_t data_version();

  std::shared_ptr<SqliteJobStore> store_;
  std::chrono::milliseconds max_age_;
  std::mutex sql_mutex_;
  SQLite::Database db_;
  std::mutex snapshot_mutex_;
  std::shared_ptr<const JobsSnapshot> snapshot_;
  std::chrono::steady_clock::time_point snapshot_taken_{};
  std::int64_t snapshot_version_ = -1;
  bool invalid_ = true;
};

}  // namespace sked::http::detail
