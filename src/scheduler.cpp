#include "detail/process.hpp"
#include "detail/runs_here.hpp"
#include "detail/signal_watch.hpp"

#include <sked/errors.hpp>
#include <sked/executors/thread_pool.hpp>
#include <sked/scheduler.hpp>
#include <sked/stores/memory.hpp>
#include <sked/triggers/date.hpp>

#include "detail/json_limits.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <ostream>
#include <random>
#include <shared_mutex>

namespace sked {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warning:
      return "WARNING";
    case LogLevel::error:
      return "ERROR";
  }
  return "?";
}

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

// The size of the first claim from a store in one pass of the loop.
constexpr std::size_t first_claim_batch = 16;

// How many misses of one job one claim logs individually before summarising.
constexpr std::size_t max_miss_warnings = 5;

}  // namespace

Logger stderr_logger(LogLevel threshold) {
  return [threshold](LogLevel level, std::string_view message) {
    if (level < threshold) return;
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    fmt::print(stderr, "sked: {}: {}\n", level_name(level), message);
  };
}

// A pointer to the scheduler that outlives it: what holds one (a lease's owner, an executor's
// waker) calls into the scheduler until the scheduler, being destroyed, detaches it. Detaching
// waits for the calls in progress.
class DetachableScheduler {
 public:
  explicit DetachableScheduler(Scheduler& scheduler) : scheduler_(&scheduler) {}
  template <typename Fn>
  void call(Fn&& fn) const {
    std::shared_lock lock(mutex_);
    if (scheduler_) fn(*scheduler_);
  }
  void detach() noexcept {
    std::unique_lock lock(mutex_);
    scheduler_ = nullptr;
  }

 private:
  mutable std::shared_mutex mutex_;
  Scheduler* scheduler_;
};

// How a lease's end reaches its scheduler. Leases hold their owner, not the scheduler: a scheduler
// that is destroyed detaches its owners, waiting for ends being reported, and later ends (a
// thread-pool task that ignored its timeout and returned at last) are recorded in the store and
// reported to no one.
class Scheduler::Owner final : public RunOwner {
 public:
  Owner(Scheduler& scheduler, std::string alias, std::shared_ptr<Clock> clock)
      : scheduler_(scheduler), alias_(std::move(alias)), clock_(std::move(clock)) {}
  TimePoint now() const override { return clock_->now(); }
  void run_ended(const RunLease& lease, const Execution& record, std::optional<TimePoint> retry_at,
                 const std::string& error) noexcept override {
    scheduler_.call([&](Scheduler& s) { s.run_ended(alias_, lease, record, retry_at, error); });
  }
  void detach() noexcept { scheduler_.detach(); }

 private:
  DetachableScheduler scheduler_;
  const std::string alias_;
  const std::shared_ptr<Clock> clock_;
};

// How an executor that freed a worker has the next due runs claimed on its thread
// (Executor::notify_when_available). The executor keeps it until then, and may outlive the
// scheduler, which detaches it.
class Scheduler::Waker {
 public:
  explicit Waker(Scheduler& scheduler) : scheduler_(scheduler) {}
  void wake() {
    scheduler_.call([](Scheduler& s) { s.pass_on_freed_worker(); });
  }
  // For an executor whose freeing thread must not claim (Executor::freeing_thread_claims).
  void wake_loop() {
    scheduler_.call([](Scheduler& s) { s.wakeup(); });
  }
  void detach() noexcept { scheduler_.detach(); }

 private:
  DetachableScheduler scheduler_;
};

// With short runs a worker that frees claims one run per pass: copying the executors, taking the
// stores' snapshot and looking up each store's owner under mutex_ at every pass were a third of the
// pass's instructions and four of its seven trips through mutex_.
struct Scheduler::PassCache {
  struct ExecutorEntry {
    std::string name;
    std::shared_ptr<Executor> executor;
    bool armed = false;  // to wake the loop once a worker frees, this pass
  };
  struct StoreEntry {
    std::string alias;
    std::shared_ptr<JobStore> store;
    std::shared_ptr<Owner> owner;
  };
  std::uint64_t version = 0;
  bool filled = false;
  std::vector<StoreEntry> stores;
  std::vector<ExecutorEntry> executors;
  // Scratch of one pass, kept for its capacity.
  std::vector<RunLease> runs;
  std::vector<std::pair<std::string, std::string>> unknown;  // job id, task
  std::vector<std::string> ended;

  [[nodiscard]] bool current(std::uint64_t wiring) const noexcept {
    return filled && version == wiring;
  }
  [[nodiscard]] Executor* find_executor(std::string_view name) const {
    for (const ExecutorEntry& e : executors) {
      if (e.name == name) return e.executor.get();
    }
    return nullptr;
  }
  void clear() {
    filled = false;
    stores.clear();
    executors.clear();
  }
};

Scheduler::Scheduler(SchedulerOptions options)
    : waker_(std::make_shared<Waker>(*this)),
      pass_cache_(std::make_unique<PassCache>()),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : SystemClock::instance()),
      timezone_(options_.timezone ? *options_.timezone
                                  : TimeZone::local()),  // local() throws for a bad TZ
      logger_(options_.logger ? options_.logger : stderr_logger()) {
  if (options_.max_wait <= Duration::zero())
    throw InvalidArgument("scheduler: max_wait must be positive");
  if (options_.claim_batch == 0) throw InvalidArgument("scheduler: claim_batch must be at least 1");
  if (options_.job_defaults.max_instances < 1) {
    throw InvalidArgument("scheduler: job_defaults.max_instances must be at least 1");
  }
  if (options_.job_defaults.misfire_grace_time < Duration::zero()) {
    throw InvalidArgument("scheduler: job_defaults.misfire_grace_time must not be negative");
  }
  clock_reports_jumps_ = clock_->reports_jumps();
}

Scheduler::~Scheduler() {
  clock_subscription_.reset();
  // Nor may an executor whose worker frees (it may outlive this scheduler).
  waker_->detach();
  // No store may call wakeup() on a scheduler that is going.
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    try {
      store->set_change_listener({});
      store->set_local_change_listener({});
    } catch (...) {
      // Destructors never throw.
    }
  }
  try {
    shutdown(true);
    if (background_thread_.joinable() && !on_loop_thread()) background_thread_.join();
    decltype(executors_) executors;
    {
      std::lock_guard lock(mutex_);
      executors = executors_;
    }
    // Runs still going after shutdown(false) end unreported rather than into a scheduler that is
    // gone.
    for (auto& [alias, executor] : executors) executor->shutdown(true);
  } catch (...) {
    // Destructors never throw.
  }
  // Detached outside mutex_: a run ending now holds its owner's lock and then takes mutex_.
  decltype(owners_) owners;
  {
    std::lock_guard lock(mutex_);
    owners = owners_;
  }
  for (auto& [alias, owner] : owners) owner->detach();
}

