// `npm run bench:mail [-- --messages N --concurrency C --out FILE]`: the mail bench alone.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { mailBench, mailTable } from "./mail.js";

const HELP = `Usage: npm run bench:mail -- [--messages N] [--concurrency C] [--out FILE]
Azora Mail on loopback, two domains in one process (see bench/mail.ts): SMTP messages/s accepted by the MX
(with SPF, DKIM and DMARC verification and a Maildir fsync each) and delivered from the SQLite queue to a remote MX.
  --messages N     messages per figure (default 500)
  --concurrency C  SMTP connections / engine recipients in flight (default 8)
  --out FILE       JSON result (default bench/results/mail-latest.json)`;

const { values } = parseArgs({
  options: {
    messages: { type: "string" },
    concurrency: { type: "string" },
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const result = await mailBench({
  messages: num(values.messages),
  concurrency: num(values.concurrency),
  log: (l) => console.log(l),
});
console.log(`\n${result.date}, ${result.machine}, load average ${result.loadAverage.join(" ")}\n`);
console.log(mailTable(result));
const out = resolve(values.out ?? "bench/results/mail-latest.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${out}`);
process.exit(0);
