#include <sked/errors.hpp>
#include <sked/stores/memory.hpp>

#include "detail/block_pool.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace sked {

MemoryJobStore::MemoryJobStore(std::size_t max_executions) : max_executions_(max_executions) {
  // Sized once for the history it keeps: growing the index while runs are dispatched rehashed it on
  // the loop thread (measured: an eighth of a 100,000-run burst went to zeroing its new pages).
  recorded_.reserve(std::min<std::size_t>(max_executions_, std::size_t{1} << 20));
}

// --- bodies
// -----------------------------------------------------------------------------------------

namespace {

const detail::PoolAllocator<Job>& claimed_job_allocator() {
  // The claimed jobs' blocks: built here on the loop thread, freed on workers once run (see
  // block_pool.hpp; dispatch 475k -> 600k runs/s when it came).
  static const detail::PoolAllocator<Job> allocator;
  return allocator;
}

void combine(std::size_t& seed, std::size_t h) {
  seed ^= h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}
}  // namespace

std::size_t MemoryJobStore::BodyHash::operator()(const Job& body) const {
  std::size_t h = std::hash<std::string_view>{}(body.task);
  combine(h, std::hash<std::string_view>{}(body.executor));
  combine(h, std::hash<std::string_view>{}(body.group));
  combine(h, body.args->empty() ? 0 : std::hash<nlohmann::json>{}(*body.args));
  combine(h, static_cast<std::size_t>(body.misfire_grace_time.count()));
  combine(h, static_cast<std::size_t>(body.max_instances) * 2 + (body.coalesce ? 1 : 0));
  return h;
}

bool MemoryJobStore::BodyEqual::operator()(const Job& a, const Job& b) const {
  // The name and the callable are the record's own, not the body's.
  return a.task == b.task && a.executor == b.executor && a.group == b.group &&
         a.misfire_grace_time == b.misfire_grace_time && a.coalesce == b.coalesce &&
         a.max_instances == b.max_instances && a.timeout == b.timeout && a.retry == b.retry &&
         a.args == b.args;
}

std::shared_ptr<const Job> MemoryJobStore::intern(const Job& job) {
  if (const auto it = bodies_.find(job); it != bodies_.end()) return *it;
  auto body = std::make_shared<Job>(job);
  body->id = std::string{};  // not clear(): that keeps a long id's allocation
  body->name = std::string{};
  body->callable.reset();
  body->trigger.reset();
  body->next_run_time.reset();
  if (bodies_.size() >= 2 * bodies_after_sweep_ + 64) {
    std::erase_if(bodies_, [](const auto& b) { return b.use_count() == 1; });
    bodies_after_sweep_ = bodies_.size();
  }
  return *bodies_.insert(std::move(body)).first;
}

void MemoryJobStore::set_record(Node& node, const Job& job) {
  // A reschedule or a pause changes no part of the body: keep it without a lookup in bodies_.
  if (!node.second.body || !BodyEqual{}(*node.second.body, job)) node.second.body = intern(job);
  node.second.trigger = job.trigger;
  node.second.name = job.name;
  node.second.callable = job.callable;
}

Job MemoryJobStore::materialize(const Node& node, std::optional<TimePoint> next) {
  Job job = *node.second.body;
  job.id = node.first;
  job.name = node.second.name;
  job.callable = node.second.callable;
  job.trigger = node.second.trigger;
  job.next_run_time = next;
  return job;
}

std::shared_ptr<const Job> MemoryJobStore::build_claimed(const Node& node,
                                                         std::optional<TimePoint> next) {
  // Built in place: this copy is the price of sharing bodies, paid once per claim.
  auto job = std::allocate_shared<Job>(claimed_job_allocator(), *node.second.body);
  job->id = node.first;
  job->name = node.second.name;
  job->callable = node.second.callable;
  job->trigger = node.second.trigger;
  job->next_run_time = next;
  return job;
}

std::optional<TimePoint> MemoryJobStore::scheduled_time(const Record& record) const {
  if (record.slot == unscheduled) return std::nullopt;
  return heap_[record.slot].time;
}

// --- the time heap
// ----------------------------------------------------------------------------------

bool MemoryJobStore::before(const HeapEntry& a, const HeapEntry& b) noexcept {
  return a.time < b.time || (a.time == b.time && a.seq < b.seq);
}

void MemoryJobStore::place(std::size_t slot, HeapEntry entry) noexcept {
  entry.node->second.slot = slot;
  heap_[slot] = entry;
}

