#!/usr/bin/python3
"""APScheduler 3's MemoryJobStore at 10^3..10^5 interval jobs: ns per add, remove, reschedule
(update_job with a new next run time), claim of a due job (get_due_jobs, then update_job advancing it, as
BaseScheduler._process_jobs does) and get_next_run_time. Same workload as bench/store_bench.cpp: batches of
1,000 operations, the restoring setup untimed. Prints one JSON line per operation and size."""
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from apscheduler.job import Job
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

BATCH, ROUNDS = 1000, 5
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
scheduler = BackgroundScheduler(timezone=timezone.utc)
trigger = IntervalTrigger(hours=1, start_date=T0, timezone=timezone.utc)
rng = random.Random(42)


def noop():
    pass


def make_job(job_id, next_run):
    return Job(scheduler, id=job_id, func=noop, trigger=trigger, executor="default", args=(), kwargs={},
               name=job_id, misfire_grace_time=1, coalesce=True, max_instances=1, next_run_time=next_run)


def random_time():
    return T0 + timedelta(hours=1, microseconds=rng.randrange(3_600_000_000))


def measure(rounds, timed, untimed):
    total = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        timed()
        total += time.perf_counter() - start
        untimed()
    return total / (rounds * BATCH) * 1e9


def main():
    sizes = [int(s) for s in sys.argv[1:]] or [1000, 10000, 100000]
    for n in sizes:
        store = MemoryJobStore()
        for i in range(n):
            store.add_job(make_job(f"job{i}", random_time()))
        new = [make_job(f"new{i}", random_time()) for i in range(BATCH)]

        def add_all():
            for j in new:
                store.add_job(j)

        def remove_all():
            for j in new:
                store.remove_job(j.id)

        results = {"add": measure(ROUNDS, add_all, remove_all)}
        add_all()
        results["remove"] = measure(ROUNDS, remove_all, add_all)
        remove_all()

        picks = [store.lookup_job(f"job{rng.randrange(n)}") for _ in range(BATCH)]

        def reschedule():
            for j in picks:
                j.next_run_time = random_time()
                store.update_job(j)

        results["reschedule"] = measure(ROUNDS, reschedule, lambda: None)

        due = [make_job(f"due{i}", T0 - timedelta(seconds=1)) for i in range(BATCH)]
        for j in due:
            store.add_job(j)

        def claim():
            for j in store.get_due_jobs(T0):
                j.next_run_time = trigger.get_next_fire_time(j.next_run_time, T0)
                store.update_job(j)

        def make_due():
            for j in due:
                j.next_run_time = T0 - timedelta(seconds=1)
                store.update_job(j)

        results["claim_due"] = measure(ROUNDS, claim, make_due)

        def peek():
            for _ in range(BATCH):
                store.get_next_run_time()

        results["next_run_time"] = measure(ROUNDS, peek, lambda: None)
        for op, ns in results.items():
            print(json.dumps({"op": op, "n": n, "ns": ns}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
