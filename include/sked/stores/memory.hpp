#pragma once
// The in-memory job store.

#include <sked/export.hpp>
#include <sked/job_store.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sked {

/// Keeps jobs in memory, indexed by id and by next run time, so adding, changing, removing and
/// finding the due jobs each cost O(log n). Keeps the newest `max_executions` execution records
/// (oldest dropped first); a fire time is recorded at most once while its record is kept. This
/// class is thread-safe.
///
/// Jobs that differ only in id, trigger and next run time (the usual case: many jobs of one task)
/// share one copy of everything else, so a million such jobs take about 150 bytes each beyond their
/// triggers.
class SKED_API MemoryJobStore : public JobStore {
 public:
  explicit MemoryJobStore(std::size_t max_executions = 10'000);

  [[nodiscard]] std::size_t size() const;
  /// True: only this process reaches the store, and changes made through it are reported to the
  /// local change listener, so a scheduler need not poll it.
  [[nodiscard]] bool reports_changes() const noexcept override { return true; }

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override;
  void complete_(const Execution& record, const std::optional<RunRequest>& retry) override;
  [[nodiscard]] std::vector<Job> all_jobs_() const override;
  [[nodiscard]] std::optional<TimePoint> next_run_time_() const override;
  [[nodiscard]] std::vector<RunRequest> pending_runs_(
      std::optional<std::string_view> job_id) const override;
  [[nodiscard]] std::vector<Execution> query_executions_(
      const ExecutionQuery& query) const override;
  std::size_t delete_old_executions_(TimePoint cutoff) override;

 private:
  struct Hash {
    using is_transparent = void;
    // Deliberately not noexcept: libstdc++ then keeps each node's hash code, so lookups and
    // erasures compare cached codes instead of re-hashing the ids of neighbouring nodes (measured:
    // a quarter of the dispatch loop's time went to that re-hashing).
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  static constexpr std::size_t unscheduled = static_cast<std::size_t>(-1);
  // A job as kept here: what tells it apart, and a shared `body` with the rest (a Job whose id,
  // trigger and next run time are empty). The next run time lives in the heap entry only.
  struct Record {
    std::shared_ptr<const Job> body{};
    std::shared_ptr<const Trigger> trigger{};
    // Kept here, not in the body: jobs that differ only in their names (or callables) share one
    // body (measured: 671 bytes a job with a name of its own when the name was the body's).
    std::string name{};
    std::shared_ptr<const TaskFn> callable{};
    std::uint64_t seq{};             // insertion order breaks ties between equal run times
    std::size_t slot = unscheduled;  // index in heap_; unscheduled while paused
  };
  using Jobs = std::unordered_map<std::string, Record, Hash, std::equal_to<>>;
  using Node = Jobs::value_type;  // map nodes never move, so the heap points at them
  struct HeapEntry {
    TimePoint time{};
    // the record's, here too: comparing many equal times must not chase pointers
    std::uint64_t seq{};
    Node* node{};
  };

  // Bodies are shared by equality; `bodies_` holds one reference of its own and is swept of bodies
  // nothing else holds whenever it has doubled since the last sweep.
  struct BodyHash {
    using is_transparent = void;
    std::size_t operator()(const Job& body) const;
    std::size_t operator()(const std::shared_ptr<const Job>& body) const { return (*this)(*body); }
  };
  struct BodyEqual {
    using is_transparent = void;
    bool operator()(const Job& a, const Job& b) const;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return (*this)(deref(a), deref(b));
    }
    static const Job& deref(const Job& j) { return j; }
    static const Job& deref(const std::shared_ptr<const Job>& j) { return *j; }
  };
  [[nodiscard]] std::shared_ptr<const Job> intern(const Job& job);
  void set_record(Node& node, const Job& job);
  [[nodiscard]] static Job materialize(const Node& node, std::optional<TimePoint> next);
  // The same as a shared job handed out by a claim, from a pool (see memory.cpp).
  [[nodiscard]] static std::shared_ptr<const Job> build_claimed(const Node& node,
                                                                std::optional<TimePoint> next);
  [[nodiscard]] std::optional<TimePoint> scheduled_time(const Record& record) const;

  // heap_ is a 4-ary min-heap on (time, seq): shallow, and a node's four children share a cache
  // line.
  [[nodiscard]] static bool before(const HeapEntry& a, const HeapEntry& b) noexcept;
  void place(std::size_t slot, HeapEntry entry) noexcept;
  void sift_up(std::size_t slot) noexcept;
  void sift_down(std::size_t slot) noexcept;
  void heap_push(Node& node, TimePoint time);
  void heap_erase(std::size_t slot) noexcept;
  void heap_move(std::size_t slot, TimePoint time) noexcept;
  void restore(std::size_t slot) noexcept;  // after heap_[slot] changed
  void schedule(Node& node, std::optional<TimePoint> time);
  void record(Execution execution);

  mutable std::mutex mutex_;
  Jobs jobs_;
  std::vector<HeapEntry> heap_;
  std::unordered_set<std::shared_ptr<const Job>, BodyHash, BodyEqual> bodies_;
  std::size_t bodies_after_sweep_ = 0;
  std::uint64_t next_seq_ = 0;

  using RunningMap = std::unordered_map<std::string, int, Hash, std::equal_to<>>;
  static constexpr std::size_t max_spare_running = 1024;
  void count_running(const std::string& job_id, int runs);
  // Completed executions are queued by complete_execution() and applied, with mutex_ held, by the
  // next call that reads the history or the running counts (hence `mutable`).
  void apply_completions() const;
  void apply_completion(const Execution& execution) const;

  std::size_t max_executions_;
  // ids ascending, contiguous unless old ones were deleted
  mutable std::deque<Execution> executions_;
  std::int64_t next_execution_id_ = 1;
  mutable RunningMap running_;
  mutable std::vector<RunningMap::node_type> spare_running_;  // nodes of finished jobs, for reuse

  // Pending run requests and retries, by id. Few at a time, so walked whole.
  std::map<std::int64_t, RunRequest> requests_;
  std::int64_t next_request_id_ = 1;
  // The pending runs `keep` accepts, soonest first; with mutex_ held.
  [[nodiscard]] std::vector<RunRequest> requests_where(
      const std::function<bool(const RunRequest&)>& keep) const;

  // Fingerprints of the (job id, run time) of every record kept, so that a fire time is recorded at
  // most once: an open-addressing multiset of 64-bit hashes, which allocates nothing per run (a
  // node-based set cost the dispatch loop a fifth of its speed). A fingerprint found is confirmed
  // against the history itself.
  class Fingerprints {
   public:
    void reserve(std::size_t n);
    [[nodiscard]] bool contains(std::uint64_t f) const noexcept;
    void insert(std::uint64_t f);
    void erase(std::uint64_t f) noexcept;
    void clear() noexcept;

   private:
    [[nodiscard]] std::size_t mask() const noexcept { return slots_.size() - 1; }
    std::vector<std::uint64_t> slots_;  // 0: empty
    std::size_t size_ = 0;
  };
  [[nodiscard]] static std::uint64_t fingerprint(std::string_view job_id,
                                                 TimePoint run_time) noexcept;
  [[nodiscard]] bool recorded(const std::string& job_id, TimePoint run_time) const;
  mutable Fingerprints recorded_;
  void forget_oldest_record() const;

  class Tx;

  mutable std::mutex completed_mutex_;
  mutable std::vector<Execution> completed_;  // guarded by completed_mutex_
  // !completed_.empty(), read without completed_mutex_: most calls find nothing queued.
  mutable std::atomic<bool> has_completed_{false};
  mutable std::vector<Execution> applying_;  // guarded by mutex_; completed_'s other buffer
};

}  // namespace sked
