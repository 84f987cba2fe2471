"""Random field sets: `sked next --field` against APScheduler 3 (including which inputs both reject).

Usage: /usr/bin/python3 agree_apscheduler.py SKED_CLI SEED COUNT ZONES   (ZONES comma-separated)
Near DST changes the rules differ on purpose (docs/cron.md), so compare in zones without DST (UTC,
Asia/Kolkata) for an exact check. Exits 1 when a difference is found.
"""
import random, subprocess, sys
from datetime import datetime, timezone, timedelta
import pytz
from apscheduler.triggers.cron import CronTrigger
SKED = sys.argv[1]
random.seed(int(sys.argv[2]))
N = int(sys.argv[3])
TZS = sys.argv[4].split(",")
RANGES = {"year": (2024, 2030), "month": (1, 12), "day": (1, 31), "week": (1, 53), "day_of_week": (0, 6),
          "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}
NAMES = {"month": ["jan","feb","mar","apr","may","jun","jul","aug","sep","oct","nov","dec"],
         "day_of_week": ["mon","tue","wed","thu","fri","sat","sun"]}
def item(name):
    lo, hi = RANGES[name]
    r = random.random()
    if name == "day" and r < 0.1: return random.choice(["last", "last fri", "2nd mon", "1st sun", "5th sat", "3rd wed"])
    if name in NAMES and r < 0.25:
        a = random.randrange(len(NAMES[name])); b = random.randrange(a, len(NAMES[name]))
        return NAMES[name][a] if random.random() < 0.5 else f"{NAMES[name][a]}-{NAMES[name][b]}"
    if r < 0.4: return str(random.randint(lo, hi))
    if r < 0.6:
        a = random.randint(lo, hi); b = random.randint(a, hi); return f"{a}-{b}"
    if r < 0.75:
        a = random.randint(lo, hi - 1); b = random.randint(a + 1, hi); return f"{a}-{b}/{random.randint(1, b - a)}"
    if r < 0.85:
        a = random.randint(lo, hi - 1); return f"{a}/{random.randint(1, hi - a)}"
    if r < 0.93: return f"*/{random.randint(1, (hi - lo))}"
    if r < 0.96: return random.choice([f"{hi + 1}", f"{hi}-{lo}", "*/0", f"*/{hi - lo + 1}", f"{lo}-{hi}/{hi - lo + 1}", "x"])
    return "*"
def fields():
    names = random.sample(list(RANGES), random.choice([1, 1, 2, 2, 3, 4]))
    return {n: ",".join(item(n) for _ in range(random.choice([1, 1, 2]))) for n in names}
agree = differ = both_err = 0
for i in range(N):
    f = fields()
    tz = random.choice(TZS)
    frm = datetime(random.randint(2024, 2027), random.randint(1, 12), random.randint(1, 28), random.randint(0, 23), random.randint(0, 59), tzinfo=timezone.utc)
    try:
        trig = CronTrigger(timezone=tz, **f)
        times = []
        t = trig.get_next_fire_time(None, frm + timedelta(microseconds=1))
        while t and len(times) < 15:
            times.append(t.timestamp()); t = trig.get_next_fire_time(t, t)
        aps = times
    except ValueError as e:
        aps = "error: " + str(e)
    except OverflowError:
        continue  # APScheduler's own search ran past year 9999
    args = [SKED, "next", "--tz", tz, "--from", frm.isoformat(), "-n", "15"] + [a for k, v in f.items() for a in ("--field", f"{k}={v}")]
    p = subprocess.run(args, capture_output=True, text=True)
    sk = "error: " + p.stderr.strip() if p.returncode else [datetime.fromisoformat(l).timestamp() for l in p.stdout.split()]
    if isinstance(aps, str) and isinstance(sk, str): both_err += 1; continue
    if aps == sk: agree += 1; continue
    # DST: the rules differ on purpose near transitions.
    if tz in ("Europe/Berlin", "America/New_York") and isinstance(aps, list) and isinstance(sk, list):
        z = pytz.timezone(tz)
        firstdiff = next((a if a != b else None for a, b in zip(aps, sk) if a != b), None)
        if firstdiff is not None:
            d = datetime.fromtimestamp(firstdiff, timezone.utc)
            if z.utcoffset(d.replace(tzinfo=None) - timedelta(hours=3), is_dst=False) != z.utcoffset(d.replace(tzinfo=None) + timedelta(hours=3), is_dst=False):
                agree += 1; continue
    differ += 1
    if differ < 20:
        print("DIFF", f, tz, frm)
        if isinstance(aps, list) and isinstance(sk, list):
            for a, b in zip(aps, sk):
                if a != b: print("   aps", datetime.fromtimestamp(a, timezone.utc), "sked", datetime.fromtimestamp(b, timezone.utc)); break
            else: print("   lengths", len(aps), len(sk))
        else: print("   aps", str(aps)[:200], "\n   sked", str(sk)[:200])
print(f"APScheduler: agree {agree} both-error {both_err} differ {differ}")
sys.exit(1 if differ else 0)
