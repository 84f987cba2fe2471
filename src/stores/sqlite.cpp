#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/stores/sqlite.hpp>

#include "detail/file_watch.hpp"
#include "detail/json_limits.hpp"
#include "detail/periodic.hpp"
#include "detail/run_process.hpp"
#include "detail/scheduler_registry.hpp"
#include "detail/sqlite_schema.hpp"
#include "detail/sqlite_time.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

namespace sked {
namespace {

using detail::format_db_time;
using detail::host_name;
using detail::parse_db_time;
using detail::process_alive;
using detail::random_u64;

std::optional<std::string> optional_text(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getString();
}

// Rows per transaction when deleting old history: large enough to be quick, small enough that
// schedulers sharing the file are never held up for long.
constexpr int delete_batch_size = 2000;
// Due rows read per query while claiming (keyset pages, so rows skipped because they cannot run
// here do not stop the jobs behind them from being claimed): as many as the claim still wants
// (Tx::expect_due), up to claim_page_size. A claim limited to the workers free now takes one or two
// runs; reading a whole page of due rows for it cost 10x the claim itself. When the claim skips
// rows it read, later pages grow from first_claim_page, doubling.
constexpr std::size_t first_claim_page = 4;
constexpr std::size_t claim_page_size = 256;
// Parsed jobs kept to spare claims the JSON parsing of job_state rows that have not changed.
constexpr std::size_t max_cached_jobs = 50'000;

bool is_corruption(int code) noexcept {
  const int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

bool is_lock_error(int code) noexcept {
  const int primary = code & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

std::string status_text(ExecutionStatus s) { return std::string{to_string(s)}; }

// BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads and then writes never
// fails half-way with SQLITE_BUSY_SNAPSHOT; it rolls back unless committed.
class WriteTransaction {
 public:
  // `begin` and `commit` are the connection's prepared BEGIN IMMEDIATE and COMMIT
  // (Impl::begin_write).
  WriteTransaction(SQLite::Database& db, SQLite::Statement& begin, SQLite::Statement& commit)
      : db_(db), commit_(commit) {
    run(begin);
  }
  ~WriteTransaction() {
    if (!committed_ && sqlite3_get_autocommit(db_.getHandle()) == 0) {
      try {
        db_.exec("ROLLBACK");
      } catch (...) {
        // Destructors never throw; the error that led here is the one reported.
      }
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit() {
    run(commit_);
    committed_ = true;
  }

 private:
  static void run(SQLite::Statement& s) {
    try {
      (void)s.exec();
    } catch (...) {
      (void)s.tryReset();
      throw;
    }
    (void)s.tryReset();
  }

  SQLite::Database& db_;
  SQLite::Statement& commit_;
  bool committed_ = false;
};

// A read transaction: the statements inside it see one snapshot of the file.
class ReadTransaction {
 public:
  explicit ReadTransaction(SQLite::Database& db) : db_(db) { db_.exec("BEGIN"); }
  ~ReadTransaction() {
    if (sqlite3_get_autocommit(db_.getHandle()) == 0) {
      try {
        db_.exec("ROLLBACK");
      } catch (...) {
        // Destructors never throw; nothing was written.
      }
    }
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  SQLite::Database& db_;
};

// A prepared statement in use: bindings cleared on the way in, reset on the way out, so that a
// SELECT left at a row never holds a read transaction (and an old snapshot of the file) open
// between calls.
class Use {
 public:
  explicit Use(SQLite::Statement& s) : s_(s) { s_.clearBindings(); }
  ~Use() { (void)s_.tryReset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  SQLite::Statement* operator->() const noexcept { return &s_; }
  SQLite::Statement& operator*() const noexcept { return s_; }

 private:
  SQLite::Statement& s_;
};

void bind_optional_time(SQLite::Statement& s, int index, const std::optional<TimePoint>& t) {
  if (t) {
    s.bind(index, format_db_time(*t));
  } else {
    s.bind(index);
  }
}

}  // namespace

class SqliteJobStore::Impl {
 public:
  Impl(std::string path, SqliteJobStoreOptions options);
  ~Impl();

  // Runs `fn` under the store's lock, retrying it while the database is locked by another
  // connection. Any other SQLite error becomes a StoreError naming the path and `what` was being
  // done.
  template <typename Fn>
  auto locked(std::string_view what, Fn&& fn) const -> decltype(fn()) {
    std::lock_guard lock(mutex_);
    return retrying(what, fn);
  }
  template <typename Fn>
  auto retrying(std::string_view what, Fn& fn) const -> decltype(fn()) {
    for (int attempt = 0;; ++attempt) {
      try {
        return fn();
      } catch (const SQLite::Exception& e) {
        if (is_lock_error(e.getErrorCode()) && attempt < options_.max_lock_retries) {
          backoff(attempt);
          continue;
        }
        if (is_corruption(e.getErrorCode()) && !corrupt_.load(std::memory_order_acquire)) {
          corrupt_why_ = fmt::format("{}: {}", what, e.what());
          corrupt_.store(true, std::memory_order_release);
        }
        const std::string why =
            is_lock_error(e.getErrorCode())
                ? fmt::format("{}: the database stayed locked through {} attempts: {}", what,
                              attempt + 1, e.what())
                : fmt::format("{}: {}", what, e.what());
        throw StoreError(path_, e.getExtendedErrorCode(), why);
      }
    }
  }

  SQLite::Statement& statement(const char* sql) const {
    auto& slot = statements_[sql];
    if (!slot) slot = std::make_unique<SQLite::Statement>(db_, sql);
    return *slot;
  }
  // BEGIN IMMEDIATE through the connection's prepared statements: an idle store's only writes (its
  // heartbeats) then parse no SQL.
  WriteTransaction begin_write() const {
    return WriteTransaction{db_, statement("BEGIN IMMEDIATE"), statement("COMMIT")};
  }

  void warn(const std::string& message) const;
  // Reports, once per job and text, a next_run_time that cannot be read.
  void report_bad_time(const std::string& id, const std::string& text,
                       std::vector<std::string>& warnings) const;
  // Changes when another connection commits to the file, never for this connection's own commits.
  std::int64_t data_version() const {
    Use s{statement("PRAGMA data_version")};
    s->executeStep();
    return s->getColumn(0).getInt64();
  }
  // The earliest next run time of any job or pending run, read in the caller's snapshot; times that
  // cannot be read are passed over and reported (once each) into `warnings`.
  std::optional<TimePoint> read_next_run_time(std::vector<std::string>& warnings) const;
  // The same, from the last read while no connection has committed a change since.
  std::optional<TimePoint> known_next_run_time(std::vector<std::string>& warnings) const;
  void warn_all(const std::vector<std::string>& messages) const {
    for (const auto& m : messages) warn(m);
  }

  // Reads a job row; on a row that cannot be read, returns nullptr and adds a report (once per id
  // and job_state) to `warnings`.
  // The job's runs recorded started by any process (what max_instances counts).
  int running_instances(const std::string& job_id) {
    Use s{statement(
        "SELECT count(*) FROM sked_job_execution WHERE job_id = ?1 AND status = 'started'")};
    s->bind(1, job_id);
    s->executeStep();
    return s->getColumn(0).getInt();
  }

  std::shared_ptr<Job> read_job(const std::string& id, const std::optional<std::string>& next,
                                const std::string& state, std::vector<std::string>& warnings) const;
  // Like read_job, but throws SerializationError naming the job and the path.
  Job read_job_or_throw(const std::string& id, const std::optional<std::string>& next,
                        const std::string& state) const;

  [[nodiscard]] std::string job_state(const Job& job) const;
  // Inside a write transaction: registers this scheduler, or refreshes its heartbeat. `waited` is
  // how long the call waited for the file (SQLite's lock, retries), `wall` when it got it.
  void beat(std::chrono::steady_clock::duration waited, TimePoint wall,
            std::vector<std::string>& warnings);
  // A wait for the file long enough that peers may have judged this scheduler's heartbeat stale.
  [[nodiscard]] bool held_up(std::chrono::steady_clock::duration waited) const {
    return waited > options_.heartbeat_interval / 2;
  }
  // Whether a claim writes a heartbeat: not within a second of the last one that committed, unless
  // it waited for the file or is the first. With short jobs a beat per claim was a page of the WAL
  // per claim (claims come thousands of times a second); peers judge beats over a minute or more.
  [[nodiscard]] bool claim_beats(std::chrono::steady_clock::duration waited, TimePoint wall) const {
    if (!registered_ || !beat_committed_ || held_up(waited)) return true;
    return wall < *beat_committed_ || wall - *beat_committed_ >= std::chrono::seconds{1};
  }
  // Inside a write transaction: this scheduler's row is still there (a claim that does not beat
  // reads it, which writes nothing: the runs it starts name it, and a peer that took this scheduler
  // for dead deleted it).
  [[nodiscard]] bool still_registered() {
    Use s{statement("SELECT 1 FROM sked_scheduler WHERE id = ?1")};
    s->bind(1, scheduler_id_);
    return s->executeStep();
  }
  void register_self(TimePoint wall, bool first, std::vector<std::string>& warnings);
  void reap(TimePoint wall, std::vector<std::string>& warnings);
  // Why a registered scheduler is dead (its runs' `interrupted` message); nothing if alive.
  [[nodiscard]] std::optional<std::string> death(const RegisteredScheduler& s,
                                                 const std::string& beat_text,
                                                 TimePoint wall) const;
  // The `sked_scheduler` row a statement is on: SELECT id, host, pid, started, heartbeat.
  [[nodiscard]] static RegisteredScheduler registered(SQLite::Statement& row);
  int interrupt_runs_of(const std::string& scheduler_id, const std::string& why);
  // interrupt_runs_of for a scheduler found dead: a recorded command still running here is stopped
  // first (docs/sqlite.md, "Faults"), its run counting as running until then.
  int interrupt_dead_runs(const std::string& scheduler_id, const std::string& why,
                          std::vector<std::string>& warnings);
  void heartbeat();
  // After a write transaction committed: its heartbeat counts, and what it recorded is said.
  void committed(std::vector<std::string>& warnings) {
    if (beat_pending_) beat_committed_ = std::exchange(beat_pending_, std::nullopt);
    warnings.insert(warnings.end(), std::make_move_iterator(recorded_.begin()),
                    std::make_move_iterator(recorded_.end()));
    recorded_.clear();
  }
  void unregister() noexcept;
  static Execution read_execution(SQLite::Statement& s);

  // Group commit: a completion waits while another thread commits, then commits every completion
  // that queued meanwhile in one transaction. Each caller still returns only once its record is
  // committed, but worker threads finishing together share one commit instead of queueing for one
  // each.
  struct PendingCompletion {
    const Execution* execution = nullptr;
    const RunRequest* retry = nullptr;
    bool done = false;
    std::exception_ptr error{};
  };
  void complete(const Execution& execution, const RunRequest* retry);
  void insert_request(const RunRequest& request);
  [[nodiscard]] RunRequest read_request(SQLite::Statement& s,
                                        std::vector<std::string>& warnings) const;
  void write_completions(const std::vector<PendingCompletion*>& batch);
  // One outcome, inside the open write transaction.
  void write_completion(const Execution& e, const RunRequest* retry);

  void backoff(int attempt) const {
    // Grows to about 100 ms, jittered so that processes that collided do not collide again in step.
    const auto cap = std::min(100'000L, 1000L << std::min(attempt, 7));
    const auto pause = std::chrono::microseconds{
        cap / 2 + static_cast<long>(random_u64() % static_cast<std::uint64_t>(cap))};
    std::this_thread::sleep_for(pause);
  }

  std::string path_;
  SqliteJobStoreOptions options_;
  std::shared_ptr<Clock> clock_;
  std::string scheduler_id_;
  std::string host_ = host_name();

  mutable std::mutex mutex_;  // guards everything below
  mutable SQLite::Database db_;
  mutable std::map<const char*, std::unique_ptr<SQLite::Statement>> statements_;
  bool registered_ = false;
  TimePoint last_reap_{};
  // What a write transaction recorded (runs found interrupted), said only once it commits: a
  // transaction that fails is tried again and says it again.
  std::vector<std::string> recorded_;
  // Liveness under a held lock or a full disk (docs/sqlite.md, "Faults"): a peer cannot write its
  // heartbeat while this store cannot write either, so a peer's heartbeat is judged stale only
  // against time since writable_since_, when this store last found the file writable after being
  // held up (a wait for the lock longer than half a heartbeat interval, or heartbeats that did not
  // commit). Peers on this host are judged by their processes instead (detail::death).
  TimePoint writable_since_ = TimePoint::min();
  std::optional<TimePoint> beat_pending_;    // the heartbeat written by the open transaction
  std::optional<TimePoint> beat_committed_;  // the last heartbeat that committed
  bool beat_tried_ = false;
  // id -> job_state reported
  mutable std::map<std::string, std::string, std::less<>> reported_bad_rows_;
  mutable std::set<std::string> reported_bad_times_;  // id '\n' next_run_time text

  // id -> the job_state text last read and the job it gave: claims then skip re-parsing unchanged
  // JSON.
  struct CachedJob {
    std::string state{};
    std::shared_ptr<const Job> job{};
  };
  mutable std::unordered_map<std::string, CachedJob> parsed_;

  std::mutex completion_mutex_;
  std::condition_variable completion_cv_;
  std::vector<PendingCompletion*> completion_queue_;
  bool completion_writer_ = false;

  // What was done with the recorded process groups of dead schedulers' runs, by execution id.
  std::map<std::int64_t, detail::SurvivorReport> survivors_;

  // Set when SQLite finds the file malformed: claims stop (see docs/sqlite.md), said once.
  mutable std::atomic<bool> corrupt_{false};
  mutable std::string corrupt_why_;  // written once, before corrupt_ is set
  std::atomic<bool> corrupt_reported_{false};
  // Once the file was found corrupt: reports it (the first time) and returns true.
  bool stopped_by_corruption() {
    if (!corrupt_.load(std::memory_order_acquire)) return false;
    if (!corrupt_reported_.exchange(true)) {
      warn(fmt::format(
          "job store '{}' is corrupt ({}); this scheduler stops claiming jobs from it. Stop every "
          "process using the file, restore it from a backup or recover it (sqlite3 '{}' .recover), "
          "then start again",
          path_, corrupt_why_, path_));
    }
    return true;
  }

  // Follows the store's clock, so a ManualClock drives it in tests as it drives everything. Used
  // when the file watch (which beats on its own thread when it runs) does not run.
  detail::Periodic heartbeat_;

  // `<file>-live`, where this scheduler's liveness lock is held (none for an in-memory database).
  std::string live_path_;
  mutable detail::LivenessLock live_lock_;  // guarded by mutex_
  // How often claims look for dead peers: the old heartbeat interval, so that a rarer heartbeat
  // does not make a peer's death on this host (known at the next look) known later.
  [[nodiscard]] Duration reap_interval() const {
    return std::min<Duration>(options_.heartbeat_interval, std::chrono::seconds{30});
  }

  // Other connections' commits, heard through a watch on the file (set_change_listener).
  void start_watch();
  // Called by the watch: tells the listener when another connection committed; true when the write
  // heard is not explained yet (see the definition).
  bool check_commits();
  std::mutex listen_mutex_;  // held while the listener runs
  std::function<void()> listener_;
  std::atomic<bool> reports_changes_{false};
  // Starts the watch at the first claim after a listener was set.
  void watch_if_wanted();
  std::atomic<bool> watch_wanted_{false};
  std::atomic<bool> watch_started_{false};
  std::int64_t watch_version_ = 0;      // guarded by mutex_: data_version at the last check
  std::int64_t watch_own_changes_ = 0;  // guarded by mutex_: this connection's rows changed, then
  detail::FileWatch watch_;

  // The earliest due time as of data_version `idle_version_`, known while this connection has not
  // written a change since: an idle scheduler's pass then reads one pragma instead of writing a
  // claim.
  mutable bool idle_known_ = false;
  mutable std::int64_t idle_version_ = 0;
  mutable std::optional<TimePoint> idle_next_{};
};

namespace {

// Whether the file has no -shm file next to it and this process may not create one.
bool unwritable_wal_directory(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path + "-shm", ec)) return false;
  const auto dir = std::filesystem::absolute(path, ec).parent_path();
  return access(dir.c_str(), W_OK) != 0;
}

std::string immutable_uri(const std::string& path) {
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

SQLite::Database open_database(const std::string& path, const SqliteJobStoreOptions& options) {
  if (options.open_mode != SqliteOpenMode::create) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      throw StoreError(path, SQLITE_CANTOPEN, "does not exist (no sked job store was created)");
    }
  }
  if (options.open_mode == SqliteOpenMode::create && !path.empty() && path != ":memory:") {
    // Jobs and history may hold secrets: a new file is readable by its owner only, whatever the
    // umask (SQLite gives its -wal, -shm and -journal files the mode of the database file). A file
    // that exists keeps its mode; one another process creates meanwhile (EEXIST) is opened as is.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const int chmodded = ::fchmod(fd, 0600);
      const int error = errno;
      ::close(fd);
      if (chmodded != 0) {
        throw StoreError(path, SQLITE_CANTOPEN,
                         fmt::format("cannot be given mode 0600: {}", std::strerror(error)));
      }
    }
  }
  int flags = options.open_mode == SqliteOpenMode::read_only ? SQLite::OPEN_READONLY
              : options.open_mode == SqliteOpenMode::existing
                  ? SQLite::OPEN_READWRITE
                  : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  std::string name = path;
  if (options.open_mode == SqliteOpenMode::read_only && unwritable_wal_directory(path)) {
    // Reading a WAL file needs its -shm file, which this user cannot create here. Its absence means
    // no process has the file open, so it can be read as an immutable file.
    name = immutable_uri(path);
    flags |= SQLite::OPEN_URI;
  }
  try {
    return SQLite::Database(name, flags, static_cast<int>(options.busy_timeout.count()));
  } catch (const SQLite::Exception& e) {
    throw StoreError(path, e.getExtendedErrorCode(), fmt::format("cannot be opened: {}", e.what()));
  }
}

}  // namespace

SqliteJobStore::Impl::Impl(std::string path, SqliteJobStoreOptions options)
    : path_(std::move(path)),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : SystemClock::instance()),
      db_(open_database(path_, options_)) {
  if (options_.max_lock_retries < 0)
    throw InvalidArgument("sqlite job store: max_lock_retries must not be negative");
  if (options_.heartbeat_interval <= Duration::zero() ||
      options_.stale_after <= options_.heartbeat_interval) {
    throw InvalidArgument(
        "sqlite job store: heartbeat_interval must be positive and stale_after longer than it");
  }
  if (options_.synchronous != "NORMAL" && options_.synchronous != "FULL" &&
      options_.synchronous != "EXTRA" && options_.synchronous != "OFF") {
    throw InvalidArgument(
        fmt::format("sqlite job store: synchronous must be OFF, NORMAL, FULL or EXTRA, got '{}'",
                    options_.synchronous));
  }
  scheduler_id_ =
      !options_.scheduler_id.empty() ? options_.scheduler_id : detail::default_scheduler_id(host_);
  if (!path_.empty() && path_ != ":memory:" && path_.rfind("file:", 0) != 0) {
    live_path_ = path_ + "-live";
  }
  auto prepare = [this] {
    detail::prepare_schema(db_, path_, schema_version,
                           options_.open_mode == SqliteOpenMode::create);
    db_.exec("PRAGMA foreign_keys = ON");
    db_.exec(fmt::format("PRAGMA synchronous = {}", options_.synchronous));
    // The WAL is the store's disk footprint between checkpoints: one every 1,000 pages (SQLite's
    // default, 4 MiB at the default page size) and the file cut back to 4 MiB when it restarts keep
    // it bounded on a small disk (one every 10,000 pages filled a 2 MB filesystem in a minute). It
    // costs a checkpoint's fsyncs every few hundred commits (measured in docs/sqlite.md).
    db_.exec("PRAGMA wal_autocheckpoint = 1000");
    db_.exec("PRAGMA journal_size_limit = 4194304");
  };
  locked("opening the store", prepare);
  detail::add_live_scheduler(scheduler_id_);
}

SqliteJobStore::Impl::~Impl() {
  watch_.stop();
  heartbeat_.stop();
  unregister();
  detail::remove_live_scheduler(scheduler_id_);
}

void SqliteJobStore::Impl::warn(const std::string& message) const {
  detail::report_warning(options_.on_warning, message);
}

void SqliteJobStore::Impl::report_bad_time(const std::string& id, const std::string& text,
                                           std::vector<std::string>& warnings) const {
  if (!reported_bad_times_.insert(id + '\n' + text).second) return;
  warnings.push_back(
      fmt::format("job store '{}': job '{}': next_run_time '{}' is not a UTC time (the row is left "
                  "as it is; fix or remove it)",
                  path_, id, text));
}

// ---- jobs --------------------------------------------------------------------------------------

std::shared_ptr<Job> SqliteJobStore::Impl::read_job(const std::string& id,
                                                    const std::optional<std::string>& next,
                                                    const std::string& state,
                                                    std::vector<std::string>& warnings) const {
  std::optional<TimePoint> next_time;
  if (next) {
    next_time = parse_db_time(*next);
    if (!next_time) {
      report_bad_time(id, *next, warnings);
      return nullptr;
    }
  }
  try {
    if (const auto it = parsed_.find(id); it != parsed_.end() && it->second.state == state) {
      auto job = std::make_shared<Job>(*it->second.job);
      job->next_run_time = next_time;
      return job;
    }
    auto job = std::make_shared<Job>(read_job_or_throw(id, next, state));
    // Bounded: a store with more jobs than this re-parses some, and stays correct.
    if (parsed_.size() >= max_cached_jobs) parsed_.clear();
    // A copy of its own: callers may move out of the job they get.
    parsed_[id] = CachedJob{state, std::make_shared<const Job>(*job)};
    return job;
  } catch (const SerializationError& e) {
    const auto it = reported_bad_rows_.find(id);
    if (it == reported_bad_rows_.end() || it->second != state) {
      reported_bad_rows_[id] = state;
      warnings.push_back(fmt::format("{} (the row is left as it is; fix or remove it)", e.what()));
    }
    return nullptr;
  }
}

Job SqliteJobStore::Impl::read_job_or_throw(const std::string& id,
                                            const std::optional<std::string>& next,
                                            const std::string& state) const {
  const auto fail = [&](const std::string& why) {
    return SerializationError(fmt::format("job store '{}': job '{}': {}", path_, id, why));
  };
  std::optional<TimePoint> next_run_time;
  if (next) {
    next_run_time = parse_db_time(*next);
    if (!next_run_time) throw fail(fmt::format("next_run_time '{}' is not a UTC time", *next));
  }
  if (auto why = detail::json_text_too_big(state, detail::max_job_state_depth,
                                           detail::max_job_state_bytes)) {
    throw fail(fmt::format("job_state is not read: {}", *why));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(state);
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("job_state is not valid JSON: {}", e.what()));
  }
  try {
    return job_from_state_json(id, next_run_time, j);
  } catch (const SerializationError& e) {
    // job_from_state_json names the job already.
    throw SerializationError(fmt::format("job store '{}': {}", path_, e.what()));
  }
}

std::string SqliteJobStore::Impl::job_state(const Job& job) const {
  std::string text;
  try {
    text = job_state_to_json(job).dump();
  } catch (const SerializationError& e) {
    throw SerializationError(fmt::format("job store '{}': {}", path_, e.what()));
  }
  if (text.size() > detail::max_job_state_bytes) {
    throw InvalidArgument(
        fmt::format("job store '{}': job '{}': its state is {} bytes of JSON, over the limit of {}",
                    path_, job.id, text.size(), detail::max_job_state_bytes));
  }
  return text;
}

// ---- transactions ------------------------------------------------------------------------------

// The storage primitives inside one transaction, with the store's lock held.
class SqliteJobStore::Tx final : public JobStore::Transaction {
 public:
  Tx(Impl& impl, Purpose purpose, std::vector<std::string>& warnings)
      : s_(impl), purpose_(purpose), warnings_(warnings) {}

