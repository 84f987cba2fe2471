#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/stores/postgres.hpp>

#include "detail/json_limits.hpp"
#include "detail/periodic.hpp"
#include "detail/run_process.hpp"
#include "detail/scheduler_registry.hpp"
#include "detail/sqlite_time.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace sked {
namespace {

using detail::format_db_time;

// Due rows read per query while claiming: as many as the claim still wants (Tx::expect_due), up to
// the maximum (the scheduler's default claim batch, so that one page serves a whole claim). When
// the claim skips jobs it read (not runnable here), the next page grows from first_claim_page,
// doubling.
constexpr std::size_t first_claim_page = 4;
constexpr std::size_t max_claim_page = 512;
constexpr int delete_batch_size = 2000;
// Deadlocks and serialization failures are retried this often before they are reported.
constexpr int max_conflict_retries = 20;
// How often one call reconnects after losing its connection (each reconnection itself keeps trying
// for up to reconnect_timeout) before it fails.
constexpr int max_losses_per_call = 5;
// The SQLSTATE a held-back claim write reports when one of its fire times already had a record: the
// claim runs again, writing one row at a time, so that the policy sees which insert found the row.
constexpr const char* batch_conflict = "sked-batch";
// Finished runs kept in memory while the server cannot be reached, at most; beyond it a completion
// fails (and is reported) instead of being kept.
constexpr std::size_t max_kept_completions = 100'000;
// Claims do not wait for this process's unwritten completions (they count their records as
// finished) while at most this many wait; beyond, they wait, so that claims cannot run ahead of the
// completion writer.
constexpr std::size_t max_unwritten_for_claims = 2048;
// Execution ids reserved per round trip, so that a claim can name its records before they are sent.
constexpr std::size_t reserved_ids = 512;

// The channel a committed change notifies; the payload is the schema, so stores of other schemas
// sharing the database ignore it.
constexpr const char* changes_channel = "sked_changes";

// A failure reported by libpq: its SQLSTATE, message, and whether the connection is gone.
struct PgFailure {
  std::string sqlstate;
  std::string message;
  bool lost = false;
};

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;
using Param = std::optional<std::string>;

// A text array literal for a bound parameter (`{"a","b\"c",NULL}`): a batch of rows in one
// statement, through unnest().
std::string array_literal(const std::vector<Param>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    if (!items[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (const char c : *items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool connection_lost(PGconn* conn, std::string_view sqlstate) {
  // Class 08 is a connection exception; 57P01-57P03: the server is shutting down or starting. An
  // error without a SQLSTATE came from libpq itself, not the server: the connection broke.
  return conn == nullptr || PQstatus(conn) == CONNECTION_BAD || sqlstate.empty() ||
         sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

// The connection as errors show it: URL-like, without the password.
std::string describe_connection(const std::string& conninfo, const std::string& schema) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    if (error) PQfreemem(error);
    return fmt::format("postgresql (unparsable connection string), schema {}", schema);
  }
  std::map<std::string, std::string> v;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') v[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  std::string out = "postgresql://";
  if (v.contains("user")) out += v["user"] + "@";
  out += v.contains("host") ? v["host"] : v.contains("hostaddr") ? v["hostaddr"] : "";
  if (v.contains("port")) out += ":" + v["port"];
  out += "/";
  if (v.contains("dbname")) out += v["dbname"];
  return fmt::format("{} schema {}", out, schema);
}

std::int64_t to_int64(const char* text) {
  std::int64_t n = 0;
  const std::string_view s{text};
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

std::optional<TimePoint> time_from_micros(PGresult* r, int row, int col) {
  if (PQgetisnull(r, row, col)) return std::nullopt;
  return TimePoint{Duration{to_int64(PQgetvalue(r, row, col))}};
}

std::string text(PGresult* r, int row, int col) { return PQgetvalue(r, row, col); }

Param optional_time(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return format_db_time(*t);
}

// An integer as a bound parameter's text.
std::string decimal(std::int64_t n) { return fmt::to_string(n); }

// A duration in seconds (double precision), as the shortest text that reads back the same.
std::string seconds(Duration d) { return fmt::to_string(static_cast<double>(d.count()) / 1e6); }

std::string status_text(ExecutionStatus s) { return std::string{to_string(s)}; }

// PostgreSQL text holds neither NUL bytes nor invalid UTF-8; a task's output may have both. Each
// bad byte becomes U+FFFD, so that a completion is never refused for what a task printed.
std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    bool ok = len > 0 && c != 0 && i + len <= in.size() && !(len == 2 && c < 0xc2) &&
              !(len == 4 && c > 0xf4);
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

// Schema names are identifiers, which cannot be bound as parameters; sked accepts only plain ones,
// so that the few statements that name the schema need no quoting beyond libpq's.
void check_schema_name(const std::string& schema) {
  const bool ok = !schema.empty() && schema.size() <= 63 &&
                  (std::isalpha(static_cast<unsigned char>(schema[0])) || schema[0] == '_') &&
                  std::all_of(schema.begin(), schema.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                  });
  if (!ok) {
    throw InvalidArgument(
        fmt::format("postgres job store: schema name '{}' must be 1-63 letters, digits and "
                    "underscores, not starting "
                    "with a digit",
                    schema));
  }
}

// One libpq connection and the statements prepared on it.
class Connection {
 public:
  Connection() = default;
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] bool open() const noexcept {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
  }
  [[nodiscard]] PGconn* get() const noexcept { return conn_; }

  void connect(const std::string& conninfo) {
    close();
    // Defaults the connection string can override (later keywords win): a bounded connect, so that
    // reconnecting to an unreachable host keeps to reconnect_timeout, and a name in
    // pg_stat_activity.
    const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {"10", "sked", conninfo.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(conn_) != CONNECTION_OK) {
      PgFailure f{"08001", trimmed(PQerrorMessage(conn_)), true};
      close();
      throw f;
    }
    // The server's notices ("terminating connection due to administrator command") would go to
    // stderr; what matters of them reaches the caller as an error.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }

  void close() noexcept {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
  }

  // Runs `sql` (several statements allowed, no parameters); the last statement's result.
  Result query(const char* sql) { return check(Result{PQexec(conn_, sql), &PQclear}); }

  // Runs one statement with text parameters, prepared on first use on this connection.
  Result exec(const char* sql, std::initializer_list<Param> params = {}) {
    const std::string& name = prepared(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
    return check(Result{PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                       values.data(), nullptr, nullptr, 0),
                        &PQclear});
  }

  // One statement of a pipeline: prepared SQL and its text parameters.
  struct Statement {
    const char* sql;
    std::vector<Param> params;
  };

  // Runs `statements` in one round trip (libpq pipeline mode) and returns their results in order.
  // The first failure is thrown once every result was read; the statements after it were not run.
  std::vector<Result> pipeline(const std::vector<Statement>& statements) {
    std::vector<const std::string*> names;
    names.reserve(statements.size());
    for (const Statement& s : statements) names.push_back(&prepared(s.sql));
    if (PQenterPipelineMode(conn_) != 1) throw failure();
    bool sent = true;
    for (std::size_t i = 0; sent && i < statements.size(); ++i) {
      std::vector<const char*> values;
      values.reserve(statements[i].params.size());
      for (const Param& p : statements[i].params) values.push_back(p ? p->c_str() : nullptr);
      sent = PQsendQueryPrepared(conn_, names[i]->c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0) == 1;
    }
    // A pipeline that could not be sent whole leaves the connection in no state to reuse.
    if (!sent || PQpipelineSync(conn_) != 1) throw lost();
    std::vector<Result> results;
    std::optional<PgFailure> first;
    for (std::size_t i = 0; i < statements.size(); ++i) {
      Result r{PQgetResult(conn_), &PQclear};
      if (!r) throw lost();
      const ExecStatusType status = PQresultStatus(r.get());
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
          status != PGRES_PIPELINE_ABORTED && !first) {
        first = failure_of(r.get());
        if (first->lost) throw *first;
      }
      if (PGresult* end = PQgetResult(conn_)) {  // each statement's results end with a null
        PQclear(end);
        throw lost();
      }
      results.push_back(std::move(r));
    }
    const Result sync{PQgetResult(conn_), &PQclear};
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC ||
        PQexitPipelineMode(conn_) != 1)
      throw lost();
    if (first) throw *first;
    return results;
  }

  // Like `exec`, unprepared: for statements whose best plan depends on which filters are set.
  Result exec_once(const char* sql, std::initializer_list<Param> params) {
    return exec_once(sql, std::vector<Param>(params));
  }
  Result exec_once(const char* sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
    return check(Result{PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                                     values.data(), nullptr, nullptr, 0),
                        &PQclear});
  }

  Result check(Result r) {
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    throw failure_of(r.get());
  }

  // What a failed result (or none) says went wrong.
  [[nodiscard]] PgFailure failure_of(PGresult* r) const {
    PgFailure f;
    if (r) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      f.sqlstate = state ? state : "";
      f.message = trimmed(PQresultErrorMessage(r));
    }
    if (f.message.empty()) f.message = trimmed(PQerrorMessage(conn_));
    f.lost = connection_lost(conn_, f.sqlstate);
    return f;
  }

