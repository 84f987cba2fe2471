#include <sked/errors.hpp>
#include <sked/job_store.hpp>

#include <fmt/format.h>

#include <cstddef>
#include <cstdio>
#include <utility>

namespace sked {
namespace {

// Past this many steps through overdue fire times, jump straight to the present (a one-second cron down
// for years must not spin the claim for minutes).
constexpr std::size_t max_steps_per_claim = 1'000'000;

// How far past a taken instant an out-of-schedule run looks for a free one (one microsecond a step).
constexpr int max_run_time_bumps = 1000;

Execution record_for(const Job& job, TimePoint run_time, ExecutionStatus status) {
  Execution e;
  e.job_id = job.id;
  e.run_time = run_time;
  e.status = status;
  return e;
}

// Whether a retry of a job that is gone from its store still runs: only when the job left because its
// schedule ended (a one-shot job), not when it was removed or would fire again.
bool schedule_ended(const Job& snapshot, TimePoint failed_at) {
  return snapshot.trigger && !snapshot.trigger->next_fire_time(failed_at, failed_at);
}

// Cuts `text` to its last `code_points` characters (UTF-8 continuation bytes stay with their
// character).
void keep_tail(std::string& text, std::size_t code_points) {
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0 && seen < code_points;) {
    --start;
    if ((static_cast<unsigned char>(text[start]) & 0xC0) != 0x80) ++seen;
  }
  // A run of continuation bytes at the cut belongs to the character before it: drop them too.
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  text.erase(0, start);
}

}  // namespace

// ---- leases ------------------------------------------------------------------------------------

RunLease::RunLease(std::shared_ptr<const Home> home, std::shared_ptr<const Job> job, Execution execution,
                   int attempt) noexcept
    : home_(std::move(home)), job_(std::move(job)), execution_(std::move(execution)), attempt_(attempt) {}

RunLease::RunLease(RunLease&& other) noexcept
    : home_(std::move(other.home_)),
      job_(std::move(other.job_)),
      task_(std::move(other.task_)),
      execution_(std::move(other.execution_)),
      attempt_(other.attempt_) {}

RunLease& RunLease::operator=(RunLease&& other) noexcept {
  if (this != &other) {
    drop();
    home_ = std::move(other.home_);
    job_ = std::move(other.job_);
    task_ = std::move(other.task_);
    execution_ = std::move(other.execution_);
    attempt_ = other.attempt_;
  }
  return *this;
}

RunLease::~RunLease() { drop(); }

void RunLease::drop() noexcept {
  if (!active()) return;
  Outcome dropped;
  dropped.status = ExecutionStatus::interrupted;
  dropped.exception = "sked::Error: the run was dropped before it finished";
  complete(std::move(dropped));
}

void RunLease::complete(Outcome outcome) noexcept {
  if (!active()) return;
  // Taken first, so that a lease is settled once even if the store calls back into it.
  const std::shared_ptr<const Home> home = std::move(home_);
  home->store->end_run(*this, home->owner.get(), std::move(outcome));
}

// ---- the policy --------------------------------------------------------------------------------

JobStore::~JobStore() = default;

void JobStore::warn_(const std::string& message) const {
  std::fprintf(stderr, "sked: WARNING: %s\n", message.c_str());
}

bool JobStore::insert_at_free_instant(Transaction& tx, Execution& record) {
  for (int i = 0; i < max_run_time_bumps; ++i) {
    if (tx.insert_execution(record)) return true;
    record.run_time += Duration{1};
  }
  return false;
}

