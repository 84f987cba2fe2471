#include "http/store_view.hpp"

#include "detail/job_json.hpp"
#include "detail/sqlite_time.hpp"

#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_set>

namespace sked::http::detail {
namespace {

TimePoint read_time(const SQLite::Column& c) {
  return sked::detail::parse_db_time(c.getString()).value_or(TimePoint{});
}

std::optional<TimePoint> read_optional_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return sked::detail::parse_db_time(c.getString());
}

std::optional<Duration> read_duration(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(c.getDouble()));
}

// Columns id, job_id, status, run_time, duration, finished, then optionally exception, traceback.
Execution read_execution(SQLite::Statement& st, bool with_texts) {
  Execution e;
  e.id = st.getColumn(0).getInt64();
  e.job_id = st.getColumn(1).getString();
  e.status = parse_execution_status(st.getColumn(2).getString()).value_or(ExecutionStatus::error);
  e.run_time = read_time(st.getColumn(3));
  e.duration = read_duration(st.getColumn(4));
  e.finished = read_optional_time(st.getColumn(5));
  if (with_texts) {
    e.exception = st.getColumn(6).getString();
    e.traceback = st.getColumn(7).getString();
  }
  return e;
}

}  // namespace

StoreView::StoreView(std::shared_ptr<SqliteJobStore> store,
                     std::chrono::milliseconds snapshot_max_age)
    : store_(std::move(store)),
      max_age_(snapshot_max_age),
      db_(store_->path(), SQLite::OPEN_READONLY) {
  db_.setBusyTimeout(5000);
}

std::int64_t StoreView::data_version() {
  std::lock_guard lock{sql_mutex_};
  return db_.execAndGet("PRAGMA data_version").getInt64();
}

std::string JobsSnapshot::state_of(const Job& job, TimePoint now) const {
  return sked::detail::job_state(job, now, schedulers_running, running.contains(job.id));
}

std::shared_ptr<const JobsSnapshot> StoreView::jobs() {
  std::lock_guard lock{snapshot_mutex_};
  const auto now = std::chrono::steady_clock::now();
  if (snapshot_ && !invalid_ && now - snapshot_taken_ < max_age_) return snapshot_;
  // data_version changes whenever another connection (a scheduler, this process's store) commits.
  const std::int64_t version = data_version();
  if (snapshot_ && !invalid_ && version == snapshot_version_) {
    snapshot_taken_ = now;
    return snapshot_;
  }
  auto fresh = std::make_shared<JobsSnapshot>();
  fresh->jobs = store_->get_all_jobs();
  fresh->by_id.reserve(fresh->jobs.size());
  fresh->search_text.reserve(fresh->jobs.size());
  for (std::size_t i = 0; i < fresh->jobs.size(); ++i) {
    const Job& job = fresh->jobs[i];
    fresh->by_id.emplace(job.id, i);
    std::string text = job.id + '\n' + job.name + '\n' + job.task;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    fresh->search_text.push_back(std::move(text));
  }
  fresh->schedulers_running = !store_->live_schedulers().empty();
  {
    // The literal status lets SQLite read the partial index of started records.
    std::lock_guard sql_lock{sql_mutex_};
    SQLite::Statement st{db_, "SELECT DISTINCT job_id FROM sked_job_execution WHERE status = 'started'"};
    while (st.executeStep()) fresh->running.insert(st.getColumn(0).getString());
  }
  snapshot_ = std::move(fresh);
  snapshot_taken_ = now;
  snapshot_version_ = version;
  invalid_ = false;
  return snapshot_;
}

void StoreView::invalidate() {
  std::lock_guard lock{snapshot_mutex_};
  invalid_ = true;
}

JobStats StoreView::stats(const std::string& job_id) const {
  JobStats out;
  const auto records = store_->get_executions({.job_id = job_id, .limit = stats_window});
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

std::vector<Execution> StoreView::history(const HistoryQuery& q, std::size_t traceback_tail) {
  std::string sql =
      "SELECT id, job_id, status, run_time, duration, finished, exception, "
      "CASE WHEN length(traceback) > ?1 THEN substr(traceback, -?1) ELSE traceback END "
      "FROM sked_job_execution WHERE 1";
  if (q.job_id) sql += " AND job_id = ?2";
  if (q.status) sql += " AND status = ?3";
  if (q.since) sql += " AND run_time >= ?4";
  if (q.until) sql += " AND run_time < ?5";
  sql += " ORDER BY run_time DESC, id DESC LIMIT ?6 OFFSET ?7";
  std::lock_guard lock{sql_mutex_};
  SQLite::Statement st{db_, sql};
  st.bind(1, static_cast<std::int64_t>(traceback_tail));
  if (q.job_id) st.bind(2, *q.job_id);
  if (q.status) st.bind(3, std::string{to_string(*q.status)});
  if (q.since) st.bind(4, sked::detail::format_db_time(*q.since));
  if (q.until) st.bind(5, sked::detail::format_db_time(*q.until));
  st.bind(6, static_cast<std::int64_t>(q.limit));
  st.bind(7, static_cast<std::int64_t>(q.offset));
  std::vector<Execution> out;
  while (st.executeStep()) out.push_back(read_execution(st, true));
  return out;
}

std::vector<SchedulerRow> StoreView::schedulers() {
  std::unordered_set<std::string> alive;
  for (const auto& s : store_->live_schedulers()) alive.insert(s.id);
  std::lock_guard lock{sql_mutex_};
  SQLite::Statement st{db_,
                       "SELECT id, host, pid, started, heartbeat FROM sked_scheduler "
                       "ORDER BY heartbeat DESC"};
  std::vector<SchedulerRow> out;
  while (st.executeStep()) {
    SchedulerRow row;
    row.scheduler.id = st.getColumn(0).getString();
    row.scheduler.host = st.getColumn(1).getString();
    row.scheduler.pid = st.getColumn(2).getInt64();
    row.scheduler.started = read_time(st.getColumn(3));
    row.scheduler.heartbeat = read_time(st.getColumn(4));
    row.alive = alive.contains(row.scheduler.id);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<Execution> StoreView::records_from(std::int64_t from_id, std::size_t limit) {
  std::lock_guard lock{sql_mutex_};
  SQLite::Statement st{db_,
                       "SELECT id, job_id, status, run_time, duration, finished "
                       "FROM sked_job_execution WHERE id >= ? ORDER BY id LIMIT ?"};
  st.bind(1, from_id);
  st.bind(2, static_cast<std::int64_t>(limit));
  std::vector<Execution> out;
  while (st.executeStep()) out.push_back(read_execution(st, false));
  return out;
}

}  // namespace sked::http::detail
