#include <sked/errors.hpp>
#include <sked/stores/memory.hpp>

#include <algorithm>

namespace sked {

MemoryJobStore::MemoryJobStore(std::size_t max_executions) : max_executions_(max_executions) {}

void MemoryJobStore::index(Entry& entry) {
  if (entry.job->next_run_time) by_time_.emplace(Key{*entry.job->next_run_time, entry.seq}, &entry);
}

void MemoryJobStore::unindex(const Entry& entry) {
  if (entry.job->next_run_time) by_time_.erase(Key{*entry.job->next_run_time, entry.seq});
}

void MemoryJobStore::add_job(const Job& job) {
  std::lock_guard lock(mutex_);
  if (jobs_.contains(job.id)) throw ConflictingIdError(job.id);
  auto [it, inserted] = jobs_.emplace(job.id, Entry{std::make_shared<const Job>(job), next_seq_++});
  index(it->second);
}

void MemoryJobStore::update_job(const Job& job) {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(job.id);
  if (it == jobs_.end()) throw JobNotFound(job.id);
  unindex(it->second);
  it->second.job = std::make_shared<const Job>(job);
  index(it->second);
}

void MemoryJobStore::remove_job(std::string_view id) {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) throw JobNotFound(std::string{id});
  unindex(it->second);
  jobs_.erase(it);
  if (const auto r = requests_.find(id); r != requests_.end()) requests_.erase(r);
}

void MemoryJobStore::remove_all_jobs() {
  std::lock_guard lock(mutex_);
  by_time_.clear();
  jobs_.clear();
  requests_.clear();
}

std::optional<Job> MemoryJobStore::lookup_job(std::string_view id) const {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return *it->second.job;
}