void JobStore::end_run(RunLease& lease, RunOwner* owner, Outcome outcome) noexcept {
  Execution record = lease.execution_;
  std::optional<TimePoint> retry_at;
  std::string error;
  try {
    record.status = outcome.status;
    record.duration = outcome.duration;
    record.finished = owner ? owner->now() : SystemClock::instance()->now();
    record.exception = std::move(outcome.exception);
    record.traceback = std::move(outcome.traceback);
    std::optional<RunRequest> retry;
    const Job& job = *lease.job_;
    if (record.status == ExecutionStatus::error && lease.attempt_ < job.retry.max_attempts) {
      const int next = lease.attempt_ + 1;
      retry = RunRequest{.job_id = job.id, .at = *record.finished + job.retry.delay_before(next), .attempt = next,
                         .snapshot = lease.job_};
      retry_at = retry->at;
    }
    complete_(record, retry);
  } catch (const std::exception& e) {
    error = e.what();
    retry_at.reset();
  } catch (...) {
    error = "unknown error";
    retry_at.reset();
  }
  if (owner) {
    owner->run_ended(lease, record, retry_at, error);
  } else if (!error.empty()) {
    try {
      warn_(fmt::format("could not record the {} run of job '{}' at {}: {}", to_string(record.status),
                        record.job_id, format_time(record.run_time), error));
    } catch (...) {
      // Nothing is left to tell.
    }
  }
}

void JobStore::add_job(const Job& job, bool replace_existing) {
  job.validate();
  transact_(Purpose::change, [&](Transaction& tx) {
    if (tx.insert_job(job)) return;
    if (!replace_existing) throw ConflictingIdError(job.id);
    tx.replace_job(job);
  });
}

Job JobStore::modify_job(std::string_view id, const JobChange& change) {
  Job result;
  transact_(Purpose::change, [&](Transaction& tx) {
    const auto current = tx.find_job(id);
    if (!current) throw JobNotFound(std::string{id}, name_());
    Job job = *current;
    change(job);
    if (job.id != id) {
      throw InvalidArgument(fmt::format("job '{}': a change cannot give a job another id ('{}')", id, job.id));
    }
    job.validate();
    tx.replace_job(job);
    result = std::move(job);
  });
  return result;
}

void JobStore::remove_job(std::string_view id) {
  transact_(Purpose::change, [&](Transaction& tx) {
    if (!tx.find_job(id)) throw JobNotFound(std::string{id}, name_());
    tx.delete_job(id);
  });
}

void JobStore::remove_all_jobs() {
  transact_(Purpose::change, [](Transaction& tx) { tx.delete_all_jobs(); });
}

std::optional<Job> JobStore::lookup_job(std::string_view id) const {
  std::optional<Job> out;
  // Reading through a transaction keeps the hooks few; a read changes nothing, so it commits nothing.
  const_cast<JobStore*>(this)->transact_(Purpose::read, [&](Transaction& tx) {
    out.reset();
    if (auto job = tx.find_job(id)) out = *job;
  });
  return out;
}

std::vector<Job> JobStore::get_all_jobs() const { return all_jobs_(); }

std::optional<TimePoint> JobStore::next_run_time() const { return next_run_time_(); }

TimePoint JobStore::request_run(std::string_view job_id, TimePoint at) {
  TimePoint when = at;
  transact_(Purpose::change, [&](Transaction& tx) {
    if (!tx.find_job(job_id)) throw JobNotFound(std::string{job_id}, name_());
    if (const auto pending = tx.find_request(job_id)) {
      when = pending->at;
      return;
    }
    when = at;
    tx.insert_request(RunRequest{.job_id = std::string{job_id}, .at = at, .attempt = 1});
  });
  return when;
}

bool JobStore::withdraw_run_request(std::string_view job_id) {
  bool withdrawn = false;
  transact_(Purpose::change, [&](Transaction& tx) {
    withdrawn = false;
    if (const auto pending = tx.find_request(job_id)) {
      tx.delete_request(pending->id);
      withdrawn = true;
    }
  });
  return withdrawn;
}

std::vector<RunRequest> JobStore::pending_runs(std::optional<std::string_view> job_id) const {
  return pending_runs_(job_id);
}

std::vector<ClaimedJob> JobStore::claim_due_jobs(TimePoint now, std::size_t limit, const ClaimFilter& runnable,
                                                 std::shared_ptr<RunOwner> owner) {
  return claim(now, limit, runnable, owner, nullptr);
}

