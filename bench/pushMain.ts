// `npm run bench:push [-- --clients N --messages M --rate R --burst B --out FILE]`: the push bench alone.
import { pushBench, pushTable } from "./push.js";
import { benchMain, numberFlag } from "./script.js";

await benchMain({
  help: `Usage: npm run bench:push -- [--clients N] [--messages M] [--rate R] [--burst B] [--out FILE]
Azora Push (azora push serve) against a bare ws broadcast server: fan-out latency p50/p99 to N connected
clients, deliveries/s for a burst, messages/s published to personal channels (see bench/push.ts).
  --clients N   connected WebSocket clients on one topic (default 1000)
  --messages M  messages published at a steady rate for the latency figure (default 100)
  --rate R      messages per second for that (default 20)
  --burst B     messages published at once for the throughput figure (default 100)
  --out FILE    JSON result (default bench/results/push-latest.json)`,
  flags: ["clients", "messages", "rate", "burst"],
  out: "bench/results/push-latest.json",
  run: (f, log) =>
    pushBench({
      clients: numberFlag(f.clients),
      messages: numberFlag(f.messages),
      rateHz: numberFlag(f.rate),
      burst: numberFlag(f.burst),
      log,
    }),
  heading: (r) => `${r.date}, ${r.machine}, load average ${r.loadAverage.join(" ")}`,
  table: pushTable,
});
