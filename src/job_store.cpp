#include <sked/errors.hpp>
#include <sked/job_store.hpp>

#include "detail/defer_completions.hpp"

#include <fmt/format.h>

#include "detail/block_pool.hpp"
#include "detail/run_process.hpp"
#include "detail/runs_here.hpp"
#include "detail/scheduler_registry.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <mutex>
#include <span>
#include <utility>

namespace sked {
namespace {

// Past this many steps through overdue fire times, jump straight to the present (a one-second cron
// down for years must not spin the claim for minutes).
constexpr std::size_t max_steps_per_claim = 1'000'000;

// How far past a taken instant an out-of-schedule run looks for a free one (one microsecond a
// step).
constexpr int max_run_time_bumps = 1000;

Execution record_for(const Job& job, TimePoint run_time, ExecutionStatus status) {
  Execution e;
  e.job_id = job.id;
  e.run_time = run_time;
  e.status = status;
  return e;
}

// Whether a retry of a job that is gone from its store still runs: only when the job left because
// its schedule ended (a one-shot job), not when it was removed or would fire again.
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

bool runs_in(const Job& job, const std::vector<std::string>& groups) noexcept {
  return std::find(groups.begin(), groups.end(), job.group) != groups.end();
}

// ---- leases ------------------------------------------------------------------------------------

RunLease::RunLease(std::shared_ptr<const Home> home, std::shared_ptr<const Job> job,
                   Execution execution, int attempt) {
  auto& pool = detail::BlockPool::of<State>();
  void* block = pool.allocate();
  // Nothing below throws: the members are moved in.
  state_ =
      new (block) State{std::move(home), std::move(job), nullptr, std::move(execution), attempt};
}

RunLease::RunLease(RunLease&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

RunLease& RunLease::operator=(RunLease&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

RunLease::~RunLease() { release(); }

const RunLease::State& RunLease::empty_state() noexcept {
  static const State empty{};
  return empty;
}

void RunLease::release() noexcept {
  if (state_ == nullptr) return;
  drop();
  state_->~State();
  detail::BlockPool::of<State>().deallocate(std::exchange(state_, nullptr));
}

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
  const std::shared_ptr<const Home> home = std::move(state_->home);
  JobStore& store = *home->store;  // `home` is moved on: it keeps the store and the owner alive
  store.end_run(*this, home, std::move(outcome));
}

void RunLease::record_process_group(int pgid) const noexcept {
  if (active()) record_process_group(*state_->home->store, state_->execution, pgid);
}

std::function<void(int)> RunLease::process_group_recorder() const {
  if (!active()) return {};
  return [store = state_->home->store, run = state_->execution](int pgid) {
    record_process_group(*store, run, pgid);
  };
}

void RunLease::record_process_group(JobStore& store, const Execution& run, int pgid) noexcept {
  try {
    const auto process =
        detail::describe_process_group(static_cast<pid_t>(pgid), detail::host_name());
    // Gone already (the command ended at once): nothing can outlive this process.
    if (!process) return;
    store.record_process_(run, detail::format_run_process(*process));
  } catch (const std::exception& e) {
    try {
      const std::string w =
          fmt::format("run {} of job '{}': recording its process group {} failed: {}", run.id,
                      run.job_id, pgid, e.what());
      store.warn_(store.name_().empty() ? w : fmt::format("job store '{}': {}", store.name_(), w));
    } catch (...) {
      // Nothing more to do: the command runs whether or not it was recorded.
    }
  }
}

// ---- outcomes the store could not write ---------------------------------------------------------

// A finished run's outcome must reach the store: a run whose `started` record stays would count
// towards max_instances for ever (every later fire skipped until a restart). So an outcome whose
// write fails is kept here and written again before the next claim or completion.
struct JobStore::Unwritten {
  struct Kept {
    Execution record;
    std::optional<RunRequest> retry;
  };
  std::mutex mutex;       // guards the members below it, never held while calling a hook
  std::deque<Kept> kept;  // oldest first
  bool reported = false;  // this spell of failures was reported
  bool reported_drop = false;
  std::size_t dropped = 0;
  // kept.size() plus the one being written: the claim's hot path reads it without the lock.
  std::atomic<std::size_t> count{0};
  std::mutex writer;  // one thread writes them at a time
};

struct JobStore::LocalListener {
  std::mutex mutex;  // held while the listener runs: clearing it waits for a call in progress
  std::function<void(TimePoint)> fn;
  std::atomic<bool> set{false};  // spares changes the lock when nobody listens
};

// An outcome waiting for its batch, with what its owner is told once the batch is written: a copy
// of the lease (the one the run held may be gone by then) and the claim's home, which keeps the
// store and the owner alive.
struct JobStore::Finished {
  Execution record;
  std::optional<RunRequest> retry;
  std::optional<TimePoint> retry_at;
  std::shared_ptr<const RunLease::Home> home;
  RunLease lease;
};

struct JobStore::Batching {
  std::mutex mutex;  // guards `queued`
  std::vector<Finished> queued;
  std::mutex writer;  // held by the thread writing batches
};

JobStore::JobStore()
    : unwritten_(std::make_unique<Unwritten>()),
      batching_(std::make_unique<Batching>()),
      local_(std::make_unique<LocalListener>()) {}

void JobStore::complete_many_(const std::vector<Completion>& batch) {
  for (const auto& c : batch) complete_(*c.record, *c.retry);
}

void JobStore::set_local_change_listener(std::function<void(TimePoint)> listener) {
  std::lock_guard lock(local_->mutex);
  local_->fn = std::move(listener);
  local_->set.store(static_cast<bool>(local_->fn), std::memory_order_release);
}

void JobStore::changed(TimePoint due) const noexcept {
  if (!local_->set.load(std::memory_order_acquire)) return;
  std::lock_guard lock(local_->mutex);
  if (!local_->fn) return;
  try {
    local_->fn(due);
  } catch (...) {
    // A listener must not throw; the change is stored either way.
  }
}

std::size_t JobStore::unwritten_completions() const noexcept {
  return unwritten_->count.load(std::memory_order_acquire);
}

bool JobStore::write_unwritten() noexcept {
  Unwritten& u = *unwritten_;
  if (u.count.load(std::memory_order_acquire) == 0) return true;
  std::unique_lock writer(u.writer, std::try_to_lock);
  if (!writer.owns_lock()) return false;
  std::size_t written = 0;
  for (;;) {
    Unwritten::Kept item;
    {
      std::lock_guard lock(u.mutex);
      if (u.kept.empty()) break;
      // Out of the list while it is written: a claim meanwhile counts it as running, as the store
      // does until the write commits, rather than as finished before it is.
      item = std::move(u.kept.front());
      u.kept.pop_front();
    }
    try {
      complete_(item.record, item.retry);
    } catch (...) {
      std::lock_guard lock(u.mutex);
      u.kept.push_front(std::move(item));
      return false;
    }
    u.count.fetch_sub(1, std::memory_order_acq_rel);
    ++written;
  }
  std::size_t dropped = 0;
  bool report = false;
  {
    std::lock_guard lock(u.mutex);
    if (!u.kept.empty()) return false;  // kept by another thread since; written next time
    report = u.reported && written > 0;
    u.reported = false;
    u.reported_drop = false;
    dropped = std::exchange(u.dropped, 0);
  }
  if (report) {
    try {
      const std::string lost =
          dropped == 0
              ? std::string{}
              : fmt::format(
                    "; {} older one(s) were dropped and will be recorded interrupted when this "
                    "process stops",
                    dropped);
      const std::string w =
          fmt::format("recorded how {} run(s) ended, kept while the store could not be written{}",
                      written, lost);
      warn_(name_().empty() ? w : fmt::format("job store '{}': {}", name_(), w));
    } catch (...) {
      // Nothing is left to tell.
    }
  }
  return true;
}

void JobStore::keep_unwritten(Execution record, std::optional<RunRequest> retry,
                              const std::string& error) noexcept {
  Unwritten& u = *unwritten_;
  bool report = false;
  bool report_drop = false;
  try {
    std::lock_guard lock(u.mutex);
    u.kept.push_back(Unwritten::Kept{std::move(record), std::move(retry)});
    u.count.fetch_add(1, std::memory_order_acq_rel);
    if (u.kept.size() > max_unwritten_completions) {
      u.kept.pop_front();
      u.count.fetch_sub(1, std::memory_order_acq_rel);
      ++u.dropped;
      report_drop = !std::exchange(u.reported_drop, true);
    }
    report = !std::exchange(u.reported, true);
  } catch (...) {
    // Out of memory: the run stays `started` until the liveness check records it interrupted.
  }
  try {
    if (report) {
      const std::string w = fmt::format(
          "could not record how a run ended ({}); its outcome is kept and written as soon as the "
          "store accepts "
          "it, with any others that fail meanwhile (at most {})",
          error, max_unwritten_completions);
      warn_(name_().empty() ? w : fmt::format("job store '{}': {}", name_(), w));
    }
    if (report_drop) {
      const std::string w = fmt::format(
          "more than {} run outcomes could not be written: the oldest are dropped, and their runs "
          "will be "
          "recorded interrupted when this process stops",
          max_unwritten_completions);
      warn_(name_().empty() ? w : fmt::format("job store '{}': {}", name_(), w));
    }
  } catch (...) {
    // Nothing is left to tell.
  }
}

int JobStore::running_instances(Transaction& tx, const std::string& job_id) const {
  int n = tx.running_instances(job_id);
  if (unwritten_->count.load(std::memory_order_acquire) == 0) return n;
  std::lock_guard lock(unwritten_->mutex);
  for (const auto& k : unwritten_->kept) {
    if (k.record.job_id == job_id) --n;
  }
  // A kept run another process has since recorded interrupted is no longer counted by the store.
  return std::max(n, 0);
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

void JobStore::end_run(RunLease& lease, std::shared_ptr<const RunLease::Home> home,
                       Outcome outcome) noexcept {
  RunOwner* const owner = home->owner.get();
  const RunLease::State& lease_state = *lease.state_;
  Execution record = lease_state.execution;
  std::optional<TimePoint> retry_at;
  std::optional<RunRequest> retry;
  std::string error;
  try {
    record.status = outcome.status;
    record.duration = outcome.duration;
    record.finished = owner ? owner->now() : SystemClock::instance()->now();
    record.exception = std::move(outcome.exception);
    record.traceback = std::move(outcome.traceback);
    const Job& job = *lease_state.job;
    if (record.status == ExecutionStatus::error && lease_state.attempt < job.retry.max_attempts) {
      const int next = lease_state.attempt + 1;
      retry = RunRequest{.job_id = job.id,
                         .at = *record.finished + job.retry.delay_before(next),
                         .attempt = next,
                         .snapshot = lease_state.job};
      retry_at = retry->at;
    }
  } catch (const std::exception& e) {
    error = e.what();
    retry_at.reset();
  } catch (...) {
    error = "unknown error";
    retry_at.reset();
  }
  if (error.empty() && batches_completions_()) {
    std::optional<RunLease> copy;
    try {
      copy.emplace(RunLease{nullptr, lease_state.job, lease_state.execution, lease_state.attempt});
    } catch (...) {
      // Out of memory: written by this thread alone, below.
    }
    if (copy) {
      finish_later(Finished{std::move(record), std::move(retry), retry_at, std::move(home),
                            std::move(*copy)});
      return;
    }
  }
  if (error.empty()) {
    // Older outcomes still unwritten: the store is failing, and this one waits its turn behind
    // them.
    if (!write_unwritten()) {
      keep_unwritten(record, retry, "the store still refuses older outcomes");
    } else {
      try {
        complete_(record, retry);
      } catch (const std::exception& e) {
        keep_unwritten(record, retry, e.what());
      } catch (...) {
        keep_unwritten(record, retry, "unknown error");
      }
    }
  }
  if (owner) {
    owner->run_ended(lease, record, retry_at, error);
  } else if (!error.empty()) {
    try {
      warn_(fmt::format("could not record the {} run of job '{}' at {}: {}",
                        to_string(record.status), record.job_id, format_time(record.run_time),
                        error));
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
  if (job.next_run_time) changed(*job.next_run_time);
}

Job JobStore::modify_job(std::string_view id, const JobChange& change) {
  Job result;
  transact_(Purpose::change, [&](Transaction& tx) {
    const auto current = tx.find_job(id);
    if (!current) throw JobNotFound(std::string{id}, name_());
    Job job = *current;
    change(job);
    if (job.id != id) {
      throw InvalidArgument(
          fmt::format("job '{}': a change cannot give a job another id ('{}')", id, job.id));
    }
    job.validate();
    tx.replace_job(job);
    result = std::move(job);
  });
  if (result.next_run_time) changed(*result.next_run_time);
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
  // Reading through a transaction keeps the hooks few; a read changes nothing, so it commits
  // nothing.
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
  changed(when);
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

std::vector<ClaimedJob> JobStore::claim_due_jobs(TimePoint now, std::size_t limit,
                                                 const ClaimFilter& runnable,
                                                 std::shared_ptr<RunOwner> owner) {
  return claim(now, limit, runnable, owner, nullptr, nullptr);
}

std::vector<ClaimedJob> JobStore::claim_due_jobs(TimePoint now, std::size_t limit,
                                                 const ClaimFilter& runnable,
                                                 std::shared_ptr<RunOwner> owner,
                                                 std::vector<RunLease>& runs,
                                                 const ClaimRoom& room) {
  return claim(now, limit, runnable, owner, &runs, room ? &room : nullptr);
}

namespace {

// The runs one claim took per executor, for `ClaimRoom`: nearly always one executor, kept without
// an allocation (with short runs a claim takes one run, and each allocation shows).
class TakenRuns {
 public:
  std::size_t& operator[](std::string_view executor) {
    if (!first_used_) {
      first_used_ = true;
      first_ = {executor, 0};
      return first_.second;
    }
    if (first_.first == executor) return first_.second;
    for (auto& [name, count] : more_) {
      if (name == executor) return count;
    }
    return more_.emplace_back(executor, 0).second;
  }

 private:
  bool first_used_ = false;
  std::pair<std::string_view, std::size_t> first_{};
  std::vector<std::pair<std::string_view, std::size_t>> more_;
};

std::size_t starting(const std::vector<Execution>& executions) noexcept {
  return static_cast<std::size_t>(
      std::count_if(executions.begin(), executions.end(),
                    [](const Execution& e) { return e.status == ExecutionStatus::started; }));
}

}  // namespace

std::vector<ClaimedJob> JobStore::claim(TimePoint now, std::size_t limit,
                                        const ClaimFilter& runnable,
                                        const std::shared_ptr<RunOwner>& owner,
                                        std::vector<RunLease>* runs, const ClaimRoom* room) {
  std::vector<ClaimedJob> claimed;
  if (nothing_due_(now)) return claimed;
  // Outcomes waiting for their batch's commit ride in this claim's, so that a worker that frees can
  // write its run's end and claim its next run in one commit (issue 17 §4; measured: 2% of ends did
  // with 4 workers, bench/README.md). Taken only by the thread that would write them (the batch's
  // writer).
  std::vector<Finished> finishing;
  std::unique_lock<std::mutex> writer;
  if (batches_completions_()) {
    writer = std::unique_lock(batching_->writer, std::try_to_lock);
    if (writer.owns_lock()) {
      std::lock_guard lock(batching_->mutex);
      finishing.swap(batching_->queued);
    }
    if (finishing.empty() && writer.owns_lock()) writer.unlock();
  }
  bool finished_here = false;  // the transaction's last attempt wrote `finishing`
  bool committed = false;
  // When the claim returns or throws: the ends its committed transaction did not write are written
  // on their own.
  struct Settle {
    JobStore& store;
    std::vector<Finished>& ends;
    std::unique_lock<std::mutex>& writer;
    const bool& written;
    ~Settle() {
      if (ends.empty()) return;
      if (written) {
        report_finished(ends);
      } else {
        store.write_finished(ends);
      }
      writer.unlock();
      store.drain_finished();  // what queued while the claim held the writer's lock
    }
  } settle{*this, finishing, writer, committed};
  // (index in `claimed`, attempt) of the requests and retries claimed; every other run is a first
  // attempt, and the common claim allocates nothing for them.
  std::vector<std::pair<std::size_t, int>> attempts;
  std::vector<std::string> warnings;
  // Outcomes kept from failed writes go first: the runs they end no longer count as running.
  (void)write_unwritten();
  const TimePoint asked_at = now;
  const TimePoint asked_on_clock = owner ? owner->now() : now;
  transact_(Purpose::claim, [&](Transaction& tx) {
    finished_here = false;
    if (!finishing.empty()) {
      finished_here = true;
      for (const Finished& f : finishing) {
        if (!tx.finish_run(f.record, f.retry ? &*f.retry : nullptr)) {
          finished_here = false;
          break;
        }
      }
    }
    // Lateness is decided when the claim holds the store, not when it asked: time spent waiting
    // for another connection's lock counts against the misfire grace time.
    if (owner) now = asked_at + std::max(Duration::zero(), owner->now() - asked_on_clock);
    claimed.clear();
    attempts.clear();
    warnings.clear();
    // Names viewed in the claimed jobs, which `claimed` holds while this attempt lasts.
    TakenRuns taken;
    // Whether the job's runs may start now; a job left is untouched (nothing was written for it).
    bool full = false;
    const auto fits = [&](const Job& job, std::size_t starts) {
      if (room == nullptr || starts == 0) return true;
      std::size_t& count = taken[job.executor];
      switch ((*room)(job, count)) {
        case Room::take:
          count += starts;
          return true;
        case Room::full:
          full = true;
          return false;
        case Room::leave:
          break;
      }
      return false;
    };
    while (claimed.size() < limit && !full) {
      tx.expect_due(limit - claimed.size());
      std::shared_ptr<const Job> job = tx.next_due(now);
      if (!job) break;
      if (runnable && !runnable(*job)) continue;
      FirePlan plan;
      try {
        plan = plan_fire(*job, now, running_instances(tx, job->id));
      } catch (const std::exception& e) {
        // A trigger that fails on one job must not keep the others from running.
        warnings.push_back(
            fmt::format("job '{}' could not be planned and stays due: {}", job->id, e.what()));
        continue;
      }
      // Every due fire time waits for a running instance: the job stays as it is, and is not a
      // claim (it does not count against `limit`).
      if (plan.executions.empty() && plan.waiting > 0) continue;
      if (!fits(*job, starting(plan.executions))) continue;
      ClaimedJob c{job, std::move(plan.executions), {}};
      std::size_t kept = 0;
      for (std::size_t i = 0; i < c.executions.size(); ++i) {
        // A fire time recorded before (the job was removed and added again, or its next run time
        // was set back) has had its run and does not get another.
        if (!tx.insert_execution(c.executions[i])) continue;
        if (kept != i) c.executions[kept] = std::move(c.executions[i]);
        ++kept;
      }
      c.executions.resize(kept);
      if (plan.next_run_time) {
        tx.reschedule(job->id, *plan.next_run_time);
      } else {
        tx.delete_job(job->id);
        c.schedule_ended = true;
      }
      claimed.push_back(std::move(c));
    }
    // Requests and retries after the scheduled runs, so that max_instances counts both.
    if (claimed.size() >= limit || full) return;
    for (RunRequest& request : tx.due_requests(now)) {
      if (claimed.size() >= limit || full) break;
      std::shared_ptr<const Job> job = tx.find_job(request.job_id);
      if (!job) {
        if (!request.snapshot || !schedule_ended(*request.snapshot, request.at)) {
          tx.delete_request(request.id);  // its job was removed: nothing left to run
          continue;
        }
        job = request.snapshot;
      }
      if (runnable && !runnable(*job)) continue;
      Execution e = plan_requested_run(*job, request.at, now, running_instances(tx, job->id));
      if (!fits(*job, e.status == ExecutionStatus::started ? 1 : 0)) continue;
      tx.delete_request(request.id);
      if (!insert_at_free_instant(tx, e)) continue;
      if (request.attempt != 1) attempts.emplace_back(claimed.size(), request.attempt);
      claimed.push_back(ClaimedJob{std::move(job), {std::move(e)}, {}});
    }
  });
  committed = finished_here;
  for (const auto& w : warnings)
    warn_(name_().empty() ? w : fmt::format("job store '{}': {}", name_(), w));

  // Leases only once the claim is committed: a lease dropped from a rolled-back attempt would
  // record an interruption.
  if (claimed.empty()) return claimed;
  const auto home =
      std::make_shared<const RunLease::Home>(RunLease::Home{shared_from_this(), owner});
  auto attempt = attempts.begin();
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    ClaimedJob& c = claimed[i];
    int n = 1;
    if (attempt != attempts.end() && attempt->first == i) n = (attempt++)->second;
    for (const Execution& e : c.executions) {
      if (e.status != ExecutionStatus::started) continue;
      (runs ? *runs : c.runs).push_back(RunLease{home, c.job, e, n});
    }
  }
  return claimed;
}

RunLease JobStore::start_run(std::string_view job_id, TimePoint at,
                             std::shared_ptr<RunOwner> owner) {
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
  auto home =
      std::make_shared<const RunLease::Home>(RunLease::Home{shared_from_this(), std::move(owner)});
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

std::size_t JobStore::delete_old_executions(TimePoint cutoff) {
  return delete_old_executions_(cutoff);
}

Execution plan_requested_run(const Job& job, TimePoint requested, TimePoint now,
                             int running_instances) {
  const ExecutionStatus status = now - requested > job.misfire_grace_time ? ExecutionStatus::missed
                                 : running_instances >= job.max_instances
                                     ? ExecutionStatus::max_instances
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
      const ExecutionStatus status = now - rt > job.misfire_grace_time ? ExecutionStatus::missed
                                     : running_instances >= job.max_instances
                                         ? ExecutionStatus::max_instances
                                         : ExecutionStatus::started;
      if (status == ExecutionStatus::max_instances && !job.coalesce) {
        // Every run was asked for: this one waits, due, for a running instance to end.
        plan.next_run_time = rt;
        plan.waiting = 1;
        return plan;
      }
      plan.next_run_time = next;
      plan.executions.push_back(record_for(job, rt, status));
      return plan;
    }
  }
  // nearly always one element: no deque, whose first chunk alone is 512 bytes
  std::vector<TimePoint> due;
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
    // Overdue runs fold into the latest one; the folded fire times are recorded, not silently
    // dropped.
    for (std::size_t i = 0; i + 1 < runnable.size(); ++i) {
      plan.executions.push_back(record_for(job, runnable[i], ExecutionStatus::missed));
    }
    runnable.erase(runnable.begin(), runnable.end() - 1);
  }
  for (std::size_t i = 0; i < runnable.size(); ++i) {
    const TimePoint rt = runnable[i];
    if (running_instances < job.max_instances) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::started));
      ++running_instances;
    } else if (job.coalesce) {
      plan.executions.push_back(record_for(job, rt, ExecutionStatus::max_instances));
    } else {
      // Every run was asked for: this one and the later ones wait, due, for running instances to
      // end (and meanwhile stay subject to the misfire grace time).
      plan.next_run_time = rt;
      plan.waiting = runnable.size() - i;
      break;
    }
  }
  return plan;
}

namespace {

thread_local int deferring = 0;
// The stores whose outcomes this thread left queued while deferring.
thread_local std::vector<std::shared_ptr<JobStore>> deferred_stores;

}  // namespace

namespace detail {

DeferCompletions::DeferCompletions() noexcept { ++deferring; }

DeferCompletions::~DeferCompletions() {
  if (--deferring > 0) return;
  // Swapped out: writing reports the runs' ends, and a listener may complete more runs.
  std::vector<std::shared_ptr<JobStore>> stores;
  stores.swap(deferred_stores);
  for (const auto& store : stores) store->drain_finished();
  stores.clear();
  if (deferred_stores.empty()) deferred_stores.swap(stores);  // keeps the capacity
}

bool DeferCompletions::active() noexcept { return deferring > 0; }

}  // namespace detail

void JobStore::finish_later(Finished finished) noexcept {
  Batching& b = *batching_;
  try {
    std::lock_guard lock(b.mutex);
    b.queued.push_back(std::move(finished));
  } catch (...) {
    // Out of memory (`finished` is intact: its moves do not throw): written alone, now.
    write_finished(std::span<Finished>{&finished, 1});
    return;
  }
  if (deferring > 0) {
    try {
      auto self = shared_from_this();
      if (std::find(deferred_stores.begin(), deferred_stores.end(), self) == deferred_stores.end())
        deferred_stores.push_back(std::move(self));
      return;
    } catch (...) {
      // Out of memory: written now.
    }
  }
  drain_finished();
}

void JobStore::drain_finished() noexcept {
  Batching& b = *batching_;
  // Written by this thread, or by the one writing now: it looks again before it lets go, and once
  // more after, so nothing queued is left behind.
  for (;;) {
    std::unique_lock writer(b.writer, std::try_to_lock);
    if (!writer.owns_lock()) return;
    for (;;) {
      std::vector<Finished> batch;
      {
        std::lock_guard lock(b.mutex);
        batch.swap(b.queued);
      }
      if (batch.empty()) break;
      write_finished(batch);
    }
    writer.unlock();
    std::lock_guard lock(b.mutex);
    if (b.queued.empty()) return;
  }
}

void JobStore::write_finished(std::span<Finished> batch) noexcept {
  std::string error;
  if (!write_unwritten()) {
    error = "the store still refuses older outcomes";  // these wait their turn behind them
  } else {
    try {
      std::vector<Completion> completions;
      completions.reserve(batch.size());
      for (const Finished& f : batch) completions.push_back({&f.record, &f.retry});
      complete_many_(completions);
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown error";
    }
  }
  if (!error.empty()) {
    for (Finished& f : batch) keep_unwritten(f.record, f.retry, error);
  }
  report_finished(batch);
}

void JobStore::report_finished(std::span<Finished> batch) noexcept {
  // A listener hearing of one of these ends may wait for runs (a shutdown): the runs of the batch
  // not reported yet end only after it returns, on this thread.
  detail::InsideRuns reporting{static_cast<int>(batch.size())};
  for (Finished& f : batch) {
    if (RunOwner* owner = f.home->owner.get()) owner->run_ended(f.lease, f.record, f.retry_at, {});
    reporting.leave();
  }
}

}  // namespace sked