 private:
  // The name of `sql` prepared on this connection, preparing it on first use.
  const std::string& prepared(const char* sql) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = fmt::format("sked_{}", prepared_.size());
      check(Result{PQprepare(conn_, name.c_str(), sql, 0, nullptr), &PQclear});
      it = prepared_.emplace(sql, std::move(name)).first;
    }
    return it->second;
  }

  [[nodiscard]] PgFailure failure() const {
    return PgFailure{"", trimmed(PQerrorMessage(conn_)), connection_lost(conn_, "")};
  }
  // The connection is in no state to reuse: the caller closes it and reconnects.
  [[nodiscard]] PgFailure lost() const {
    return PgFailure{"08006", trimmed(PQerrorMessage(conn_)), true};
  }

  PGconn* conn_ = nullptr;
  std::map<const char*, std::string> prepared_;
};

int affected(const Result& r) { return std::atoi(PQcmdTuples(r.get())); }

}  // namespace

// ---- the store's state -------------------------------------------------------------------------

class PostgresJobStore::Impl {
 public:
  Impl(std::string conninfo, PostgresJobStoreOptions options);
  ~Impl();

  // Runs `fn` with the connection under the store's lock: reconnecting when the connection is gone
  // (and running `fn` again), retrying deadlocks and serialization failures. Other failures become
  // a StoreError naming the connection and `what` was being done.
  template <typename Fn>
  auto locked(std::string_view what, Fn&& fn) const -> decltype(fn()) {
    std::lock_guard lock(mutex_);
    return retrying(what, fn);
  }
  template <typename Fn>
  auto retrying(std::string_view what, Fn& fn) const -> decltype(fn()) {
    return retrying(what, fn, conn_);
  }
  // The same on connection `c` (the claims' or the completions').
  template <typename Fn>
  auto retrying(std::string_view what, Fn& fn, Connection& c) const -> decltype(fn()) {
    int conflicts = 0;
    int losses = 0;
    for (;;) {
      try {
        if (!c.open()) reconnect(what, c);
        return fn();
      } catch (const PgFailure& f) {
        // A connection that breaks again and again on the same call (a statement that kills its
        // server process, a session timeout shorter than the call) is an error, not an outage.
        if (f.lost && ++losses <= max_losses_per_call) {
          note_lost(f);
          c.close();
          continue;
        }
        if (f.lost) c.close();
        if (f.sqlstate == batch_conflict) {
          rollback_quietly(c);
          continue;
        }
        if ((f.sqlstate == "40001" || f.sqlstate == "40P01") &&
            ++conflicts <= max_conflict_retries) {
          rollback_quietly(c);
          std::this_thread::sleep_for(std::chrono::milliseconds{
              1 +
              static_cast<long>(detail::random_u64() % (5U * static_cast<unsigned>(conflicts)))});
          continue;
        }
        rollback_quietly(c);
        throw StoreError(description_, 0,
                         f.sqlstate.empty()
                             ? fmt::format("{}: {}", what, f.message)
                             : fmt::format("{}: {} (SQLSTATE {})", what, f.message, f.sqlstate));
      } catch (...) {
        rollback_quietly(c);
        throw;
      }
    }
  }

  // A write transaction around `body`, sending the change notification before COMMIT when
  // `notify` (delivered only if it commits). When the connection drops during COMMIT, whether the
  // server committed is asked by transaction id once reconnected, so that a committed claim is
  // never run twice and a lost one is.
  template <typename Fn>
  void write_transaction(std::string_view what, Fn& body, bool notify) const {
    write_transaction(what, body, notify, conn_);
  }
  template <typename Fn>
  void write_transaction(std::string_view what, Fn& body, bool notify, Connection& c) const {
    std::optional<std::string> unsure;
    auto attempt = [&] {
      if (unsure) {
        const std::string xid = *std::exchange(unsure, std::nullopt);
        const Result r = c.exec("SELECT txid_status($1::int8)", {xid});
        if (!PQgetisnull(r.get(), 0, 0) && text(r.get(), 0, 0) == "committed") return;
      }
      batch_.clear();
      const Result begun = c.query("BEGIN; SELECT txid_current()");
      const std::string xid = text(begun.get(), 0, 0);
      body();
      if (notify) (void)c.exec("SELECT pg_notify($1, $2)", {changes_channel, options_.schema});
      try {
        if (batch_.empty()) {
          (void)c.query("COMMIT");
        } else {
          send_batch(true);
        }
      } catch (const PgFailure& f) {
        if (f.lost) unsure = xid;
        throw;
      }
    };
    retrying(what, attempt, c);
  }

  // A claim's writes, held back and sent in one round trip (pipeline mode) with the next read that
  // depends on them or with COMMIT, each kind as one statement over arrays: a claim of 500 jobs
  // costs a few round trips instead of three per job.
  struct Batch {
    std::vector<Param> exec_ids, exec_jobs, exec_statuses, exec_times;
    std::vector<Param> moved_ids, moved_times;
    std::vector<Param> deleted_jobs, deleted_requests;
    [[nodiscard]] bool empty() const noexcept {
      return exec_ids.empty() && moved_ids.empty() && deleted_jobs.empty() &&
             deleted_requests.empty();
    }
    void clear() noexcept {
      for (auto* v : {&exec_ids, &exec_jobs, &exec_statuses, &exec_times, &moved_ids, &moved_times,
                      &deleted_jobs, &deleted_requests})
        v->clear();
    }
  };
  // Sends the held-back writes (and COMMIT when `commit`). A fire time that already had a record
  // sets `careful_` and fails with `batch_conflict`, so that the claim runs again row by row.
  void send_batch(bool commit) const;
  // An execution id from the sequence, reserved ahead.
  std::int64_t reserved_id() const;

  // Finished runs are written by a thread of their own on a connection of their own, each write
  // one statement for every completion that arrived while the previous write was in flight: the
  // thread that ran a task does not wait for the database, and a claim does not wait behind it.
  struct Completion {
    Execution record;
    std::optional<RunRequest> retry;
  };
  void complete(const Execution& record, const std::optional<RunRequest>& retry);
  void write_loop();
  // Waits until the completions queued before the call are written (or a write of them failed),
  // so that this process reads what it completed and counts running instances right.
  void flush_completions();
  // What a claim needs to know of the completions not written yet, instead of waiting for them: the
  // ids of their records (finished, though `started` in the table until written), as an array
  // literal. Empty when it must wait: one of them plans a retry (which may be due), or more are
  // waiting than a write takes in one go (claims must not run ahead of the writer).
  std::optional<std::string> unwritten_ids();
  bool retries_unwritten() {
    std::lock_guard lock(done_mutex_);
    return done_retries_ > 0;
  }
  void stop_writing() noexcept;
  void write_completion_rows(const std::vector<Completion>& batch) const;

  void note_lost(const PgFailure& f) const;
  void reconnect(std::string_view what, Connection& c) const;
  void rollback_quietly(Connection& c) const noexcept;
  void prepare_schema(Connection& c) const;

  void warn(const std::string& message) const;
  void warn_all(const std::vector<std::string>& messages) const {
    for (const auto& m : messages) warn(m);
  }

  std::shared_ptr<Job> read_job(const std::string& id, std::optional<TimePoint> next,
                                const std::string& state, std::vector<std::string>& warnings) const;
  Job read_job_or_throw(const std::string& id, std::optional<TimePoint> next,
                        const std::string& state) const;
  [[nodiscard]] std::string job_state(const Job& job) const;
  RunRequest read_request(PGresult* r, int row, std::vector<std::string>& warnings) const;
  void insert_request(const RunRequest& request, Connection& c) const;
  static Execution read_execution(PGresult* r, int row);

  // Liveness, by the server's clock.
  void beat(std::vector<std::string>& warnings);
  void register_self(bool first, std::vector<std::string>& warnings);
  void reap(std::vector<std::string>& warnings);
  [[nodiscard]] std::optional<std::string> death(const RegisteredScheduler& s,
                                                 std::int64_t age_us) const;
  static RegisteredScheduler registered(PGresult* r, int row);
  int interrupt_runs_of(const std::string& scheduler_id, const std::string& why) const;
  // interrupt_runs_of for a scheduler found dead: a recorded command still running here is stopped
  // first (docs/postgres.md), its run counting as running until then.
  int interrupt_dead_runs(const std::string& scheduler_id, const std::string& why,
                          std::vector<std::string>& warnings) const;
  void heartbeat();
  // After a write transaction committed: what it recorded joins `warnings`.
  void take_recorded(std::vector<std::string>& warnings) {
    warnings.insert(warnings.end(), std::make_move_iterator(recorded_.begin()),
                    std::make_move_iterator(recorded_.end()));
    recorded_.clear();
  }
  void unregister() noexcept;

  // Listening for other processes' changes.
  void start_listening();
  void listen_loop();
  bool listen_connect();
  void stop_listening() noexcept;

  const std::string conninfo_;
  const PostgresJobStoreOptions options_;
  const std::string description_;
  std::shared_ptr<Clock> clock_;
  std::string host_ = detail::host_name();
  std::string scheduler_id_;

  mutable std::mutex mutex_;
  mutable Connection conn_;
  // completions' own, so that back-to-back claims do not starve them
  mutable Connection done_conn_;
  mutable std::atomic<bool> lost_reported_{false};
  mutable std::atomic<bool> unreachable_{false};
  bool registered_ = false;
  // What a write transaction recorded (runs found interrupted), said only once it commits: a
  // transaction that fails is tried again and says it again. Guarded by mutex_.
  std::vector<std::string> recorded_;
  TimePoint last_reap_{};
  mutable std::map<std::string, std::string> reported_bad_rows_;
  mutable Batch batch_;
  // This claim attempt writes row by row: a held-back write found a fire time already recorded.
  mutable bool careful_ = false;
  mutable std::deque<std::int64_t> ids_;
  std::mutex done_mutex_;  // guards the completions' state below
  std::condition_variable done_cv_;
  std::vector<Completion> done_queue_;
  std::size_t done_in_flight_ = 0;
  std::vector<std::int64_t> done_in_flight_ids_;  // the records of the write in flight
  std::size_t done_retries_ = 0;                  // queued or in flight, with a retry to insert
  std::uint64_t done_queued_ = 0;                 // completions queued, ever
  std::uint64_t done_settled_ = 0;                // of them, written or given up on
  std::uint64_t done_rounds_ = 0;                 // write attempts finished
  bool done_stopping_ = false;
  std::thread writer_;
  detail::Periodic heartbeat_;
  // What was done with the recorded process groups of dead schedulers' runs, by execution id
  // (under mutex_).
  mutable std::map<std::int64_t, detail::SurvivorReport> survivors_;