  std::shared_ptr<const Job> find_job(std::string_view id) override {
    Use s{s_.statement("SELECT next_run_time, job_state FROM sked_job WHERE id = ?1")};
    s->bind(1, std::string{id});
    if (!s->executeStep()) return nullptr;
    const std::string key{id};
    // A claim skips a row it cannot read (reported once); a lookup or a change names it in an
    // error.
    if (purpose_ == Purpose::claim) {
      return s_.read_job(key, optional_text(s->getColumn(0)), s->getColumn(1).getString(),
                         warnings_);
    }
    return std::make_shared<const Job>(
        s_.read_job_or_throw(key, optional_text(s->getColumn(0)), s->getColumn(1).getString()));
  }

  bool insert_job(const Job& job) override {
    Use s{
        s_.statement("INSERT INTO sked_job (id, next_run_time, job_state) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (id) DO NOTHING")};
    s->bind(1, job.id);
    bind_optional_time(*s, 2, job.next_run_time);
    s->bind(3, s_.job_state(job));
    return s->exec() > 0;
  }

  void replace_job(const Job& job) override {
    Use s{s_.statement("UPDATE sked_job SET next_run_time = ?2, job_state = ?3 WHERE id = ?1")};
    s->bind(1, job.id);
    bind_optional_time(*s, 2, job.next_run_time);
    s->bind(3, s_.job_state(job));
    if (s->exec() == 0) throw JobNotFound(job.id, s_.path_);
  }