std::vector<Job> MemoryJobStore::get_all_jobs() const {
  std::lock_guard lock(mutex_);
  std::vector<Job> out;
  out.reserve(jobs_.size());
  for (const auto& [key, entry] : by_time_) out.push_back(*entry->job);
  std::vector<Job> paused;
  for (const auto& [id, entry] : jobs_) {
    if (!entry.job->next_run_time) paused.push_back(*entry.job);
  }
  std::sort(paused.begin(), paused.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  std::move(paused.begin(), paused.end(), std::back_inserter(out));
  return out;
}

std::optional<TimePoint> MemoryJobStore::next_run_time() const {
  std::lock_guard lock(mutex_);
  std::optional<TimePoint> next;
  if (!by_time_.empty()) next = by_time_.begin()->first.first;
  for (const auto& [id, at] : requests_) {
    if (!next || at < *next) next = at;
  }
  return next;
}

TimePoint MemoryJobStore::request_run(std::string_view job_id, TimePoint at) {
  std::lock_guard lock(mutex_);
  if (!jobs_.contains(job_id)) throw JobNotFound(std::string{job_id});
  return requests_.try_emplace(std::string{job_id}, at).first->second;
}

bool MemoryJobStore::withdraw_run_request(std::string_view job_id) {
  std::lock_guard lock(mutex_);
  const auto it = requests_.find(job_id);
  if (it == requests_.end()) return false;
  requests_.erase(it);
  return true;
}

// With mutex_ held, after the scheduled runs were claimed (so max_instances counts them).
void MemoryJobStore::claim_requests(TimePoint now, std::size_t limit, const ClaimFilter& runnable,
                                    std::vector<ClaimedJob>& out) {
  for (auto it = requests_.begin(); it != requests_.end() && out.size() < limit;) {
    const auto job = jobs_.find(it->first);
    if (job == jobs_.end()) {
      it = requests_.erase(it);  // a one-shot job this claim ran and removed
      continue;
    }
    if (it->second > now || (runnable && !runnable(*job->second.job))) {
      ++it;
      continue;
    }
    const auto running = running_.find(it->first);
    Execution e = plan_requested_run(*job->second.job, it->second, now,
                                     running == running_.end() ? 0 : running->second);
    e.id = next_execution_id_++;
    record(e);
    if (e.status == ExecutionStatus::started) count_running(e.job_id, 1);
    out.push_back({job->second.job, {std::move(e)}});
    it = requests_.erase(it);
  }
}

std::size_t MemoryJobStore::size() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void MemoryJobStore::record(Execution execution) {
  if (max_executions_ == 0) return;
  executions_.push_back(std::move(execution));
  while (executions_.size() > max_executions_) executions_.pop_front();
}

std::vector<ClaimedJob> MemoryJobStore::claim_due_jobs(TimePoint now, std::size_t limit,
                                                      const ClaimFilter& runnable) {
  std::lock_guard lock(mutex_);
  apply_completions();
  std::vector<ClaimedJob> out;
  auto node = by_time_.begin();
  while (out.size() < limit && node != by_time_.end() && node->first.first <= now) {
    Entry& entry = *node->second;
    if (runnable && !runnable(*entry.job)) {
      ++node;
      continue;
    }
    const auto running = running_.find(entry.job->id);
    FirePlan plan = plan_fire(*entry.job, now, running == running_.end() ? 0 : running->second);

    int started = 0;
    for (auto& e : plan.executions) {
      e.id = next_execution_id_++;
      if (e.status == ExecutionStatus::started) ++started;
      record(e);
    }
    if (started > 0) count_running(entry.job->id, started);
    ClaimedJob claim{entry.job, std::move(plan.executions)};

    // The advanced job is re-indexed after `now`, beyond the due range this loop walks.
    node = by_time_.erase(node);
    if (plan.next_run_time) {
      auto advanced = std::make_shared<Job>(*entry.job);
      advanced->next_run_time = plan.next_run_time;
      entry.job = std::move(advanced);
      index(entry);
    } else {
      jobs_.erase(claim.job->id);  // the claim keeps the job, and so the id, alive
    }
    out.push_back(std::move(claim));
  }
  if (!requests_.empty()) claim_requests(now, limit, runnable, out);
  return out;
}

Execution MemoryJobStore::begin_execution(std::string_view job_id, TimePoint run_time) {
  std::lock_guard lock(mutex_);
  apply_completions();
  Execution e;
  e.id = next_execution_id_++;
  e.job_id = std::string{job_id};
  e.run_time = run_time;
  e.status = ExecutionStatus::started;
  record(e);
  count_running(e.job_id, 1);
  return e;
}

void MemoryJobStore::complete_execution(const Execution& execution) {
  // A worker never waits on mutex_ while a claim of 512 jobs holds it (measured: most of the dispatch
  // loop's context switches at 8 workers): it queues its outcome for the next call that reads the
  // history or the running counts. When mutex_ is free it records the outcome itself, so that work
  // stays off the scheduler's loop thread.
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (lock.owns_lock()) {
    apply_completions();
    apply_completion(execution);
    return;
  }
  std::lock_guard queue_lock(completed_mutex_);
  completed_.push_back(execution);
}

void MemoryJobStore::apply_completions() const {
  {
    std::lock_guard lock(completed_mutex_);
    if (completed_.empty()) return;
    applying_.swap(completed_);
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
  // Ids ascend and are contiguous unless delete_old_executions left gaps: try the slot the id would
  // have first, then search.
  const std::int64_t offset = execution.id - executions_.front().id;
  if (offset >= 0 && offset < static_cast<std::int64_t>(executions_.size())) {
    auto& slot = executions_[static_cast<std::size_t>(offset)];
    if (slot.id == execution.id) {
      slot = execution;
      return;
    }
  }
  const auto it = std::lower_bound(executions_.begin(), executions_.end(), execution.id,
                                   [](const Execution& e, std::int64_t id) { return e.id < id; });
  if (it != executions_.end() && it->id == execution.id) *it = execution;
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

std::vector<Execution> MemoryJobStore::get_executions(const ExecutionQuery& query) const {
  std::lock_guard lock(mutex_);
  apply_completions();
  std::vector<Execution> out;
  for (auto it = executions_.rbegin(); it != executions_.rend() && out.size() < query.limit; ++it) {
    if (query.id && it->id != *query.id) continue;
    if (query.job_id && it->job_id != *query.job_id) continue;
    if (query.status && it->status != *query.status) continue;
    if (query.since && it->run_time < *query.since) continue;
    out.push_back(*it);
  }
  return out;
}

std::size_t MemoryJobStore::delete_old_executions(TimePoint cutoff) {
  std::lock_guard lock(mutex_);
  apply_completions();
  const auto before = executions_.size();
  std::erase_if(executions_, [cutoff](const Execution& e) {
    return e.run_time < cutoff && e.status != ExecutionStatus::started;
  });
  return before - executions_.size();
}

}  // namespace sked
