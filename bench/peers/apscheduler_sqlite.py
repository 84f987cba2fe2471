#!/usr/bin/python3
"""APScheduler 3 with SQLAlchemyJobStore on an SQLite file: the peer of bench/sqlite_bench.cpp.

Measures add_job per second, and claimed-and-recorded executions per second: APScheduler's loop takes the
due jobs and writes each one's next run time back to the store (one commit per job), a 4-thread pool runs a
no-op, and a listener records each execution in a table of the same file (one commit per run), as
django-apscheduler records them. APScheduler itself keeps no history, so without the listener nothing would
be recorded.

--tuned sets the file to WAL with synchronous=NORMAL (what sked uses) on every connection, and gives the job
store a pool of connections (SQLAlchemy 1.4 opens a new one per use for a file database): its best
configuration here.

    apt-get install -y python3-apscheduler python3-sqlalchemy
    /usr/bin/python3 bench/peers/apscheduler_sqlite.py [--jobs 1000] [--tuned]
"""
import argparse
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import apscheduler
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, event
from sqlalchemy.pool import QueuePool


def noop(n):
    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--tuned", action="store_true",
                        help="WAL, synchronous=NORMAL and pooled connections (default: APScheduler's defaults)")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="aps-bench-")
    path = os.path.join(scratch, "aps.sqlite3")
    try:
        # A long timeout: the history writer and SQLAlchemy's connection take turns on the rollback journal,
        # and on a busy disk the default 5 s is not always enough.
        history = sqlite3.connect(path, check_same_thread=False, timeout=60)
        if args.tuned:
            history.execute("PRAGMA journal_mode=WAL")
            history.execute("PRAGMA synchronous=NORMAL")
        history.execute("CREATE TABLE execution (id INTEGER PRIMARY KEY, job_id TEXT, status TEXT, "
                        "run_time TEXT, finished TEXT, UNIQUE (job_id, run_time))")
        history.commit()
        history_lock = threading.Lock()
        recorded = 0
        all_recorded = threading.Event()

        def record(event):
            nonlocal recorded
            with history_lock:
                history.execute("INSERT INTO execution (job_id, status, run_time, finished) VALUES (?, ?, ?, ?)",
                                (event.job_id, "executed" if event.exception is None else "error",
                                 event.scheduled_run_time.isoformat(), datetime.now(timezone.utc).isoformat()))
                history.commit()
                recorded += 1
                if recorded == args.jobs:
                    all_recorded.set()

        if args.tuned:
            engine = create_engine(f"sqlite:///{path}", poolclass=QueuePool, pool_size=5,
                                   connect_args={"check_same_thread": False, "timeout": 60})

            @event.listens_for(engine, "connect")
            def tune(connection, _):
                connection.execute("PRAGMA synchronous=NORMAL")

            store = SQLAlchemyJobStore(engine=engine)
        else:
            store = SQLAlchemyJobStore(url=f"sqlite:///{path}")
        scheduler = BackgroundScheduler(jobstores={"default": store},
                                        executors={"default": ThreadPoolExecutor(4)}, timezone=timezone.utc)
        scheduler.add_listener(record, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        # Paused: jobs go straight to the store and nothing runs while they are added.
        scheduler.start(paused=True)

        due = datetime.now(timezone.utc) - timedelta(seconds=1)
        begin = time.perf_counter()
        for i in range(args.jobs):
            scheduler.add_job(noop, "interval", hours=1, args=[i], id=f"job{i}", next_run_time=due,
                              misfire_grace_time=None, coalesce=True, max_instances=1)
        add_seconds = time.perf_counter() - begin

        begin = time.perf_counter()
        scheduler.resume()
        if not all_recorded.wait(timeout=600):
            raise SystemExit(f"only {recorded} of {args.jobs} runs were recorded")
        run_seconds = time.perf_counter() - begin
        scheduler.shutdown()

        journal = history.execute("PRAGMA journal_mode").fetchone()[0]
        sync = history.execute("PRAGMA synchronous").fetchone()[0]
        pool = "pooled connections" if args.tuned else "a connection per use"
        print(f"APScheduler {apscheduler.__version__}, SQLAlchemyJobStore, SQLite {sqlite3.sqlite_version} "
              f"(journal_mode={journal}, synchronous={sync}, {pool}), {args.jobs} jobs")
        print(f"add_job:                       {args.jobs / add_seconds:10.0f} jobs/s")
        print(f"claimed-and-recorded runs:     {args.jobs / run_seconds:10.0f} executions/s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