  void delete_job(std::string_view id) override {
    for (const char* sql :
         {"DELETE FROM sked_job WHERE id = ?1", "DELETE FROM sked_run_request WHERE job_id = ?1"}) {
      Use s{s_.statement(sql)};
      s->bind(1, std::string{id});
      s->exec();
    }
  }

  void delete_all_jobs() override {
    s_.db_.exec("DELETE FROM sked_job");
    s_.db_.exec("DELETE FROM sked_run_request");
  }

  void expect_due(std::size_t count) override { wanted_ = count; }

  std::shared_ptr<const Job> next_due(TimePoint now) override {
    for (;;) {
      if (next_ == rows_.size()) {
        if (exhausted_) return nullptr;
        read_page(now);
        if (rows_.empty()) return nullptr;
      }
      auto& [id, next, state] = rows_[next_++];
      if (auto job = s_.read_job(id, next, state, warnings_)) return job;
    }
  }

  void reschedule(std::string_view id, TimePoint next) override {
    Use s{s_.statement("UPDATE sked_job SET next_run_time = ?2 WHERE id = ?1")};
    s->bind(1, std::string{id});
    s->bind(2, format_db_time(next));
    s->exec();
  }

  int running_instances(std::string_view job_id) override {
    return s_.running_instances(std::string{job_id});
  }

