#!/usr/bin/env python3
"""Prints bench/cron_side_by_side.sh's table from the three result files.

Usage: cron_table.py CASES SKED_BENCH_JSON APSCHEDULER_JSONL CRONER_JSONL SKED_CLI
"""
import json
import statistics
import subprocess
import sys
from datetime import datetime


def instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def main():
    cases_path, sked_json, aps_jsonl, croner_jsonl, sked_cli = sys.argv[1:6]
    config = json.load(open(cases_path))
    sked = {}
    for b in json.load(open(sked_json))["benchmarks"]:
        sked[b["name"]] = b["per_fire"] * 1e9  # the counter is seconds per fire time
    aps = {(r["case"], r["zone"]): r for r in map(json.loads, open(aps_jsonl))}
    croner = {(r["case"], r["zone"]): r for r in map(json.loads, open(croner_jsonl))}

    header = f"{'walk (10,000 fire times)':40} {'sked ns':>8} {'APScheduler ns':>15} {'croner ns':>10} {'APS/sked':>9} {'croner/sked':>12}  same last fire time"
    print(header)
    print("-" * len(header))
    ratios_aps, ratios_croner = [], []
    for zone in config["zones"]:
        for case in config["cases"]:
            key = (case["name"], zone)
            s = sked[f"{case['name']}/{zone}"]
            a, c = aps[key], croner[key]
            last = subprocess.run([sked_cli, "next", "--tz", zone, "--from", config["start"], "-n",
                                   str(config["fires"]), case["crontab"]], capture_output=True, text=True,
                                  check=True).stdout.split()[-1]
            same = []
            if instant(a["last"]) == instant(last): same.append("APScheduler")
            if instant(c["last"]) == instant(last): same.append("croner")
            ratios_aps.append(a["ns_per_fire"] / s)
            ratios_croner.append(c["ns_per_fire"] / s)
            print(f"{case['name'] + ' / ' + zone:40} {s:8.0f} {a['ns_per_fire']:15.0f} {c['ns_per_fire']:10.0f} "
                  f"{a['ns_per_fire'] / s:8.0f}x {c['ns_per_fire'] / s:11.0f}x  {', '.join(same) or 'neither'}")
    print(f"\nmedian ratio: APScheduler/sked {statistics.median(ratios_aps):.0f}x, croner/sked "
          f"{statistics.median(ratios_croner):.0f}x; smallest: {min(ratios_aps):.0f}x, {min(ratios_croner):.0f}x")


if __name__ == "__main__":
    main()