void MemoryJobStore::sift_up(std::size_t slot) noexcept {
  const HeapEntry entry = heap_[slot];
  while (slot > 0) {
    const std::size_t parent = (slot - 1) / 4;
    if (!before(entry, heap_[parent])) break;
    place(slot, heap_[parent]);
    slot = parent;
  }
  place(slot, entry);
}

void MemoryJobStore::sift_down(std::size_t slot) noexcept {
  const HeapEntry entry = heap_[slot];
  const std::size_t size = heap_.size();
  for (;;) {
    const std::size_t first = 4 * slot + 1;
    if (first >= size) break;
    std::size_t best = first;
    const std::size_t last = std::min(first + 4, size);
    for (std::size_t c = first + 1; c < last; ++c) {
      if (before(heap_[c], heap_[best])) best = c;
    }
    if (!before(heap_[best], entry)) break;
    place(slot, heap_[best]);
    slot = best;
  }
  place(slot, entry);
}

void MemoryJobStore::heap_push(Node& node, TimePoint time) {
  heap_.push_back({time, node.second.seq, &node});
  sift_up(heap_.size() - 1);
}

void MemoryJobStore::heap_erase(std::size_t slot) noexcept {
  heap_[slot].node->second.slot = unscheduled;
  const HeapEntry last = heap_.back();
  heap_.pop_back();
  const std::size_t size = heap_.size();
  if (slot == size) return;
  // The hole sinks to a leaf along the smaller children, and the last entry (which nearly always
  // belongs near the bottom) rises from there: three comparisons a level where sifting `last` down
  // from the top takes four, and a claim pops the top once per run.
  for (;;) {
    const std::size_t first = 4 * slot + 1;
    if (first >= size) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + 4, size);
    for (std::size_t c = first + 1; c < end; ++c) {
      if (before(heap_[c], heap_[best])) best = c;
    }
    place(slot, heap_[best]);
    slot = best;
  }
  place(slot, last);
  sift_up(slot);
}

void MemoryJobStore::heap_move(std::size_t slot, TimePoint time) noexcept {
  heap_[slot].time = time;
  restore(slot);
}

void MemoryJobStore::restore(std::size_t slot) noexcept {
  const Node* node = heap_[slot].node;
  sift_up(slot);
  if (node->second.slot == slot) sift_down(slot);
}

void MemoryJobStore::schedule(Node& node, std::optional<TimePoint> time) {
  const std::size_t slot = node.second.slot;
  if (!time) {
    if (slot != unscheduled) heap_erase(slot);
  } else if (slot == unscheduled) {
    heap_push(node, *time);
  } else {
    heap_move(slot, *time);
  }
}

// --- transactions
// ---------------------------------------------------------------------------------

// The storage primitives with mutex_ held. A claim walks the due jobs by popping the heap's front;
// a job it takes goes back in at its next fire time, and one it passes over is put back as it was
// when the transaction ends.
class MemoryJobStore::Tx final : public JobStore::Transaction {
 public:
  explicit Tx(MemoryJobStore& store) : s_(store) {}
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  ~Tx() override { put_back(); }

  void put_back() noexcept {
    if (pending_) passed_.push_back(*pending_);
    pending_.reset();
    for (const HeapEntry& e : passed_) s_.heap_push(*e.node, e.time);
    passed_.clear();
  }

  std::shared_ptr<const Job> find_job(std::string_view id) override {
    const auto it = s_.jobs_.find(id);
    if (it == s_.jobs_.end()) return nullptr;
    return build_claimed(*it, time_of(*it));
  }

  bool insert_job(const Job& job) override {
    auto [it, inserted] = s_.jobs_.try_emplace(job.id);
    if (!inserted) return false;
    try {
      s_.set_record(*it, job);
      it->second.seq = s_.next_seq_++;
      s_.schedule(*it, job.next_run_time);
    } catch (...) {
      s_.jobs_.erase(it);
      throw;
    }
    return true;
  }

  void replace_job(const Job& job) override {
    const auto it = s_.jobs_.find(job.id);
    if (it == s_.jobs_.end()) throw JobNotFound(job.id);
    s_.set_record(*it, job);
    if (pending_ && pending_->node == &*it) pending_.reset();
    s_.schedule(*it, job.next_run_time);
  }

  void delete_job(std::string_view id) override {
    const auto it = s_.jobs_.find(id);
    if (it == s_.jobs_.end()) return;
    if (pending_ && pending_->node == &*it) pending_.reset();
    s_.schedule(*it, std::nullopt);
    s_.jobs_.erase(it);
    if (!s_.requests_.empty()) {
      std::erase_if(s_.requests_, [id](const auto& r) { return r.second.job_id == id; });
    }
  }

