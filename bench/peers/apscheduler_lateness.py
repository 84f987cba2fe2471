#!/usr/bin/python3
"""Firing lateness of APScheduler 3 with the real clock: 1,000 date jobs due at instants spread over 3 s,
then a burst of 200 due at one instant, while 50 interval jobs (every 50 ms) keep it busy. Lateness is the
task's start minus its scheduled time. Same workload as bench/lateness_bench.cpp.
Usage: apscheduler_lateness.py WORKERS; prints JSON {staggered_p50_us, ..., burst_max_us}."""
import json
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

TIMED, BURST, BACKGROUND = 1000, 200, 50
LEAD, SPREAD, BURST_GAP = timedelta(milliseconds=500), timedelta(milliseconds=3), timedelta(milliseconds=300)

lock = threading.Lock()
staggered, burst = [], []
background_runs = [0]


def timed(scheduled_ts, out):
    late = time.time() - scheduled_ts
    with lock:
        out.append(late * 1e6)


def background():
    background_runs[0] += 1


def percentile(values, p):
    values = sorted(values)
    return values[min(int(p * (len(values) - 1) + 0.5), len(values) - 1)] if values else -1


def main():
    workers = int(sys.argv[1])
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()},
                                    executors={"default": ThreadPoolExecutor(workers)},
                                    job_defaults={"misfire_grace_time": 3600, "coalesce": False,
                                                  "max_instances": 1},
                                    timezone=timezone.utc)
    scheduler.start()
    t0 = datetime.now(timezone.utc) + LEAD
    for i in range(BACKGROUND):
        scheduler.add_job(background, "interval", seconds=0.05, start_date=t0 + timedelta(milliseconds=i),
                          id=f"background{i}")
    for i in range(TIMED):
        at = t0 + SPREAD * i
        scheduler.add_job(timed, "date", run_date=at, args=(at.timestamp(), staggered), id=f"timed{i}")
    burst_at = t0 + SPREAD * TIMED + BURST_GAP
    for i in range(BURST):
        scheduler.add_job(timed, "date", run_date=burst_at, args=(burst_at.timestamp(), burst), id=f"burst{i}")
    time.sleep(max(0.0, (burst_at - datetime.now(timezone.utc)).total_seconds()) + 0.3)
    scheduler.shutdown(wait=True)
    out = {"background_runs": background_runs[0]}
    for name, values, n in (("staggered", staggered, TIMED), ("burst", burst, BURST)):
        if len(values) != n:
            print(f"{name}: only {len(values)} of {n} jobs ran", file=sys.stderr)
        out[f"{name}_p50_us"] = percentile(values, 0.5)
        out[f"{name}_p99_us"] = percentile(values, 0.99)
        out[f"{name}_max_us"] = percentile(values, 1.0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