void Scheduler::log(LogLevel level, std::string_view message) const {
  if (!logs(level)) return;
  try {
    logger_(level, message);
  } catch (...) {
    // A broken logger must not break scheduling.
  }
}

void Scheduler::dispatch(const Event& event) const {
  std::shared_ptr<const std::vector<Listening>> listeners;
  {
    std::lock_guard lock(listeners_mutex_);
    listeners = listeners_;
  }
  for (const auto& l : *listeners) {
    if ((l.mask & static_cast<EventMask>(event.kind)) == 0) continue;
    try {
      l.fn(event);
    } catch (const std::exception& e) {
      log(LogLevel::error,
          fmt::format("Listener {} failed on {}: {}", l.id, to_string(event.kind), e.what()));
    } catch (...) {
      log(LogLevel::error, fmt::format("Listener {} failed on {}", l.id, to_string(event.kind)));
    }
  }
}

ListenerId Scheduler::add_listener(Listener listener, EventMask mask) {
  if (!listener) throw InvalidArgument("add_listener: the listener is empty");
  std::lock_guard lock(listeners_mutex_);
  auto next = std::make_shared<std::vector<Listening>>(*listeners_);
  const ListenerId id = next_listener_++;
  next->push_back(Listening{id, std::move(listener), mask});
  listeners_ = std::move(next);
  update_wanted();
  return id;
}

void Scheduler::update_wanted() {
  EventMask mask = 0;
  for (const auto& l : *listeners_) mask |= l.mask;
  wanted_.store(mask, std::memory_order_relaxed);
}

void Scheduler::remove_listener(ListenerId id) {
  std::lock_guard lock(listeners_mutex_);
  auto next = std::make_shared<std::vector<Listening>>(*listeners_);
  std::erase_if(*next, [id](const Listening& l) { return l.id == id; });
  listeners_ = std::move(next);
  update_wanted();
}

void Scheduler::set_state_locked(SchedulerState state) noexcept {
  state_ = state;
  running_.store(state == SchedulerState::running, std::memory_order_release);
}

void Scheduler::want_pass_locked() noexcept {
  wakeup_pending_ = true;
  // No longer asleep until a known time: wakeup_for() must not skip mutex_ on its account.
  asleep_until_.store(std::numeric_limits<TimePoint::rep>::max());
}

void Scheduler::wakeup() {
  std::lock_guard lock(mutex_);
  want_pass_locked();
  cv_.notify_all();
  runs_cv_.notify_all();
}

void Scheduler::wakeup_for(std::optional<TimePoint> due) {
  // A loop that is not running is woken by resume() and start(), which look at every store.
  if (!due || !running_.load()) return;
  // The loop sleeps until no later than `due` and looks at the stores then, after this caller's
  // change (which came before this look, and the loop's waking after it): with short runs, each
  // freed worker's pass told the loop of the next due time through mutex_.
  if (due->time_since_epoch().count() >= asleep_until_.load()) return;
  std::lock_guard lock(mutex_);
  if (state_ != SchedulerState::running) return;  // resume() and start() wake the loop
  // A loop that is mid-pass computed its next wake-up without this job: it must look again.
  if (sleeping_ && !wakeup_pending_ && waiting_until_ && *due >= *waiting_until_) return;
  want_pass_locked();
  cv_.notify_all();
}

SchedulerState Scheduler::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::optional<TimePoint> Scheduler::waiting_until() const {
  std::lock_guard lock(mutex_);
  return waiting_until_;
}

bool Scheduler::idle_locked() const {
  const bool loop_idle = (sleeping_ && !wakeup_pending_) || !loop_active_;
  // Due runs left for a worker to claim once it frees are not idleness, even between the end
  // of the last run and that worker's claim.
  const bool runs_left = runs_left_ && state_ == SchedulerState::running;
  return loop_idle && !runs_left && in_flight_.load(std::memory_order_acquire) == 0;
}

void Scheduler::notify_if_idle_locked() const {
  // Only when a wait_idle() would return: with trivial jobs the last run out and the loop's sleep
  // come thousands of times a second while due runs are left, and each wake-up of the waiter was
  // two context switches and a fight for mutex_ with the workers.
  if (runs_waiters_ > 0 || idle_locked()) idle_cv_.notify_all();
}

bool Scheduler::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_for(lock, timeout, [&] { return idle_locked(); });
}

bool Scheduler::on_loop_thread() const {
  std::lock_guard lock(mutex_);
  return loop_active_ && loop_thread_ == std::this_thread::get_id();
}

// ---- stores and executors ----------------------------------------------------------------------

template <typename Change>
void Scheduler::change_stores_locked(Change&& change) {
  auto stores = std::make_shared<StoreMap>(*stores_);
  change(*stores);
  stores_ = std::move(stores);
  wiring_changed_locked();
}

void Scheduler::wiring_changed_locked() noexcept {
  wiring_version_.fetch_add(1, std::memory_order_release);
}

void Scheduler::drop_pass_cache() {
  // From inside a pass (a listener), the pass drops it at its end.
  if (passing_thread_.load() == std::this_thread::get_id()) return;
  std::lock_guard lock(pass_mutex_);
  pass_cache_->clear();
}

void Scheduler::add_jobstore(std::shared_ptr<JobStore> store, std::string alias) {
  if (!store) throw InvalidArgument("add_jobstore: the store is empty");
  {
    std::lock_guard lock(mutex_);
    if (stores_->contains(alias)) {
      throw InvalidArgument(
          fmt::format("a job store with the alias '{}' was already added", alias));
    }
    change_stores_locked([&](StoreMap& stores) { stores.emplace(alias, store); });
  }
  // Changes made by other processes (PostgreSQL's NOTIFY, SQLite's file watch) wake the loop, and
  // so do changes made through the store by other code in this process; outside mutex_, which the
  // listeners take.
  store->set_change_listener([this] { wakeup(); });
  store->set_local_change_listener([this](TimePoint due) { wakeup_for(due); });
  dispatch(Event{.kind = EventKind::jobstore_added, .alias = alias});
  wakeup();
}

void Scheduler::remove_jobstore(const std::string& alias) {
  std::shared_ptr<JobStore> store;
  {
    std::lock_guard lock(mutex_);
    const auto it = stores_->find(alias);
    if (it == stores_->end()) throw AliasNotFound("job store", alias);
    store = it->second;
    change_stores_locked([&](StoreMap& stores) { stores.erase(alias); });
  }
  drop_pass_cache();
  store->set_change_listener({});
  store->set_local_change_listener({});
  dispatch(Event{.kind = EventKind::jobstore_removed, .alias = alias});
}

std::shared_ptr<JobStore> Scheduler::jobstore(const std::string& alias) const {
  std::lock_guard lock(mutex_);
  const auto it = stores_->find(alias);
  if (it == stores_->end()) throw AliasNotFound("job store", alias);
  return it->second;
}