  bool insert_execution(Execution& record) override {
    Use s{
        s_.statement("INSERT INTO sked_job_execution (job_id, status, run_time, scheduler_id) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job_id, run_time) DO NOTHING")};
    s->bind(1, record.job_id);
    s->bind(2, status_text(record.status));
    s->bind(3, format_db_time(record.run_time));
    s->bind(4, s_.scheduler_id_);
    if (s->exec() == 0) return false;
    record.id = s_.db_.getLastInsertRowid();
    return true;
  }

  std::vector<RunRequest> due_requests(TimePoint now) override {
    std::vector<RunRequest> due;
    std::vector<std::int64_t> unreadable;
    {
      Use s{
          s_.statement("SELECT id, job_id, requested_at, attempt, job_state FROM sked_run_request "
                       "WHERE requested_at <= ?1 ORDER BY requested_at, id")};
      s->bind(1, format_db_time(now));
      while (s->executeStep()) {
        RunRequest r = s_.read_request(*s, warnings_);
        if (r.id < 0) {
          unreadable.push_back(-r.id);
        } else {
          due.push_back(std::move(r));
        }
      }
    }
    for (const std::int64_t id : unreadable) delete_request(id);
    return due;
  }

  std::optional<RunRequest> find_request(std::string_view job_id) override {
    Use s{
        s_.statement("SELECT id, job_id, requested_at, attempt, job_state FROM sked_run_request "
                     "WHERE job_id = ?1 AND attempt = 1")};
    s->bind(1, std::string{job_id});
    if (!s->executeStep()) return std::nullopt;
    return s_.read_request(*s, warnings_);
  }

  void insert_request(const RunRequest& request) override { s_.insert_request(request); }

  void delete_request(std::int64_t id) override {
    Use s{s_.statement("DELETE FROM sked_run_request WHERE id = ?1")};
    s->bind(1, static_cast<std::int64_t>(id));
    s->exec();
  }

  bool finish_run(const Execution& record, const RunRequest* retry) override {
    if (purpose_ == Purpose::read) return false;
    s_.write_completion(record, retry);
    return true;
  }

 private:
  // Due rows a page at a time (keyset pages, so rows passed over because they cannot run here do
  // not stop the jobs behind them from being claimed). Jobs due at the same time come in the order
  // they were added (rowid), as in the memory store: the next_run_time index holds the rowid, so a
  // page reads only its own rows. Ordering by id instead sorted every row due at that time,
  // job_state and all, for each page (with 1,000 jobs due together, 10x the cost of a one-run
  // claim).
  void read_page(TimePoint now) {
    rows_.clear();
    next_ = 0;
    Use s{s_.statement(first_page_
                           ? "SELECT id, next_run_time, job_state, rowid FROM sked_job "
                             "WHERE next_run_time <= ?1 ORDER BY next_run_time, rowid LIMIT ?4"
                           : "SELECT id, next_run_time, job_state, rowid FROM sked_job "
                             "WHERE next_run_time <= ?1 AND (next_run_time, rowid) > (?2, ?3) "
                             "ORDER BY next_run_time, rowid LIMIT ?4")};
    s->bind(1, format_db_time(now));
    if (!first_page_) {
      s->bind(2, after_time_);
      s->bind(3, after_rowid_);
    }
    const std::size_t page = std::min(claim_page_size, wanted_ == 0  ? page_
                                                       : first_page_ ? wanted_
                                                                     : std::max(wanted_, page_));
    s->bind(4, static_cast<std::int64_t>(page));
    while (s->executeStep()) {
      rows_.emplace_back(s->getColumn(0).getString(), s->getColumn(1).getString(),
                         s->getColumn(2).getString());
      after_rowid_ = s->getColumn(3).getInt64();
    }
    first_page_ = false;
    exhausted_ = rows_.size() < page;
    page_ = std::min(page_ * 2, claim_page_size);
    if (!rows_.empty()) after_time_ = std::get<1>(rows_.back());
  }