  std::mutex listen_mutex_;  // guards listener_
  std::function<void()> listener_;
  std::mutex listen_start_mutex_;  // one thread starts listening
  std::thread listen_thread_;
  Connection listen_conn_;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<bool> listen_stopping_{false};
};

// ---- connecting
// ----------------------------------------------------------------------------------

namespace {

// The schema, created by version 1. Ids sort bytewise (COLLATE "C"), as in every sked store,
// whatever the database's collation.
constexpr const char* schema_v1 = R"sql(
  CREATE TABLE sked_schema_version (version integer NOT NULL);
  CREATE TABLE sked_job (
    id            text COLLATE "C" PRIMARY KEY,
    next_run_time timestamptz,                -- NULL while paused
    job_state     jsonb NOT NULL              -- versioned JSON (task, args, trigger, ...)
  );
  CREATE INDEX sked_job_next_run_time ON sked_job (next_run_time, id);
  CREATE TABLE sked_job_execution (
    id           bigserial PRIMARY KEY,
    job_id       text COLLATE "C" NOT NULL,
    status       text NOT NULL CHECK (status IN ('started', 'executed', 'error', 'missed', 'max_instances',
                                                 'interrupted')),
    run_time     timestamptz NOT NULL,        -- the fire time
    duration     double precision,            -- seconds
    finished     timestamptz,
    exception    text NOT NULL DEFAULT '',
    traceback    text NOT NULL DEFAULT '',
    scheduler_id text COLLATE "C",            -- who started it: its runs are interrupted if it dies
    UNIQUE (job_id, run_time)                 -- one fire time of one job is written once, by one claim
  );
  CREATE INDEX sked_job_execution_run_time ON sked_job_execution (run_time);
  -- Counting a job's running instances (max_instances) and finding a dead scheduler's runs.
  CREATE INDEX sked_job_execution_started ON sked_job_execution (job_id, scheduler_id)
    WHERE status = 'started';
  CREATE TABLE sked_scheduler (
    id        text COLLATE "C" PRIMARY KEY,
    host      text NOT NULL,
    pid       bigint NOT NULL,
    started   timestamptz NOT NULL DEFAULT now(),   -- the server's clock
    heartbeat timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE sked_run_request (
    id           bigserial PRIMARY KEY,
    job_id       text COLLATE "C" NOT NULL,
    requested_at timestamptz NOT NULL,        -- when it is due: the run time its record gets
    attempt      integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    job_state    jsonb                        -- retries: the job as it failed
  );
  CREATE INDEX sked_run_request_requested_at ON sked_run_request (requested_at);
  CREATE UNIQUE INDEX sked_run_request_one_per_job ON sked_run_request (job_id) WHERE attempt = 1;
  INSERT INTO sked_schema_version (version) VALUES (1);
)sql";

// Version 2: a started run records the process group it started (the `shell` task's command), so
// that a scheduler that finds the run's scheduler dead can stop a command that outlived it rather
// than start the next run beside it. `pgid=... start=... boot=... host=...`; NULL for a run that
// started none, and for every run recorded before.
constexpr const char* migrate_v1_to_v2 = R"sql(
  ALTER TABLE sked_job_execution ADD COLUMN process text;
  UPDATE sked_schema_version SET version = 2;
)sql";

// migrations[v - 1] turns version v into version v + 1.
constexpr const char* migrations[] = {migrate_v1_to_v2};
static_assert(std::size(migrations) + 1 == PostgresJobStore::schema_version);

}  // namespace

PostgresJobStore::Impl::Impl(std::string conninfo, PostgresJobStoreOptions options)
    : conninfo_(std::move(conninfo)),
      options_(std::move(options)),
      description_(describe_connection(conninfo_, options_.schema)),
      clock_(options_.clock ? options_.clock : SystemClock::instance()) {
  check_schema_name(options_.schema);
  if (options_.heartbeat_interval <= Duration::zero() ||
      options_.stale_after <= options_.heartbeat_interval) {
    throw InvalidArgument(
        "postgres job store: heartbeat_interval must be positive and stale_after longer than it");
  }
  scheduler_id_ =
      !options_.scheduler_id.empty() ? options_.scheduler_id : detail::default_scheduler_id(host_);
  std::lock_guard lock(mutex_);
  try {
    conn_.connect(conninfo_);
  } catch (const PgFailure& f) {
    throw StoreError(description_, 0, fmt::format("cannot connect: {}", f.message));
  }
  auto prepare = [this] {
    if (!conn_.open()) conn_.connect(conninfo_);
    prepare_schema(conn_);
  };
  retrying("opening the store", prepare);
  detail::add_live_scheduler(scheduler_id_);
}

PostgresJobStore::Impl::~Impl() {
  stop_listening();
  heartbeat_.stop();
  // Runs that finished are recorded so before the store leaves, not interrupted.
  stop_writing();
  unregister();
  detail::remove_live_scheduler(scheduler_id_);
}

// Sets the session up (search_path to the schema, UTC, read-only if asked) and makes the schema
// current: created when missing, refused when newer. Under a transaction-scoped advisory lock, so
// two processes starting together do not both create it.
void PostgresJobStore::Impl::prepare_schema(Connection& c) const {
  // The identifier is quoted by libpq; set_config takes it as a bound value.
  char* quoted = PQescapeIdentifier(c.get(), options_.schema.c_str(), options_.schema.size());
  if (quoted == nullptr) throw PgFailure{"", trimmed(PQerrorMessage(c.get())), false};
  const std::string search_path = quoted;
  PQfreemem(quoted);
  (void)c.exec("SELECT set_config('search_path', $1, false), set_config('TimeZone', 'UTC', false)",
               {search_path});
  (void)c.query("BEGIN");
  if (options_.create_schema && !options_.read_only) {
    (void)c.exec("SELECT pg_advisory_xact_lock(hashtextextended('sked schema ' || $1, 0))",
                 {options_.schema});
  }
  const Result tables = c.exec(
      "SELECT count(*) FILTER (WHERE tablename = 'sked_schema_version'), count(*) FROM "
      "pg_catalog.pg_tables "
      "WHERE schemaname = $1 AND tablename IN ('sked_schema_version', 'sked_job', "
      "'sked_job_execution')",
      {options_.schema});
  const bool versioned = to_int64(PQgetvalue(tables.get(), 0, 0)) > 0;
  const bool has_tables = to_int64(PQgetvalue(tables.get(), 0, 1)) > 0;
  if (versioned) {
    const Result v = c.query("SELECT max(version) FROM sked_schema_version");
    const std::int64_t version =
        PQgetisnull(v.get(), 0, 0) ? 0 : to_int64(PQgetvalue(v.get(), 0, 0));
    if (version > schema_version) {
      throw StoreError(
          description_, 0,
          fmt::format("schema '{}' was written by a newer sked (schema version {}; this sked reads "
                      "version {}); it is left unchanged",
                      options_.schema, version, schema_version));
    }
    if (version < 1) {
      throw StoreError(
          description_, 0,
          fmt::format(
              "schema '{}': sked_schema_version holds no valid version; it is left unchanged",
              options_.schema));
    }
    if (version < schema_version) {
      if (!options_.create_schema || options_.read_only) {
        throw StoreError(
            description_, 0,
            fmt::format("schema '{}' has schema version {}, older than this sked's {}; it is left "
                        "unchanged: start a scheduler of this sked on it once (such as `sked run`) "
                        "to migrate it",
                        options_.schema, version, schema_version));
      }
      // Under the advisory lock taken above: one process migrates, the others find it done.
      for (auto from = version; from < schema_version; ++from) (void)c.query(migrations[from - 1]);
    }
  } else if (has_tables) {
    throw StoreError(
        description_, 0,
        fmt::format("schema '{}' has sked's table names but no sked_schema_version: it is not a "
                    "sked store, and it is left unchanged",
                    options_.schema));
  } else if (!options_.create_schema || options_.read_only) {
    throw StoreError(
        description_, 0,
        fmt::format("schema '{}' holds no sked store (a scheduler creates it on its first start)",
                    options_.schema));
  } else {
    // CREATE SCHEMA takes no parameters; the name was checked to be a plain identifier.
    std::string create = "CREATE SCHEMA IF NOT EXISTS ";
    create += search_path;
    (void)c.query(create.c_str());
    (void)c.query(schema_v1);
    for (const char* step : migrations) (void)c.query(step);
  }
  (void)c.query("COMMIT");
  if (options_.read_only) (void)c.query("SET default_transaction_read_only = on");
}

void PostgresJobStore::Impl::note_lost(const PgFailure& f) const {
  if (!lost_reported_) {
    lost_reported_ = true;
    warn(fmt::format("job store '{}': lost the connection ({}); reconnecting", description_,
                     f.message));
  }
}