  void delete_all_jobs() override {
    pending_.reset();
    passed_.clear();
    s_.heap_.clear();
    s_.jobs_.clear();
    s_.bodies_.clear();
    s_.bodies_after_sweep_ = 0;
    s_.requests_.clear();
  }

  std::shared_ptr<const Job> next_due(TimePoint now) override {
    if (pending_) passed_.push_back(*pending_);
    pending_.reset();
    if (s_.heap_.empty() || s_.heap_.front().time > now) return nullptr;
    pending_ = s_.heap_.front();
    s_.heap_erase(0);
    return build_claimed(*pending_->node, pending_->time);
  }

  void reschedule(std::string_view id, TimePoint next) override {
    if (pending_ && pending_->node->first == id) {
      s_.heap_push(*pending_->node, next);
      pending_.reset();
      return;
    }
    if (const auto it = s_.jobs_.find(id); it != s_.jobs_.end()) s_.schedule(*it, next);
  }

  int running_instances(std::string_view job_id) override {
    const auto r = s_.running_.find(job_id);
    return r == s_.running_.end() ? 0 : r->second;
  }

  bool insert_execution(Execution& record) override {
    if (s_.recorded(record.job_id, record.run_time)) return false;
    record.id = s_.next_execution_id_++;
    s_.record(record);
    if (record.status == ExecutionStatus::started) s_.count_running(record.job_id, 1);
    return true;
  }

  std::vector<RunRequest> due_requests(TimePoint now) override {
    return s_.requests_where([now](const RunRequest& r) { return r.at <= now; });
  }

  std::optional<RunRequest> find_request(std::string_view job_id) override {
    for (const auto& [id, request] : s_.requests_) {
      if (request.attempt == 1 && request.job_id == job_id) return request;
    }
    return std::nullopt;
  }

  void insert_request(const RunRequest& request) override {
    RunRequest r = request;
    r.id = s_.next_request_id_++;
    s_.requests_.emplace(r.id, std::move(r));
  }

  void delete_request(std::int64_t id) override { s_.requests_.erase(id); }

 private:
  std::optional<TimePoint> time_of(const Node& node) const {
    if (pending_ && pending_->node == &node) return pending_->time;
    for (const HeapEntry& e : passed_) {
      if (e.node == &node) return e.time;
    }
    return s_.scheduled_time(node.second);
  }

  MemoryJobStore& s_;
  std::optional<HeapEntry> pending_;  // returned by next_due, not yet rescheduled or deleted
  std::vector<HeapEntry> passed_;     // returned by next_due and left as they were
};

void MemoryJobStore::transact_(Purpose, const std::function<void(Transaction&)>& body) {
  std::lock_guard lock(mutex_);
  apply_completions();
  Tx tx{*this};
  body(tx);
}

// --- jobs
// -------------------------------------------------------------------------------------------

std::vector<Job> MemoryJobStore::all_jobs_() const {
  std::lock_guard lock(mutex_);
  std::vector<HeapEntry> scheduled = heap_;
  std::sort(scheduled.begin(), scheduled.end(), before);
  std::vector<Job> out;
  out.reserve(jobs_.size());
  for (const HeapEntry& e : scheduled) out.push_back(materialize(*e.node, e.time));
  std::vector<const Node*> paused;
  for (const Node& node : jobs_) {
    if (node.second.slot == unscheduled) paused.push_back(&node);
  }
  std::sort(paused.begin(), paused.end(),
            [](const Node* a, const Node* b) { return a->first < b->first; });
  for (const Node* node : paused) out.push_back(materialize(*node, std::nullopt));
  return out;
}

std::optional<TimePoint> MemoryJobStore::next_run_time_() const {
  std::lock_guard lock(mutex_);
  std::optional<TimePoint> next;
  if (!heap_.empty()) next = heap_.front().time;
  for (const auto& [id, request] : requests_) {
    if (!next || request.at < *next) next = request.at;
  }
  return next;
}

std::vector<RunRequest> MemoryJobStore::pending_runs_(
    std::optional<std::string_view> job_id) const {
  std::lock_guard lock(mutex_);
  return requests_where([job_id](const RunRequest& r) { return !job_id || r.job_id == *job_id; });
}

std::vector<RunRequest> MemoryJobStore::requests_where(
    const std::function<bool(const RunRequest&)>& keep) const {
  std::vector<RunRequest> out;
  for (const auto& [id, request] : requests_) {
    if (keep(request)) out.push_back(request);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RunRequest& a, const RunRequest& b) { return a.at < b.at; });
  return out;
}

std::size_t MemoryJobStore::size() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

