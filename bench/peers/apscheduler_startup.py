#!/usr/bin/python3
"""APScheduler 3 start-up on an SQLAlchemyJobStore holding N jobs: the peer of bench/startup_bench.cpp.

One job is due; the other N - 1 fall due over the following days. The file is filled once with SQL from
the first job's pickled state (adding N jobs through add_job would take hours), then each repetition
times a fresh BackgroundScheduler from construction to the first run of the due job. Prints JSON:
{"n": N, "ms": median milliseconds}.

    /usr/bin/python3 bench/peers/apscheduler_startup.py 1000000
"""
import json
import logging
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

ran = threading.Event()


def noop():
    ran.set()


def make_scheduler(path):
    return BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")},
                               executors={"default": ThreadPoolExecutor(4)}, timezone=timezone.utc)


def main():
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)  # the set-up scheduler's shutdown race
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repetitions = 5
    scratch = tempfile.mkdtemp(prefix="aps-startup-")
    path = os.path.join(scratch, "aps.sqlite3")
    try:
        scheduler = make_scheduler(path)
        scheduler.start(paused=True)
        # Due: the pickled state's next run time is the one APScheduler fires by, not the column's.
        scheduler.add_job(noop, "interval", days=1, id="job0", misfire_grace_time=3600,
                          next_run_time=datetime.now(timezone.utc) - timedelta(seconds=1))
        # Read before shutdown: APScheduler 3.9's loop may wake once more after its executors stopped and
        # move the job on.
        db = sqlite3.connect(path)
        due_column, due_state = db.execute(
            "SELECT next_run_time, job_state FROM apscheduler_jobs WHERE id = 'job0'").fetchone()
        scheduler.shutdown()
        future = time.time() + 2 * 86400
        db.execute("""
            WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
            INSERT INTO apscheduler_jobs (id, next_run_time, job_state)
            SELECT 'job' || i, ? + i, (SELECT job_state FROM apscheduler_jobs WHERE id = 'job0') FROM k""",
                   (n - 1, future))
        db.commit()
        timings = []
        for _ in range(repetitions):
            db.execute("UPDATE apscheduler_jobs SET next_run_time = ?, job_state = ? WHERE id = 'job0'",
                       (due_column, due_state))
            db.commit()
            ran.clear()
            begin = time.perf_counter()
            scheduler = make_scheduler(path)
            scheduler.start()
            if not ran.wait(timeout=600):
                raise SystemExit("job0 never ran")
            timings.append((time.perf_counter() - begin) * 1000)
            scheduler.shutdown()
        count = db.execute("SELECT count(*) FROM apscheduler_jobs").fetchone()[0]
        print(json.dumps({"n": count, "ms": statistics.median(timings)}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