  Impl& s_;
  Purpose purpose_;
  std::vector<std::string>& warnings_;
  // id, next_run_time, job_state
  std::vector<std::tuple<std::string, std::string, std::string>> rows_;
  std::size_t next_ = 0;
  bool first_page_ = true;
  bool exhausted_ = false;
  std::string after_time_;
  std::int64_t after_rowid_ = 0;
  std::size_t wanted_ = 0;  // expect_due: how many more jobs the claim takes
  std::size_t page_ = first_claim_page;
};

// A request row (SELECT id, job_id, requested_at, attempt, job_state). One whose time cannot be
// read comes back with a negative id, to be dropped, and is reported.
RunRequest SqliteJobStore::Impl::read_request(SQLite::Statement& s,
                                              std::vector<std::string>& warnings) const {
  RunRequest r;
  r.id = s.getColumn(0).getInt64();
  r.job_id = s.getColumn(1).getString();
  const std::string at = s.getColumn(2).getString();
  r.attempt = std::max(1, s.getColumn(3).getInt());
  const auto parsed = parse_db_time(at);
  if (!parsed) {
    warnings.push_back(fmt::format(
        "job store '{}': job '{}': dropped a run request at '{}', which is not a UTC time", path_,
        r.job_id, at));
    r.id = -r.id;
    return r;
  }
  r.at = *parsed;
  if (!s.getColumn(4).isNull()) {
    try {
      r.snapshot = std::make_shared<const Job>(
          read_job_or_throw(r.job_id, std::nullopt, s.getColumn(4).getString()));
    } catch (const SerializationError& e) {
      warnings.push_back(fmt::format(
          "{} (in the retry kept for it; the retry runs only while the job exists)", e.what()));
    }
  }
  return r;
}

void SqliteJobStore::Impl::insert_request(const RunRequest& request) {
  Use s{
      statement("INSERT INTO sked_run_request (job_id, requested_at, attempt, job_state) VALUES "
                "(?1, ?2, ?3, ?4)")};
  s->bind(1, request.job_id);
  s->bind(2, format_db_time(request.at));
  s->bind(3, request.attempt);
  if (request.snapshot) {
    s->bind(4, job_state(*request.snapshot));
  } else {
    s->bind(4);
  }
  s->exec();
}

// ---- schedulers sharing the file ---------------------------------------------------------------

int SqliteJobStore::Impl::interrupt_runs_of(const std::string& scheduler_id,
                                            const std::string& why) {
  Use s{
      statement("UPDATE sked_job_execution SET status = 'interrupted', exception = ?2 "
                "WHERE status = 'started' AND scheduler_id = ?1")};
  s->bind(1, scheduler_id);
  s->bind(2, why);
  return s->exec();
}

int SqliteJobStore::Impl::interrupt_dead_runs(const std::string& scheduler_id,
                                              const std::string& why,
                                              std::vector<std::string>& warnings) {
  struct Recorded {
    std::int64_t id;
    std::string job_id, process;
  };
  std::vector<Recorded> recorded;
  {
    Use s{
        statement("SELECT id, job_id, process FROM sked_job_execution WHERE status = 'started' AND "
                  "scheduler_id = ?1 AND process IS NOT NULL")};
    s->bind(1, scheduler_id);
    while (s->executeStep()) {
      recorded.push_back(
          {s->getColumn(0).getInt64(), s->getColumn(1).getString(), s->getColumn(2).getString()});
    }
  }
  int n = 0;
  for (const auto& r : recorded) {
    // A transaction retried after a lost race finds the group it stopped gone: say what was done.
    auto [it, fresh] = survivors_.try_emplace(r.id);
    if (fresh) it->second = detail::stop_survivor(r.process, host_);
    const detail::SurvivorReport& survivor = it->second;
    if (survivor.message.empty()) continue;
    if (survivor.stopped) {
      warnings.push_back(
          fmt::format("job store '{}': run {} of job '{}' outlived scheduler '{}': {}", path_, r.id,
                      r.job_id, scheduler_id, survivor.message.substr(2)));
    }
    Use s{
        statement("UPDATE sked_job_execution SET status = 'interrupted', exception = ?2 "
                  "WHERE id = ?1 AND status = 'started'")};
    s->bind(1, r.id);
    s->bind(2, why + survivor.message);
    n += s->exec();
  }
  return n + interrupt_runs_of(scheduler_id, why);
}

void SqliteJobStore::Impl::beat(std::chrono::steady_clock::duration waited_for, TimePoint wall,
                                std::vector<std::string>& warnings) {
  const auto interval = options_.heartbeat_interval;
  const bool waited = held_up(waited_for);
  const bool missed_beats =
      beat_tried_ && (!beat_committed_ || wall - *beat_committed_ > interval + interval / 2);
  if (waited || missed_beats) writable_since_ = wall;
  beat_tried_ = true;
  beat_pending_ = wall;
  if (!registered_) {
    register_self(wall, true, warnings);
    return;
  }
  Use s{statement("UPDATE sked_scheduler SET heartbeat = ?2 WHERE id = ?1")};
  s->bind(1, scheduler_id_);
  s->bind(2, format_db_time(wall));
  if (s->exec() > 0) return;
  // Another scheduler took this one for dead (its heartbeat was older than stale_after: the process
  // was stopped, or the clocks disagree) and recorded its unfinished runs interrupted; completing
  // them records how they really ended.
  warnings.push_back(
      fmt::format("job store '{}': scheduler '{}' was taken for dead by another process and "
                  "registers again; raise stale_after if this recurs",
                  path_, scheduler_id_));
  register_self(wall, false, warnings);
}

void SqliteJobStore::Impl::register_self(TimePoint wall, bool first,
                                         std::vector<std::string>& warnings) {
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
                    "scheduler id '{}' as interrupted",
                    path_, n, scheduler_id_));
  }
  Use s{statement(
      "INSERT INTO sked_scheduler (id, host, pid, started, heartbeat) VALUES (?1, ?2, ?3, ?4, ?4) "
      "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
      "started = excluded.started, heartbeat = excluded.heartbeat")};
  s->bind(1, scheduler_id_);
  s->bind(2, host_);
  s->bind(3, static_cast<std::int64_t>(getpid()));
  s->bind(4, format_db_time(wall));
  s->exec();
  // Held from now until the process ends: peers on this kernel that cannot see the process in
  // /proc (another PID namespace) know it alive without reading its heartbeat.
  if (!live_path_.empty()) (void)live_lock_.hold(live_path_, scheduler_id_);
}

RegisteredScheduler SqliteJobStore::Impl::registered(SQLite::Statement& row) {
  RegisteredScheduler s;
  s.id = row.getColumn(0).getString();
  s.host = row.getColumn(1).getString();
  s.pid = row.getColumn(2).getInt64();
  s.started = parse_db_time(row.getColumn(3).getString()).value_or(TimePoint{});
  s.heartbeat = parse_db_time(row.getColumn(4).getString()).value_or(TimePoint{});
  return s;
}