void Scheduler::add_executor(std::shared_ptr<Executor> executor, std::string alias) {
  if (!executor) throw InvalidArgument("add_executor: the executor is empty");
  bool started = false;
  {
    std::lock_guard lock(mutex_);
    if (executors_.contains(alias)) {
      throw InvalidArgument(
          fmt::format("an executor with the alias '{}' was already added", alias));
    }
    started = state_ != SchedulerState::stopped;
    executors_.emplace(alias, executor);
    wiring_changed_locked();
  }
  if (started) executor->start(clock_);
  dispatch(Event{.kind = EventKind::executor_added, .alias = alias});
}

void Scheduler::remove_executor(const std::string& alias) {
  std::shared_ptr<Executor> executor;
  {
    std::lock_guard lock(mutex_);
    const auto it = executors_.find(alias);
    if (it == executors_.end()) throw AliasNotFound("executor", alias);
    executor = std::move(it->second);
    executors_.erase(it);
    wiring_changed_locked();
  }
  drop_pass_cache();
  executor->shutdown(true);
  dispatch(Event{.kind = EventKind::executor_removed, .alias = alias});
}

std::shared_ptr<JobStore> Scheduler::store_or_default(const std::string& alias) {
  {
    std::lock_guard lock(mutex_);
    if (const auto it = stores_->find(alias); it != stores_->end()) return it->second;
  }
  if (alias != "default") throw AliasNotFound("job store", alias);
  ensure_defaults();
  return jobstore(alias);
}

void Scheduler::ensure_defaults() {
  bool added_store = false;
  bool added_executor = false;
  std::shared_ptr<Executor> executor;
  {
    std::lock_guard lock(mutex_);
    if (!stores_->contains("default")) {
      change_stores_locked(
          [](StoreMap& stores) { stores.emplace("default", std::make_shared<MemoryJobStore>()); });
      added_store = true;
    }
    if (!executors_.contains("default")) {
      executor = std::make_shared<ThreadPoolExecutor>();
      executors_.emplace("default", executor);
      wiring_changed_locked();
      added_executor = true;
    }
  }
  if (added_store) dispatch(Event{.kind = EventKind::jobstore_added, .alias = "default"});
  if (added_executor) dispatch(Event{.kind = EventKind::executor_added, .alias = "default"});
}

std::shared_ptr<const Scheduler::StoreMap> Scheduler::stores_snapshot() const {
  std::lock_guard lock(mutex_);
  return stores_;
}

// ---- jobs --------------------------------------------------------------------------------------

Job Scheduler::add_job(JobSpec spec) {
  Job job;
  job.id = spec.id.empty() ? random_id() : std::move(spec.id);
  if (!spec.task.empty() && spec.callable) {
    throw InvalidArgument(
        fmt::format("job '{}': give either a task name or a callable, not both", job.id));
  }
  job.task = std::move(spec.task);
  if (spec.callable) job.callable = std::make_shared<const TaskFn>(std::move(spec.callable));
  job.name = !spec.name.empty() ? std::move(spec.name) : !job.task.empty() ? job.task : job.id;
  job.args = std::move(spec.args);
  const TimePoint now = clock_->now();
  std::shared_ptr<const Trigger> trigger =
      spec.trigger ? spec.trigger.shared() : std::make_shared<const DateTrigger>(now);
  if (auto bound = trigger->bind(now, timezone_)) trigger = std::move(bound);
  job.trigger = trigger;
  job.executor = std::move(spec.executor);
  job.group = std::move(spec.group);
  job.misfire_grace_time =
      spec.misfire_grace_time.value_or(options_.job_defaults.misfire_grace_time);
  job.coalesce = spec.coalesce.value_or(options_.job_defaults.coalesce);
  job.max_instances = spec.max_instances.value_or(options_.job_defaults.max_instances);
  job.timeout = spec.timeout;
  job.retry = spec.retry;
  job.validate();
  if (job.executor != "default") {
    std::lock_guard lock(mutex_);
    if (!executors_.contains(job.executor)) throw AliasNotFound("executor", job.executor);
  }
  if (!spec.paused) {
    job.next_run_time =
        spec.next_run_time ? spec.next_run_time : trigger->next_fire_time(std::nullopt, now);
    if (!job.next_run_time) {
      throw InvalidArgument(
          fmt::format("job '{}': its trigger {} will never fire", job.id, trigger->describe()));
    }
  }
  const auto store = store_or_default(spec.jobstore);
  {
    // Until job_added is out, the loop's claims leave the job alone (see process_jobs), so that
    // listeners hear of the job before they hear of its runs, even from a pass already under way.
    // A wake-up follows, for the claim that takes it, when the loop would not look before the job
    // is due.
    // Only when someone hears of it (a job whose task is not registered is not claimed anyway):
    // with the event skipped too, the scheduler's work per add fell from 3,840 to 2,890
    // instructions (callgrind, sked_memory_bench's BM_AddToPausedScheduler at 10^5).
    struct Adding {
      Scheduler& s;
      const std::string& id;
      const std::optional<TimePoint> due;
      const bool reported;
      Adding(Scheduler& scheduler, const std::string& job_id, std::optional<TimePoint> due_at,
             bool reported_to_anyone)
          : s(scheduler), id(job_id), due(due_at), reported(reported_to_anyone) {
        if (!reported) return;
        std::lock_guard lock(s.mutex_);
        s.being_added_.insert(id);
        s.adding_.fetch_add(1, std::memory_order_relaxed);
      }
      ~Adding() {
        if (reported) {
          std::lock_guard lock(s.mutex_);
          s.being_added_.erase(s.being_added_.find(id));
          s.adding_.fetch_sub(1, std::memory_order_relaxed);
        }
        s.wakeup_for(due);
      }
      Adding(const Adding&) = delete;
      Adding& operator=(const Adding&) = delete;
    } adding{*this, job.id, job.next_run_time, wants(EventKind::job_added) || logs(LogLevel::info)};
    store->add_job(job, spec.replace_existing);
    if (!job.task.empty() && !tasks_.contains(job.task)) {
      log(LogLevel::warning,
          fmt::format("Job '{}' names task '{}', which is not registered in this process", job.id,
                      job.task));
    }
    if (logs(LogLevel::info)) {
      log(LogLevel::info, fmt::format("Added job '{}' to job store '{}'", job.name, spec.jobstore));
    }
    if (adding.reported && wants(EventKind::job_added))
      dispatch(Event{.kind = EventKind::job_added, .alias = spec.jobstore, .job_id = job.id});
  }
  return job;
}

template <typename Fn>
auto Scheduler::in_store_of(const std::string& id, Fn&& fn)
    -> std::pair<std::string, decltype(fn(std::string{}, std::declval<JobStore&>()))> {
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    try {
      return {alias, fn(alias, *store)};
    } catch (const JobNotFound&) {
      continue;
    }
  }
  throw JobNotFound(id);
}

