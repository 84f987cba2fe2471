// Reads JSON lines {expr, tz, from, n} on stdin and prints one JSON line per case: {times} (Unix seconds
// of the next n fire times strictly after `from`) or {error}. Needs croner on NODE_PATH.
"use strict";
const { Cron } = require("croner");
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const line of lines) {
  const c = JSON.parse(line);
  try {
    // Vixie's rule for fixed-time jobs, as sked uses (croner's default differs).
    const job = new Cron(c.expr, { timezone: c.tz, paused: true, fixedTimeRule: "no-wildcard" });
    let t = new Date(c.from);
    const times = [];
    for (let i = 0; i < c.n; i++) {
      const next = job.nextRun(t);
      if (!next) break;
      times.push(next.getTime() / 1000);
      t = next;
    }
    console.log(JSON.stringify({ times }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e.message || e) }));
  }
}