std::optional<std::string> SqliteJobStore::Impl::death(const RegisteredScheduler& s,
                                                       const std::string& beat_text,
                                                       TimePoint wall) const {
  // An unreadable heartbeat reads as the epoch: long stale.
  const TimePoint since = std::max(s.heartbeat, writable_since_);
  const bool stale = wall - since > options_.stale_after;
  // Only asked when the heartbeat alone would condemn it: one fcntl per stale peer.
  const bool locked =
      stale && s.host != host_ && !live_path_.empty() && live_lock_.held(live_path_, s.id);
  return detail::death(s, stale, beat_text, host_, locked);
}

void SqliteJobStore::Impl::reap(TimePoint wall, std::vector<std::string>& warnings) {
  last_reap_ = wall;
  struct Dead {
    std::string id, why;
  };
  std::vector<Dead> dead;
  {
    Use s{statement("SELECT id, host, pid, started, heartbeat FROM sked_scheduler WHERE id != ?1")};
    s->bind(1, scheduler_id_);
    while (s->executeStep()) {
      const RegisteredScheduler other = registered(*s);
      if (auto why = death(other, s->getColumn(4).getString(), wall))
        dead.push_back({other.id, std::move(*why)});
    }
  }
  for (const auto& d : dead) {
    if (const int n = interrupt_dead_runs(d.id, d.why, warnings); n > 0) {
      recorded_.push_back(
          fmt::format("job store '{}': recorded {} run(s) of dead scheduler '{}' as interrupted",
                      path_, n, d.id));
    }
    Use s{statement("DELETE FROM sked_scheduler WHERE id = ?1")};
    s->bind(1, d.id);
    s->exec();
  }
  // Started runs whose scheduler is unknown: written by schema version 1, or their scheduler's row
  // was deleted by hand.
  Use s{
      statement("UPDATE sked_job_execution SET status = 'interrupted', exception = ?1 "
                "WHERE status = 'started' AND (scheduler_id IS NULL OR scheduler_id NOT IN "
                "(SELECT id FROM sked_scheduler))")};
  s->bind(1,
          std::string{
              "sked::Interrupted: the scheduler that started this run is unknown and not running"});
  if (const int n = s->exec(); n > 0) {
    recorded_.push_back(fmt::format(
        "job store '{}': recorded {} run(s) of unknown schedulers as interrupted", path_, n));
  }
}

void SqliteJobStore::Impl::heartbeat() {
  if (corrupt_.load(std::memory_order_acquire)) return;  // said once already; not every interval
  std::vector<std::string> warnings;
  std::optional<std::chrono::steady_clock::time_point> began;
  auto refresh = [&] {
    if (!began) began = std::chrono::steady_clock::now();
    warnings.clear();
    recorded_.clear();
    beat_pending_.reset();
    WriteTransaction tx = begin_write();
    beat(std::chrono::steady_clock::now() - *began, clock_->now(), warnings);
    tx.commit();
    committed(warnings);
  };
  try {
    locked("writing the heartbeat", refresh);
  } catch (const std::exception& e) {
    warnings.push_back(e.what());
  }
  warn_all(warnings);
}

void SqliteJobStore::Impl::start_watch() {
  if (path_.empty() || path_ == ":memory:") {
    reports_changes_ = true;  // private to this connection: no one else can change it
    return;
  }
  std::error_code ec;
  const auto file = std::filesystem::absolute(path_, ec);
  if (ec) return;
  const std::string name = file.filename().string();
  int error = 0;
  {
    // Watching from before data_version is read (under the lock, which the watch's checks take): a
    // commit in between is heard.
    std::lock_guard lock(mutex_);
    if (watch_.start(file.parent_path().string(), {name, name + "-wal"},
                     [this] { return check_commits(); })) {
      try {
        watch_version_ = data_version();
      } catch (const SQLite::Exception&) {
        // The first check tells the listener, which costs a pass.
      }
      watch_own_changes_ = sqlite3_total_changes64(db_.getHandle());
      reports_changes_ = true;
      return;
    }
    error = errno;
  }
  warn(fmt::format(
      "job store '{}': cannot watch the file for other processes' changes ({}); a scheduler "
      "polls it every max_wait instead",
      path_, std::strerror(error)));
}

bool SqliteJobStore::Impl::check_commits() {
  bool changed = false;
  bool unexplained = false;
  {
    std::lock_guard lock(mutex_);
    try {
      // data_version moves for other connections' commits only; the rows this connection changed
      // tell its own writes (a heartbeat, a claim, a checkpoint after them) from a write of another
      // connection heard before its commit became visible (SQLite publishes it in the -shm after
      // the last write), which is looked at once more shortly after.
      const std::int64_t version = data_version();
      const std::int64_t own = sqlite3_total_changes64(db_.getHandle());
      changed = version != watch_version_;
      unexplained = !changed && own == watch_own_changes_;
      watch_version_ = version;
      watch_own_changes_ = own;
    } catch (const SQLite::Exception&) {
      changed = true;  // the scheduler's pass reports what is wrong
    }
  }
  if (changed) {
    std::lock_guard lock(listen_mutex_);
    if (listener_) {
      try {
        listener_();
      } catch (...) {
        // The listener must not throw; a broken one must not end the watch.
      }
    }
  }
  return unexplained;
}

void SqliteJobStore::Impl::unregister() noexcept {
  try {
    auto leave = [this] {
      if (!registered_) return;
      WriteTransaction tx = begin_write();
      interrupt_runs_of(
          scheduler_id_,
          fmt::format("sked::Interrupted: scheduler '{}' closed its job store while this run was "
                      "in progress",
                      scheduler_id_));
      Use s{statement("DELETE FROM sked_scheduler WHERE id = ?1")};
      s->bind(1, scheduler_id_);
      s->exec();
      tx.commit();
      registered_ = false;
    };
    locked("unregistering the scheduler", leave);
  } catch (const std::exception& e) {
    warn(e.what());
  } catch (...) {
    // Destructors never throw.
  }
}

// ---- history -----------------------------------------------------------------------------------

Execution SqliteJobStore::Impl::read_execution(SQLite::Statement& s) {
  Execution e;
  e.id = s.getColumn(0).getInt64();
  e.job_id = s.getColumn(1).getString();
  const std::string status = s.getColumn(2).getString();
  const auto parsed = parse_execution_status(status);
  // The CHECK constraint keeps other values out; a hand-edited row still reads as what it most
  // likely is.
  e.status = parsed.value_or(ExecutionStatus::error);
  const std::string run_time = s.getColumn(3).getString();
  e.run_time = parse_db_time(run_time).value_or(TimePoint{});
  if (!s.getColumn(4).isNull()) {
    e.duration = Duration{std::llround(s.getColumn(4).getDouble() * 1e6)};
  }
  if (!s.getColumn(5).isNull()) e.finished = parse_db_time(s.getColumn(5).getString());
  e.exception = s.getColumn(6).getString();
  e.traceback = s.getColumn(7).getString();
  return e;
}

void SqliteJobStore::Impl::complete(const Execution& execution, const RunRequest* retry) {
  PendingCompletion mine{&execution, retry};
  std::unique_lock lock(completion_mutex_);
  completion_queue_.push_back(&mine);
  while (!mine.done) {
    if (completion_writer_) {
      completion_cv_.wait(lock);
      continue;
    }
    completion_writer_ = true;
    lock.unlock();
    std::vector<PendingCompletion*> batch;
    std::exception_ptr error;
    {
      // The batch is taken only once the database is ours: completions that queue while a claim
      // holds it join this commit instead of waiting for the next one.
      std::lock_guard db_lock(mutex_);
      {
        std::lock_guard queue_lock(completion_mutex_);
        batch = std::exchange(completion_queue_, {});
      }
      try {
        write_completions(batch);
      } catch (...) {
        error = std::current_exception();
      }
    }
    lock.lock();
    for (auto* p : batch) {
      p->error = error;
      p->done = true;
    }
    completion_writer_ = false;
    completion_cv_.notify_all();
  }
  if (mine.error) std::rethrow_exception(mine.error);
}

