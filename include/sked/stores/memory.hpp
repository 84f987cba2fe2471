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
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  void index(const Entry& entry);
  void unindex(const Entry& entry);
  void record(Execution execution);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> jobs_;
  std::map<Key, std::string> by_time_;
  std::uint64_t next_seq_ = 0;

  std::size_t max_executions_;
  std::deque<Execution> executions_;  // ids ascending, contiguous
  std::int64_t next_execution_id_ = 1;
  std::unordered_map<std::string, int, Hash, std::equal_to<>> running_;
};

}  // namespace sked