void PostgresJobStore::Impl::reconnect(std::string_view what, Connection& c) const {
  // Once a reconnection has failed for the whole reconnect_timeout, each call tries once and fails
  // at once until the server is back: a scheduler stopping while its database is down must not
  // wait out the timeout on every call it still makes (the claim, each completion, unregistering).
  const auto deadline =
      std::chrono::steady_clock::now() + (unreachable_ ? Duration{0} : options_.reconnect_timeout);
  std::chrono::milliseconds pause{50};
  for (int attempts = 1;; ++attempts) {
    try {
      c.connect(conninfo_);
      prepare_schema(c);
      if (lost_reported_) {
        warn(
            fmt::format("job store '{}': reconnected after {} attempt(s)", description_, attempts));
      }
      lost_reported_ = false;
      unreachable_ = false;
      return;
    } catch (const PgFailure& f) {
      c.close();
      note_lost(f);
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        unreachable_ = true;
        throw StoreError(
            description_, 0,
            fmt::format("{}: the connection was lost and could not be reopened within {} s: {}",
                        what,
                        std::chrono::duration_cast<std::chrono::seconds>(options_.reconnect_timeout)
                            .count(),
                        f.message));
      }
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds{1000});
    }
  }
}

void PostgresJobStore::Impl::rollback_quietly(Connection& c) const noexcept {
  if (c.open() && PQtransactionStatus(c.get()) != PQTRANS_IDLE) {
    PGresult* r = PQexec(c.get(), "ROLLBACK");
    if (r != nullptr) PQclear(r);
  }
}

void PostgresJobStore::Impl::send_batch(bool commit) const {
  std::vector<Connection::Statement> statements;
  const Batch& b = batch_;
  if (!b.exec_ids.empty()) {
    // No ON CONFLICT: a fire time already recorded fails the statement, so that COMMIT, sent
    // behind it, does not run.
    statements.push_back(
        {"INSERT INTO sked_job_execution (id, job_id, status, run_time, scheduler_id) "
         "SELECT i, j, s, t, $5 FROM unnest($1::int8[], $2::text[], $3::text[], "
         "$4::timestamptz[]) AS v(i, j, s, t)",
         {array_literal(b.exec_ids), array_literal(b.exec_jobs), array_literal(b.exec_statuses),
          array_literal(b.exec_times), scheduler_id_}});
  }
  if (!b.moved_ids.empty()) {
    statements.push_back(
        {"UPDATE sked_job AS j SET next_run_time = v.t "
         "FROM unnest($1::text[], $2::timestamptz[]) AS v(id, t) WHERE j.id = v.id",
         {array_literal(b.moved_ids), array_literal(b.moved_times)}});
  }
  if (!b.deleted_jobs.empty()) {
    const std::string ids = array_literal(b.deleted_jobs);
    statements.push_back({"DELETE FROM sked_job WHERE id = ANY($1::text[])", {ids}});
    statements.push_back({"DELETE FROM sked_run_request WHERE job_id = ANY($1::text[])", {ids}});
  }
  if (!b.deleted_requests.empty()) {
    statements.push_back({"DELETE FROM sked_run_request WHERE id = ANY($1::int8[])",
                          {array_literal(b.deleted_requests)}});
  }
  if (commit) statements.push_back({"COMMIT", {}});
  batch_.clear();
  try {
    (void)conn_.pipeline(statements);
  } catch (const PgFailure& f) {
    if (f.sqlstate != "23505") throw;
    careful_ = true;
    throw PgFailure{batch_conflict, f.message, false};
  }
}

std::int64_t PostgresJobStore::Impl::reserved_id() const {
  if (ids_.empty()) {
    const Result r =
        conn_.exec("SELECT nextval('sked_job_execution_id_seq') FROM generate_series(1, $1::int4)",
                   {decimal(reserved_ids)});
    for (int i = 0; i < PQntuples(r.get()); ++i)
      ids_.push_back(to_int64(PQgetvalue(r.get(), i, 0)));
  }
  const std::int64_t id = ids_.front();
  ids_.pop_front();
  return id;
}

void PostgresJobStore::Impl::warn(const std::string& message) const {
  detail::report_warning(options_.on_warning, message);
}

// ---- jobs --------------------------------------------------------------------------------------

std::shared_ptr<Job> PostgresJobStore::Impl::read_job(const std::string& id,
                                                      std::optional<TimePoint> next,
                                                      const std::string& state,
                                                      std::vector<std::string>& warnings) const {
  try {
    return std::make_shared<Job>(read_job_or_throw(id, next, state));
  } catch (const SerializationError& e) {
    const auto it = reported_bad_rows_.find(id);
    if (it == reported_bad_rows_.end() || it->second != state) {
      reported_bad_rows_[id] = state;
      warnings.push_back(fmt::format("{} (the row is left as it is; fix or remove it)", e.what()));
    }
    return nullptr;
  }
}

Job PostgresJobStore::Impl::read_job_or_throw(const std::string& id, std::optional<TimePoint> next,
                                              const std::string& state) const {
  if (auto why = detail::json_text_too_big(state, detail::max_job_state_depth,
                                           detail::max_job_state_bytes)) {
    throw SerializationError(
        fmt::format("job store '{}': job '{}': job_state is not read: {}", description_, id, *why));
  }
  try {
    return job_from_state_json(id, next, nlohmann::json::parse(state));
  } catch (const nlohmann::json::exception& e) {
    throw SerializationError(fmt::format(
        "job store '{}': job '{}': job_state is not valid JSON: {}", description_, id, e.what()));
  } catch (const SerializationError& e) {
    // job_from_state_json names the job already.
    throw SerializationError(fmt::format("job store '{}': {}", description_, e.what()));
  }
}

std::string PostgresJobStore::Impl::job_state(const Job& job) const {
  std::string text;
  try {
    text = job_state_to_json(job).dump();
  } catch (const SerializationError& e) {
    throw SerializationError(fmt::format("job store '{}': {}", description_, e.what()));
  }
  if (text.size() > detail::max_job_state_bytes) {
    throw InvalidArgument(
        fmt::format("job store '{}': job '{}': its state is {} bytes of JSON, over the limit of {}",
                    description_, job.id, text.size(), detail::max_job_state_bytes));
  }
  return text;
}

// A request row (id, job_id, requested_at in µs, attempt, job_state).
RunRequest PostgresJobStore::Impl::read_request(PGresult* r, int row,
                                                std::vector<std::string>& warnings) const {
  RunRequest req;
  req.id = to_int64(PQgetvalue(r, row, 0));
  req.job_id = text(r, row, 1);
  req.at = *time_from_micros(r, row, 2);
  req.attempt = std::max<int>(1, static_cast<int>(to_int64(PQgetvalue(r, row, 3))));
  if (!PQgetisnull(r, row, 4)) {
    try {
      req.snapshot =
          std::make_shared<const Job>(read_job_or_throw(req.job_id, std::nullopt, text(r, row, 4)));
    } catch (const SerializationError& e) {
      warnings.push_back(fmt::format(
          "{} (in the retry kept for it; the retry runs only while the job exists)", e.what()));
    }
  }
  return req;
}

void PostgresJobStore::Impl::insert_request(const RunRequest& request, Connection& c) const {
  (void)c.exec(
      "INSERT INTO sked_run_request (job_id, requested_at, attempt, job_state) "
      "VALUES ($1, $2::timestamptz, $3::int4, $4::jsonb)",
      {request.job_id, format_db_time(request.at), decimal(request.attempt),
       request.snapshot ? Param{job_state(*request.snapshot)} : std::nullopt});
}

// ---- transactions ------------------------------------------------------------------------------

// The storage primitives inside one transaction, with the store's lock held.
class PostgresJobStore::Tx final : public JobStore::Transaction {
 public:
  Tx(Impl& impl, Purpose purpose, std::vector<std::string>& warnings, std::string finished = "{}")
      : s_(impl), purpose_(purpose), warnings_(warnings), finished_(std::move(finished)) {}

  std::shared_ptr<const Job> find_job(std::string_view id) override {
    flush();
    // A change locks the row it reads, so that nothing comes between its read and its write.
    const Result r = purpose_ == Purpose::read
                         ? s_.conn_.exec(
                               "SELECT (extract(epoch FROM next_run_time) * 1000000)::int8, "
                               "job_state::text FROM sked_job WHERE id = $1",
                               {std::string{id}})
                         : s_.conn_.exec(
                               "SELECT (extract(epoch FROM next_run_time) * 1000000)::int8, "
                               "job_state::text FROM sked_job WHERE id = $1 FOR UPDATE",
                               {std::string{id}});
    if (PQntuples(r.get()) == 0) return nullptr;
    const std::string key{id};
    // A claim skips a row it cannot read (reported once); a lookup or a change names it in an
    // error.
    if (purpose_ == Purpose::claim) {
      return s_.read_job(key, time_from_micros(r.get(), 0, 0), text(r.get(), 0, 1), warnings_);
    }
    return std::make_shared<const Job>(
        s_.read_job_or_throw(key, time_from_micros(r.get(), 0, 0), text(r.get(), 0, 1)));
  }

  bool insert_job(const Job& job) override {
    flush();
    const Result r = s_.conn_.exec(
        "INSERT INTO sked_job (id, next_run_time, job_state) VALUES ($1, $2::timestamptz, "
        "$3::jsonb) "
        "ON CONFLICT (id) DO NOTHING",
        {job.id, optional_time(job.next_run_time), s_.job_state(job)});
    return affected(r) > 0;
  }

  void replace_job(const Job& job) override {
    flush();
    const Result r = s_.conn_.exec(
        "UPDATE sked_job SET next_run_time = $2::timestamptz, job_state = $3::jsonb WHERE id = $1",
        {job.id, optional_time(job.next_run_time), s_.job_state(job)});
    if (affected(r) == 0) throw JobNotFound(job.id, s_.description_);
  }