Job Scheduler::modify_job(const std::string& id, const JobChanges& changes) {
  if (changes.trigger && !*changes.trigger) {
    throw InvalidArgument(fmt::format("job '{}': the new trigger is empty", id));
  }
  const TimePoint now = clock_->now();
  std::shared_ptr<const Trigger> bound;
  if (changes.trigger) {
    bound = changes.trigger->shared();
    if (auto b = bound->bind(now, timezone_)) bound = std::move(b);
  }
  // Applied by the store to the job as stored at that moment: no change made meanwhile by another
  // thread, process or claim is overwritten with a stale copy.
  // Checked before the change copies them: copying recurses once per level.
  if (changes.args && detail::json_depth(changes.args->value(), max_args_depth) > max_args_depth) {
    throw InvalidArgument(
        fmt::format("job '{}': args are nested deeper than {} levels", id, max_args_depth));
  }
  const auto change = [&](Job& job) {
    if (changes.name) job.name = *changes.name;
    if (changes.task) {
      job.task = *changes.task;
      job.callable.reset();
    }
    if (changes.args) job.args = *changes.args;
    if (bound) job.trigger = bound;
    if (changes.executor) job.executor = *changes.executor;
    if (changes.group) job.group = *changes.group;
    if (changes.misfire_grace_time) job.misfire_grace_time = *changes.misfire_grace_time;
    if (changes.coalesce) job.coalesce = *changes.coalesce;
    if (changes.max_instances) job.max_instances = *changes.max_instances;
    if (changes.next_run_time) job.next_run_time = *changes.next_run_time;
    if (changes.timeout) job.timeout = *changes.timeout;
    if (changes.retry) job.retry = *changes.retry;
  };
  auto [alias, job] = in_store_of(
      id, [&](const std::string&, JobStore& store) { return store.modify_job(id, change); });
  wakeup();
  dispatch(Event{.kind = EventKind::job_modified, .alias = alias, .job_id = id});
  return job;
}

Job Scheduler::reschedule_job(const std::string& id, TriggerPtr trigger) {
  if (!trigger) throw InvalidArgument(fmt::format("job '{}': the new trigger is empty", id));
  const TimePoint now = clock_->now();
  std::shared_ptr<const Trigger> bound = trigger.shared();
  if (auto b = bound->bind(now, timezone_)) bound = std::move(b);
  const auto next = bound->next_fire_time(std::nullopt, now);
  if (!next) {
    throw InvalidArgument(
        fmt::format("job '{}': the trigger {} will never fire", id, bound->describe()));
  }
  JobChanges changes;
  changes.trigger = TriggerPtr{bound};
  changes.next_run_time = next;
  return modify_job(id, changes);
}

Job Scheduler::pause_job(const std::string& id) {
  auto [alias, job] = in_store_of(id, [&](const std::string&, JobStore& store) {
    return store.modify_job(id, [](Job& j) { j.next_run_time.reset(); });
  });
  wakeup();
  dispatch(Event{.kind = EventKind::job_modified, .alias = alias, .job_id = id});
  return job;
}

std::optional<Job> Scheduler::resume_job(const std::string& id) {
  const TimePoint now = clock_->now();
  auto [alias, job] = in_store_of(id, [&](const std::string&, JobStore& store) {
    return store.modify_job(
        id, [now](Job& j) { j.next_run_time = j.trigger->next_fire_time(std::nullopt, now); });
  });
  if (!job.next_run_time) {
    // The trigger will not fire again: the job is done, as a claim would have found.
    try {
      jobstore(alias)->remove_job(id);
    } catch (const JobNotFound&) {
      // Removed meanwhile: the outcome is the same.
    }
    dispatch(Event{.kind = EventKind::job_removed, .alias = alias, .job_id = id});
    return std::nullopt;
  }
  wakeup();
  dispatch(Event{.kind = EventKind::job_modified, .alias = alias, .job_id = id});
  return job;
}

void Scheduler::remove_job(const std::string& id) {
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    try {
      store->remove_job(id);
    } catch (const JobNotFound&) {
      continue;
    }
    if (logs(LogLevel::info)) log(LogLevel::info, fmt::format("Removed job '{}'", id));
    dispatch(Event{.kind = EventKind::job_removed, .alias = alias, .job_id = id});
    return;
  }
  throw JobNotFound(id);
}

void Scheduler::remove_all_jobs() {
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    store->remove_all_jobs();
    dispatch(Event{.kind = EventKind::all_jobs_removed, .alias = alias});
  }
}

std::optional<Job> Scheduler::get_job(const std::string& id) const {
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    if (auto job = store->lookup_job(id)) return job;
  }
  return std::nullopt;
}

std::vector<Job> Scheduler::get_jobs() const {
  std::vector<Job> out;
  const auto stores = stores_snapshot();
  for (const auto& [alias, store] : *stores) {
    auto jobs = store->get_all_jobs();
    std::move(jobs.begin(), jobs.end(), std::back_inserter(out));
  }
  std::stable_sort(out.begin(), out.end(), [](const Job& a, const Job& b) {
    if (!a.next_run_time || !b.next_run_time)
      return a.next_run_time.has_value() && !b.next_run_time;
    return *a.next_run_time < *b.next_run_time;
  });
  return out;
}

void Scheduler::print_jobs(std::ostream& out, std::string_view jobstore) const {
  const auto stores = stores_snapshot();
  if (!jobstore.empty() && !stores->contains(jobstore))
    throw AliasNotFound("job store", std::string{jobstore});
  std::string text;
  for (const auto& [alias, store] : *stores) {
    if (!jobstore.empty() && alias != jobstore) continue;
    text += fmt::format("Jobstore {}:\n", alias);
    const auto jobs = store->get_all_jobs();
    if (jobs.empty()) text += "    No scheduled jobs\n";
    for (const auto& job : jobs) {
      std::string line = job.describe(timezone_);
      if (!job.callable && !tasks_.contains(job.task)) {
        line.insert(line.size() - 1, fmt::format(", task '{}' not registered here", job.task));
      }
      text += fmt::format("    {}\n", line);
    }
  }
  out << text << std::flush;
}

void Scheduler::print_jobs() const { print_jobs(std::cout); }

std::vector<Execution> Scheduler::get_executions(const ExecutionQuery& query,
                                                 const std::string& alias) const {
  return jobstore(alias)->get_executions(query);
}

// ---- the loop ----------------------------------------------------------------------------------

void Scheduler::begin(bool paused) {
  {
    std::lock_guard lock(mutex_);
    if (state_ != SchedulerState::stopped)
      throw SchedulerStateError("the scheduler is already running");
    if (loop_active_) throw SchedulerStateError("the scheduler's previous loop has not exited yet");
  }
  if (background_thread_.joinable()) background_thread_.join();
  ensure_defaults();
  decltype(executors_) executors;
  {
    std::lock_guard lock(mutex_);
    executors = executors_;
  }
  for (auto& [alias, executor] : executors) executor->start(clock_);
  // From start() to shutdown only: the system clock's watch is a thread, and a scheduler starts
  // none before start(). Outside mutex_, which the listener takes under the clock's lock.
  clock_subscription_ = clock_->on_jump([this] { wakeup(); });
  {
    std::lock_guard lock(mutex_);
    set_state_locked(paused ? SchedulerState::paused : SchedulerState::running);
    want_pass_locked();
    // Active from here, not from when the loop's thread gets going, so shutdown() and wait_idle()
    // called right after start() wait for the loop instead of racing it.
    loop_active_ = true;
    loop_thread_ = {};
  }
  log(LogLevel::info, paused ? "Scheduler started, paused" : "Scheduler started");
  dispatch(Event{.kind = EventKind::scheduler_started});
}

