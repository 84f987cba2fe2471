#!/usr/bin/env python3
"""Prints bench/run.sh's table from the result files it leaves in DIR.

Usage: suite_table.py DIR. Ratio is how many times better sked is (peer/sked for costs, sked/peer for
throughput)."""
import json
import os
import statistics
import sys


def load_gbench(path):
    return {b["name"]: b for b in json.load(open(path))["benchmarks"] if "error_message" not in b}


def main():
    d = sys.argv[1]
    rows = []  # (workload, sked, peer, ratio)
    spread = []  # lines printed under the table

    def span(xs):
        return "/".join(f"{x:,.0f}" for x in (min(xs), statistics.median(xs), max(xs))) if xs else "-"

    def row(name, sked, peer, unit, higher_is_better=False, fmt="{:,.0f}"):
        s = fmt.format(sked) + unit if sked is not None else "-"
        p = fmt.format(peer) + unit if peer is not None else "-"
        ratio = "-"
        if sked and peer:
            ratio = f"{(sked / peer if higher_is_better else peer / sked):,.1f}x"
        rows.append((name, s, p, ratio))

    # Dispatch throughput: rounds alternate sked (with its floor) and APScheduler; medians are compared and
    # the spread is printed below the table.
    rounds = sorted(int(f[len("dispatch_sked_"):-len(".json")]) for f in os.listdir(d)
                    if f.startswith("dispatch_sked_") and f.endswith(".json"))
    runs = [load_gbench(f"{d}/dispatch_sked_{r}.json") for r in rounds]

    def figures(name):
        return [b[name]["items_per_second"] for b in runs if name in b]

    for w in (2, 8):
        s = figures(f"BM_Dispatch/{w}/100000/real_time")
        f = figures(f"BM_DispatchFloor/{w}/100000/real_time")
        p = [float(open(f"{d}/dispatch_aps_{w}_{r}.txt").read()) for r in rounds]
        med = lambda xs: statistics.median(xs) if xs else None
        row(f"dispatch 100k one-shot jobs, {w} workers (runs/s)", med(s), med(p), "", higher_is_better=True)
        row(f"  its floor (heap + mutex queue), {w} workers: sked's share", med(s), med(f), "",
            higher_is_better=True)
        spread.append(f"dispatch {w} workers, min/median/max over {len(rounds)} alternating rounds: "
                      f"sked {span(s)}; floor {span(f)}; APScheduler {span(p)}")

    # Lateness.
    sked = next(iter(load_gbench(f"{d}/lateness_sked.json").values()), {})
    aps = json.load(open(f"{d}/lateness_aps.json"))
    for kind, label in (("staggered", "1,000 staggered + background"), ("burst", "burst of 200 at one instant")):
        for stat in ("p50", "p99", "max"):
            key = f"{kind}_{stat}_us"
            row(f"lateness {label}: {stat} (us)", sked.get(key), aps.get(key), "")

    # Store scaling.
    sked = load_gbench(f"{d}/store_sked.json")
    aps = {(r["op"], r["n"]): r["ns"] for r in map(json.loads, open(f"{d}/store_aps.jsonl"))}
    ops = [("add", "BM_StoreAdd"), ("remove", "BM_StoreRemove"), ("reschedule", "BM_StoreReschedule"),
           ("claim_due", "BM_StoreClaimDue"), ("next_run_time", "BM_StoreNextRunTime")]
    flat = []
    for op, bench in ops:
        per_n = {}
        for n in (1000, 10000, 100000, 1000000):
            b = sked.get(f"{bench}/{n}/iterations:50/manual_time")
            ns = b["real_time"] / 1000 if b else None  # one iteration is a batch of 1,000 operations
            if b and b["time_unit"] != "ns":
                ns = None
            per_n[n] = ns
            row(f"store {op} @ {n:,} jobs (ns/op)", ns, aps.get((op, n)), "", fmt="{:,.0f}")
        if per_n[1000] and per_n[1000000]:
            flat.append((op, per_n[1000000] / per_n[1000]))
    for op, r in flat:
        rows.append((f"store {op}: cost at 10^6 / cost at 10^3", f"{r:.2f}", "-", "-"))

    # Memory.
    kinds = {int(k.split("kind:")[1].split("/")[0]): b for k, b in load_gbench(f"{d}/memory_sked.json").items()}
    sked = kinds.get(0, {})
    aps = json.load(open(f"{d}/memory_aps.json"))
    row("memory per interval job (bytes; sked 10^6, APScheduler 10^5)", sked.get("bytes_per_job"),
        aps["bytes_per_job"], "")
    for kind, label in ((0, "identical but for id and trigger"), (1, "each with its own name"),
                        (2, "each given as a callable")):
        b = kinds.get(kind, {})
        rows.append((f"  {label}: sked's trigger / beyond the trigger",
                     f"{b.get('trigger_bytes', 0):.0f} / {b.get('beyond_trigger', 0):.0f}", "-", "-"))

    # SQLite store: the same workloads through APScheduler's SQLAlchemyJobStore.
    sked = load_gbench(f"{d}/sqlite_sked.json")
    aps = {}
    for line in open(f"{d}/sqlite_aps.txt"):
        if ":" in line and line.split(":")[0] in ("add_job", "claimed-and-recorded runs"):
            aps[line.split(":")[0]] = float(line.split(":")[1].split()[0])
    row("SQLite add_job (jobs/s)", sked.get("add_job/0/real_time", {}).get("items_per_second"),
        aps.get("add_job"), "", higher_is_better=True)
    row("SQLite claimed and recorded, whole scheduler (runs/s)",
        sked.get("scheduler_end_to_end/0/real_time", {}).get("items_per_second"),
        aps.get("claimed-and-recorded runs"), "", higher_is_better=True)
    scale = load_gbench(f"{d}/sqlite_scale_sked.json")
    startup = scale.get("BM_StartUp/1000000/iterations:1/repeats:7/real_time_median", {})
    row("start-up, SQLite file of 10^6 jobs, open to first run, median (ms)", startup.get("real_time"),
        json.load(open(f"{d}/startup_aps.json"))["ms"], "", fmt="{:,.1f}")
    for op in ("Add", "Remove", "Reschedule", "ClaimDue", "NextRunTime"):
        per_n = {}
        for n in (1000, 10000, 100000, 1000000):
            b = scale.get(f"BM_Sqlite{op}/{n}/iterations:20/manual_time")
            per_n[n] = b["real_time"] / 100 if b and b["time_unit"] == "us" else None  # batches of 100
        if per_n[1000] and per_n[1000000]:
            rows.append((f"SQLite store {op.lower()}: us/op at 10^3 / at 10^6 jobs (cost at 10^6 / 10^3)",
                         f"{per_n[1000]:.1f} / {per_n[1000000]:.1f} ({per_n[1000000] / per_n[1000]:.2f})", "-", "-"))

    # Cron walks (APScheduler only; croner's figures are in cron_table.txt).
    cron = [line for line in open(f"{d}/cron_table.txt") if " / " in line and "x " in line]
    aps_ratios = []
    for line in cron:
        parts = line.split()
        aps_ratios.append(float(next(p for p in parts if p.endswith("x")).rstrip("x")))
    if aps_ratios:
        rows.append((f"cron: 10,000 fire times, {len(aps_ratios)} walks: median APScheduler/sked", "-", "-",
                     f"{statistics.median(aps_ratios):,.0f}x"))
        rows.append(("cron: smallest APScheduler/sked ratio", "-", "-", f"{min(aps_ratios):,.0f}x"))

    w = max(len(r[0]) for r in rows)
    header = f"{'workload':{w}}  {'sked':>12}  {'APScheduler':>12}  {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, s, p, r in rows:
        print(f"{name:{w}}  {s:>12}  {p:>12}  {r:>8}")
    for line in spread:
        print(line)


if __name__ == "__main__":
    main()
