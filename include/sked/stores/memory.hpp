#pragma once
// The in-memory job store.

#include <sked/job_store.hpp>

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace sked {

/// Keeps jobs in memory, indexed by id and by next run time, so adding, changing, removing and finding
/// the due jobs each cost O(log n). Keeps the newest `max_executions` execution records (oldest dropped
/// first). This class is thread-safe.
class MemoryJobStore final : public JobStore {
 public:
  explicit MemoryJobStore(std::size_t max_executions = 10'000);

  void add_job(const Job& job) override;
  void update_job(const Job& job) override;
  void remove_job(std::string_view id) override;
  void remove_all_jobs() override;
  [[nodiscard]] std::optional<Job> lookup_job(std::string_view id) const override;
  [[nodiscard]] std::vector<Job> get_all_jobs() const override;
  [[nodiscard]] std::optional<TimePoint> next_run_time() const override;
  [[nodiscard]] TimePoint request_run(std::string_view job_id, TimePoint at) override;
  bool withdraw_run_request(std::string_view job_id) override;
  [[nodiscard]] std::vector<ClaimedJob> claim_due_jobs(TimePoint now, std::size_t limit,
                                                       const ClaimFilter& runnable) override;
  [[nodiscard]] Execution begin_execution(std::string_view job_id, TimePoint run_time) override;
  void complete_execution(const Execution& execution) override;
  [[nodiscard]] std::vector<Execution> get_executions(const ExecutionQuery& query) const override;
  std::size_t delete_old_executions(TimePoint cutoff) override;

  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const Job> job{};
    std::uint64_t seq{};  // insertion order breaks ties between equal run times
  };
  using Key = std::pair<TimePoint, std::uint64_t>;
  struct Hash {
    using is_transparent = void;
    // Deliberately not noexcept: libstdc++ then keeps each node's hash code, so lookups and erasures
    // compare cached codes instead of re-hashing the ids of neighbouring nodes (measured: a quarter of
    // the dispatch loop's time went to that re-hashing).
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void index(Entry& entry);
  void unindex(const Entry& entry);
  void record(Execution execution);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> jobs_;
  // Points at the entry in jobs_ (its nodes never move), so a claim needs no lookup by id.
  std::map<Key, Entry*> by_time_;
  std::uint64_t next_seq_ = 0;

  using RunningMap = std::unordered_map<std::string, int, Hash, std::equal_to<>>;
  static constexpr std::size_t max_spare_running = 1024;
  void count_running(const std::string& job_id, int runs);
  // Completed executions are queued by complete_execution() and applied, with mutex_ held, by the
  // next call that reads the history or the running counts (hence `mutable`).
  void apply_completions() const;
  void apply_completion(const Execution& execution) const;

  std::size_t max_executions_;
  mutable std::deque<Execution> executions_;  // ids ascending, contiguous unless old ones were deleted
  std::int64_t next_execution_id_ = 1;
  mutable RunningMap running_;
  mutable std::vector<RunningMap::node_type> spare_running_;  // nodes of finished jobs, for reuse

  // Pending run requests (request_run): job id -> requested time. Few at a time, so walked whole.
  std::map<std::string, TimePoint, std::less<>> requests_;
  void claim_requests(TimePoint now, std::size_t limit, const ClaimFilter& runnable,
                      std::vector<ClaimedJob>& out);

  mutable std::mutex completed_mutex_;
  mutable std::vector<Execution> completed_;  // guarded by completed_mutex_
  mutable std::vector<Execution> applying_;   // guarded by mutex_; completed_'s other buffer
};

}  // namespace sked