bool Scheduler::stop_loop() {
  {
    std::unique_lock lock(mutex_);
    if (state_ == SchedulerState::stopped) return false;
    set_state_locked(SchedulerState::stopped);
    cv_.notify_all();
    const bool on_loop = loop_active_ && loop_thread_ == std::this_thread::get_id();
    // The loop finishes its current pass before it exits; never wait for it from inside it.
    if (!on_loop) idle_cv_.wait(lock, [&] { return !loop_active_; });
  }
  // A pass on a worker's thread that began before the stop submits its runs before the executors
  // stop; later passes see the scheduler stopped. Not from inside that pass (a listener).
  if (passing_thread_.load() != std::this_thread::get_id()) std::lock_guard wait(pass_mutex_);
  if (background_thread_.joinable() && !on_loop_thread()) background_thread_.join();
  clock_subscription_.reset();
  return true;
}

void Scheduler::stop_executors(bool wait) {
  decltype(executors_) executors;
  {
    std::lock_guard lock(mutex_);
    executors = executors_;
  }
  for (auto& [alias, executor] : executors) executor->shutdown(wait);
  log(LogLevel::info, "Scheduler has been shut down");
  dispatch(Event{.kind = EventKind::scheduler_shutdown});
}

bool Scheduler::wait_for_runs(std::optional<std::chrono::milliseconds> limit,
                              const std::atomic<bool>* give_up) const {
  // Called from a task or from a listener hearing of a run's end, the runs the calling thread is
  // inside of are not waited for: they cannot end before this returns. (Counted for every
  // scheduler: a task of another scheduler makes this wait for all runs but one.)
  const auto own = static_cast<std::size_t>(detail::runs_here());
  std::unique_lock lock(mutex_);
  // Sequentially consistent, as is run_ended's look at runs_waiters_: either this sees a run's
  // end, or that run's end sees this waiter and wakes it.
  const auto finished = [&] { return in_flight_.load() <= own; };
  const auto done = [&] { return finished() || (give_up && give_up->load()); };
  ++runs_waiters_;
  if (limit) {
    idle_cv_.wait_for(lock, *limit, done);
  } else {
    idle_cv_.wait(lock, done);
  }
  --runs_waiters_;
  return finished();
}

void Scheduler::wake_run_waiters() const {
  std::lock_guard lock(mutex_);
  idle_cv_.notify_all();
}

void Scheduler::shutdown(bool wait) {
  if (stop_loop()) {
    stop_executors(wait);
  } else if (wait && detail::runs_here() == 0) {
    // Stopped already, perhaps by a task's shutdown(false): what the caller does next must come
    // after the runs still going have ended and were recorded and logged. Not from inside a run (a
    // task, a listener hearing of a run's end), as before: runs waiting for each other would never
    // end.
    (void)wait_for_runs(std::nullopt);
  }
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
  if (!stop_loop()) {
    if (detail::runs_here() == 0) (void)wait_for_runs(grace);
    return;
  }
  const bool finished = wait_for_runs(grace);
  if (!finished) {
    log(LogLevel::warning,
        fmt::format("Shutdown: {} run(s) still going after {}; asked them to stop (each is "
                    "recorded when it ends)",
                    in_flight_.load(),
                    format_duration(std::chrono::duration_cast<Duration>(grace))));
  }
  stop_executors(finished);
}

void Scheduler::pause() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != SchedulerState::running) return;
    set_state_locked(SchedulerState::paused);
    cv_.notify_all();
  }
  log(LogLevel::info, "Paused scheduler job processing");
  dispatch(Event{.kind = EventKind::scheduler_paused});
}

void Scheduler::resume() {
  {
    std::lock_guard lock(mutex_);
    if (state_ != SchedulerState::paused) return;
    set_state_locked(SchedulerState::running);
    want_pass_locked();
    cv_.notify_all();
  }
  log(LogLevel::info, "Resumed scheduler job processing");
  dispatch(Event{.kind = EventKind::scheduler_resumed});
}

void Scheduler::run_loop() {
  std::unique_lock lock(mutex_);
  loop_thread_ = std::this_thread::get_id();
  while (state_ != SchedulerState::stopped) {
    wakeup_pending_ = false;
    std::optional<TimePoint> next;
    if (state_ == SchedulerState::running) {
      lock.unlock();
      next = pass();
      lock.lock();
      if (state_ == SchedulerState::stopped) break;
      // A worker that freed during this pass asked for another.
      if (wakeup_pending_ || pass_wanted_.load()) continue;
    }
    sleeping_ = true;
    notify_if_idle_locked();
    if (state_ == SchedulerState::paused) {
      cv_.wait(lock);
    } else {
      // process_jobs bounded `next` by max_wait where a store must be polled; and so must a clock
      // that cannot tell of its jumps. Otherwise the loop sleeps until the next run time.
      const TimePoint now = clock_->now();
      TimePoint deadline = next ? *next : TimePoint::max();
      if (!clock_reports_jumps_ && deadline - now > options_.max_wait)
        deadline = now + options_.max_wait;
      if (deadline > now) {
        waiting_until_ = deadline;
        asleep_until_.store(deadline.time_since_epoch().count());
        clock_->wait_until(cv_, lock, deadline);
        asleep_until_.store(std::numeric_limits<TimePoint::rep>::max());
        waiting_until_.reset();
      }
    }
    sleeping_ = false;
  }
  loop_active_ = false;
  sleeping_ = false;
  idle_cv_.notify_all();
}

std::optional<TimePoint> Scheduler::pass() {
  const std::lock_guard lock(pass_mutex_);
  return pass_holding_lock();
}

std::optional<TimePoint> Scheduler::pass_holding_lock() {
  passing_thread_.store(std::this_thread::get_id());
  pass_wanted_.store(false);
  struct Done {
    std::atomic<std::thread::id>& passing;
    ~Done() { passing.store({}); }
  } done{passing_thread_};
  return process_jobs();
}