// --- history
// ----------------------------------------------------------------------------------------

std::uint64_t MemoryJobStore::fingerprint(std::string_view job_id, TimePoint run_time) noexcept {
  // splitmix64's finaliser over the id's hash and the time: well spread, and never 0 (the empty
  // slot).
  std::uint64_t x =
      std::hash<std::string_view>{}(job_id) ^
      (static_cast<std::uint64_t>(run_time.time_since_epoch().count()) * 0x9e3779b97f4a7c15ULL);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x == 0 ? 1 : x;
}

void MemoryJobStore::Fingerprints::reserve(std::size_t n) {
  std::size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<std::uint64_t> old = std::exchange(slots_, std::vector<std::uint64_t>(capacity, 0));
  size_ = 0;
  for (const std::uint64_t f : old) {
    if (f != 0) insert(f);
  }
}

bool MemoryJobStore::Fingerprints::contains(std::uint64_t f) const noexcept {
  if (slots_.empty()) return false;
  for (std::size_t i = f & mask();; i = (i + 1) & mask()) {
    if (slots_[i] == f) return true;
    if (slots_[i] == 0) return false;
  }
}

void MemoryJobStore::Fingerprints::insert(std::uint64_t f) {
  if (2 * (size_ + 1) > slots_.size()) reserve(size_ + 1);
  std::size_t i = f & mask();
  while (slots_[i] != 0) i = (i + 1) & mask();
  slots_[i] = f;
  ++size_;
}