std::vector<ClaimedJob> JobStore::claim_due_jobs(TimePoint now, std::size_t limit, const ClaimFilter& runnable,
                                                 std::shared_ptr<RunOwner> owner, std::vector<RunLease>& runs) {
  return claim(now, limit, runnable, owner, &runs);
}

std::vector<ClaimedJob> JobStore::claim(TimePoint now, std::size_t limit, const ClaimFilter& runnable,
                                        const std::shared_ptr<RunOwner>& owner, std::vector<RunLease>* runs) {
  std::vector<ClaimedJob> claimed;
  std::vector<int> attempts;  // per claimed job; only requests and retries have one above 1
  std::vector<std::string> warnings;
  transact_(Purpose::claim, [&](Transaction& tx) {
    claimed.clear();
    attempts.clear();
    warnings.clear();
    while (claimed.size() < limit) {
      std::shared_ptr<const Job> job = tx.next_due(now);
      if (!job) break;
      if (runnable && !runnable(*job)) continue;
      FirePlan plan;
      try {
        plan = plan_fire(*job, now, tx.running_instances(job->id));
      } catch (const std::exception& e) {
        // A trigger that fails on one job must not keep the others from running.
        warnings.push_back(fmt::format("job '{}' could not be planned and stays due: {}", job->id, e.what()));
        continue;
      }
      ClaimedJob c{job, {}, {}};
      c.executions.reserve(plan.executions.size());
      for (Execution& e : plan.executions) {
        // A fire time recorded before (the job was removed and added again, or its next run time was
        // set back) has had its run and does not get another.
        if (tx.insert_execution(e)) c.executions.push_back(std::move(e));
      }
      if (plan.next_run_time) {
        tx.reschedule(job->id, *plan.next_run_time);
      } else {
        tx.delete_job(job->id);
        c.schedule_ended = true;
      }
      claimed.push_back(std::move(c));
      attempts.push_back(1);
    }
    // Requests and retries after the scheduled runs, so that max_instances counts both.
    if (claimed.size() >= limit) return;
    for (RunRequest& request : tx.due_requests(now)) {
      if (claimed.size() >= limit) break;
      std::shared_ptr<const Job> job = tx.find_job(request.job_id);
      if (!job) {
        if (!request.snapshot || !schedule_ended(*request.snapshot, request.at)) {
          tx.delete_request(request.id);  // its job was removed: nothing left to run
          continue;
        }
        job = request.snapshot;
      }
      if (runnable && !runnable(*job)) continue;
      tx.delete_request(request.id);
      Execution e = plan_requested_run(*job, request.at, now, tx.running_instances(job->id));
      if (!insert_at_free_instant(tx, e)) continue;
      claimed.push_back(ClaimedJob{std::move(job), {std::move(e)}, {}});
      attempts.push_back(request.attempt);
    }
  });
  for (const auto& w : warnings) warn_(name_().empty() ? w : fmt::format("job store '{}': {}", name_(), w));

  // Leases only once the claim is committed: a lease dropped from a rolled-back attempt would record
  // an interruption.
  if (claimed.empty()) return claimed;
  const auto home = std::make_shared<const RunLease::Home>(RunLease::Home{shared_from_this(), owner});
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    ClaimedJob& c = claimed[i];
    for (const Execution& e : c.executions) {
      if (e.status != ExecutionStatus::started) continue;
      (runs ? *runs : c.runs).push_back(RunLease{home, c.job, e, attempts[i]});
    }
  }
  return claimed;
}