  void delete_job(std::string_view id) override {
    if (batched()) {
      s_.batch_.deleted_jobs.emplace_back(std::string{id});
      return;
    }
    (void)s_.conn_.exec("DELETE FROM sked_job WHERE id = $1", {std::string{id}});
    (void)s_.conn_.exec("DELETE FROM sked_run_request WHERE job_id = $1", {std::string{id}});
  }

  void delete_all_jobs() override {
    flush();
    (void)s_.conn_.query("DELETE FROM sked_job; DELETE FROM sked_run_request");
  }

  std::shared_ptr<const Job> next_due(TimePoint now) override {
    for (;;) {
      if (next_ == rows_.size()) {
        if (exhausted_) return nullptr;
        read_page(now);
        if (rows_.empty()) return nullptr;
      }
      auto& row = rows_[next_++];
      if (auto job = s_.read_job(row.id, row.next, row.state, warnings_)) return job;
    }
  }

  void expect_due(std::size_t count) override { wanted_ = count; }

  void reschedule(std::string_view id, TimePoint next) override {
    if (batched()) {
      s_.batch_.moved_ids.emplace_back(std::string{id});
      s_.batch_.moved_times.emplace_back(format_db_time(next));
      return;
    }
    (void)s_.conn_.exec("UPDATE sked_job SET next_run_time = $2::timestamptz WHERE id = $1",
                        {std::string{id}, format_db_time(next)});
  }

  int running_instances(std::string_view job_id) override {
    if (const auto it = running_.find(job_id); it != running_.end()) return it->second;
    flush();
    const Result r = s_.conn_.exec(
        "SELECT count(*) FROM sked_job_execution WHERE job_id = $1 AND status = 'started' AND "
        "id <> ALL($2::int8[])",
        {std::string{job_id}, finished_});
    return static_cast<int>(to_int64(PQgetvalue(r.get(), 0, 0)));
  }

  bool insert_execution(Execution& record) override {
    if (batched()) {
      // Assumed new: a fire time recorded before makes the batch fail and the claim run again
      // row by row (send_batch).
      record.id = s_.reserved_id();
      s_.batch_.exec_ids.emplace_back(decimal(record.id));
      s_.batch_.exec_jobs.emplace_back(record.job_id);
      s_.batch_.exec_statuses.emplace_back(status_text(record.status));
      s_.batch_.exec_times.emplace_back(format_db_time(record.run_time));
      if (record.status == ExecutionStatus::started) {
        if (const auto it = running_.find(record.job_id); it != running_.end()) ++it->second;
      }
      return true;
    }
    const Result r = s_.conn_.exec(
        "INSERT INTO sked_job_execution (job_id, status, run_time, scheduler_id) "
        "VALUES ($1, $2, $3::timestamptz, $4) ON CONFLICT (job_id, run_time) DO NOTHING RETURNING "
        "id",
        {record.job_id, status_text(record.status), format_db_time(record.run_time),
         s_.scheduler_id_});
    if (PQntuples(r.get()) == 0) return false;
    record.id = to_int64(PQgetvalue(r.get(), 0, 0));
    return true;
  }

  std::vector<RunRequest> due_requests(TimePoint now) override {
    // Requests of a job this claim removed are deleted with it.
    if (!s_.batch_.deleted_jobs.empty()) flush();
    // Locked, skipping those another claim holds: a request is taken by one scheduler.
    const Result r = s_.conn_.exec(
        "SELECT id, job_id, (extract(epoch FROM requested_at) * 1000000)::int8, attempt, "
        "job_state::text "
        "FROM sked_run_request WHERE requested_at <= $1::timestamptz ORDER BY requested_at, id "
        "FOR UPDATE SKIP LOCKED",
        {format_db_time(now)});
    std::vector<RunRequest> due;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      due.push_back(s_.read_request(r.get(), i, warnings_));
    return due;
  }

  std::optional<RunRequest> find_request(std::string_view job_id) override {
    flush();
    // Locked, so that withdrawing a request a claim is taking waits for the claim and finds it
    // gone.
    const Result r = s_.conn_.exec(
        "SELECT id, job_id, (extract(epoch FROM requested_at) * 1000000)::int8, attempt, "
        "job_state::text "
        "FROM sked_run_request WHERE job_id = $1 AND attempt = 1 FOR UPDATE",
        {std::string{job_id}});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return s_.read_request(r.get(), 0, warnings_);
  }

  void insert_request(const RunRequest& request) override {
    flush();
    s_.insert_request(request, s_.conn_);
  }

  void delete_request(std::int64_t id) override {
    if (batched()) {
      s_.batch_.deleted_requests.emplace_back(decimal(id));
      return;
    }
    (void)s_.conn_.exec("DELETE FROM sked_run_request WHERE id = $1::int8", {decimal(id)});
  }

 private:
  struct Row {
    std::string id;
    std::optional<TimePoint> next;
    std::string state;
  };

  // Whether writes are held back for one round trip at COMMIT: in claims, unless this attempt
  // follows one whose held-back insert found a fire time already recorded.
  [[nodiscard]] bool batched() const noexcept { return purpose_ == Purpose::claim && !s_.careful_; }
  // Sends the held-back writes before a read that must see them.
  void flush() {
    if (!s_.batch_.empty()) s_.send_batch(false);
  }

  // Due rows a keyset page at a time, locked, skipping rows another claim holds: concurrent
  // schedulers take different jobs without waiting for each other.
  void read_page(TimePoint now) {
    rows_.clear();
    next_ = 0;
    // As many rows as the claim still wants (every row locked beyond them is kept from the other
    // claimers until this one commits); after the first page, at least a page doubling from
    // first_claim_page, so that jobs the claim passes over (unknown tasks, max_instances) do not
    // cost a round trip each. Without expect_due, pages double from first_claim_page.
    const std::size_t page = std::min(max_claim_page, wanted_ == 0 ? page_
                                                      : after_     ? std::max(wanted_, page_)
                                                                   : wanted_);
    const std::string limit = decimal(static_cast<std::int64_t>(page));
    const std::string now_text = format_db_time(now);
    // The keyset page's rows, locked, then (in the same round trip, in a snapshot taken once they
    // are locked) how many runs of each are started: what a claim asks per job. The count's rows
    // are the page's again, taken the same way: a row this transaction locked is not skipped, while
    // one that another claim holds is, as in the first statement (counting an unlocked window
    // instead missed most of the page's jobs once several schedulers claimed side by side, and
    // each such job cost two round trips of its own). A row another claim let go of in between
    // may be locked too, until this claim commits; a job the count misses is asked on its own.
    std::vector<Connection::Statement> statements;
    if (after_) {
      statements.push_back(
          {"SELECT id, (extract(epoch FROM next_run_time) * 1000000)::int8, job_state::text "
           "FROM sked_job WHERE next_run_time <= $1::timestamptz AND (next_run_time, id) > "
           "($2::timestamptz, $3) ORDER BY next_run_time, id LIMIT $4::int8 "
           "FOR UPDATE SKIP LOCKED",
           {now_text, format_db_time(after_->next), after_->id, limit}});
      if (batched()) {
        statements.push_back(
            {"SELECT j.id, (SELECT count(*) FROM sked_job_execution e WHERE e.job_id = j.id AND "
             "e.status = 'started' AND e.id <> ALL($5::int8[])) FROM (SELECT id FROM sked_job "
             "WHERE next_run_time <= $1::timestamptz AND (next_run_time, id) > ($2::timestamptz, "
             "$3) ORDER BY next_run_time, id LIMIT $4::int8 FOR UPDATE SKIP LOCKED) AS j",
             {now_text, format_db_time(after_->next), after_->id, limit, finished_}});
      }
    } else {
      statements.push_back(
          {"SELECT id, (extract(epoch FROM next_run_time) * 1000000)::int8, job_state::text "
           "FROM sked_job WHERE next_run_time <= $1::timestamptz ORDER BY next_run_time, id "
           "LIMIT $2::int8 FOR UPDATE SKIP LOCKED",
           {now_text, limit}});
      if (batched()) {
        statements.push_back(
            {"SELECT j.id, (SELECT count(*) FROM sked_job_execution e WHERE e.job_id = j.id AND "
             "e.status = 'started' AND e.id <> ALL($3::int8[])) FROM (SELECT id FROM sked_job "
             "WHERE next_run_time <= $1::timestamptz ORDER BY next_run_time, id LIMIT $2::int8 "
             "FOR UPDATE SKIP LOCKED) AS j",
             {now_text, limit, finished_}});
      }
    }
    const std::vector<Result> results = s_.conn_.pipeline(statements);
    PGresult* r = results[0].get();
    const int n = PQntuples(r);
    for (int i = 0; i < n; ++i)
      rows_.push_back(Row{text(r, i, 0), time_from_micros(r, i, 1), text(r, i, 2)});
    if (results.size() > 1) {
      // Only the rows this page locked: another claim may be adding runs to the others.
      std::map<std::string_view, int> counted;
      PGresult* counts = results[1].get();
      for (int i = 0; i < PQntuples(counts); ++i)
        counted.emplace(PQgetvalue(counts, i, 0),
                        static_cast<int>(to_int64(PQgetvalue(counts, i, 1))));
      for (const Row& row : rows_) {
        if (const auto it = counted.find(row.id); it != counted.end())
          running_.emplace(row.id, it->second);
      }
    }
    exhausted_ = static_cast<std::size_t>(n) < page;
    page_ = std::min(page_ * 2, max_claim_page);
    if (!rows_.empty()) after_ = After{rows_.back().id, *rows_.back().next};
  }

