#!/usr/bin/python3
"""Memory per job of APScheduler 3: RSS growth while a scheduler's MemoryJobStore holds N interval jobs
(each with its own trigger), divided by N. Same workload as bench/memory_bench.cpp.
Usage: apscheduler_memory.py N; prints JSON {n, bytes_per_job}."""
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler


def noop():
    pass


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    n = int(sys.argv[1])
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()}, timezone=timezone.utc)
    scheduler.start(paused=True)  # paused: jobs go to the store at once, nothing runs
    before = rss_bytes()
    for i in range(n):
        scheduler.add_job(noop, "interval", seconds=3600 + i / 1e6, id=f"job{i}")
    after = rss_bytes()
    scheduler.shutdown(wait=False)
    print(json.dumps({"n": n, "bytes_per_job": (after - before) / n}))


if __name__ == "__main__":
    main()