RunLease JobStore::start_run(std::string_view job_id, TimePoint at, std::shared_ptr<RunOwner> owner) {
  std::shared_ptr<const Job> job;
  Execution record;
  // A claim, for the store: the record names the scheduler running it.
  transact_(Purpose::claim, [&](Transaction& tx) {
    job = tx.find_job(job_id);
    if (!job) throw JobNotFound(std::string{job_id}, name_());
    record = record_for(*job, at, ExecutionStatus::started);
    if (!insert_at_free_instant(tx, record)) {
      throw Error(fmt::format("job '{}': no free run time within {} microseconds after {}", job_id,
                              max_run_time_bumps, format_time(at)));
    }
  });
  auto home = std::make_shared<const RunLease::Home>(RunLease::Home{shared_from_this(), std::move(owner)});
  return RunLease{std::move(home), std::move(job), std::move(record), 1};
}

std::vector<Execution> JobStore::get_executions(const ExecutionQuery& query) const {
  auto records = query_executions_(query);
  // The texts asked for, whether or not the store already read less: a store may leave these two
  // fields to this function.
  for (Execution& e : records) {
    if (!query.with_texts) {
      e.exception.clear();
      e.traceback.clear();
    } else if (query.traceback_tail) {
      keep_tail(e.traceback, *query.traceback_tail);
    }
  }
  return records;
}

std::size_t JobStore::delete_old_executions(TimePoint cutoff) { return delete_old_executions_(cutoff); }

Execution plan_requested_run(const Job& job, TimePoint requested, TimePoint now,
                             int running_instances) {
  const ExecutionStatus status = now - requested > job.misfire_grace_time  ? ExecutionStatus::missed
                                 : running_instances >= job.max_instances ? ExecutionStatus::max_instances
                                                                          : ExecutionStatus::started;
  return record_for(job, requested, status);
}

FirePlan plan_fire(const Job& job, TimePoint now, int running_instances) {
  FirePlan plan;
  // The common case, one due run time: decided without the lists the general case below builds.
  if (job.next_run_time && *job.next_run_time <= now) {
    const TimePoint rt = *job.next_run_time;
    const auto next = job.trigger->next_fire_time(rt, now);
    if (!next || *next > now) {
      plan.next_run_time = next;
      const ExecutionStatus status = now - rt > job.misfire_grace_time       ? ExecutionStatus::missed
                                     : running_instances >= job.max_instances ? ExecutionStatus::max_instances
                                                                              : ExecutionStatus::started;
      plan.executions.push_back(record_for(job, rt, status));
      return plan;
    }
  }
  std::vector<TimePoint> due;  // nearly always one element: no deque, whose first chunk alone is 512 bytes
  std::optional<TimePoint> t = job.next_run_time;
  std::size_t steps = 0;
  while (t && *t <= now) {
    due.push_back(*t);
    // Keep only the newest max_run_times_per_claim, trimming in bulk so the loop stays linear.
    if (due.size() >= 2 * max_run_times_per_claim) {
      due.erase(due.begin(), due.end() - static_cast<std::ptrdiff_t>(max_run_times_per_claim));
    }
    if (++steps == max_steps_per_claim) {
      t = job.trigger->next_fire_time(std::nullopt, now);
      continue;
    }
    t = job.trigger->next_fire_time(t, now);
  }
  plan.next_run_time = t;
  if (due.size() > max_run_times_per_claim) {
    due.erase(due.begin(), due.end() - static_cast<std::ptrdiff_t>(max_run_times_per_claim));
  }

  std::vector<TimePoint> runnable;
  for (const TimePoint rt : due) {
    if (now - rt > job.misfire_grace_time) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::missed));
    } else {
      runnable.push_back(rt);
    }
  }
  if (job.coalesce && runnable.size() > 1) {
    // Overdue runs fold into the latest one; the folded fire times are recorded, not silently dropped.
    for (std::size_t i = 0; i + 1 < runnable.size(); ++i) {
      plan.executions.push_back(record_for(job, runnable[i], ExecutionStatus::missed));
    }
    runnable.erase(runnable.begin(), runnable.end() - 1);
  }
  for (const TimePoint rt : runnable) {
    if (running_instances >= job.max_instances) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::max_instances));
    } else {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::started));
      ++running_instances;
    }
  }
  return plan;
}

}  // namespace sked