  struct After {
    std::string id;
    TimePoint next;
  };

  Impl& s_;
  Purpose purpose_;
  std::vector<std::string>& warnings_;
  // The records of this process's completions not written yet (Impl::unwritten_ids): runs that
  // ended, though still `started` in the table, and not counted as running.
  std::string finished_;
  std::vector<Row> rows_;
  std::size_t next_ = 0;
  std::size_t page_ = first_claim_page;
  std::size_t wanted_ = 0;  // expect_due: how many more jobs the claim takes
  bool exhausted_ = false;
  std::optional<After> after_;
  // Started runs per job, read with the page that locked the job and counted up with this claim's
  // own inserts.
  std::map<std::string, int, std::less<>> running_;
};

// ---- schedulers sharing the schema -------------------------------------------------------------

int PostgresJobStore::Impl::interrupt_runs_of(const std::string& scheduler_id,
                                              const std::string& why) const {
  return affected(
      conn_.exec("UPDATE sked_job_execution SET status = 'interrupted', exception = $2 WHERE id IN "
                 "(SELECT id FROM sked_job_execution WHERE status = 'started' AND scheduler_id = "
                 "$1 FOR UPDATE SKIP LOCKED)",
                 {scheduler_id, why}));
}

int PostgresJobStore::Impl::interrupt_dead_runs(const std::string& scheduler_id,
                                                const std::string& why,
                                                std::vector<std::string>& warnings) const {
  int n = 0;
  const Result r = conn_.exec(
      "SELECT id, job_id, process FROM sked_job_execution WHERE status = 'started' AND "
      "scheduler_id = $1 AND "
      "process IS NOT NULL FOR UPDATE SKIP LOCKED",
      {scheduler_id});
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    // A transaction run again (a lost connection, a serialization failure) finds the group it
    // stopped gone: say what was done.
    auto [it, fresh] = survivors_.try_emplace(to_int64(PQgetvalue(r.get(), i, 0)));
    if (fresh) it->second = detail::stop_survivor(text(r.get(), i, 2), host_);
    const detail::SurvivorReport& survivor = it->second;
    if (survivor.message.empty()) continue;
    if (survivor.stopped) {
      warnings.push_back(fmt::format(
          "job store '{}': run {} of job '{}' outlived scheduler '{}': {}", description_,
          text(r.get(), i, 0), text(r.get(), i, 1), scheduler_id, survivor.message.substr(2)));
    }
    const std::string exception = why + survivor.message;
    const int interrupted =
        affected(conn_.exec("UPDATE sked_job_execution SET status = 'interrupted', exception = $2 "
                            "WHERE id = $1::int8 AND status = 'started'",
                            {text(r.get(), i, 0), exception}));
    n += interrupted;
  }
  return n + interrupt_runs_of(scheduler_id, why);
}

void PostgresJobStore::Impl::beat(std::vector<std::string>& warnings) {
  if (!registered_) {
    register_self(true, warnings);
    return;
  }
  if (affected(conn_.exec("UPDATE sked_scheduler SET heartbeat = now() WHERE id = $1",
                          {scheduler_id_})) > 0)
    return;
  // Another scheduler took this one for dead (its heartbeat was older than stale_after by the
  // server's clock: the process was stopped or cut off) and recorded its unfinished runs
  // interrupted; completing them records how they really ended.
  warnings.push_back(
      fmt::format("job store '{}': scheduler '{}' was taken for dead by another process and "
                  "registers again; raise "
                  "stale_after if this recurs",
                  description_, scheduler_id_));
  register_self(false, warnings);
}

void PostgresJobStore::Impl::register_self(bool first, std::vector<std::string>& warnings) {
  // Runs still started under this id were left by an earlier process that used the same id.
  const int n = !first
                    ? 0
                    : interrupt_dead_runs(scheduler_id_,
                                          fmt::format("sked::Interrupted: scheduler '{}' restarted "
                                                      "while this run was in progress",
                                                      scheduler_id_),
                                          warnings);
  if (n > 0) {
    recorded_.push_back(
        fmt::format("job store '{}': recorded {} run(s) left started by an earlier process with "
                    "scheduler id '{}' as "
                    "interrupted",
                    description_, n, scheduler_id_));
  }
  (void)conn_.exec(
      "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat) VALUES ($1, $2, $3::int8, "
      "now(), now()) "
      "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started = "
      "excluded.started, "
      "heartbeat = excluded.heartbeat",
      {scheduler_id_, host_, decimal(getpid())});
}

RegisteredScheduler PostgresJobStore::Impl::registered(PGresult* r, int row) {
  RegisteredScheduler s;
  s.id = text(r, row, 0);
  s.host = text(r, row, 1);
  s.pid = to_int64(PQgetvalue(r, row, 2));
  s.started = time_from_micros(r, row, 3).value_or(TimePoint{});
  s.heartbeat = time_from_micros(r, row, 4).value_or(TimePoint{});
  return s;
}

std::optional<std::string> PostgresJobStore::Impl::death(const RegisteredScheduler& s,
                                                         std::int64_t age_us) const {
  // The age comes from the server's clock; this host's clock plays no part.
  return detail::death(s, Duration{age_us} > options_.stale_after, format_db_time(s.heartbeat),
                       host_);
}

// The registered schedulers with their heartbeat's age by the server's clock (the last column).
constexpr const char* schedulers_sql =
    "SELECT id, host, pid, (extract(epoch FROM started) * 1000000)::int8, "
    "(extract(epoch FROM heartbeat) * 1000000)::int8, (extract(epoch FROM now() - heartbeat) * "
    "1000000)::int8 "
    "FROM sked_scheduler ORDER BY id";

void PostgresJobStore::Impl::reap(std::vector<std::string>& warnings) {
  last_reap_ = clock_->now();
  struct Dead {
    std::string id, why, heartbeat;
  };
  std::vector<Dead> dead;
  {
    const Result r = conn_.exec(schedulers_sql);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const RegisteredScheduler other = registered(r.get(), i);
      if (other.id == scheduler_id_) continue;
      if (auto why = death(other, to_int64(PQgetvalue(r.get(), i, 5))))
        dead.push_back({other.id, std::move(*why), PQgetvalue(r.get(), i, 4)});
    }
  }
  for (const auto& d : dead) {
    // Taken only if no transaction holds its row and its heartbeat has not moved: a scheduler
    // stopped (SIGSTOP, a frozen VM) in the middle of a claim still holds the row its claim
    // refreshed, and waiting for it would stall this claim, and every peer's, until it goes on.
    // It is not reaped meanwhile: the runs of the claim it is in are not committed yet.
    if (PQntuples(conn_
                      .exec("SELECT id FROM sked_scheduler WHERE id = $1 AND (extract(epoch FROM "
                            "heartbeat) * 1000000)::int8 = $2::int8 FOR UPDATE SKIP LOCKED",
                            {d.id, d.heartbeat})
                      .get()) == 0)
      continue;
    if (const int n = interrupt_dead_runs(d.id, d.why, warnings); n > 0) {
      recorded_.push_back(
          fmt::format("job store '{}': recorded {} run(s) of dead scheduler '{}' as interrupted",
                      description_, n, d.id));
    }
    (void)conn_.exec("DELETE FROM sked_scheduler WHERE id = $1", {d.id});
  }
  // Started runs whose scheduler is unknown: its row was deleted by hand.
  const int n = affected(conn_.exec(
      "UPDATE sked_job_execution SET status = 'interrupted', exception = $1 WHERE status = "
      "'started' AND "
      "(scheduler_id IS NULL OR scheduler_id NOT IN (SELECT id FROM sked_scheduler))",
      {std::string{
          "sked::Interrupted: the scheduler that started this run is unknown and not running"}}));
  if (n > 0) {
    recorded_.push_back(
        fmt::format("job store '{}': recorded {} run(s) of unknown schedulers as interrupted",
                    description_, n));
  }
}

void PostgresJobStore::Impl::heartbeat() {
  std::vector<std::string> warnings;
  auto refresh = [&] {
    warnings.clear();
    recorded_.clear();
    beat(warnings);
  };
  try {
    std::lock_guard lock(mutex_);
    write_transaction("writing the heartbeat", refresh, false);
    take_recorded(warnings);
  } catch (const std::exception& e) {
    warnings.push_back(e.what());
  }
  warn_all(warnings);
}

void PostgresJobStore::Impl::unregister() noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (!registered_) return;
    auto leave = [this] {
      interrupt_runs_of(scheduler_id_,
                        fmt::format("sked::Interrupted: scheduler '{}' closed its job store while "
                                    "this run was in progress",
                                    scheduler_id_));
      (void)conn_.exec("DELETE FROM sked_scheduler WHERE id = $1", {scheduler_id_});
    };
    write_transaction("unregistering the scheduler", leave, false);
    registered_ = false;
  } catch (const std::exception& e) {
    warn(e.what());
  } catch (...) {
    // Destructors never throw.
  }
}

// ---- completions -------------------------------------------------------------------------------

void PostgresJobStore::Impl::complete(const Execution& record,
                                      const std::optional<RunRequest>& retry) {
  std::lock_guard lock(done_mutex_);
  if (done_queue_.size() + done_in_flight_ >= max_kept_completions) {
    throw StoreError(description_, 0,
                     fmt::format("recording how a run ended: {} finished runs already wait to be "
                                 "recorded (the server is unreachable)",
                                 max_kept_completions));
  }
  if (!writer_.joinable()) writer_ = std::thread([this] { write_loop(); });
  done_queue_.push_back(Completion{record, retry});
  if (retry) ++done_retries_;
  ++done_queued_;
  done_cv_.notify_all();
}

