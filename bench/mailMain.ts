// `npm run bench:mail [-- --messages N --concurrency C --out FILE]`: the mail bench alone.
import { mailBench, mailTable } from "./mail.js";
import { benchMain, numberFlag } from "./script.js";

await benchMain({
  help: `Usage: npm run bench:mail -- [--messages N] [--concurrency C] [--out FILE]
Azora Mail on loopback, two domains in one process (see bench/mail.ts): SMTP messages/s accepted by the MX
(with SPF, DKIM and DMARC verification and a Maildir fsync each) and delivered from the SQLite queue to a remote MX.
  --messages N     messages per figure (default 500)
  --concurrency C  SMTP connections / engine recipients in flight (default 8)
  --out FILE       JSON result (default bench/results/mail-latest.json)`,
  flags: ["messages", "concurrency"],
  out: "bench/results/mail-latest.json",
  run: (f, log) => mailBench({ messages: numberFlag(f.messages), concurrency: numberFlag(f.concurrency), log }),
  heading: (r) => `${r.date}, ${r.machine}, load average ${r.loadAverage.join(" ")}`,
  table: mailTable,
});