// With the store's lock held.
void SqliteJobStore::Impl::write_completions(const std::vector<PendingCompletion*>& batch) {
  auto write = [&] {
    WriteTransaction tx = begin_write();
    for (const auto* p : batch) write_completion(*p->execution, p->retry);
    tx.commit();
  };
  retrying(batch.size() == 1 ? "recording how a run ended" : "recording how runs ended", write);
}

void SqliteJobStore::Impl::write_completion(const Execution& e, const RunRequest* retry) {
  Use s{
      statement("UPDATE sked_job_execution SET status = ?2, duration = ?3, finished = ?4, "
                "exception = ?5, traceback = ?6 WHERE id = ?1")};
  s->bind(1, static_cast<std::int64_t>(e.id));
  s->bind(2, status_text(e.status));
  if (e.duration) {
    s->bind(3, static_cast<double>(e.duration->count()) / 1e6);
  } else {
    s->bind(3);
  }
  bind_optional_time(*s, 4, e.finished);
  s->bind(5, e.exception);
  s->bind(6, e.traceback);
  s->exec();
  if (retry) {
    insert_request(*retry);
    idle_known_ = false;
  }
}

// ---- the public face ---------------------------------------------------------------------------

SqliteJobStore::SqliteJobStore(std::string path, SqliteJobStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(path), std::move(options))) {}

SqliteJobStore::~SqliteJobStore() = default;

const std::string& SqliteJobStore::path() const noexcept { return impl_->path_; }
const std::string& SqliteJobStore::scheduler_id() const noexcept { return impl_->scheduler_id_; }

std::vector<RegisteredScheduler> SqliteJobStore::registered_schedulers() const {
  auto read = [&] {
    std::vector<RegisteredScheduler> all;
    const TimePoint wall = impl_->clock_->now();
    Use s{impl_->statement(
        "SELECT id, host, pid, started, heartbeat FROM sked_scheduler ORDER BY id")};
    while (s->executeStep()) {
      RegisteredScheduler r = Impl::registered(*s);
      r.alive = !impl_->death(r, s->getColumn(4).getString(), wall);
      all.push_back(std::move(r));
    }
    return all;
  };
  return impl_->locked("reading the registered schedulers", read);
}

std::vector<RegisteredScheduler> SqliteJobStore::live_schedulers() const {
  auto live = registered_schedulers();
  std::erase_if(live, [](const RegisteredScheduler& s) { return !s.alive; });
  return live;
}

void SqliteJobStore::transact_(Purpose purpose, const std::function<void(Transaction&)>& body) {
  // A corrupt file is not claimed from: a claim would fail every pass, or read half a table.
  if (purpose == Purpose::claim && impl_->stopped_by_corruption()) return;
  if (purpose == Purpose::claim) impl_->watch_if_wanted();
  std::vector<std::string> warnings;
  bool start_beating = false;
  // When the call got this store's own lock: a wait for the file counts as held up (beat), a wait
  // for another thread of this process does not. On the steady clock, as it is a real wait: a test
  // moving a manual clock meanwhile is not one.
  std::optional<std::chrono::steady_clock::time_point> began;
  auto run = [&] {
    if (!began) began = std::chrono::steady_clock::now();
    warnings.clear();
    if (purpose == Purpose::read) {
      Tx tx{*impl_, purpose, warnings};
      body(tx);
      return;
    }
    impl_->recorded_.clear();
    impl_->beat_pending_.reset();
    WriteTransaction wtx = impl_->begin_write();
    // This connection's own commits do not move data_version.
    impl_->idle_known_ = false;
    const bool was_registered = impl_->registered_;
    if (purpose == Purpose::claim) {
      // The claim's own heartbeat also makes sure this scheduler's row exists: the runs it starts
      // name it.
      const TimePoint wall = impl_->clock_->now();
      const auto waited = std::chrono::steady_clock::now() - *began;
      if (impl_->claim_beats(waited, wall) || !impl_->still_registered()) {
        impl_->beat(waited, wall, warnings);
      }
      if (wall - impl_->last_reap_ >= impl_->reap_interval() || !was_registered) {
        impl_->reap(wall, warnings);
      }
    }
    Tx tx{*impl_, purpose, warnings};
    body(tx);
    wtx.commit();
    impl_->committed(warnings);
    if (purpose == Purpose::claim) {
      impl_->registered_ = true;
      start_beating = !was_registered;
    }
  };
  const char* what = purpose == Purpose::claim  ? "claiming due jobs"
                     : purpose == Purpose::read ? "reading the store"
                                                : "changing the store";
  try {
    impl_->locked(what, run);
  } catch (...) {
    impl_->warn_all(warnings);
    (void)impl_->stopped_by_corruption();
    throw;
  }
  if (start_beating) {
    // On the file watch's thread when there is one: a thread of its own would wake for each beat,
    // and the watch again for the beat's own writes.
    if (!impl_->watch_.every(impl_->clock_, impl_->options_.heartbeat_interval,
                             [this] { impl_->heartbeat(); })) {
      impl_->heartbeat_.start(impl_->clock_, impl_->options_.heartbeat_interval,
                              [this] { impl_->heartbeat(); });
    }
  }
  impl_->warn_all(warnings);
}

void SqliteJobStore::complete_(const Execution& record, const std::optional<RunRequest>& retry) {
  impl_->complete(record, retry ? &*retry : nullptr);
}

void SqliteJobStore::complete_many_(const std::vector<Completion>& batch) {
  // One transaction, one commit: the cost of a completion on SQLite is its commit.
  std::vector<Impl::PendingCompletion> items;
  items.reserve(batch.size());
  std::vector<Impl::PendingCompletion*> pointers;
  pointers.reserve(batch.size());
  for (const auto& c : batch) {
    items.push_back({c.record, *c.retry ? &**c.retry : nullptr});
    pointers.push_back(&items.back());
  }
  std::lock_guard lock(impl_->mutex_);
  impl_->write_completions(pointers);
}

void SqliteJobStore::set_change_listener(std::function<void()> listener) {
  // The watch (a thread) starts at the next claim, not here: a scheduler starts no thread before
  // start(). The claim reads the file after the watch began, so no commit falls between.
  std::lock_guard lock(impl_->listen_mutex_);
  impl_->listener_ = std::move(listener);
  impl_->watch_wanted_.store(static_cast<bool>(impl_->listener_), std::memory_order_release);
}

void SqliteJobStore::Impl::watch_if_wanted() {
  if (!watch_wanted_.load(std::memory_order_acquire) || watch_started_.exchange(true)) return;
  start_watch();
}

bool SqliteJobStore::reports_changes() const noexcept { return impl_->reports_changes_.load(); }

std::string SqliteJobStore::name_() const { return impl_->path_; }

void SqliteJobStore::warn_(const std::string& message) const { impl_->warn(message); }

void SqliteJobStore::record_process_(const Execution& run, const std::string& process) {
  auto write = [&] {
    Use s{impl_->statement(
        "UPDATE sked_job_execution SET process = ?2 WHERE id = ?1 AND status = 'started'")};
    s->bind(1, run.id);
    s->bind(2, process);
    (void)s->exec();
  };
  impl_->locked("recording a run's process group", write);
}