void PostgresJobStore::Impl::write_loop() {
  std::unique_lock lock(done_mutex_);
  std::vector<Completion> batch;  // what the last write did not record, when the server was away
  bool reported = false;
  std::chrono::milliseconds pause{50};
  for (;;) {
    done_cv_.wait(lock, [&] { return done_stopping_ || !done_queue_.empty() || !batch.empty(); });
    if (done_queue_.empty() && batch.empty()) return;  // stopping, all written
    for (auto& c : done_queue_) batch.push_back(std::move(c));
    done_queue_.clear();
    done_in_flight_ = batch.size();
    done_in_flight_ids_.clear();
    for (const Completion& c : batch) done_in_flight_ids_.push_back(c.record.id);
    const bool stopping = done_stopping_;
    lock.unlock();
    std::string error;
    bool kept = false;
    try {
      write_completion_rows(batch);
    } catch (const std::exception& e) {
      error = e.what();
      // A server that cannot be reached now will be, later: the records wait (bounded) and are
      // written again. Any other failure is one record's: each is written alone, and those that
      // fail are reported.
      kept = (unreachable_ || !done_conn_.open()) && !stopping;
      if (!kept) {
        for (const Completion& c : batch) {
          try {
            write_completion_rows({c});
          } catch (const std::exception& one) {
            warn(fmt::format("job store '{}': could not record the {} run of job '{}' at {}: {}",
                             description_, to_string(c.record.status), c.record.job_id,
                             format_time(c.record.run_time), one.what()));
          }
        }
      }
    }
    if (kept && !reported) {
      reported = true;
      warn(
          fmt::format("job store '{}': finished runs cannot be recorded now ({}); they are kept "
                      "in memory (up to {}) and recorded once the server is back",
                      description_, error, max_kept_completions));
    } else if (!kept && reported) {
      reported = false;
      warn(
          fmt::format("job store '{}': recorded the finished runs kept while the server was "
                      "unreachable",
                      description_));
    }
    lock.lock();
    ++done_rounds_;
    if (!kept) {
      done_settled_ += batch.size();
      for (const Completion& c : batch) {
        if (c.retry) --done_retries_;
      }
      batch.clear();
      done_in_flight_ids_.clear();
      pause = std::chrono::milliseconds{50};
    }
    done_in_flight_ = batch.size();
    done_cv_.notify_all();
    if (kept) {
      done_cv_.wait_for(lock, pause, [&] { return done_stopping_; });
      pause = std::min(pause * 2, std::chrono::milliseconds{1000});
    }
  }
}

void PostgresJobStore::Impl::flush_completions() {
  std::unique_lock lock(done_mutex_);
  const std::uint64_t target = done_queued_;
  const std::uint64_t round = done_rounds_;
  // Two rounds: the write in flight now may have started before the last of them was queued.
  done_cv_.wait(lock, [&] {
    return done_settled_ >= target || done_rounds_ >= round + 2 || !writer_.joinable();
  });
}

std::optional<std::string> PostgresJobStore::Impl::unwritten_ids() {
  std::lock_guard lock(done_mutex_);
  if (done_retries_ > 0 || done_queue_.size() + done_in_flight_ > max_unwritten_for_claims)
    return std::nullopt;
  std::string out = "{";
  for (const std::int64_t id : done_in_flight_ids_)
    fmt::format_to(std::back_inserter(out), "{},", id);
  for (const Completion& c : done_queue_)
    fmt::format_to(std::back_inserter(out), "{},", c.record.id);
  if (out.size() > 1) out.pop_back();
  out += '}';
  return out;
}

void PostgresJobStore::Impl::stop_writing() noexcept {
  {
    std::lock_guard lock(done_mutex_);
    done_stopping_ = true;
    done_cv_.notify_all();
  }
  if (writer_.joinable()) writer_.join();
}

void PostgresJobStore::Impl::write_completion_rows(const std::vector<Completion>& batch) const {
  std::vector<Param> ids, statuses, durations, finished, exceptions, tracebacks;
  bool retries = false;
  for (const Completion& c : batch) {
    const Execution& r = c.record;
    ids.emplace_back(decimal(r.id));
    statuses.emplace_back(status_text(r.status));
    durations.push_back(r.duration ? Param{seconds(*r.duration)} : std::nullopt);
    finished.push_back(optional_time(r.finished));
    exceptions.emplace_back(valid_utf8(r.exception));
    tracebacks.emplace_back(valid_utf8(r.traceback));
    retries = retries || c.retry.has_value();
  }
  const std::string a1 = array_literal(ids), a2 = array_literal(statuses),
                    a3 = array_literal(durations), a4 = array_literal(finished),
                    a5 = array_literal(exceptions), a6 = array_literal(tracebacks);
  auto update = [&] {
    (void)done_conn_.exec(
        "UPDATE sked_job_execution AS e SET status = v.s, duration = v.d, finished = v.f, "
        "exception = v.x, traceback = v.t FROM unnest($1::int8[], $2::text[], $3::float8[], "
        "$4::timestamptz[], $5::text[], $6::text[]) AS v(i, s, d, f, x, t) WHERE e.id = v.i",
        {a1, a2, a3, a4, a5, a6});
  };
  if (!retries) {
    // One statement, committed on its own; writing it again after a lost connection writes the
    // same values.
    retrying("recording how runs ended", update, done_conn_);
    return;
  }
  auto write = [&] {
    update();
    for (const Completion& c : batch) {
      if (c.retry) insert_request(*c.retry, done_conn_);
    }
  };
  write_transaction("recording how runs ended", write, false, done_conn_);
}

// ---- listening for changes ---------------------------------------------------------------------

bool PostgresJobStore::Impl::listen_connect() {
  try {
    listen_conn_.connect(conninfo_);
    (void)listen_conn_.query("LISTEN sked_changes");
    return true;
  } catch (const PgFailure& f) {
    listen_conn_.close();
    warn(fmt::format("job store '{}': cannot listen for changes ({}); retrying", description_,
                     f.message));
    return false;
  }
}

void PostgresJobStore::Impl::start_listening() {
  std::lock_guard lock(listen_start_mutex_);
  if (listen_thread_.joinable() || listen_stopping_ || !options_.listen) return;
  if (pipe(stop_pipe_) != 0) {
    warn(fmt::format("job store '{}': cannot listen for changes (pipe failed)", description_));
    return;
  }
  // Connected before returning, so that a change committed after set_change_listener is heard.
  (void)listen_connect();
  listen_thread_ = std::thread([this] { listen_loop(); });
}

