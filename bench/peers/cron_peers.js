// croner's side of bench/cron_side_by_side.sh: the walks of bench/cron_cases.json.
// Prints one JSON line per walk: {case, zone, ns_per_fire, last}. Needs croner (npm) on NODE_PATH:
//   NODE_PATH=build/peers/node_modules node bench/peers/cron_peers.js bench/cron_cases.json
"use strict";
const fs = require("fs");
const { Cron } = require("croner");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const start = new Date(config.start);
const fires = config.fires;

function walk(job) {
  let t = start;
  let done = 0;
  let last = null;
  while (done < fires) {
    const next = job.nextRun(t);  // strictly after t
    if (!next) break;
    last = next;
    t = next;
    done++;
  }
  return { done, last };
}

for (const zone of config.zones) {
  for (const c of config.cases) {
    // Vixie's rule for which jobs are fixed-time (croner's default differs; see docs/cron.md).
    const job = new Cron(c.crontab, { timezone: zone, paused: true, fixedTimeRule: "no-wildcard" });
    let best = Infinity;
    let result;
    for (let i = 0; i < 2; i++) {  // best of two: the first pass warms the JIT
      const t0 = process.hrtime.bigint();
      result = walk(job);
      best = Math.min(best, Number(process.hrtime.bigint() - t0));
    }
    console.log(JSON.stringify({ case: c.name, zone, ns_per_fire: best / Math.max(result.done, 1),
                                 fires: result.done, last: result.last ? result.last.toISOString() : null }));
  }
}
