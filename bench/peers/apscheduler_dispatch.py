#!/usr/bin/python3
"""Dispatch throughput of APScheduler 3: N one-shot jobs due at once, a trivial task, MemoryJobStore and a
ThreadPoolExecutor; executions per second from resume() until the last job executed. Same workload as
bench/dispatch_bench.cpp. Usage: apscheduler_dispatch.py WORKERS N"""
import sys
import threading
import time
from datetime import datetime, timezone

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler


def trivial():
    pass


def main():
    workers, n = int(sys.argv[1]), int(sys.argv[2])
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()},
                                    executors={"default": ThreadPoolExecutor(workers)},
                                    job_defaults={"misfire_grace_time": None, "coalesce": False,
                                                  "max_instances": 1},
                                    timezone=timezone.utc)
    done = threading.Event()
    count = [0]
    lock = threading.Lock()

    def listener(event):
        with lock:
            count[0] += 1
            if count[0] == n:
                done.set()

    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.start(paused=True)
    now = datetime.now(timezone.utc)
    for i in range(n):
        scheduler.add_job(trivial, "date", run_date=now, id=f"job{i}")
    start = time.perf_counter()
    scheduler.resume()
    done.wait()
    elapsed = time.perf_counter() - start
    scheduler.shutdown()
    print(f"{n / elapsed:.0f}")


if __name__ == "__main__":
    main()
