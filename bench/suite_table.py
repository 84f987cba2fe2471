#!/usr/bin/env python3
"""Prints bench/run.sh's table from the result files it leaves in DIR, one per workload and round
(<workload>_<round>.<ext>).

Usage: suite_table.py DIR. Each row compares the medians over the rounds; ratio is how many times better sked
is (peer/sked for costs, sked/peer for throughput). The lines under the table give min/median/max over the
rounds of every figure with a peer, and of sked's own scaling figures."""
import json
import os
import re
import statistics
import sys

SIZES = (1000, 10000, 100000, 1000000)
POWER = {1000: "10^3", 10000: "10^4", 100000: "10^5", 1000000: "10^6"}


def load_gbench(path):
    return {b["name"]: b for b in json.load(open(path))["benchmarks"] if "error_message" not in b}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def span(xs, fmt="{:,.0f}"):
    xs = [x for x in xs if x is not None]
    return "/".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs))) if xs else "-"


def main():
    d = sys.argv[1]
    rounds = sorted({int(m.group(1)) for f in os.listdir(d)
                     if (m := re.fullmatch(r"dispatch_sked_(\d+)\.json", f))})

    def each(pattern, load):
        """The loaded result of every round whose file exists (a round whose run failed has none)."""
        paths = [f"{d}/{pattern.format(r)}" for r in rounds]
        return [load(p) for p in paths if os.path.exists(p)]

    rows = []  # (workload, sked, peer, ratio)
    spread = []  # lines printed under the table

    def row(name, sked, peer, higher_is_better=False, fmt="{:,.0f}", ratio_fmt="{:,.1f}x"):
        """A row comparing the medians of sked's and the peer's figures over the rounds."""
        s, p = med(sked), med(peer)
        ratio = "-"
        if s and p:
            ratio = ratio_fmt.format(s / p if higher_is_better else p / s)
        rows.append((name, fmt.format(s) if s is not None else "-", fmt.format(p) if p is not None else "-",
                     ratio))

    # Dispatch throughput, with sked's floors: a heap and a mutex-guarded queue claimed 512 ahead, and the
    # same under the claim contract (a free worker takes one run itself and records it).
    runs = each("dispatch_sked_{}.json", load_gbench)

    def figures(name):
        return [b[name]["items_per_second"] for b in runs if name in b]

    for w in (2, 8):
        s = figures(f"BM_Dispatch/{w}/100000/real_time")
        f = figures(f"BM_DispatchFloor/{w}/100000/real_time")
        c = figures(f"BM_DispatchContractFloor/{w}/100000/real_time")
        p = each(f"dispatch_aps_{w}_{{}}.txt", lambda path: float(open(path).read()))
        row(f"dispatch 100k one-shot jobs, {w} workers (runs/s)", s, p, higher_is_better=True)
        row(f"  its floor (heap + mutex queue), {w} workers: sked's share", s, f, higher_is_better=True,
            ratio_fmt="{:.2f}")
        row(f"  its floor under the claim contract, {w} workers: sked's share", s, c, higher_is_better=True,
            ratio_fmt="{:.2f}")
        spread.append(f"dispatch {w} workers (runs/s): sked {span(s)}; floor {span(f)}; "
                      f"contract floor {span(c)}; APScheduler {span(p)}")

    # Lateness, with the floor (a heap, a condition variable and a queue to the same pool).
    late = each("lateness_sked_{}.json", load_gbench)

    def lateness(prefix):
        return [next((v for k, v in b.items() if k.startswith(prefix + "/")), {}) for b in late]

    sked, floor = lateness("BM_Lateness"), lateness("BM_LatenessFloor")
    aps = each("lateness_aps_{}.json", lambda path: json.load(open(path)))
    for kind, label in (("staggered", "1,000 staggered + background"), ("burst", "burst of 200 at one instant")):
        line = []
        for stat in ("p50", "p99", "max"):
            key = f"{kind}_{stat}_us"
            s, p, f = [b.get(key) for b in sked], [b.get(key) for b in aps], [b.get(key) for b in floor]
            row(f"lateness {label}: {stat} (us)", s, p)
            row(f"  its floor (heap, condition variable, queue): {stat}, sked's multiple", s, f,
                higher_is_better=True)
            line.append(f"{stat} sked {span(s)}, floor {span(f)}, APScheduler {span(p)}")
        spread.append(f"lateness {kind} (us): " + "; ".join(line))

    # Store scaling: one iteration is a batch of 1,000 operations.
    sked = each("store_sked_{}.json", load_gbench)
    aps = each("store_aps_{}.jsonl",
               lambda path: {(r["op"], r["n"]): r["ns"] for r in map(json.loads, open(path))})
    ops = [("add", "BM_StoreAdd"), ("remove", "BM_StoreRemove"), ("reschedule", "BM_StoreReschedule"),
           ("claim_due", "BM_StoreClaimDue"), ("next_run_time", "BM_StoreNextRunTime")]
    flat = []
    for op, bench in ops:
        per_n = {}  # n -> sked's ns/op in each round
        line_s, line_p = [], []
        for n in SIZES:
            s = []
            for b in sked:
                x = b.get(f"{bench}/{n}/iterations:50/manual_time")
                s.append(x["real_time"] / 1000 if x and x["time_unit"] == "ns" else None)
            p = [a.get((op, n)) for a in aps]
            per_n[n] = s
            row(f"store {op} @ {n:,} jobs (ns/op)", s, p)
            line_s.append(f"{POWER[n]} {span(s)}")
            if any(x is not None for x in p):
                line_p.append(f"{POWER[n]} {span(p)}")
        # The table's cost ratio is that of the medians; the line under it gives each round's own ratio.
        growth = [big / small for small, big in zip(per_n[1000], per_n[1000000]) if small and big]
        if growth:
            flat.append((op, med(per_n[1000000]) / med(per_n[1000]), growth))
        spread.append(f"store {op} (ns/op): sked {', '.join(line_s)}; APScheduler {', '.join(line_p) or '-'}")
    for op, ratio, growth in flat:
        rows.append((f"store {op}: cost at 10^6 / cost at 10^3", f"{ratio:.2f}", "-", "-"))
        spread.append(f"store {op}: cost at 10^6 / cost at 10^3, round by round {span(growth, '{:.2f}')}")

    # Memory.
    sked = [{int(k.split("kind:")[1].split("/")[0]): b for k, b in r.items()}
            for r in each("memory_sked_{}.json", load_gbench)]
    aps = [r["bytes_per_job"] for r in each("memory_aps_{}.json", lambda path: json.load(open(path)))]
    s = [r.get(0, {}).get("bytes_per_job") for r in sked]
    row("memory per interval job (bytes; sked 10^6, APScheduler 10^5)", s, aps)
    spread.append(f"memory per interval job (bytes): sked {span(s)}; APScheduler {span(aps)}")
    for kind, label in ((0, "identical but for id and trigger"), (1, "each with its own name"),
                        (2, "each given as a callable")):
        trigger = med([r.get(kind, {}).get("trigger_bytes") for r in sked]) or 0
        beyond = [r.get(kind, {}).get("beyond_trigger") for r in sked]
        rows.append((f"  {label}: sked's trigger / beyond the trigger", f"{trigger:.0f} / {med(beyond) or 0:.0f}",
                     "-", "-"))
        spread.append(f"  {label}: sked's bytes beyond the trigger {span(beyond)}")

    # SQLite store: the same workloads through APScheduler's SQLAlchemyJobStore.
    def aps_sqlite(path):
        figures = {}
        for line in open(path):
            if ":" in line and line.split(":")[0] in ("add_job", "claimed-and-recorded runs"):
                figures[line.split(":")[0]] = float(line.split(":")[1].split()[0])
        return figures

    sked = each("sqlite_sked_{}.json", load_gbench)
    aps = each("sqlite_aps_{}.txt", aps_sqlite)
    s = [b.get("add_job/0/real_time", {}).get("items_per_second") for b in sked]
    p = [a.get("add_job") for a in aps]
    row("SQLite add_job (jobs/s)", s, p, higher_is_better=True)
    spread.append(f"SQLite add_job (jobs/s): sked {span(s)}; APScheduler {span(p)}")
    s = [b.get("scheduler_end_to_end/0/real_time", {}).get("items_per_second") for b in sked]
    p = [a.get("claimed-and-recorded runs") for a in aps]
    row("SQLite claimed and recorded, whole scheduler (runs/s)", s, p, higher_is_better=True)
    spread.append(f"SQLite claimed and recorded (runs/s): sked {span(s)}; APScheduler {span(p)}")

    scale = each("sqlite_scale_sked_{}.json", load_gbench)
    s = [b.get("BM_StartUp/1000000/iterations:1/repeats:7/real_time_median", {}).get("real_time") for b in scale]
    p = [r["ms"] for r in each("startup_aps_{}.json", lambda path: json.load(open(path)))]
    row("start-up, SQLite file of 10^6 jobs, open to first run, median (ms)", s, p, fmt="{:,.1f}")
    spread.append(f"start-up with 10^6 jobs, each round's median of 7 (ms): sked {span(s, '{:,.1f}')}; "
                  f"APScheduler {span(p, '{:,.1f}')}")
    for op in ("Add", "Remove", "Reschedule", "ClaimDue", "NextRunTime"):
        per_n = {}  # batches of 100 operations
        for n in SIZES:
            per_n[n] = [b[k]["real_time"] / 100 if (k := f"BM_Sqlite{op}/{n}/iterations:20/manual_time") in b
                        and b[k]["time_unit"] == "us" else None for b in scale]
        small, big = med(per_n[1000]), med(per_n[1000000])
        growth = [y / x for x, y in zip(per_n[1000], per_n[1000000]) if x and y]
        if small and big and growth:
            rows.append((f"SQLite store {op.lower()}: us/op at 10^3 / at 10^6 jobs (cost at 10^6 / 10^3)",
                         f"{small:.1f} / {big:.1f} ({big / small:.2f})", "-", "-"))
            spread.append(f"SQLite store {op.lower()} (us/op): sked 10^3 {span(per_n[1000], '{:.1f}')}, "
                          f"10^6 {span(per_n[1000000], '{:.1f}')}; cost at 10^6 / 10^3, round by round "
                          f"{span(growth, '{:.2f}')}")

    # Cron walks: ns per fire time of each walk, the median over the rounds for each peer, then the ratios.
    sked = [{name: b["per_fire"] * 1e9 for name, b in r.items()} for r in each("cron_sked_{}.json", load_gbench)]

    def peer(path):
        return {f"{r['case']}/{r['zone']}": r["ns_per_fire"] for r in map(json.loads, open(path))}

    aps, croner = each("cron_aps_{}.jsonl", peer), each("cron_croner_{}.jsonl", peer)
    walks = [w for w in (aps[0] if aps else {}) if sked and w in sked[0]]
    if walks:
        def ratios(peer_rounds, walk):
            return med([r.get(walk) for r in peer_rounds]) / med([r.get(walk) for r in sked])

        aps_ratios = [ratios(aps, w) for w in walks]
        rows.append((f"cron: 10,000 fire times, {len(walks)} walks: median APScheduler/sked", "-", "-",
                     f"{statistics.median(aps_ratios):,.0f}x"))
        rows.append(("cron: smallest APScheduler/sked ratio", "-", "-", f"{min(aps_ratios):,.0f}x"))

        def per_round(peer_rounds, pick):  # the ratio over the walks within each round
            return [pick([p[w] / s[w] for w in walks]) for s, p in zip(sked, peer_rounds)]

        spread.append(f"cron, each round's APScheduler/sked over the walks: median "
                      f"{span(per_round(aps, statistics.median))}, smallest {span(per_round(aps, min))}; "
                      f"croner/sked median {span(per_round(croner, statistics.median))}")

    w = max(len(r[0]) for r in rows)
    header = f"{'workload':{w}}  {'sked':>12}  {'APScheduler':>12}  {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, s, p, r in rows:
        print(f"{name:{w}}  {s:>12}  {p:>12}  {r:>8}")
    print(f"\nmin/median/max over {len(rounds)} rounds (sked first in odd rounds, its peer first in even ones):")
    for line in spread:
        print(line)


if __name__ == "__main__":
    main()
