// `npm run bench:push [-- --clients N --messages M --rate R --burst B --out FILE]`: the push bench alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pushBench, pushTable } from "./push.js";

const HELP = `Usage: npm run bench:push -- [--clients N] [--messages M] [--rate R] [--burst B] [--out FILE]
Azora Push (azora push serve) against a bare ws broadcast server: fan-out latency p50/p99 to N connected
clients, deliveries/s for a burst, messages/s published to personal channels (see bench/push.ts).
  --clients N   connected WebSocket clients on one topic (default 1000)
  --messages M  messages published at a steady rate for the latency figure (default 100)
  --rate R      messages per second for that (default 20)
  --burst B     messages published at once for the throughput figure (default 100)
  --out FILE    JSON result (default bench/results/push-latest.json)`;

const { values } = parseArgs({
  options: {
    clients: { type: "string" },
    messages: { type: "string" },
    rate: { type: "string" },
    burst: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const result = await pushBench({
  clients: num(values.clients),
  messages: num(values.messages),
  rateHz: num(values.rate),
  burst: num(values.burst),
  log: (l) => console.log(l),
});
console.log(`\n${result.date}, ${result.machine}, load average ${result.loadAverage.join(" ")}\n`);
console.log(pushTable(result));
const out = resolve(values.out ?? "bench/results/push-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