void PostgresJobStore::Impl::listen_loop() {
  std::chrono::milliseconds pause{100};
  bool was_lost = false;
  // Under the lock, so that once set_change_listener returns, the listener it replaced is not
  // running.
  const auto call = [this] {
    std::lock_guard lock(listen_mutex_);
    if (!listener_) return;
    try {
      listener_();
    } catch (...) {
      // The listener must not throw; a broken one must not end the thread.
    }
  };
  while (!listen_stopping_) {
    if (!listen_conn_.open()) {
      if (!listen_connect()) {
        pollfd stop{stop_pipe_[0], POLLIN, 0};
        (void)poll(&stop, 1, static_cast<int>(pause.count()));
        pause = std::min(pause * 2, std::chrono::milliseconds{5000});
        was_lost = true;
        continue;
      }
      pause = std::chrono::milliseconds{100};
      // Changes made while the connection was down were not heard.
      if (was_lost) call();
      was_lost = false;
    }
    pollfd fds[2] = {{PQsocket(listen_conn_.get()), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) break;
    if (PQconsumeInput(listen_conn_.get()) == 0) {
      warn(fmt::format("job store '{}': lost the listening connection ({}); reconnecting",
                       description_, trimmed(PQerrorMessage(listen_conn_.get()))));
      listen_conn_.close();
      was_lost = true;
      continue;
    }
    bool changed = false;
    while (PGnotify* n = PQnotifies(listen_conn_.get())) {
      if (n->extra != nullptr && options_.schema == n->extra) changed = true;
      PQfreemem(n);
    }
    if (changed) call();
  }
}

void PostgresJobStore::Impl::stop_listening() noexcept {
  std::lock_guard lock(listen_start_mutex_);
  listen_stopping_ = true;
  if (listen_thread_.joinable()) {
    const char byte = 1;
    (void)!::write(stop_pipe_[1], &byte, 1);
    listen_thread_.join();
  }
  listen_conn_.close();
  for (int& fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

// ---- history -----------------------------------------------------------------------------------

Execution PostgresJobStore::Impl::read_execution(PGresult* r, int row) {
  Execution e;
  e.id = to_int64(PQgetvalue(r, row, 0));
  e.job_id = text(r, row, 1);
  // The CHECK constraint keeps other values out.
  e.status = parse_execution_status(PQgetvalue(r, row, 2)).value_or(ExecutionStatus::error);
  e.run_time = time_from_micros(r, row, 3).value_or(TimePoint{});
  if (!PQgetisnull(r, row, 4))
    e.duration = Duration{std::llround(std::strtod(PQgetvalue(r, row, 4), nullptr) * 1e6)};
  e.finished = time_from_micros(r, row, 5);
  e.exception = text(r, row, 6);
  e.traceback = text(r, row, 7);
  return e;
}

// ---- the public face ---------------------------------------------------------------------------

PostgresJobStore::PostgresJobStore(std::string conninfo, PostgresJobStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(conninfo), std::move(options))) {}

PostgresJobStore::~PostgresJobStore() = default;

const std::string& PostgresJobStore::description() const noexcept { return impl_->description_; }
const std::string& PostgresJobStore::scheduler_id() const noexcept { return impl_->scheduler_id_; }

std::vector<RegisteredScheduler> PostgresJobStore::registered_schedulers() const {
  auto read = [&] {
    std::vector<RegisteredScheduler> all;
    const Result r = impl_->conn_.exec(schedulers_sql);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      RegisteredScheduler s = Impl::registered(r.get(), i);
      s.alive = !impl_->death(s, to_int64(PQgetvalue(r.get(), i, 5)));
      all.push_back(std::move(s));
    }
    return all;
  };
  return impl_->locked("reading the registered schedulers", read);
}

std::vector<RegisteredScheduler> PostgresJobStore::live_schedulers() const {
  auto live = registered_schedulers();
  std::erase_if(live, [](const RegisteredScheduler& s) { return !s.alive; });
  return live;
}

void PostgresJobStore::set_change_listener(std::function<void()> listener) {
  {
    std::lock_guard lock(impl_->listen_mutex_);
    impl_->listener_ = std::move(listener);
    if (!impl_->listener_) return;
  }
  impl_->start_listening();
}

void PostgresJobStore::transact_(Purpose purpose, const std::function<void(Transaction&)>& body) {
  std::vector<std::string> warnings;
  bool start_beating = false;
  // A claim counts running instances, and a read shows history: both see this process's
  // completions. A claim need not wait for them to be written: it is told which records they
  // finish (a claim waiting for each write idles while it is made, and the writer while it claims).
  std::optional<std::string> finished =
      purpose == Purpose::claim ? impl_->unwritten_ids() : std::nullopt;
  if (!finished) impl_->flush_completions();
  const char* what = purpose == Purpose::claim  ? "claiming due jobs"
                     : purpose == Purpose::read ? "reading the store"
                                                : "changing the store";
  try {
    std::lock_guard lock(impl_->mutex_);
    if (purpose == Purpose::read) {
      // One statement per primitive outside a transaction: a read writes nothing to commit.
      auto read = [&] {
        warnings.clear();
        Tx tx{*impl_, purpose, warnings};
        body(tx);
      };
      impl_->retrying(what, read);
    } else {
      const bool was_registered = impl_->registered_;
      auto run = [&] {
        warnings.clear();
        impl_->recorded_.clear();
        if (purpose == Purpose::claim) {
          // The claim's heartbeat also makes sure this scheduler's row exists: the runs it starts
          // name it.
          impl_->beat(warnings);
          if (!was_registered ||
              impl_->clock_->now() - impl_->last_reap_ >= impl_->options_.heartbeat_interval) {
            impl_->reap(warnings);
          }
        }
        Tx tx{*impl_, purpose, warnings, finished.value_or("{}")};
        body(tx);
      };
      impl_->write_transaction(what, run, purpose == Purpose::change);
      impl_->take_recorded(warnings);
      if (purpose == Purpose::claim) {
        impl_->registered_ = true;
        start_beating = !was_registered;
      }
    }
  } catch (...) {
    impl_->warn_all(warnings);
    throw;
  }
  if (start_beating) {
    impl_->heartbeat_.start(impl_->clock_, impl_->options_.heartbeat_interval,
                            [impl = impl_.get()] { impl->heartbeat(); });
  }
  impl_->warn_all(warnings);
}

void PostgresJobStore::complete_(const Execution& record, const std::optional<RunRequest>& retry) {
  impl_->complete(record, retry);
}

std::string PostgresJobStore::name_() const { return impl_->description_; }

void PostgresJobStore::warn_(const std::string& message) const { impl_->warn(message); }

void PostgresJobStore::record_process_(const Execution& run, const std::string& process) {
  auto write = [&] {
    (void)impl_->conn_.exec(
        "UPDATE sked_job_execution SET process = $2 WHERE id = $1::int8 AND status = 'started'",
        {decimal(run.id), process});
  };
  std::lock_guard lock(impl_->mutex_);
  impl_->retrying("recording a run's process group", write, impl_->conn_);
}

std::vector<Job> PostgresJobStore::all_jobs_() const {
  std::vector<std::string> warnings;
  auto all = [&] {
    warnings.clear();
    std::vector<Job> jobs;
    const Result r = impl_->conn_.exec(
        "SELECT id, (extract(epoch FROM next_run_time) * 1000000)::int8, job_state::text FROM "
        "sked_job "
        "ORDER BY next_run_time IS NULL, next_run_time, id");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      if (auto job = impl_->read_job(text(r.get(), i, 0), time_from_micros(r.get(), i, 1),
                                     text(r.get(), i, 2), warnings)) {
        jobs.push_back(std::move(*job));
      }
    }
    return jobs;
  };
  auto jobs = impl_->locked("listing jobs", all);
  impl_->warn_all(warnings);
  return jobs;
}

std::optional<TimePoint> PostgresJobStore::next_run_time_() const {
  // A retry they planned may be the next run; completions without one change no run time.
  if (impl_->retries_unwritten()) impl_->flush_completions();
  // Both minimums come from an index each, in one round trip.
  auto next = [&] {
    const Result r = impl_->conn_.exec(
        "SELECT (extract(epoch FROM least((SELECT min(next_run_time) FROM sked_job), "
        "(SELECT min(requested_at) FROM sked_run_request))) * 1000000)::int8");
    return time_from_micros(r.get(), 0, 0);
  };
  return impl_->locked("reading the next run time", next);
}

std::vector<RunRequest> PostgresJobStore::pending_runs_(
    std::optional<std::string_view> job_id) const {
  impl_->flush_completions();
  std::vector<std::string> warnings;
  auto read = [&] {
    warnings.clear();
    const Result r = impl_->conn_.exec(
        "SELECT id, job_id, (extract(epoch FROM requested_at) * 1000000)::int8, attempt, "
        "job_state::text "
        "FROM sked_run_request WHERE $1::text IS NULL OR job_id = $1 ORDER BY requested_at, id",
        {job_id ? Param{std::string{*job_id}} : std::nullopt});
    std::vector<RunRequest> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back(impl_->read_request(r.get(), i, warnings));
    return out;
  };
  auto out = impl_->locked("reading pending runs", read);
  impl_->warn_all(warnings);
  return out;
}

std::vector<Execution> PostgresJobStore::query_executions_(const ExecutionQuery& query) const {
  impl_->flush_completions();
  // Built from literals and the numbers of the parameters (`$3`), one per filter that is set: no
  // value is formatted into the text. Only the texts asked for are read (a listing of a million
  // records need not read their output).
  std::vector<Param> params;
  const auto next = [&](Param value) {
    params.push_back(std::move(value));
    return params.size();
  };
  std::string sql =
      "SELECT id, job_id, status, (extract(epoch FROM run_time) * 1000000)::int8, duration, "
      "(extract(epoch FROM finished) * 1000000)::int8, ";
  if (!query.with_texts) {
    sql += "'', ''";
  } else if (query.traceback_tail) {
    const auto tail = std::min<std::size_t>(*query.traceback_tail, INT32_MAX);
    sql += fmt::format("exception, right(traceback, ${}::int4)",
                       next(decimal(static_cast<std::int64_t>(tail))));
  } else {
    sql += "exception, traceback";
  }
  sql += " FROM sked_job_execution WHERE true";
  if (query.id) sql += fmt::format(" AND id = ${}::int8", next(decimal(*query.id)));
  if (query.job_id) sql += fmt::format(" AND job_id = ${}", next(*query.job_id));
  if (query.status) sql += fmt::format(" AND status = ${}", next(status_text(*query.status)));
  if (query.since)
    sql += fmt::format(" AND run_time >= ${}::timestamptz", next(optional_time(query.since)));
  if (query.until)
    sql += fmt::format(" AND run_time < ${}::timestamptz", next(optional_time(query.until)));
  if (query.after_id) sql += fmt::format(" AND id > ${}::int8", next(decimal(*query.after_id)));
  sql += query.order == ExecutionOrder::oldest_id_first ? " ORDER BY id"
                                                        : " ORDER BY run_time DESC, id DESC";
  sql += fmt::format(
      " LIMIT ${}::int8",
      next(decimal(static_cast<std::int64_t>(std::min<std::size_t>(query.limit, INT64_MAX)))));
  sql += fmt::format(
      " OFFSET ${}::int8",
      next(decimal(static_cast<std::int64_t>(std::min<std::size_t>(query.offset, INT64_MAX)))));
  auto read = [&] {
    const Result r = impl_->conn_.exec_once(sql.c_str(), params);
    std::vector<Execution> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(Impl::read_execution(r.get(), i));
    return out;
  };
  return impl_->locked("reading execution history", read);
}

std::size_t PostgresJobStore::delete_old_executions_(TimePoint cutoff) {
  const std::string cutoff_text = format_db_time(cutoff);
  std::size_t total = 0;
  for (;;) {
    // Each batch is its own statement (and transaction) and takes the lock anew, so claims
    // interleave with a long purge.
    auto batch = [&] {
      return affected(impl_->conn_.exec(
          "DELETE FROM sked_job_execution WHERE id IN (SELECT id FROM sked_job_execution "
          "WHERE run_time < $1::timestamptz AND status <> 'started' LIMIT $2::int8)",
          {cutoff_text, decimal(delete_batch_size)}));
    };
    const int n = impl_->locked("deleting old executions", batch);
    total += static_cast<std::size_t>(n);
    if (n < delete_batch_size) return total;
  }
}

}  // namespace sked