std::vector<Job> SqliteJobStore::all_jobs_() const {
  std::vector<std::string> warnings;
  auto all = [&] {
    warnings.clear();
    std::vector<Job> jobs;
    Use s{
        impl_->statement("SELECT id, next_run_time, job_state FROM sked_job "
                         "ORDER BY next_run_time IS NULL, next_run_time, id")};
    while (s->executeStep()) {
      if (auto job = impl_->read_job(s->getColumn(0).getString(), optional_text(s->getColumn(1)),
                                     s->getColumn(2).getString(), warnings)) {
        jobs.push_back(std::move(*job));
      }
    }
    return jobs;
  };
  auto jobs = impl_->locked("listing jobs", all);
  impl_->warn_all(warnings);
  return jobs;
}

std::optional<TimePoint> SqliteJobStore::Impl::read_next_run_time(
    std::vector<std::string>& warnings) const {
  // One descent of the next_run_time index. Pending runs count too (the table is nearly always
  // empty). Two statements, neither sorting: one that merged them with UNION ALL ... ORDER BY built
  // three temporary b-trees per call, 25x the cost.
  auto read = [&](const char* sql) -> std::optional<TimePoint> {
    Use s{statement(sql)};
    // A time edited into garbage ('0garbage' sorts first) is passed over, and reported once, rather
    // than failing every wake-up; the claims and listings skip its row too.
    while (s->executeStep() && !s->getColumn(1).isNull()) {
      const std::string text = s->getColumn(1).getString();
      if (const auto t = parse_db_time(text)) return t;
      report_bad_time(s->getColumn(0).getString(), text, warnings);
    }
    return std::nullopt;
  };
  auto scheduled = read(
      "SELECT id, next_run_time FROM sked_job WHERE next_run_time IS NOT NULL "
      "ORDER BY next_run_time");
  const auto requested =
      read("SELECT job_id, requested_at FROM sked_run_request ORDER BY requested_at");
  if (requested && (!scheduled || *requested < *scheduled)) return requested;
  return scheduled;
}

std::optional<TimePoint> SqliteJobStore::Impl::known_next_run_time(
    std::vector<std::string>& warnings) const {
  if (idle_known_ && data_version() == idle_version_) return idle_next_;
  idle_known_ = false;
  // The version and the times from one snapshot: a commit between them must not be taken as seen.
  ReadTransaction snapshot{db_};
  const std::int64_t version = data_version();
  const auto t = read_next_run_time(warnings);
  idle_version_ = version;
  idle_next_ = t;
  idle_known_ = true;
  return t;
}

std::optional<TimePoint> SqliteJobStore::next_run_time_() const {
  if (impl_->stopped_by_corruption()) return std::nullopt;
  std::vector<std::string> warnings;
  auto next = [&] {
    warnings.clear();
    return impl_->known_next_run_time(warnings);
  };
  auto next_time = impl_->locked("reading the next run time", next);
  impl_->warn_all(warnings);
  return next_time;
}

bool SqliteJobStore::nothing_due_(TimePoint now) {
  // Reads only: another process's commit moves data_version, so a `sked pause` or `run-now` from
  // elsewhere is seen at the next pass; and a commit that made nothing due (a peer's heartbeat or
  // claim) costs a read, not a claim that would in turn wake every peer into claiming.
  // A store stopped by corruption claims nothing (the claim says so once); nothing is read here.
  if (impl_->stopped_by_corruption()) return false;
  impl_->watch_if_wanted();
  std::vector<std::string> warnings;
  auto check = [&] {
    warnings.clear();
    if (!impl_->registered_) return false;
    const auto next = impl_->known_next_run_time(warnings);
    return !next || *next > now;
  };
  const bool idle = impl_->locked("checking for due jobs", check);
  impl_->warn_all(warnings);
  return idle;
}

std::vector<RunRequest> SqliteJobStore::pending_runs_(
    std::optional<std::string_view> job_id) const {
  std::vector<std::string> warnings;
  auto read = [&] {
    warnings.clear();
    std::vector<RunRequest> out;
    Use s{impl_->statement(
        job_id ? "SELECT id, job_id, requested_at, attempt, job_state FROM sked_run_request "
                 "WHERE job_id = ?1 ORDER BY requested_at, id"
               : "SELECT id, job_id, requested_at, attempt, job_state FROM sked_run_request "
                 "ORDER BY requested_at, id")};
    if (job_id) s->bind(1, std::string{*job_id});
    while (s->executeStep()) {
      RunRequest r = impl_->read_request(*s, warnings);
      if (r.id > 0) out.push_back(std::move(r));
    }
    return out;
  };
  auto out = impl_->locked("reading pending runs", read);
  impl_->warn_all(warnings);
  return out;
}

std::vector<Execution> SqliteJobStore::query_executions_(const ExecutionQuery& query) const {
  // Only the texts asked for are read: a listing of a million records need not read their output.
  std::string sql = "SELECT id, job_id, status, run_time, duration, finished, ";
  if (!query.with_texts) {
    sql += "'', ''";
  } else if (query.traceback_tail) {
    sql +=
        "exception, CASE WHEN :tail = 0 THEN '' WHEN length(traceback) > :tail "
        "THEN substr(traceback, -:tail) ELSE traceback END";
  } else {
    sql += "exception, traceback";
  }
  sql += " FROM sked_job_execution WHERE 1";
  if (query.id) sql += " AND id = :id";
  if (query.job_id) sql += " AND job_id = :job_id";
  if (query.status) sql += " AND status = :status";
  if (query.since) sql += " AND run_time >= :since";
  if (query.until) sql += " AND run_time < :until";
  if (query.after_id) sql += " AND id > :after_id";
  sql += query.order == ExecutionOrder::oldest_id_first ? " ORDER BY id"
                                                        : " ORDER BY run_time DESC, id DESC";
  sql += " LIMIT :limit OFFSET :offset";
  const auto clamp = [](std::size_t n) {
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
  };
  auto read = [&] {
    SQLite::Statement s{impl_->db_, sql};
    if (query.with_texts && query.traceback_tail) s.bind(":tail", clamp(*query.traceback_tail));
    if (query.id) s.bind(":id", static_cast<std::int64_t>(*query.id));
    if (query.job_id) s.bind(":job_id", *query.job_id);
    if (query.status) s.bind(":status", status_text(*query.status));
    if (query.since) s.bind(":since", format_db_time(*query.since));
    if (query.until) s.bind(":until", format_db_time(*query.until));
    if (query.after_id) s.bind(":after_id", static_cast<std::int64_t>(*query.after_id));
    s.bind(":limit", clamp(query.limit));
    s.bind(":offset", clamp(query.offset));
    std::vector<Execution> out;
    while (s.executeStep()) out.push_back(Impl::read_execution(s));
    return out;
  };
  return impl_->locked("reading execution history", read);
}

std::size_t SqliteJobStore::delete_old_executions_(TimePoint cutoff) {
  const std::string cutoff_text = format_db_time(cutoff);
  std::size_t total = 0;
  for (;;) {
    // Each batch is its own transaction and takes the lock anew, so claims interleave with a long
    // purge.
    auto batch = [&] {
      Use s{impl_->statement(
          "DELETE FROM sked_job_execution WHERE id IN (SELECT id FROM sked_job_execution "
          "WHERE run_time < ?1 AND status != 'started' LIMIT ?2)")};
      s->bind(1, cutoff_text);
      s->bind(2, delete_batch_size);
      return s->exec();
    };
    const int n = impl_->locked("deleting old executions", batch);
    total += static_cast<std::size_t>(n);
    if (n < delete_batch_size) return total;
  }
}

}  // namespace sked
