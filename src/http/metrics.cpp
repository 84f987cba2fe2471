#include "http/metrics.hpp"

#include "detail/job_json.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <limits>

namespace sked::http::detail {
namespace {

// Seconds. Durations span quick checks to long batch jobs; lateness is the scheduler's reaction
// time, normally milliseconds.
const std::vector<double> duration_bounds{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800};
const std::vector<double> lateness_bounds{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300};
constexpr std::size_t read_batch = 20000;
// Ids skipped between two records read are looked at again for this long, unless more than
// `max_skip` were skipped at once (a deletion) or `max_skipped` are watched already.
constexpr Duration skipped_watch = std::chrono::minutes{2};
constexpr std::int64_t max_skip = 64;
constexpr std::size_t max_skipped = 1024;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
double unix_seconds(TimePoint t) { return seconds(t.time_since_epoch()); }

std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::Histogram::observe(const std::vector<double>& bounds, double value) {
  if (buckets.empty()) buckets.assign(bounds.size(), 0);
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (value <= bounds[i]) ++buckets[i];
  }
  sum += value;
  ++count;
}

const std::string& Metrics::job_label(const std::string& job_id) {
  static const std::string other;
  if (labelled_.contains(job_id)) return job_id;
  if (labelled_.size() >= max_jobs_) return other;
  labelled_.insert(job_id);
  return job_id;
}

Metrics::Key Metrics::key_of(const std::string& job_id) {
  const auto it = task_of_.find(job_id);
  return {it == task_of_.end() ? std::string{} : it->second,
          per_job_ ? job_label(job_id) : std::string{}};
}

void Metrics::count(const Execution& r) {
  Series& s = series_[key_of(r.job_id)];
  ++s.runs[static_cast<std::size_t>(r.status)];
  if (!r.duration || !r.finished) return;
  s.duration.observe(duration_bounds, seconds(*r.duration));
  const Duration late = *r.finished - *r.duration - r.run_time;
  s.lateness.observe(lateness_bounds, std::max(0.0, seconds(late)));
  if (r.status == ExecutionStatus::executed && (!s.last_success || *r.finished > *s.last_success))
    s.last_success = r.finished;
}

void Metrics::take(const Execution& r) {
  if (r.status == ExecutionStatus::started) {
    running_.emplace(r.id, r.job_id);
  } else {
    count(r);
  }
}

void Metrics::ingest(const std::shared_ptr<const JobsSnapshot>& jobs, TimePoint now) {
  // Remembered past a job's removal: a one-shot job is removed by the claim that runs it. Updated
  // once per job list read, not per scrape.
  if (jobs != tasks_snapshot_) {
    for (const auto& job : jobs->jobs) task_of_[job.id] = job.task;
    tasks_snapshot_ = jobs;
  }
  const auto one = [&](std::int64_t id) { return view_.history({.id = id, .with_texts = false}); };
  // Runs that were going at the last scrape and have ended since.
  for (auto it = running_.begin(); it != running_.end();) {
    const auto rows = one(it->first);
    if (rows.empty()) {
      it = running_.erase(it);  // pruned
    } else if (rows.front().status != ExecutionStatus::started) {
      count(rows.front());
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
  // Ids skipped over: a record a concurrent writer committed late, or one deleted or never
  // committed (those are given up after a while).
  for (auto it = skipped_.begin(); it != skipped_.end();) {
    const auto rows = one(it->first);
    if (!rows.empty()) {
      take(rows.front());
      it = skipped_.erase(it);
    } else if (now - it->second > skipped_watch) {
      it = skipped_.erase(it);
    } else {
      ++it;
    }
  }
  const bool first = !last_id_;
  for (;;) {
    const auto rows = view_.history({.after_id = last_id_,
                                     .order = ExecutionOrder::oldest_id_first,
                                     .limit = read_batch,
                                     .with_texts = false});
    for (const auto& r : rows) {
      // Not on the first read, whose gaps are pruned history.
      if (!first && last_id_ && r.id - *last_id_ > 1 && r.id - *last_id_ <= max_skip) {
        for (std::int64_t id = *last_id_ + 1; id < r.id && skipped_.size() < max_skipped; ++id)
          skipped_.emplace(id, now);
      }
      take(r);
      last_id_ = r.id;
    }
    if (rows.size() < read_batch) break;
  }
}

std::string Metrics::render(TimePoint now) {
  const auto jobs = view_.jobs();
  const auto live = jobs->registry ? view_.live_schedulers() : 0;
  std::lock_guard lock{mutex_};
  ingest(jobs, now);

  const auto labels = [&](const Key& k) {
    std::string out = fmt::format("task=\"{}\"", label_value(k.first));
    if (per_job_) out += fmt::format(",job=\"{}\"", label_value(k.second));
    return out;
  };
  std::string out;
  out.reserve(4096 + series_.size() * 1024);

  out +=
      "# HELP sked_runs_total Execution records that ended, by status (a run counts once it "
      "ends).\n# TYPE sked_runs_total counter\n";
  for (const auto& [key, s] : series_) {
    for (std::size_t i = 1; i < s.runs.size(); ++i) {
      out += fmt::format("sked_runs_total{{{},status=\"{}\"}} {}\n", labels(key),
                         to_string(static_cast<ExecutionStatus>(i)), s.runs[i]);
    }
  }
  out +=
      "# HELP sked_runs_started Runs recorded as started that had not ended at this scrape.\n"
      "# TYPE sked_runs_started gauge\n";
  {
    std::map<Key, std::uint64_t> counts;
    for (const auto& [key, s] : series_) counts[key] = 0;
    for (const auto& [id, job_id] : running_) ++counts[key_of(job_id)];
    for (const auto& [key, n] : counts) {
      out += fmt::format("sked_runs_started{{{}}} {}\n", labels(key), n);
    }
  }

  const auto histogram = [&](const char* name, const char* help, const std::vector<double>& bounds,
                             Histogram Series::*member) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (const auto& [key, s] : series_) {
      const Histogram& h = s.*member;
      const std::string l = labels(key);
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, l, number(bounds[i]),
                           h.buckets.empty() ? 0 : h.buckets[i]);
      }
      out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, l, h.count);
      out += fmt::format("{}_sum{{{}}} {}\n", name, l, number(h.sum));
      out += fmt::format("{}_count{{{}}} {}\n", name, l, h.count);
    }
  };
  histogram("sked_run_duration_seconds", "How long runs that ended took.", duration_bounds,
            &Series::duration);
  histogram("sked_run_lateness_seconds", "How long after its scheduled run time a run started.",
            lateness_bounds, &Series::lateness);

  out +=
      "# HELP sked_last_success_timestamp_seconds When the last run that executed without error "
      "finished (Unix time).\n# TYPE sked_last_success_timestamp_seconds gauge\n";
  for (const auto& [key, s] : series_) {
    if (s.last_success) {
      out += fmt::format("sked_last_success_timestamp_seconds{{{}}} {}\n", labels(key),
                         number(unix_seconds(*s.last_success)));
    }
  }

  // Jobs by task and state (every state, zeros too, so an alert on a state has a series to
  // watch); the earliest next run by task (or job). Looked up without building a
  // key per job: a scrape walks every job.
  constexpr std::array<std::string_view, 4> states{"scheduled", "paused", "overdue",
                                                   "task unknown"};
  std::map<std::string, std::array<std::uint64_t, states.size()>, std::less<>> by_state;
  std::map<Key, TimePoint> next_run;
  std::map<std::string, TimePoint, std::less<>> next_by_task;
  for (const auto& job : jobs->jobs) {
    auto counts = by_state.find(job.task);
    if (counts == by_state.end())
      counts = by_state.emplace(job.task, std::array<std::uint64_t, 4>{}).first;
    const std::string state = jobs->state_of(job, now);
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (state == states[i]) ++counts->second[i];
    }
    if (!job.next_run_time) continue;
    if (per_job_) {
      const auto [it, added] =
          next_run.try_emplace({job.task, job_label(job.id)}, *job.next_run_time);
      if (!added && *job.next_run_time < it->second) it->second = *job.next_run_time;
      continue;
    }
    auto next = next_by_task.find(job.task);
    if (next == next_by_task.end()) {
      next_by_task.emplace(job.task, *job.next_run_time);
    } else if (*job.next_run_time < next->second) {
      next->second = *job.next_run_time;
    }
  }
  for (const auto& [task, t] : next_by_task) next_run[{task, std::string{}}] = t;
  out += "# HELP sked_jobs Jobs in the store, by task and state.\n# TYPE sked_jobs gauge\n";
  for (const auto& [task, counts] : by_state) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      out += fmt::format("sked_jobs{{task=\"{}\",state=\"{}\"}} {}\n", label_value(task), states[i],
                         counts[i]);
    }
  }
  out +=
      "# HELP sked_next_run_timestamp_seconds The earliest next run time (Unix time); paused "
      "jobs have none.\n# TYPE sked_next_run_timestamp_seconds gauge\n";
  for (const auto& [key, t] : next_run) {
    out += fmt::format("sked_next_run_timestamp_seconds{{{}}} {}\n", labels(key),
                       number(unix_seconds(t)));
  }
  // Only stores that register their schedulers (SQLite, PostgreSQL) can tell.
  if (jobs->registry) {
    out +=
        "# HELP sked_schedulers_live Scheduler processes alive on the store.\n"
        "# TYPE sked_schedulers_live gauge\n";
    out += fmt::format("sked_schedulers_live {}\n", live);
  }
  return out;
}

}  // namespace sked::http::detail
