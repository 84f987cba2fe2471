#pragma once
// The SQLite job store: jobs and their execution history in one file that survives restarts and can
// be shared by several scheduler processes.

#include <sked/export.hpp>
#include <sked/job_store.hpp>
#include <sked/stores/registered_scheduler.hpp>
#include <sked/time.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sked {

/// What `SqliteJobStore`'s constructor may do to its file.
enum class SqliteOpenMode {
  /// Create a missing or empty file and migrate an older sked schema forward: what a scheduler
  /// wants.
  create,
  /// Use an existing store of the current schema as it is: a missing or empty file, or an older
  /// schema, is refused with `StoreError` instead of being created or migrated (a tool must not
  /// migrate a store that an application built with an older sked still uses).
  existing,
  /// Like `existing`, and the connection never writes: every change throws `StoreError`. A file in
  /// a
  /// directory this process may not write to is read even when no process has it open.
  read_only,
};

/// How `SqliteJobStore` opens and uses its file. Every field has a working default.
struct SKED_API SqliteJobStoreOptions {
  SqliteOpenMode open_mode = SqliteOpenMode::create;
  /// How long one SQLite call waits for another connection's write lock before giving up.
  std::chrono::milliseconds busy_timeout{5000};
  /// How often a call that still found the database locked is retried (with growing, jittered
  /// pauses) before it fails with `StoreError`. Locking never shows up as a job failure: a failed
  /// claim is retried by the scheduler at its next pass.
  int max_lock_retries = 20;
  /// `PRAGMA synchronous`: "NORMAL" (the WAL default) makes each commit survive a crash or SIGKILL
  /// of the process; "FULL" also survives power loss, at one fsync per commit.
  std::string synchronous = "NORMAL";
  /// This scheduler's id in `sked_scheduler`; must be unique among the live processes sharing the
  /// file. Empty: `host:pid:random`.
  std::string scheduler_id{};
  /// How often a store that claims jobs writes its heartbeat (an idle scheduler's only write; 30 s
  /// before). Peers on this kernel know a running process alive without it (through
  /// /proc, or the lock it holds on `<file>-live`): the heartbeat tells only of a stopped process
  /// (SIGSTOP) and of a peer that holds no lock.
  Duration heartbeat_interval = std::chrono::seconds{60};
  /// A scheduler whose heartbeat is older than this, and whose process is not seen running, is
  /// dead: its `started` runs are recorded `interrupted`. Must exceed the heartbeat interval plus
  /// the clock skew between hosts. A scheduler on this host whose process no longer exists is known
  /// dead at the next claim's look (every 30 s at most); this bounds how late a stopped process
  /// (SIGSTOP), or one in another PID namespace that holds no lock, is found dead.
  Duration stale_after = std::chrono::seconds{90};
  /// Timestamps heartbeats and interruptions. Empty: the real clock. Tests pass a ManualClock.
  std::shared_ptr<Clock> clock{};
  /// Receives problems that are reported rather than thrown: a job_state that cannot be read (with
  /// the job id), interrupted runs found. Empty: written to stderr as `sked: WARNING: ...`.
  std::function<void(std::string_view message)> on_warning{};
};

/// Keeps jobs and execution history in an SQLite database file (tables `sked_job`,
/// `sked_job_execution`, `sked_scheduler`, `sked_run_request` with run-now requests and retries;
/// see docs/sqlite.md for the schema and how to query it).
///
/// Times are stored as fixed-width UTC text, `2026-01-01T09:30:00.000000Z`: exact to the
/// microsecond, readable in the sqlite3 shell, and sorting as text sorts them in time.
///
/// Several processes may share one file: claims are single `BEGIN IMMEDIATE` transactions and every
/// (job, run time) pair is written at most once (`UNIQUE(job_id, run_time)`), so no fire time runs
/// twice. A store that claims jobs registers itself with a heartbeat; runs left `started` by a
/// scheduler that died are recorded `interrupted` by whichever store notices first, and
/// `max_instances` counts the `started` runs of every process. Jobs bound to a plain callable
/// cannot be stored here
/// (`SerializationError`). A row whose job_state cannot be read is reported once through
/// `on_warning`, skipped and never changed or deleted; `lookup_job` throws `SerializationError`
/// naming it.
///
/// The constructor creates the file when it does not exist (mode 0600 whatever the umask: jobs and
/// history may hold secrets; SQLite gives the -wal and -shm files the same mode) and migrates an
/// older sked schema forward (unless `open_mode` says otherwise). It throws `StoreError` naming the
/// path for a file that is not an SQLite database, an SQLite database that is not a sked store, or
/// a store written by a newer sked (left unchanged). Database failures throw `StoreError` with the
/// path and SQLite result code. This class is thread-safe.
///
/// **Example**:
///   scheduler.add_jobstore(std::make_shared<sked::SqliteJobStore>("sked.sqlite3"));
class SKED_API SqliteJobStore final : public JobStore {
 public:
  /// The schema version this sked writes (`PRAGMA user_version`).
  static constexpr int schema_version = 5;