void Scheduler::pass_on_freed_worker() {
  // Stored before trying the lock: a pass holding it looks at this after it lets go.
  pass_wanted_.store(true);
  // Inside this thread's own pass (a listener of it stopped an executor, which freed workers).
  if (passing_thread_.load() == std::this_thread::get_id()) return;
  while (pass_wanted_.load()) {
    std::unique_lock lock(pass_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    std::optional<TimePoint> next;
    try {
      next = pass_holding_lock();
    } catch (...) {
      // process_jobs logs what fails; a worker's thread must not end on it.
    }
    lock.unlock();
    // The loop sleeps until the time its own last pass found; this pass may have found an earlier
    // one (the runs that were waiting are claimed, and a later job is next).
    wakeup_for(next);
  }
}

std::optional<TimePoint> Scheduler::process_jobs() {
  PassCache& cache = *pass_cache_;
  // mutex_ only when the scheduler is not running or the cache is stale: a pass of a freed worker
  // is one run's worth of work, and each trip through a lock the workers share shows.
  if (!cache.current(wiring_version_.load(std::memory_order_acquire)) ||
      !running_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    if (state_ != SchedulerState::running) {
      runs_left_ = false;
      return std::nullopt;
    }
    // Bumped only with mutex_ held: what is read here stays current until the lock is let go.
    if (const auto version = wiring_version_.load(); !cache.current(version)) {
      cache.clear();
      cache.version = version;
      for (const auto& [alias, store] : *stores_) {
        auto& owner = owners_[alias];
        if (!owner) owner = std::make_shared<Owner>(*this, alias, clock_);
        cache.stores.push_back({alias, store, owner});
      }
      for (const auto& [name, executor] : executors_) cache.executors.push_back({name, executor});
      cache.filled = true;
    }
  }
  // What this pass holds of a store or an executor removed meanwhile is let go at its end.
  struct Drop {
    Scheduler& s;
    PassCache& cache;
    ~Drop() {
      if (!cache.current(s.wiring_version_.load(std::memory_order_acquire))) cache.clear();
    }
  } drop{*this, cache};
  const TimePoint now = clock_->now();
  std::optional<TimePoint> next;
  const auto sooner = [&next](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  // Jobs whose task is missing here stay in their store for a process that has it, or for later.
  auto& unknown = cache.unknown;
  const ClaimFilter runnable = [this, &unknown](const Job& job) {
    // Another group's job is left to the schedulers of its group, unreported: it is not ours.
    if (!runs_in(job, options_.groups)) return false;
    // A job add_job has not reported yet is claimed once it has (its job_added comes first).
    if (adding_.load(std::memory_order_relaxed) > 0 && being_added(job.id)) return false;
    if (job.callable || tasks_.contains(job.task)) return true;
    unknown.emplace_back(job.id, job.task);
    return false;
  };
  // A claim takes no more runs than the executors can start at once (Executor::available): the
  // rest stay due in the store, for the schedulers sharing it, until a worker here frees and claims
  // them itself (notify_when_available, armed before looking again so that no freeing is missed).
  using Entry = PassCache::ExecutorEntry;
  std::vector<Entry>& executors = cache.executors;
  for (Entry& e : executors) e.armed = false;
  // What the next claim may take at most; the store's expect_due hears of it, so that a store
  // locking due rows ahead locks no more than these.
  const auto total_room = [&executors] {
    // Without executors, claimed runs are recorded as errors (submit_runs): nothing to wait for.
    if (executors.empty()) return Executor::unlimited;
    std::size_t total = 0;
    for (const Entry& e : executors) {
      const std::size_t n = e.executor->available();
      total = n > Executor::unlimited - total ? Executor::unlimited : total + n;
    }
    return total;
  };
  // The executor's next freed worker claims the runs left (on its thread, or through the loop).
  const auto arm = [this](Executor& executor) {
    if (executor.freeing_thread_claims()) {
      executor.notify_when_available([waker = waker_] { waker->wake(); });
    } else {
      executor.notify_when_available([waker = waker_] { waker->wake_loop(); });
    }
  };
  Entry* last = nullptr;
  const auto room_of = [&](const Job& job, std::size_t taken) {
    if (last == nullptr || last->name != job.executor) {
      last = nullptr;
      for (Entry& e : executors) {
        if (e.name == job.executor) last = &e;
      }
      // An unknown executor: its runs are recorded as errors once claimed (submit_runs).
      if (last == nullptr) return Room::take;
    }
    Executor& executor = *last->executor;
    if (executor.available() > taken) return Room::take;
    if (!last->armed) {
      last->armed = true;
      arm(executor);
      if (executor.available() > taken) return Room::take;
    }
    for (const Entry& e : executors) {
      if (&e != last && e.executor->available() > 0) return Room::leave;
    }
    return Room::full;
  };
  // Held by reference: a std::function of the lambda itself would allocate once a pass.
  const ClaimRoom room = std::ref(room_of);
  // The room of every executor, once every one is armed to wake the loop when it has more.
  const auto room_or_arm = [&] {
    std::size_t total = total_room();
    if (total > 0) return total;
    for (Entry& e : executors) {
      if (e.armed) continue;
      e.armed = true;
      arm(*e.executor);
    }
    return total_room();
  };
  for (const PassCache::StoreEntry& entry : cache.stores) {
    const std::string& alias = entry.alias;
    const std::shared_ptr<JobStore>& store = entry.store;
    bool failed = false;
    unknown.clear();
    // The first claim is small so that the first runs of a burst start while the rest is claimed
    // (measured: 200 jobs due at one instant all started ~0.5 ms late, the time to claim all 200
    // before submitting any); later claims double up to claim_batch.
    std::size_t batch = std::min(first_claim_batch, options_.claim_batch);
    // the started runs of one claim, handed to their executors together
    std::vector<RunLease>& runs = cache.runs;
    const std::shared_ptr<Owner>& owner = entry.owner;
    for (bool more = true; more; batch = std::min(2 * batch, options_.claim_batch)) {
      // Every worker is busy: the due jobs wait in the store, for the schedulers sharing it or
      // for a worker here to free and wake the loop.
      const std::size_t free = room_or_arm();
      if (free == 0) break;
      const std::size_t limit = std::min(free, batch);
      std::vector<ClaimedJob> claims;
      try {
        claims = store->claim_due_jobs(now, limit, runnable, owner, runs, room);
      } catch (const std::exception& e) {
        // Retry after max_wait; asking the store for its next run time now would report the job we
        // just failed to claim as due and spin the loop.
        log(LogLevel::error,
            fmt::format("Error getting due jobs from job store '{}': {}", alias, e.what()));
        sooner(now + options_.max_wait);
        failed = true;
        break;
      }
      more = claims.size() == limit;
      for (auto& claim : claims) {
        std::size_t misses = 0;
        for (auto& execution : claim.executions) {
          const auto event = [&](EventKind kind) {
            return Event{.kind = kind,
                         .alias = alias,
                         .job_id = claim.job->id,
                         .scheduled_run_time = execution.run_time,
                         .execution = execution};
          };
          switch (execution.status) {
            case ExecutionStatus::missed:
              if (++misses <= max_miss_warnings) {
                log(LogLevel::warning,
                    fmt::format("Run time of job '{}' was missed by {}", claim.job->name,
                                format_duration(now - execution.run_time)));
              }
              if (wants(EventKind::job_missed)) dispatch(event(EventKind::job_missed));
              break;
            case ExecutionStatus::max_instances:
              log(LogLevel::warning, fmt::format("Execution of job '{}' skipped: maximum number of "
                                                 "running instances reached ({})",
                                                 claim.job->name, claim.job->max_instances));
              if (wants(EventKind::job_max_instances))
                dispatch(event(EventKind::job_max_instances));
              break;
            default:
              break;
          }
        }
        if (misses > max_miss_warnings) {
          log(LogLevel::warning,
              fmt::format("Job '{}' missed {} run times in all (the first {} are logged above)",
                          claim.job->name, misses, max_miss_warnings));
        }
      }
      std::vector<std::string>& ended = cache.ended;
      ended.clear();
      if (wants(EventKind::job_removed)) {
        for (const auto& claim : claims) {
          if (claim.schedule_ended) ended.push_back(claim.job->id);
        }
      }
      // Let go of the claimed jobs before their runs start: the last reference to a one-shot job is
      // then its run's, and the job is freed on the worker that ran it, not on this thread.
      claims.clear();
      submit_runs(alias, runs, &cache);
      // After their runs were submitted, as APScheduler removes a job whose trigger is done.
      for (std::string& id : ended) {
        dispatch(Event{.kind = EventKind::job_removed, .alias = alias, .job_id = std::move(id)});
      }
    }
    report_unknown_tasks(alias, unknown);
    // Another process's change to a store that cannot report it is seen at the next poll. Asked
    // after the claim: a store may begin to watch at its first.
    if (!store->reports_changes()) sooner(now + options_.max_wait);
    if (failed) continue;
    try {
      // A due time that was not claimed belongs to a job this process cannot run: poll for it at
      // max_wait (its task may be registered, or another process may take it) instead of spinning.
      if (const auto t = store->next_run_time()) sooner(*t <= now ? now + options_.max_wait : *t);
    } catch (const std::exception& e) {
      log(LogLevel::error,
          fmt::format("Error reading the next run time of job store '{}': {}", alias, e.what()));
      sooner(now + options_.max_wait);
    }
  }
  const bool left =
      std::any_of(executors.begin(), executors.end(), [](const Entry& e) { return e.armed; });
  // Only passes write runs_left_, one at a time (pass_mutex_): this one reads it without mutex_.
  if (left != runs_left_) {
    std::lock_guard lock(mutex_);
    const bool notify = runs_left_ && !left;
    runs_left_ = left;
    if (notify) notify_if_idle_locked();
  }
  return next;
}

bool Scheduler::being_added(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return being_added_.contains(id);
}

void Scheduler::report_unknown_tasks(
    const std::string& alias, const std::vector<std::pair<std::string, std::string>>& unknown) {
  for (const auto& [job_id, task] : unknown) {
    {
      std::lock_guard lock(mutex_);
      if (!reported_unknown_.insert(job_id).second) continue;
      unknown_reported_.store(true);
    }
    log(LogLevel::warning,
        fmt::format("Job '{}' is due but its task '{}' is not registered in this process; "
                    "it stays in job store '{}' and runs once the task is registered",
                    job_id, task, alias));
    dispatch(Event{.kind = EventKind::job_task_unknown, .alias = alias, .job_id = job_id});
  }
}

std::shared_ptr<Scheduler::Owner> Scheduler::owner_for(const std::string& alias) {
  std::lock_guard lock(mutex_);
  auto& owner = owners_[alias];
  if (!owner) owner = std::make_shared<Owner>(*this, alias, clock_);
  return owner;
}

void Scheduler::submit_runs(const std::string& alias, std::vector<RunLease>& runs,
                            const PassCache* cache) {
  if (runs.empty()) return;
  in_flight_.fetch_add(runs.size());
  if (unknown_reported_.load()) {
    std::lock_guard lock(mutex_);
    for (const RunLease& run : runs) reported_unknown_.erase(run.job().id);
    unknown_reported_.store(!reported_unknown_.empty());
  }
  // Runs of one claim mostly share an executor and a task: each consecutive group is resolved once
  // and handed over in one call.
  std::optional<std::string> task_name;
  std::shared_ptr<const TaskFn> task;
  for (std::size_t begin = 0; begin < runs.size();) {
    // A copy: a run settled below may hold the last reference to its job.
    const std::string executor_name = runs[begin].job().executor;
    std::size_t end = begin + 1;
    while (end < runs.size() && runs[end].job().executor == executor_name) ++end;
    std::shared_ptr<Executor> held;  // looked up in executors_, which may let go of it meanwhile
    Executor* executor = nullptr;
    if (cache != nullptr) {
      executor = cache->find_executor(executor_name);
    } else {
      std::lock_guard lock(mutex_);
      if (const auto it = executors_.find(executor_name); it != executors_.end()) {
        held = it->second;
        executor = held.get();
      }
    }
    std::size_t kept = begin;
    for (std::size_t i = begin; i < end; ++i) {
      RunLease& run = runs[i];
      const Job& job = run.job();
      if (job.callable) {
        run.set_task(job.callable);
      } else {
        if (!task_name || *task_name != job.task) {
          task = tasks_.find(job.task);
          task_name = job.task;
        }
        run.set_task(task);
      }
      if (!run.task()) {
        settle_unrunnable(run,
                          fmt::format("task '{}' is not registered in this process", job.task));
        continue;
      }
      if (!executor) {
        settle_unrunnable(run, fmt::format("executor '{}' was not found", job.executor));
        continue;
      }
      if (wants(EventKind::job_submitted)) {
        dispatch(Event{.kind = EventKind::job_submitted,
                       .alias = alias,
                       .job_id = job.id,
                       .scheduled_run_time = run.execution().run_time,
                       .execution = run.execution()});
      }
      if (kept != i) runs[kept] = std::move(run);
      ++kept;
    }
    const std::span<RunLease> group{runs.data() + begin, kept - begin};
    try {
      if (!group.empty()) executor->submit_batch(group);
    } catch (const std::exception& e) {
      for (RunLease& run : group) {
        if (run.active())
          settle_unrunnable(
              run, fmt::format("executor '{}' refused the run: {}", executor_name, e.what()));
      }
    }
    begin = end;
  }
  runs.clear();
}

void Scheduler::settle_unrunnable(RunLease& run, std::string why) {
  Outcome outcome;
  outcome.status = ExecutionStatus::error;
  outcome.exception = "sked::Error: " + std::move(why);
  run.complete(std::move(outcome));
}

void Scheduler::run_ended(const std::string& alias, const RunLease& run, const Execution& record,
                          std::optional<TimePoint> retry_at, const std::string& error) noexcept {
  try {
    // A listener below that shuts the scheduler down does not wait for this run (wait_for_runs).
    const detail::InsideRun inside;
    const Job& job = run.job();
    if (!error.empty()) {
      log(LogLevel::error,
          fmt::format("Could not record the {} run of job '{}' at {}: {}", to_string(record.status),
                      job.id, format_time(record.run_time), error));
    }
    if (record.status == ExecutionStatus::executed) {
      if (logs(LogLevel::info))
        log(LogLevel::info, fmt::format("Job '{}' executed successfully", job.name));
    } else {
      log(LogLevel::error, fmt::format("Run of job '{}' at {} failed: {}", job.name,
                                       format_time(record.run_time, timezone_), record.exception));
    }
    if (retry_at) {
      log(LogLevel::warning,
          fmt::format("Run of job '{}' at {} failed (attempt {} of {}); retrying at {}", job.name,
                      format_time(record.run_time, timezone_), run.attempt(),
                      job.retry.max_attempts, format_time(*retry_at, timezone_)));
    }
    const auto kind =
        record.status == ExecutionStatus::executed ? EventKind::job_executed : EventKind::job_error;
    if (wants(kind)) {
      dispatch(Event{.kind = kind,
                     .alias = alias,
                     .job_id = job.id,
                     .scheduled_run_time = record.run_time,
                     .execution = record});
    }
    // The retry is stored: the loop must look again to sleep no longer than until it is due. So
    // must it when a job that does not coalesce had a fire time come while this run went on: that
    // fire time waits for the run's end (plan_fire), and starts now.
    bool look_again = retry_at.has_value();
    if (!look_again && !job.coalesce) {
      const TimePoint now = clock_->now();
      const auto next = job.trigger->next_fire_time(record.run_time, now);
      look_again = next && *next <= now;
    }
    if (look_again) wakeup();
    if (awaiting_.load(std::memory_order_acquire) > 0) {
      std::lock_guard lock(mutex_);
      if (const auto it = awaited_.find(record.id); it != awaited_.end()) {
        it->second = record;
        runs_cv_.notify_all();
      }
    }
  } catch (...) {
    // Reporting a run's end must not take down the thread that ran it.
  }
  // Only the last run out takes the lock, to wake wait_idle() and wait_for_runs(), and every run
  // while wait_for_runs() waits (a task shutting the scheduler down waits for all runs but its
  // own, and waited out its whole grace period when the others ended first); the lock orders the
  // wake-up after the waiter's check of in_flight_, so it cannot be lost.
  if (in_flight_.fetch_sub(1) == 1 || runs_waiters_.load() > 0) {
    std::lock_guard lock(mutex_);
    notify_if_idle_locked();
  }
}

Execution Scheduler::run_job_now(const std::string& id, Duration timeout) {
  ensure_defaults();
  const TimePoint now = clock_->now();
  const TimePoint deadline = now + timeout;
  auto [alias, lease] = in_store_of(id, [&](const std::string& a, JobStore& store) {
    return store.start_run(id, now, owner_for(a));
  });
  {
    std::shared_ptr<Executor> executor;
    bool stopped = false;
    {
      std::lock_guard lock(mutex_);
      stopped = state_ == SchedulerState::stopped;
      if (const auto it = executors_.find(lease.job().executor); it != executors_.end())
        executor = it->second;
    }
    if (executor && stopped) executor->start(clock_);
  }
  const Execution started = lease.execution();
  {
    std::lock_guard lock(mutex_);
    awaited_.emplace(started.id, started);
    awaiting_.fetch_add(1, std::memory_order_release);
  }
  if (logs(LogLevel::info))
    log(LogLevel::info, fmt::format("Running job '{}' now", lease.job().name));
  std::vector<RunLease> runs;
  runs.push_back(std::move(lease));
  submit_runs(alias, runs);
  std::unique_lock lock(mutex_);
  while (awaited_.at(started.id).status == ExecutionStatus::started && clock_->now() < deadline) {
    clock_->wait_until(runs_cv_, lock, deadline);
  }
  Execution result = awaited_.at(started.id);
  awaited_.erase(started.id);
  awaiting_.fetch_sub(1, std::memory_order_release);
  return result;
}

void Scheduler::run_stopping_on(const std::vector<int>& signals, bool paused) {
  // What the watch's thread and this one share: the first signal stops the loop only once it has
  // begun, and this thread learns whether it was the signal that stopped it.
  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    bool begun = false;
    bool over = false;      // the loop ended: later signals change nothing
    bool deciding = false;  // the first signal is stopping the loop
    bool by_signal = false;
    std::atomic<bool> give_up{false};
  } shared;
  std::optional<detail::SignalWatch> watch;
  watch.emplace(signals, [&](int signal, int count) {
    const std::string name = detail::signal_name(signal);
    if (count == 1) {
      {
        std::unique_lock lock(shared.mutex);
        shared.cv.wait(lock, [&] { return shared.begun || shared.over; });
        if (shared.over) return;
        shared.deciding = true;
      }
      const std::size_t running = in_flight_.load(std::memory_order_acquire);
      if (running > 0) {
        log(LogLevel::warning,
            fmt::format("{} received: shutting down once the {} running job(s) end ({} again "
                        "asks them to stop)",
                        name, running, name));
      } else {
        log(LogLevel::info, fmt::format("{} received: shutting down", name));
      }
      const bool stopped = stop_loop();
      {
        std::lock_guard lock(shared.mutex);
        shared.deciding = false;
        shared.by_signal = stopped;
      }
      shared.cv.notify_all();
    } else if (count == 2) {
      log(LogLevel::warning, fmt::format("{} received again: asking running jobs to stop", name));
      shared.give_up = true;
      wake_run_waiters();
      // A third signal gets what was there before (by default: the process ends).
      watch->restore();
    }
  });
  try {
    begin(paused);
  } catch (...) {
    {
      std::lock_guard lock(shared.mutex);
      shared.over = true;
    }
    shared.cv.notify_all();
    throw;
  }
  {
    std::lock_guard lock(shared.mutex);
    shared.begun = true;
  }
  shared.cv.notify_all();
  run_loop();
  bool by_signal = false;
  {
    std::unique_lock lock(shared.mutex);
    shared.cv.wait(lock, [&] { return !shared.deciding; });
    by_signal = shared.by_signal;
    shared.over = true;
  }
  if (by_signal) {
    // What shutdown(true) would do had it been called here, cut short by a second signal.
    stop_executors(wait_for_runs(std::nullopt, &shared.give_up));
  }
}

// ---- the two schedulers ------------------------------------------------------------------------

BlockingScheduler::~BlockingScheduler() { shutdown(true); }

void BlockingScheduler::stop_on_signals(std::vector<int> signals) {
  for (const int s : signals) detail::check_catchable(s);
  std::lock_guard lock(signals_mutex_);
  signals_ = std::move(signals);
}

void BlockingScheduler::start(bool paused) {
  std::vector<int> signals;
  {
    std::lock_guard lock(signals_mutex_);
    signals = signals_;
  }
  if (!signals.empty()) {
    run_stopping_on(signals, paused);
    return;
  }
  begin(paused);
  run_loop();
}

BackgroundScheduler::~BackgroundScheduler() { shutdown(true); }

void BackgroundScheduler::start(bool paused) {
  begin(paused);
  background_thread_ = std::thread([this] { run_loop(); });
}

}  // namespace sked
