"""Random crontab lines: `sked next` against croner, across UTC, a no-DST zone and DST zones.

Usage: agree_croner.py SKED_CLI SEED COUNT   (croner on NODE_PATH; scripts/cron-agreement.sh sets it up)
Differences that docs/cron.md lists as intended (Vixie's rule for a day field starting with '*') are
counted, not reported. Exits 1 when any other difference is found.
"""
import json, os, random, subprocess, sys
from datetime import datetime, timezone
SKED = sys.argv[1]
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
N = int(sys.argv[3]) if len(sys.argv) > 3 else 300

def rnd_item(lo, hi, names=None):
    r = random.random()
    if r < 0.3: return str(random.randint(lo, hi))
    if r < 0.5:
        a = random.randint(lo, hi); b = random.randint(a, hi); return f"{a}-{b}"
    if r < 0.65:
        a = random.randint(lo, hi); b = random.randint(a, hi); return f"{a}-{b}/{random.randint(1, max(1,(hi-lo)//2))}"
    if r < 0.8: return f"*/{random.randint(1, max(1,(hi-lo)//2))}"
    if names and r < 0.9: return random.choice(names)
    return "*"

def rnd_field(lo, hi, names=None, star=0.5):
    if random.random() < star: return "*"
    items = [rnd_item(lo, hi, names) for _ in range(random.choice([1,1,1,2,3]))]
    if "*" in items and len(items) > 1: items = [i for i in items if i != "*"] or ["*"]
    return ",".join(items)

months = ["jan","feb","mar","apr","may","jun","jul","aug","sep","oct","nov","dec"]
days = ["sun","mon","tue","wed","thu","fri","sat"]
def rnd_crontab():
    r = random.random()
    if r < 0.03: return random.choice(["@yearly","@monthly","@weekly","@daily","@hourly","@midnight","@annually"])
    dom = rnd_field(1,31, star=0.6)
    dow = rnd_field(0,7, days, star=0.6)
    if random.random() < 0.1: dom = random.choice(["L", "LW", "15W", "1W", "31W", "L,15"])
    if random.random() < 0.1: dow = random.choice(["5#3", "1#1", "0#5", "fri#2", "5L", "1L,3"])
    f = [rnd_field(0,59, star=0.3), rnd_field(0,23, star=0.4), dom, rnd_field(1,12, months, star=0.6), dow]
    if random.random() < 0.15: f.insert(0, rnd_field(0,59, star=0.3))
    if len(f) == 6 and random.random() < 0.3: f.append(random.choice(["*", "2025-2026", "2027", "2024,2026"]))
    return " ".join(f)

def intended(expr):
    f = expr.split()
    if len(f) < 5: return None
    if len(f) >= 6: f = f[1:]
    dom, dow = f[2], f[4]
    if dom != "*" and dow != "*" and (dom.startswith("*") or dow.startswith("*")): return "vixie-star-and"
    if any("/" in x and not x.startswith("*") for x in f[0:2]) : return "maybe-dst-fixed-rule"
    return None

def sked(expr, tz, frm, n):
    p = subprocess.run([SKED, "next", "--tz", tz, "--from", frm, "-n", str(n), expr], capture_output=True, text=True)
    if p.returncode != 0: return {"error": p.stderr.strip()}
    return {"times": [datetime.fromisoformat(l).timestamp() for l in p.stdout.split()]}

cases = []
for i in range(N):
    tz = random.choice(["UTC", "UTC", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"])
    y = random.randint(2024, 2027); frm = datetime(y, random.randint(1,12), random.randint(1,28), random.randint(0,23), random.randint(0,59), tzinfo=timezone.utc)
    cases.append({"expr": rnd_crontab(), "tz": tz, "from": frm.isoformat().replace("+00:00","Z"), "n": 20})
p = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "croner_cases.js")], input="\n".join(json.dumps(c) for c in cases), capture_output=True, text=True, check=True)
cr = [json.loads(l) for l in p.stdout.splitlines()]
agree = differ = 0
intended_n = {}
for c, r in zip(cases, cr):
    s = sked(c["expr"], c["tz"], c["from"], c["n"])
    if s == r: agree += 1; continue
    why = intended(c["expr"])
    if why == "vixie-star-and": intended_n[why] = intended_n.get(why, 0) + 1; continue
    differ += 1
    if differ <= 25:
        print("DIFF", c)
        st = s.get("times", s); rt = r.get("times", r)
        if isinstance(st, list) and isinstance(rt, list):
            for a, b in zip(st, rt):
                if a != b:
                    print("   sked", datetime.fromtimestamp(a, timezone.utc), " croner", datetime.fromtimestamp(b, timezone.utc)); break
            else: print("   lengths", len(st), len(rt))
        else: print("   sked", st, " croner", rt)
print(f"croner: agree {agree} intended {intended_n} differ {differ}")
sys.exit(1 if differ else 0)
