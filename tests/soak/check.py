#!/usr/bin/env python3
"""Checks what a soak run (scripts/soak.sh) left behind and prints its one-line summary.

usage: check.py SECONDS DIR
DIR holds soak.sqlite3 (or $SOAK_DB names it) and the logs: mutator.log (what the mutator did and when), sched-a.log (the
scheduler that is never killed) and sched-b.log (the one that is SIGKILLed and restarted), kills.log
(`TIME_US kill PID`) and rss.log (`ELAPSED_S VMRSS_KB` of scheduler A). Times are microseconds since
the Unix epoch; see tests/soak/soak.cpp for the log lines.

Violations (any makes the exit status 1, and each is described on stderr):
- duplicate: one (job, fire time) executed twice by the tasks, across every process;
- lost: a fire time of an active job, inside the checked window, that has no execution record, or whose
  record says executed although no task logged it;
- unexpected: an execution record or a task run for a fire time the job did not have (off its interval
  grid, or while paused or removed), or a task run with no execution record;
- interrupted records outside a kill window, or whose message names a process that was not killed
  (only scheduler B is ever killed); scheduler A taken for dead by another (sched-a.err says so);
- missed records outside a kill window (misfire_grace_time is 30 s and scheduler A is always up, so
  even there a missed run is unlikely); max_instances records whose job's previous fire time was neither
  interrupted nor still running (finished less than MAX_INSTANCES_SLACK before, the time its completion
  may take to commit); error records; runs still `started` that are not in the last seconds;
- vanished: a job the mutator did not remove is not in sked_job (or one it removed is back, or a
  paused job is scheduled or the other way round);
- rss: scheduler A grew by more than 50% + 10 MiB between the first sample after warm-up and the last;
- fewer than 2 kills, a store call of the mutator that failed, or one it had to try again outside a
  fault window.

Fault windows (faults.log: `TIME_US lock` / `unlock`, `TIME_US full` / `space`) are
[start - FAULT_WINDOW_BEFORE, end + FAULT_WINDOW_AFTER]. In them missed and max_instances records and
retried mutator calls are expected; everything else is checked as anywhere: a held lock or a full disk
must not lose a run's record, run a fire time twice, or make a live scheduler look dead (interrupted).

Margins: fire times within MARGIN of an add, pause, resume or remove of their job are not checked
(the event's time is taken after the store call returned; an add's or a resume's when its successful try began), nor those before scheduler A started plus
MARGIN or after it was asked to stop minus MARGIN. Scheduler A runs for the whole soak, so every fire
time in the window had a scheduler up. A kill window is [kill - KILL_WINDOW_BEFORE, kill + KILL_WINDOW].
"""

import calendar
import collections
import os
import re
import sqlite3
import subprocess
import sys
import time


