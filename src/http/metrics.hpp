#pragma once
// /metrics: the store's runs, jobs and schedulers in the Prometheus text format (version 0.0.4).
//
// Run counters and histograms are cumulative over the history this server has read: the first
// scrape reads every record once, later scrapes only records added since
// (`ExecutionQuery::after_id`) and those that were still running, so a scrape stays cheap with
// millions of records. Pruning history never lowers them; a restart of the server starts them over
// from the history then left, as any counter reset. A store whose writers commit concurrently
// (PostgreSQL) may make a record visible after one with a higher id: the ids skipped between two
// records read are looked at again for a while.

#include "http/store_view.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sked::http::detail {

class Metrics {
 public:
  /// With `per_job`, run and next-run series carry a `job` label beside `task`: the first
  /// `max_jobs` jobs seen get their own, the rest share `job=""`.
  Metrics(StoreView& view, bool per_job, std::size_t max_jobs)
      : view_(view), per_job_(per_job), max_jobs_(max_jobs) {}

  /// The exposition text. Thread-safe.
  [[nodiscard]] std::string render(TimePoint now);

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets{};
    double sum = 0;
    std::uint64_t count = 0;
    void observe(const std::vector<double>& bounds, double value);
  };
  struct Series {
    std::array<std::uint64_t, 6> runs{};
    Histogram duration{};
    Histogram lateness{};
    std::optional<TimePoint> last_success{};
  };
  using Key = std::pair<std::string, std::string>;  // task, job ("" unless per job)

  void ingest(const std::shared_ptr<const JobsSnapshot>& jobs, TimePoint now);
  void count(const Execution& r);
  // A record read for the first time: counted once ended, else watched until it ends.
  void take(const Execution& r);
  Key key_of(const std::string& job_id);
  // The job label of a job: its id, or "" once `max_jobs_` others have theirs.
  const std::string& job_label(const std::string& job_id);

  StoreView& view_;
  bool per_job_;
  std::size_t max_jobs_;
  std::unordered_set<std::string> labelled_;
  std::mutex mutex_;
  std::map<Key, Series> series_;
  std::optional<std::int64_t> last_id_{};        // the highest id read
  std::map<std::int64_t, std::string> running_;  // id -> job id
  std::map<std::int64_t, TimePoint> skipped_;    // ids skipped over -> when they were first seen
  std::unordered_map<std::string, std::string> task_of_;
  std::shared_ptr<const JobsSnapshot> tasks_snapshot_;
};

/// Escapes a label value (backslash, double quote, newline).
[[nodiscard]] std::string label_value(std::string_view text);

}  // namespace sked::http::detail
