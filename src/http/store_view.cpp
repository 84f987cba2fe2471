#include "http/store_view.hpp"

#include "detail/job_json.hpp"

#include <sked/stores/sqlite.hpp>
#ifdef SKED_HAS_POSTGRES
#include <sked/stores/postgres.hpp>
#endif

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sked::http::detail {
namespace {

// The schedulers of the stores that register them; nothing for the others.
std::optional<std::vector<RegisteredScheduler>> registry(const JobStore& store) {
  if (const auto* sqlite = dynamic_cast<const SqliteJobStore*>(&store))
    return sqlite->registered_schedulers();
#ifdef SKED_HAS_POSTGRES
  if (const auto* pg = dynamic_cast<const PostgresJobStore*>(&store))
    return pg->registered_schedulers();
#endif
  return std::nullopt;
}

// A list read in the background may be this many times older than its read took.
constexpr int refresh_factor = 10;

// The most `started` records read to tell running jobs (far more than the runs one store has
// going).
constexpr std::size_t max_running_listed = 100'000;

}  // namespace

StoreView::StoreView(std::shared_ptr<JobStore> store, std::shared_ptr<JobStore> list_store,
                     std::chrono::milliseconds snapshot_max_age)
    : store_(std::move(store)),
      list_store_(list_store ? std::move(list_store) : store_),
      max_age_(snapshot_max_age),
      refresh_after_(snapshot_max_age) {
  thread_ = std::thread{[this] { refresher(); }};
}

std::string JobsSnapshot::state_of(const Job& job, TimePoint now) const {
  return sked::detail::job_state(job, now, schedulers_running, running.contains(job.id));
}

StoreView::~StoreView() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<const JobsSnapshot> StoreView::load() const {
  auto fresh = std::make_shared<JobsSnapshot>();
  fresh->read_at = SystemClock{}.now();
  fresh->jobs = list_store_->get_all_jobs();
  fresh->by_id.reserve(fresh->jobs.size());
  fresh->search_text.reserve(fresh->jobs.size());
  for (std::size_t i = 0; i < fresh->jobs.size(); ++i) {
    const Job& job = fresh->jobs[i];
    fresh->by_id.emplace(job.id, i);
    std::string text = job.id + '\n' + job.name + '\n' + job.task;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    fresh->search_text.push_back(std::move(text));
  }
  if (const auto registered = registry(*store_)) {
    fresh->registry = true;
    fresh->schedulers_running = std::any_of(registered->begin(), registered->end(),
                                            [](const RegisteredScheduler& s) { return s.alive; });
  }
  // Jobs with a run going: a job that does not coalesce waits on it, and is scheduled, not stuck.
  for (const Execution& e : store_->get_executions({.status = ExecutionStatus::started,
                            .limit = max_running_listed,
                            .with_texts = false})) {
    fresh->running.insert(e.job_id);
  }
  return fresh;
}

void StoreView::install(std::shared_ptr<const JobsSnapshot> fresh,
                        std::chrono::steady_clock::duration took, std::uint64_t generation) {
  std::lock_guard lock{mutex_};
  snapshot_ = std::move(fresh);
  taken_ = std::chrono::steady_clock::now();
  refresh_after_ = std::max<std::chrono::steady_clock::duration>(max_age_, refresh_factor * took);
  loaded_ = std::max(loaded_, generation);
}

std::shared_ptr<const JobsSnapshot> StoreView::jobs() {
  {
    std::lock_guard lock{mutex_};
    if (snapshot_ && loaded_ == wanted_) {
      if (!refresh_asked_ && std::chrono::steady_clock::now() - taken_ >= refresh_after_) {
        refresh_asked_ = true;
        wake_.notify_all();
      }
      return snapshot_;
    }
  }
  // No list yet, or this server changed the store since it was read: read it now (once, for every
  // request that waits here).
  std::lock_guard loading{load_mutex_};
  std::uint64_t generation = 0;
  {
    std::lock_guard lock{mutex_};
    if (snapshot_ && loaded_ == wanted_) return snapshot_;
    generation = wanted_;
  }
  const auto started = std::chrono::steady_clock::now();
  auto fresh = load();
  install(fresh, std::chrono::steady_clock::now() - started, generation);
  return fresh;
}

void StoreView::refresher() {
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || refresh_asked_; });
    if (stopping_) return;
    lock.unlock();
    bool failed = false;
    try {
      std::lock_guard load_lock{load_mutex_};
      std::uint64_t generation = 0;
      {
        std::lock_guard inner{mutex_};
        generation = wanted_;
      }
      const auto started = std::chrono::steady_clock::now();
      auto fresh = load();
      install(std::move(fresh), std::chrono::steady_clock::now() - started, generation);
    } catch (const std::exception&) {
      // The store cannot be read for now: pages go on showing the list read last, and it is tried
      // again once that is past the age again.
      failed = true;
    }
    lock.lock();
    refresh_asked_ = false;
    if (failed) taken_ = std::chrono::steady_clock::now();
  }
}

void StoreView::invalidate() {
  std::lock_guard lock{mutex_};
  ++wanted_;
}

JobStats StoreView::stats(const std::string& job_id) const {
  JobStats out;
  const auto records =
      store_->get_executions({.job_id = job_id, .limit = stats_window, .with_texts = false});
  if (!records.empty()) out.last = records.front();
  std::vector<double> seconds;
  for (const auto& e : records) {
    if (e.duration && (e.status == ExecutionStatus::executed || e.status == ExecutionStatus::error))
      seconds.push_back(std::chrono::duration<double>(*e.duration).count());
  }
  if (seconds.empty()) return out;
  double sum = 0;
  for (const double s : seconds) sum += s;
  out.mean_seconds = sum / static_cast<double>(seconds.size());
  std::sort(seconds.begin(), seconds.end());
  // Nearest rank.
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(seconds.size())));
  out.p95_seconds = seconds[std::max<std::size_t>(rank, 1) - 1];
  return out;
}

std::vector<Execution> StoreView::history(const ExecutionQuery& q) const {
  return store_->get_executions(q);
}

std::optional<std::vector<SchedulerRow>> StoreView::schedulers() const {
  auto registered = registry(*store_);
  if (!registered) return std::nullopt;
  std::vector<SchedulerRow> out;
  out.reserve(registered->size());
  for (auto& s : *registered) {
    const bool alive = s.alive;
    out.push_back({std::move(s), alive});
  }
  // Latest heartbeat first: the live ones lead.
  std::stable_sort(out.begin(), out.end(), [](const SchedulerRow& a, const SchedulerRow& b) {
    return a.scheduler.heartbeat > b.scheduler.heartbeat;
  });
  return out;
}

std::size_t StoreView::live_schedulers() const {
  const auto registered = registry(*store_);
  if (!registered) return 0;
  return static_cast<std::size_t>(
      std::count_if(registered->begin(), registered->end(),
                    [](const RegisteredScheduler& s) { return s.alive; }));
}

}  // namespace sked::http::detail