class PostgresRows:
    """The store of `scripts/soak.sh --postgres`, read through psql ($SOAK_PSQL and $SOAK_PG_HOST), with
    times as the SQLite store writes them, so the checks below read both stores alike."""

    TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

    def execute(self, sql):
        sql = (sql.replace("run_time,", self.TIME.format("run_time") + ",")
                  .replace("finished FROM", self.TIME.format("finished") + " FROM")
                  .replace("next_run_time FROM", self.TIME.format("next_run_time") + " FROM")
                  .replace(" FROM sked_", " FROM sked.sked_"))
        out = subprocess.run([os.environ["SOAK_PSQL"], "-X", "-q", "-A", "-t", "-F", "\t", "-h",
                              os.environ["SOAK_PG_HOST"], "-U", "postgres", "-d", "postgres", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(f if f != "" else None for f in line.split("\t")) for line in out.splitlines()]


def open_db(directory):
    if os.environ.get("SOAK_PG_HOST"):
        return PostgresRows()
    path = os.environ.get("SOAK_DB") or os.path.join(directory, "soak.sqlite3")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

MARGIN = 2_000_000
KILL_WINDOW = 15_000_000
KILL_WINDOW_BEFORE = 5_000_000  # runs claimed by the killed scheduler are at most this late
FAULT_WINDOW_BEFORE = 1_000_000
FAULT_WINDOW_AFTER = 15_000_000  # what queued up during the fault drains in this time
MAX_INSTANCES_SLACK = 1_000_000
US = 1_000_000


def pids_named(message):
    """The process ids an interrupted run's message names: `pid 123`, or a scheduler id `host:123:...`."""
    return {p for pair in re.findall(r"pid (\d+)|'[^':]*:(\d+):", message or "") for p in pair if p}


def parse_db_time(text):
    # 2026-01-01T09:30:00.000000Z
    whole = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return whole * US + int(text[20:26])


class Job:
    def __init__(self, interval_s, start_us, added_at):
        self.interval = interval_s * US
        self.start = start_us
        self.events = [(added_at, "add")]
        self.active = []  # [from, to) while scheduled; to is None while still scheduled

    def build(self):
        began = None
        for at, op in self.events:
            if op in ("add", "resume"):
                began = at
            elif began is not None:  # pause, remove
                self.active.append((began, at))
                began = None
        if began is not None:
            self.active.append((began, None))

    def on_grid(self, t):
        return t >= self.start and (t - self.start) % self.interval == 0

    def near_event(self, t):
        return any(abs(t - at) < MARGIN for at, _ in self.events)

    def scheduled_at(self, t):
        return any(a <= t and (b is None or t < b) for a, b in self.active)

    def grid(self, until):
        t = self.start
        while t <= until:
            yield t
            t += self.interval


def main():
    seconds, directory = int(sys.argv[1]), sys.argv[2]
    problems = collections.Counter()
    examples = collections.defaultdict(list)

    def report(kind, text, weight=1):
        problems[kind] += weight
        if len(examples[kind]) < 5:
            examples[kind].append(text)

    def lines(name):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f if line.strip()]

    # What the mutator did.
    jobs, removed, paused = {}, set(), set()
    # The fault phases.
    faults, began = [], None  # (start, end or None), as logged
    for fields in lines("faults.log"):
        if fields[1] in ("lock", "full"):
            began = int(fields[0])
        elif began is not None:
            faults.append((began, int(fields[0])))
            began = None
    if began is not None:
        faults.append((began, None))

    def in_fault_window(t):
        return any(a - FAULT_WINDOW_BEFORE <= t and (b is None or t <= b + FAULT_WINDOW_AFTER)
                   for a, b in faults)

    def stopped_in_fault(job, t):
        """Whether `job` was paused or removed after fire time `t`, which fell in a fault, before the
        store could be written again: no scheduler could claim `t`, and a pause drops what is overdue."""
        return any(a - FAULT_WINDOW_BEFORE <= t and (b is None or t <= b) and
                   any(t < at and (b is None or at <= b + MARGIN) and op in ("pause", "remove")
                       for at, op in job.events)
                   for a, b in faults)

    retries = 0
    for fields in lines("mutator.log"):
        at, op = int(fields[0]), fields[1]
        if op == "retry":
            retries += 1
            if not in_fault_window(at):
                report("mutator retries outside a fault window", " ".join(fields))
            continue
        if op == "add":
            jobs[fields[2]] = Job(int(fields[3]), int(fields[4]), at)
        elif op in ("pause", "resume", "remove"):
            job_id = fields[2]
            jobs[job_id].events.append((at, op))
            if op == "pause":
                paused.add(job_id)
            elif op == "resume":
                paused.discard(job_id)
            else:
                removed.add(job_id)
                paused.discard(job_id)
        elif op == "failed":
            report("mutator failures", " ".join(fields))
    for job in jobs.values():
        job.build()

    # The schedulers: A's lifetime is the checked window; the tasks' runs from every process.
    a_start = a_stop = None
    a_pids = set()
    runs = collections.defaultdict(list)  # (job, run time) -> [pid]
    for name in ("sched-a.log", "sched-b.log"):
        for fields in lines(name):
            if fields[0] == "run":
                runs[(fields[1], int(fields[2]))].append(int(fields[3]))
            elif name == "sched-a.log" and fields[1] == "start":
                a_start = a_start or int(fields[0])
                a_pids.add(int(fields[2]))
            elif name == "sched-a.log" and fields[1] == "stop":
                a_stop = int(fields[0])
    if a_start is None or a_stop is None:
        print("soak: scheduler A did not start and stop cleanly: FAILED")
        return 1
    window = (a_start + MARGIN, a_stop - MARGIN)
    kills = [int(f[0]) for f in lines("kills.log") if f[1] == "kill"]
    killed_pids = {f[2] for f in lines("kills.log") if f[1] == "kill"}
    err_path = os.path.join(directory, "sched-a.err")
    if os.path.exists(err_path):
        with open(err_path) as f:
            for line in f:
                if "taken for dead" in line:
                    report("scheduler A taken for dead", line.strip())
    if len(kills) < 2:
        report("too few kills", f"{len(kills)} kills")

    def in_kill_window(t):
        return any(k - KILL_WINDOW_BEFORE <= t <= k + KILL_WINDOW for k in kills)

    # The execution records.
    db = open_db(directory)
    records, finished = {}, {}
    statuses = collections.Counter()
    rows = list(db.execute("SELECT job_id, run_time, status, exception, finished FROM sked_job_execution"))
    for job_id, run_time, status, _, end in rows:
        key = (job_id, parse_db_time(run_time))
        if key in records:
            report("duplicate", f"{job_id} {run_time} recorded twice")
        records[key] = status
        finished[key] = parse_db_time(end) if end else None
    for job_id, run_time, status, exception, _ in rows:
        key = (job_id, parse_db_time(run_time))
        statuses[status] += 1
        job = jobs.get(job_id)
        if job is None or not job.on_grid(key[1]):
            report("unexpected", f"record {job_id} {run_time} {status}: not a fire time of the job")
        elif not job.scheduled_at(key[1]) and not job.near_event(key[1]):
            report("unexpected", f"record {job_id} {run_time} {status}: job paused or removed then")
        if status == "missed" and not in_kill_window(key[1]) and not in_fault_window(key[1]):
            report("missed outside a kill or fault window", f"{job_id} {run_time}")
        elif status == "max_instances" and job is not None and not in_fault_window(key[1]):
            previous = (job_id, key[1] - job.interval)
            while records.get(previous) == "max_instances":  # the run that blocked both
                previous = (job_id, previous[1] - job.interval)
            end = finished.get(previous)
            if records.get(previous) not in ("interrupted", "started") and (
                    end is None or end < key[1] - MAX_INSTANCES_SLACK):
                report("max_instances unexplained",
                       f"{job_id} {run_time}: the previous run was {records.get(previous)}, finished {end}")
        elif status == "interrupted" and not in_kill_window(key[1]):
            # A live scheduler taken for dead (a heartbeat late by more than stale_after).
            report("interrupted outside a kill window", f"{job_id} {run_time}")
        elif status == "interrupted" and not killed_pids.intersection(pids_named(exception)):
            report("interrupted a run of a live scheduler", f"{job_id} {run_time}: {exception}")
        elif status == "error":
            report("error", f"{job_id} {run_time}")
        elif status == "started" and key[1] < a_stop - 5 * US:
            report("started", f"{job_id} {run_time} still started at the end")
        elif status == "executed" and key not in runs:
            report("lost", f"{job_id} {run_time} recorded executed, but no task ran it")

    for key, pids in runs.items():
        if len(pids) > 1:
            report("duplicate", f"{key[0]} {key[1]} run by pids {pids}")
        if key not in records:
            report("unexpected", f"task run {key[0]} {key[1]} (pid {pids[0]}) has no execution record")
        elif records[key] != "executed" and a_pids.intersection(pids):
            report("unexpected", f"{key[0]} {key[1]} ran in scheduler A, recorded {records[key]}")

    # Every fire time of a scheduled job in the window has a record.
    checked = 0
    for job_id, job in jobs.items():
        for t in job.grid(window[1]):
            if t < window[0] or not job.scheduled_at(t) or job.near_event(t):
                continue
            if (job_id, t) not in records and stopped_in_fault(job, t):
                continue  # paused or removed before the store could be written to claim it
            checked += 1
            if (job_id, t) not in records:
                report("lost", f"{job_id} {t}: no execution record")

    # No job vanished, none came back, pauses held.
    stored = dict(db.execute("SELECT id, next_run_time FROM sked_job"))
    for job_id in jobs:
        if job_id in removed:
            if job_id in stored:
                report("vanished", f"{job_id} was removed but is in sked_job")
        elif job_id not in stored:
            report("vanished", f"{job_id} is not in sked_job")
        elif (stored[job_id] is None) != (job_id in paused):
            report("vanished", f"{job_id}: paused is {job_id in paused}, next_run_time {stored[job_id]}")

    # Scheduler A's memory.
    rss = [(int(f[0]), int(f[1])) for f in lines("rss.log")]
    warm = [kb for elapsed, kb in rss if elapsed >= min(30, seconds // 5)]
    rss_first, rss_last = (warm[0], warm[-1]) if warm else (0, 0)
    if not warm:
        report("rss", "no sample after warm-up")
    elif rss_last > rss_first * 1.5 + 10 * 1024:
        report("rss", f"{rss_first} kB -> {rss_last} kB")

    for kind, texts in examples.items():
        for text in texts:
            print(f"soak: {kind}: {text}", file=sys.stderr)
    failed = sum(problems.values()) > 0
    extra = "".join(f", {n} {kind}" for kind, n in sorted(problems.items())
                    if kind not in ("duplicate", "lost"))
    print(f"soak: {seconds}s, 2 schedulers, {len(jobs)} jobs, {statuses['executed']} runs, "
          f"{problems['duplicate']} duplicates, {problems['lost']} lost ({checked} fire times checked), "
          f"{len(kills)} kills, {len(faults)} fault phases, {retries} mutator retries, "
          f"{statuses['interrupted']} interrupted, {statuses['missed']} missed, "
          f"{statuses['max_instances']} max_instances{extra}, "
          f"rss {rss_first / 1024:.1f}->{rss_last / 1024:.1f} MiB: {'FAILED' if failed else 'OK'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
