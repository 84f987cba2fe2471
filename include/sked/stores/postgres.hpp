#pragma once
// The PostgreSQL job store: one schedule shared by schedulers on several hosts (built when sked
// finds libpq; CMake option SKED_WITH_POSTGRES).

#include <sked/export.hpp>
#include <sked/job_store.hpp>
#include <sked/stores/registered_scheduler.hpp>
#include <sked/time.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sked {

/// How `PostgresJobStore` uses its database. Every field has a working default.
struct SKED_API PostgresJobStoreOptions {
  /// The PostgreSQL schema holding sked's tables (created when missing). Several independent
  /// schedules can share one database under different schemas.
  std::string schema = "sked";
  /// False: use an existing schema of the current version as it is; a missing or older one is
  /// refused with `StoreError` instead of created or migrated (what a tool wants).
  bool create_schema = true;
  /// True: every transaction is read-only; a change throws `StoreError`.
  bool read_only = false;
  /// Keep a second connection that `LISTEN`s for changes other processes make, and call the
  /// change listener (`set_change_listener`) on each. Off: no second connection; the scheduler
  /// notices changes when it next polls. Turn it off behind a pooler in transaction mode, which
  /// does not support `LISTEN`.
  bool listen = true;
  /// This scheduler's id in `sked_scheduler`; must be unique among the live schedulers sharing the
  /// schema. Empty: `host:pid:random`.
  std::string scheduler_id{};
  /// How often a store that claims jobs writes its heartbeat.
  Duration heartbeat_interval = std::chrono::seconds{5};
  /// A scheduler whose heartbeat is older than this, by the database server's clock, is dead: its
  /// `started` runs are recorded `interrupted`. Must exceed the heartbeat interval plus the longest
  /// pause a scheduler may take (the hosts' clocks do not matter).
  Duration stale_after = std::chrono::seconds{30};
  /// How long a call keeps reconnecting after the connection dropped (a server restart, a
  /// failover) before it fails with `StoreError`.
  Duration reconnect_timeout = std::chrono::seconds{30};
  /// Paces the heartbeat and the search for dead schedulers. Empty: the real clock. Liveness itself
  /// is decided by the server's clock.
  std::shared_ptr<Clock> clock{};
  /// Receives problems that are reported rather than thrown: a job_state that cannot be read (with
  /// the job id), interrupted runs found, a lost connection. Empty: stderr, `sked: WARNING: ...`.
  std::function<void(std::string_view message)> on_warning{};
};

/// Keeps jobs, pending runs and execution history in PostgreSQL (tables `sked_job`,
/// `sked_job_execution`, `sked_scheduler`, `sked_run_request`, `sked_schema_version` in their own
/// schema; docs/postgres.md has the schema and how to query it), so that schedulers on several
/// hosts share one schedule.
///
/// A claim is one transaction that locks the due jobs it takes with `FOR UPDATE SKIP LOCKED`, so
/// concurrent schedulers take different jobs without waiting for each other, and every (job, run
/// time) pair is written at most once (`UNIQUE(job_id, run_time)`). A store that claims registers
/// itself with a heartbeat; the runs of a scheduler whose heartbeat is stale by the server's clock
/// are recorded `interrupted`. A committed change (add, modify, remove, pause, run-now) sends
/// `NOTIFY sked_changes` so that other schedulers wake at once instead of at their next poll.
///
/// How a run ended is written by a thread of the store's own on a second connection, batched with
/// the completions that arrive meanwhile: completing a lease does not wait for the database. This
/// store's reads wait for its queued completions first, and its claims count their runs as ended;
/// other processes see them once written. While the server is unreachable they are kept in memory
/// (up to 100,000) and written when it is back.
///
/// Times are `timestamptz`, exact to the microsecond; job states are `jsonb`. A transaction that
/// loses a deadlock or a serialization conflict runs again; a dropped connection is reopened
/// (within `reconnect_timeout`) and the transaction runs again, unless the server committed it.
///
/// The constructor connects, creates the schema or migrates an older one (under an advisory lock,
/// so processes starting together do not race), and throws `StoreError` naming the connection
/// (never its password) when it cannot connect or when the schema was written by a newer sked (left
/// unchanged). Database failures throw `StoreError` with the connection, the SQLSTATE and what was
/// being done. Jobs bound to a plain callable cannot be stored (`SerializationError`). This class
/// is thread-safe.
///
/// **Example**:
///   scheduler.add_jobstore(std::make_shared<sked::PostgresJobStore>("postgresql://sked@db/app"));
class SKED_API PostgresJobStore final : public JobStore {
 public:
  /// The version of the schema this sked writes (table `sked_schema_version`).
  static constexpr int schema_version = 2;

  /// `conninfo`: a libpq connection string (`host=db dbname=app`) or URL (`postgresql://...`);
  /// libpq's environment variables (`PGHOST`, `PGPASSWORD`, ...) fill in what it leaves out.
  explicit PostgresJobStore(std::string conninfo, PostgresJobStoreOptions options = {});
  /// Records this store's unfinished runs as interrupted and unregisters it. Never throws.
  ~PostgresJobStore() override;
  PostgresJobStore(const PostgresJobStore&) = delete;
  PostgresJobStore& operator=(const PostgresJobStore&) = delete;

  /// How errors name this store: the connection without its password, and the schema.
  [[nodiscard]] const std::string& description() const noexcept;
  /// This store's id in `sked_scheduler` (registered on its first claim).
  [[nodiscard]] const std::string& scheduler_id() const noexcept;
  /// The schedulers sharing the schema that are alive (heartbeat within `stale_after` by the
  /// server's clock; on this host, their process running), this store's own once it has claimed.
  [[nodiscard]] std::vector<RegisteredScheduler> live_schedulers() const;
  /// Every scheduler registered in the schema, alive or dead (`RegisteredScheduler::alive`), by id.
  /// Changes nothing (a dashboard lists them).
  [[nodiscard]] std::vector<RegisteredScheduler> registered_schedulers() const;

  /// Calls `listener` (from the store's listening thread, so it must be quick and must not throw)
  /// whenever a connection commits a change to this schema (this store's own changes included), and
  /// once after the listening connection was lost and reopened (changes may have been missed).
  /// `Scheduler::add_jobstore` sets it to the scheduler's `wakeup()`, so changes made elsewhere are
  /// claimed at once instead of at the next poll. Once this returns, the
  /// listening connection is established (or being reopened, which was reported through
  /// `on_warning`), and the listener it replaced is not running and will not run again: an empty
  /// function stops the calls, so an owner going away passes one first. Do not call it from the
  /// listener, or while holding a lock the listener takes. With `listen` off, the listener is kept
  /// but never called.
  void set_change_listener(std::function<void()> listener) override;

 protected:
  void transact_(Purpose purpose, const std::function<void(Transaction&)>& body) override;
  void complete_(const Execution& record, const std::optional<RunRequest>& retry) override;
  [[nodiscard]] std::vector<Job> all_jobs_() const override;
  [[nodiscard]] std::optional<TimePoint> next_run_time_() const override;
  [[nodiscard]] std::vector<RunRequest> pending_runs_(
      std::optional<std::string_view> job_id) const override;
  [[nodiscard]] std::vector<Execution> query_executions_(
      const ExecutionQuery& query) const override;
  /// Deletes in batches, each its own transaction, so claims go on meanwhile. Never deletes
  /// `started` runs.
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