  explicit SqliteJobStore(std::string path, SqliteJobStoreOptions options = {});
  /// Records this store's unfinished runs as interrupted and unregisters it. Never throws.
  ~SqliteJobStore() override;
  SqliteJobStore(const SqliteJobStore&) = delete;
  SqliteJobStore& operator=(const SqliteJobStore&) = delete;

  [[nodiscard]] const std::string& path() const noexcept;
  /// This store's id in `sked_scheduler` (registered on its first claim).
  [[nodiscard]] const std::string& scheduler_id() const noexcept;
  /// The schedulers sharing the file that are alive (heartbeat within `stale_after`; on this host,
  /// their process running), this store's own included once it has claimed. Changes nothing, so it
  /// works on a read-only store: an operator's tool tells "no scheduler runs" from "none can run
  /// it".
  [[nodiscard]] std::vector<RegisteredScheduler> live_schedulers() const;
  /// Every scheduler registered in the file, alive or dead (`RegisteredScheduler::alive`), by id.
  /// Changes nothing (a dashboard lists them).
  [[nodiscard]] std::vector<RegisteredScheduler> registered_schedulers() const;

  /// Watches the file and its `-wal` with inotify (a thread, from the first claim after a listener
  /// is set) and calls the listener when another connection (a process, or another store object on
  /// the file) commits: each write heard is confirmed by `PRAGMA data_version`, a read, so this
  /// store's own commits (its heartbeat) call nobody. Writes nothing.
  void set_change_listener(std::function<void()> listener) override;
  /// True once the watch runs (false when inotify cannot watch the file's directory: a scheduler
  /// then polls the file every `max_wait`); always true for an in-memory database, which no other
  /// connection sees.
  [[nodiscard]] bool reports_changes() const noexcept override;

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override;
  /// Completions that finish together share one commit.
  void complete_(const Execution& record, const std::optional<RunRequest>& retry) override;
  [[nodiscard]] bool batches_completions_() const noexcept override { return true; }
  void complete_many_(const std::vector<Completion>& batch) override;
  [[nodiscard]] std::vector<Job> all_jobs_() const override;
  /// Answered from the next run time last read while `PRAGMA data_version` says no other
  /// connection has committed since (and this one wrote no change).
  [[nodiscard]] std::optional<TimePoint> next_run_time_() const override;
  /// Reads `PRAGMA data_version` only: an idle scheduler's passes write nothing to the file.
  [[nodiscard]] bool nothing_due_(TimePoint now) override;
  [[nodiscard]] std::vector<RunRequest> pending_runs_(
      std::optional<std::string_view> job_id) const override;
  [[nodiscard]] std::vector<Execution> query_executions_(
      const ExecutionQuery& query) const override;
  /// Deletes in batches of a few thousand rows, each its own transaction, so schedulers sharing the
  /// file keep claiming meanwhile. Never deletes `started` runs.
  std::size_t delete_old_executions_(TimePoint cutoff) override;
  [[nodiscard]] std::string name_() const override;
  void warn_(const std::string& message) const override;
  /// Kept in the record's `process` column until the run ends.
  void record_process_(const Execution& run, const std::string& process) override;

 private:
  class Impl;
  class Tx;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sked