void MemoryJobStore::Fingerprints::erase(std::uint64_t f) noexcept {
  if (slots_.empty()) return;
  std::size_t i = f & mask();
  while (slots_[i] != f) {
    if (slots_[i] == 0) return;
    i = (i + 1) & mask();
  }
  // Backward-shift deletion: move later entries of the probe run into the gap, so that lookups need
  // no tombstones.
  for (std::size_t j = (i + 1) & mask(); slots_[j] != 0; j = (j + 1) & mask()) {
    const std::size_t home = slots_[j] & mask();
    const bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = 0;
  --size_;
}

void MemoryJobStore::Fingerprints::clear() noexcept {
  std::fill(slots_.begin(), slots_.end(), 0);
  size_ = 0;
}

bool MemoryJobStore::recorded(const std::string& job_id, TimePoint run_time) const {
  if (!recorded_.contains(fingerprint(job_id, run_time))) return false;
  // Nearly always a real duplicate; a fingerprint collision costs one walk of the history.
  return std::any_of(executions_.begin(), executions_.end(), [&](const Execution& e) {
    return e.run_time == run_time && e.job_id == job_id;
  });
}

void MemoryJobStore::forget_oldest_record() const {
  const Execution& oldest = executions_.front();
  recorded_.erase(fingerprint(oldest.job_id, oldest.run_time));
  executions_.pop_front();
}

void MemoryJobStore::record(Execution execution) {
  if (max_executions_ == 0) return;
  recorded_.insert(fingerprint(execution.job_id, execution.run_time));
  executions_.push_back(std::move(execution));
  while (executions_.size() > max_executions_) forget_oldest_record();
}

void MemoryJobStore::complete_(const Execution& execution, const std::optional<RunRequest>& retry) {
  if (retry) {
    std::lock_guard lock(mutex_);
    apply_completions();
    apply_completion(execution);
    RunRequest r = *retry;
    r.id = next_request_id_++;
    requests_.emplace(r.id, std::move(r));
    return;
  }
  // A worker never waits on mutex_ while a claim of 512 jobs holds it (measured: most of the
  // dispatch loop's context switches at 8 workers): it queues its outcome for the next call that
  // reads the history or the running counts. When mutex_ is free it records the outcome itself, so
  // that work stays off the scheduler's loop thread.
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (lock.owns_lock()) {
    apply_completions();
    apply_completion(execution);
    return;
  }
  std::lock_guard queue_lock(completed_mutex_);
  completed_.push_back(execution);
  has_completed_.store(true, std::memory_order_release);
}

void MemoryJobStore::apply_completions() const {
  if (!has_completed_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(completed_mutex_);
    applying_.swap(completed_);
    has_completed_.store(false, std::memory_order_relaxed);
  }
  for (const Execution& execution : applying_) apply_completion(execution);
  applying_.clear();
}

void MemoryJobStore::apply_completion(const Execution& execution) const {
  if (const auto r = running_.find(execution.job_id); r != running_.end()) {
    if (--r->second <= 0) {
      auto node = running_.extract(r);
      if (spare_running_.size() < max_spare_running) spare_running_.push_back(std::move(node));
    }
  }
  if (executions_.empty()) return;
  // Only what a completion changes: the job id and run time stay as recorded.
  const auto settle = [&execution](Execution& slot) {
    slot.status = execution.status;
    slot.duration = execution.duration;
    slot.finished = execution.finished;
    slot.exception = execution.exception;
    slot.traceback = execution.traceback;
  };
  // Ids ascend and are contiguous unless delete_old_executions left gaps: try the slot the id would
  // have first, then search.
  const std::int64_t offset = execution.id - executions_.front().id;
  if (offset >= 0 && offset < static_cast<std::int64_t>(executions_.size())) {
    auto& slot = executions_[static_cast<std::size_t>(offset)];
    if (slot.id == execution.id) {
      settle(slot);
      return;
    }
  }
  const auto it = std::lower_bound(executions_.begin(), executions_.end(), execution.id,
                                   [](const Execution& e, std::int64_t id) { return e.id < id; });
  if (it != executions_.end() && it->id == execution.id) settle(*it);
}

void MemoryJobStore::count_running(const std::string& job_id, int runs) {
  if (const auto r = running_.find(job_id); r != running_.end()) {
    r->second += runs;
    return;
  }
  if (spare_running_.empty()) {
    running_.emplace(job_id, runs);
    return;
  }
  // Reuse a node a completed run freed: no allocation per run, and none freed on a worker thread.
  auto node = std::move(spare_running_.back());
  spare_running_.pop_back();
  node.key() = job_id;
  node.mapped() = runs;
  running_.insert(std::move(node));
}

std::vector<Execution> MemoryJobStore::query_executions_(const ExecutionQuery& query) const {
  std::lock_guard lock(mutex_);
  apply_completions();
  const auto matches = [&](const Execution& e) {
    return (!query.id || e.id == *query.id) && (!query.job_id || e.job_id == *query.job_id) &&
           (!query.status || e.status == *query.status) &&
           (!query.since || e.run_time >= *query.since) &&
           (!query.until || e.run_time < *query.until) &&
           (!query.after_id || e.id > *query.after_id);
  };
  const auto copy = [&](const Execution& e) {
    if (query.with_texts) return e;
    Execution bare;
    bare.id = e.id;
    bare.job_id = e.job_id;
    bare.status = e.status;
    bare.run_time = e.run_time;
    bare.duration = e.duration;
    bare.finished = e.finished;
    return bare;
  };
  std::vector<Execution> out;
  if (query.limit == 0) return out;
  // The history is kept in id order.
  const auto by_id = [](const Execution& e, std::int64_t id) { return e.id < id; };
  if (query.order == ExecutionOrder::oldest_id_first) {
    auto it = executions_.begin();
    if (query.after_id) {
      it = std::upper_bound(executions_.begin(), executions_.end(), *query.after_id,
                            [](std::int64_t id, const Execution& e) { return id < e.id; });
    }
    std::size_t skip = query.offset;
    for (; it != executions_.end() && out.size() < query.limit; ++it) {
      if (!matches(*it)) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      out.push_back(copy(*it));
    }
    return out;
  }
  // Newest first: by run time, which id order mostly follows but not always (a run requested for an
  // earlier time, a retry), so the matches are sorted.
  std::vector<const Execution*> found;
  if (query.id) {
    const auto it = std::lower_bound(executions_.begin(), executions_.end(), *query.id, by_id);
    if (it != executions_.end() && it->id == *query.id && matches(*it)) found.push_back(&*it);
  } else {
    for (const Execution& e : executions_) {
      if (matches(e)) found.push_back(&e);
    }
  }
  if (query.offset >= found.size()) return out;
  const std::size_t end = query.offset + std::min(query.limit, found.size() - query.offset);
  const auto newer = [](const Execution* a, const Execution* b) {
    return a->run_time != b->run_time ? a->run_time > b->run_time : a->id > b->id;
  };
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(end), found.end(),
                    newer);
  out.reserve(end - query.offset);
  for (std::size_t i = query.offset; i < end; ++i) out.push_back(copy(*found[i]));
  return out;
}

std::size_t MemoryJobStore::delete_old_executions_(TimePoint cutoff) {
  std::lock_guard lock(mutex_);
  apply_completions();
  const auto before = executions_.size();
  std::erase_if(executions_, [cutoff](const Execution& e) {
    return e.run_time < cutoff && e.status != ExecutionStatus::started;
  });
  recorded_.clear();
  for (const Execution& e : executions_) recorded_.insert(fingerprint(e.job_id, e.run_time));
  return before - executions_.size();
}

}  // namespace sked
