#!/usr/bin/env python3
"""APScheduler 3's side of bench/cron_side_by_side.sh: the walks of bench/cron_cases.json.

Prints one JSON line per walk: {"case", "zone", "ns_per_fire", "last"}, where `last` is the final fire time
(ISO-8601) so the script can check that the peers computed the same schedule. Run with Debian's
python3-apscheduler: /usr/bin/python3 bench/peers/cron_peers.py bench/cron_cases.json
"""
import json
import sys
import time
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger


def walk(trigger, start, fires):
    # Strictly after `start`, as sked next and croner walk: APScheduler rounds up to the next second.
    t = trigger.get_next_fire_time(None, start + timedelta(microseconds=1))
    done = 0
    last = None
    while t is not None and done < fires:
        last = t
        done += 1
        t = trigger.get_next_fire_time(t, t)
    return done, last


def main():
    config = json.load(open(sys.argv[1]))
    start = datetime.fromisoformat(config["start"].replace("Z", "+00:00"))
    fires = config["fires"]
    for zone in config["zones"]:
        for case in config["cases"]:
            trigger = CronTrigger(timezone=zone, **case["fields"])
            best = None
            for _ in range(2):  # best of two: the first pass warms caches
                t0 = time.perf_counter_ns()
                done, last = walk(trigger, start, fires)
                elapsed = time.perf_counter_ns() - t0
                best = elapsed if best is None else min(best, elapsed)
            print(json.dumps({"case": case["name"], "zone": zone, "ns_per_fire": best / max(done, 1),
                              "fires": done, "last": last.isoformat() if last else None}), flush=True)


if __name__ == "__main__":
    main()
