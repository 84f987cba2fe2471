#pragma once
// The smallest complete job store: storage only, in plain containers under one mutex. Every rule
// (fire plans, one record per fire time, max_instances, run requests, retries, atomic changes)
// comes from the JobStore base class. It passes the whole store contract suite; docs/extending.md
// walks through it.

#include <sked/job_store.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace sked::test {

class MinimalJobStore : public JobStore {
 protected:
  void transact_(Purpose, const std::function<void(Transaction&)>& body) override {
    std::lock_guard lock(mutex_);
    // Changes apply as they are made; the base class makes every change only once nothing can fail.
    Tx tx{*this};
    body(tx);
  }

  void complete_(const Execution& record, const std::optional<RunRequest>& retry) override {
    std::lock_guard lock(mutex_);
    for (Execution& e : history_) {
      if (e.id == record.id) e = record;
    }
    if (retry) add_request(*retry);
  }

  std::vector<Job> all_jobs_() const override {
    std::lock_guard lock(mutex_);
    std::vector<Job> out;
    for (const auto& [id, job] : jobs_) out.push_back(job);
    std::stable_sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
      if (!a.next_run_time || !b.next_run_time)
        return a.next_run_time.has_value() && !b.next_run_time;
      return *a.next_run_time < *b.next_run_time;
    });
    return out;
  }

  std::optional<TimePoint> next_run_time_() const override {
    std::lock_guard lock(mutex_);
    std::optional<TimePoint> next;
    for (const auto& [id, job] : jobs_) {
      if (job.next_run_time && (!next || *job.next_run_time < *next)) next = job.next_run_time;
    }
    for (const auto& [id, r] : requests_) {
      if (!next || r.at < *next) next = r.at;
    }
    return next;
  }

  std::vector<RunRequest> pending_runs_(std::optional<std::string_view> job_id) const override {
    std::lock_guard lock(mutex_);
    std::vector<RunRequest> out;
    for (const auto& [id, r] : requests_) {
      if (!job_id || r.job_id == *job_id) out.push_back(r);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.at < b.at; });
    return out;
  }

  // Filters, orders and pages; JobStore::get_executions trims the texts.
  std::vector<Execution> query_executions_(const ExecutionQuery& q) const override {
    std::lock_guard lock(mutex_);
    std::vector<Execution> out;
    for (const Execution& e : history_) {
      if ((!q.id || e.id == *q.id) && (!q.job_id || e.job_id == *q.job_id) &&
          (!q.status || e.status == *q.status) && (!q.since || e.run_time >= *q.since) &&
          (!q.until || e.run_time < *q.until) && (!q.after_id || e.id > *q.after_id)) {
        out.push_back(e);
      }
    }
    std::sort(out.begin(), out.end(), [&](const Execution& a, const Execution& b) {
      if (q.order == ExecutionOrder::oldest_id_first) return a.id < b.id;
      return a.run_time != b.run_time ? a.run_time > b.run_time : a.id > b.id;
    });
    out.erase(out.begin(),
              out.begin() + static_cast<std::ptrdiff_t>(std::min(q.offset, out.size())));
    if (out.size() > q.limit) out.resize(q.limit);
    return out;
  }

  std::size_t delete_old_executions_(TimePoint cutoff) override {
    std::lock_guard lock(mutex_);
    return std::erase_if(history_, [cutoff](const Execution& e) {
      return e.run_time < cutoff && e.status != ExecutionStatus::started;
    });
  }

 private:
  class Tx final : public Transaction {
   public:
    explicit Tx(MinimalJobStore& s) : s_(s) {}
    std::shared_ptr<const Job> find_job(std::string_view id) override {
      const auto it = s_.jobs_.find(std::string{id});
      return it == s_.jobs_.end() ? nullptr : std::make_shared<const Job>(it->second);
    }
    bool insert_job(const Job& job) override { return s_.jobs_.emplace(job.id, job).second; }
    void replace_job(const Job& job) override { s_.jobs_.at(job.id) = job; }
    void delete_job(std::string_view id) override {
      s_.jobs_.erase(std::string{id});
      std::erase_if(s_.requests_, [id](const auto& r) { return r.second.job_id == id; });
    }
    void delete_all_jobs() override {
      s_.jobs_.clear();
      s_.requests_.clear();
    }
    std::shared_ptr<const Job> next_due(TimePoint now) override {
      // Soonest first, then by id, skipping what this transaction returned already.
      const Job* best = nullptr;
      for (const auto& [id, job] : s_.jobs_) {
        if (!job.next_run_time || *job.next_run_time > now || seen_.contains(id)) continue;
        if (!best || *job.next_run_time < *best->next_run_time) best = &job;
      }
      if (!best) return nullptr;
      seen_.insert(best->id);
      return std::make_shared<const Job>(*best);
    }
    void reschedule(std::string_view id, TimePoint next) override {
      s_.jobs_.at(std::string{id}).next_run_time = next;
    }
    int running_instances(std::string_view job_id) override {
      return static_cast<int>(
          std::count_if(s_.history_.begin(), s_.history_.end(), [&](const Execution& e) {
            return e.job_id == job_id && e.status == ExecutionStatus::started;
          }));
    }
    bool insert_execution(Execution& record) override {
      for (const Execution& e : s_.history_) {
        if (e.job_id == record.job_id && e.run_time == record.run_time) return false;
      }
      record.id = ++s_.last_id_;
      s_.history_.push_back(record);
      return true;
    }
    std::vector<RunRequest> due_requests(TimePoint now) override {
      std::vector<RunRequest> due;
      for (const auto& [id, r] : s_.requests_) {
        if (r.at <= now) due.push_back(r);
      }
      std::stable_sort(due.begin(), due.end(),
                       [](const auto& a, const auto& b) { return a.at < b.at; });
      return due;
    }
    std::optional<RunRequest> find_request(std::string_view job_id) override {
      for (const auto& [id, r] : s_.requests_) {
        if (r.job_id == job_id && r.attempt == 1) return r;
      }
      return std::nullopt;
    }
    void insert_request(const RunRequest& request) override { s_.add_request(request); }
    void delete_request(std::int64_t id) override { s_.requests_.erase(id); }

   private:
    MinimalJobStore& s_;
    std::set<std::string> seen_;
  };

  void add_request(RunRequest r) {
    r.id = ++last_id_;
    requests_.emplace(r.id, std::move(r));
  }

  mutable std::mutex mutex_;
  std::map<std::string, Job> jobs_;
  std::map<std::int64_t, RunRequest> requests_;
  std::vector<Execution> history_;
  std::int64_t last_id_ = 0;
};

}  // namespace sked::test
