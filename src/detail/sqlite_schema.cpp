#include "detail/sqlite_schema.hpp"

#include <sked/errors.hpp>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include <functional>
#include <vector>

namespace sked::detail {
namespace {

// Version 1: the two tables of the first design, after django-apscheduler's djangojob and
// djangojobexecution. Executions keep their history when their job is removed (a one-shot job is
// removed by the claim that runs it), so job_id is not a foreign key.
void create_v1(SQLite::Database& db) {
  db.exec(R"sql(
    CREATE TABLE sked_job (
      id            TEXT NOT NULL PRIMARY KEY,
      next_run_time TEXT,                        -- UTC, fixed width; NULL while paused
      job_state     TEXT NOT NULL                -- versioned JSON (task, args, trigger, ...)
    );
    CREATE INDEX sked_job_next_run_time ON sked_job (next_run_time);
    CREATE TABLE sked_job_execution (
      id        INTEGER PRIMARY KEY,
      job_id    TEXT NOT NULL,
      status    TEXT NOT NULL CHECK (status IN ('started', 'executed', 'error', 'missed', 'max_instances',
                                                'interrupted')),
      run_time  TEXT NOT NULL,                   -- the fire time, UTC, fixed width
      duration  REAL,                            -- seconds
      finished  TEXT,
      exception TEXT NOT NULL DEFAULT '',
      traceback TEXT NOT NULL DEFAULT '',
      UNIQUE (job_id, run_time)                  -- one fire time of one job is written once, by one claim
    );
    -- "latest executions of job X" uses the UNIQUE index; deletion by age uses this one.
    CREATE INDEX sked_job_execution_run_time ON sked_job_execution (run_time);
  )sql");
}

// Version 2: schedulers register with a heartbeat and a started run names the scheduler running it,
// so runs left by a dead process can be found and recorded interrupted. Runs left started by
// version 1 have no owner and are recorded interrupted by the first claim after the migration.
void migrate_v1_to_v2(SQLite::Database& db) {
  db.exec(R"sql(
    CREATE TABLE sked_scheduler (
      id        TEXT NOT NULL PRIMARY KEY,
      host      TEXT NOT NULL,
      pid       INTEGER NOT NULL,
      started   TEXT NOT NULL,
      heartbeat TEXT NOT NULL
    );
    ALTER TABLE sked_job_execution
      ADD COLUMN scheduler_id TEXT REFERENCES sked_scheduler (id) ON DELETE SET NULL;
    -- Counting the running instances of a job (max_instances) and finding a dead scheduler's runs.
    CREATE INDEX sked_job_execution_started ON sked_job_execution (job_id, scheduler_id)
      WHERE status = 'started';
  )sql");
}

// Version 3: run requests (`sked run-now`), a due run outside the schedule that any scheduler
// sharing the file claims, at most one per job. Removing the job drops its request.
void migrate_v2_to_v3(SQLite::Database& db) {
  db.exec(R"sql(
    CREATE TABLE sked_run_request (
      job_id       TEXT NOT NULL PRIMARY KEY REFERENCES sked_job (id) ON DELETE CASCADE,
      requested_at TEXT NOT NULL                 -- the run time the run gets, UTC, fixed width
    );
  )sql");
}

// Version 4: retries are stored with run requests, so that they survive a restart, run on whichever
// scheduler claims them and show in `sked show`. A job may have one run-now request (attempt 1) and
// any number of retries; a retry keeps the job as it failed (job_state), for a one-shot job that is
// gone by the time the retry is due, so a request no longer needs its job's row. Removing a job
// deletes its requests in the same transaction.
void migrate_v3_to_v4(SQLite::Database& db) {
  db.exec(R"sql(
    CREATE TABLE sked_run_request_v4 (
      id           INTEGER PRIMARY KEY,
      job_id       TEXT NOT NULL,
      requested_at TEXT NOT NULL,                -- when it is due: the run time its record gets, UTC
      attempt      INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
      job_state    TEXT                          -- retries: the job as it failed
    );
    INSERT INTO sked_run_request_v4 (job_id, requested_at) SELECT job_id, requested_at FROM sked_run_request;
    DROP TABLE sked_run_request;
    ALTER TABLE sked_run_request_v4 RENAME TO sked_run_request;
    CREATE INDEX sked_run_request_due ON sked_run_request (requested_at);
    CREATE UNIQUE INDEX sked_run_request_one_per_job ON sked_run_request (job_id) WHERE attempt = 1;
  )sql");
}

// Version 5: a started run records the process group it started (the `shell` task's command), so
// that a scheduler that finds the run's scheduler dead can stop a command that outlived it rather
// than start the next run beside it. `pgid=... start=... boot=... host=...`; NULL for a run that
// started none, and for every run recorded before.
void migrate_v4_to_v5(SQLite::Database& db) {
  db.exec("ALTER TABLE sked_job_execution ADD COLUMN process TEXT");
}

// migrations[v] turns version v into version v + 1; version 0 is the empty file.
const std::vector<std::function<void(SQLite::Database&)>>& migrations() {
  static const std::vector<std::function<void(SQLite::Database&)>> steps{
      create_v1, migrate_v1_to_v2, migrate_v2_to_v3, migrate_v3_to_v4, migrate_v4_to_v5};
  return steps;
}

struct FileInfo {
  int application_id = 0;
  int user_version = 0;
  long long objects = 0;  // tables, indexes, views, triggers
};

FileInfo read_info(SQLite::Database& db) {
  FileInfo info;
  info.application_id = db.execAndGet("PRAGMA application_id").getInt();
  info.user_version = db.execAndGet("PRAGMA user_version").getInt();
  info.objects = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt64();
  return info;
}

// Refuses, without writing anything, a file this sked must not touch; returns whether it needs
// work.
bool check(const FileInfo& info, const std::string& path, int target_version) {
  const bool empty = info.application_id == 0 && info.user_version == 0 && info.objects == 0;
  if (empty) return true;
  if (info.application_id != sqlite_application_id) {
    throw StoreError(path, SQLITE_MISMATCH,
                     fmt::format("is an SQLite database of another program, not a sked job store "
                                 "(application_id {:#x}, {} schema objects); it was left unchanged",
                                 static_cast<unsigned>(info.application_id), info.objects));
  }
  if (info.user_version > target_version) {
    throw StoreError(
        path, SQLITE_MISMATCH,
        fmt::format("was written by a newer sked (schema version {}; this sked reads versions "
                    "up to {}); it was left unchanged: upgrade sked to use it",
                    info.user_version, target_version));
  }
  if (info.user_version < 1) {
    throw StoreError(
        path, SQLITE_MISMATCH,
        fmt::format("is marked as a sked job store but has no schema version (user_version {}); "
                    "it was left unchanged",
                    info.user_version));
  }
  return info.user_version < target_version;
}

}  // namespace

void prepare_schema(SQLite::Database& db, const std::string& path, int target_version,
                    bool may_change) {
  FileInfo info;
  try {
    info = read_info(db);
  } catch (const SQLite::Exception& e) {
    if ((e.getErrorCode() & 0xff) == SQLITE_NOTADB) {
      throw StoreError(path, e.getErrorCode(),
                       "is not an SQLite database (the file's header is not SQLite's)");
    }
    throw;
  }
  if (!check(info, path, target_version)) return;
  if (!may_change) {
    const bool empty = info.application_id == 0 && info.user_version == 0 && info.objects == 0;
    throw StoreError(
        path, SQLITE_MISMATCH,
        empty ? std::string{"is empty, not a sked job store"}
              : fmt::format("has schema version {}, older than this sked's {}; it was left "
                            "unchanged: open it once with a scheduler of this sked (such as "
                            "`sked run`) to migrate it",
                            info.user_version, target_version));
  }

  // journal_mode cannot change inside a transaction; set it only once the file is known to be ours.
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("BEGIN IMMEDIATE");
  try {
    // Another process may have created or migrated the file since it was read.
    info = read_info(db);
    if (check(info, path, target_version)) {
      for (int v = info.user_version; v < target_version; ++v)
        migrations().at(static_cast<std::size_t>(v))(db);
      db.exec(fmt::format("PRAGMA application_id = {}", sqlite_application_id));
      db.exec(fmt::format("PRAGMA user_version = {}", target_version));
    }
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (...) {
      // The transaction is gone already; the original error says why.
    }
    throw;
  }
}

}  // namespace sked::detail
