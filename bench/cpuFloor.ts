import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { positiveInt, readFlags, UsageError } from "./args.js";

/**
 * What the floor benches (keccakFloor.ts, recoverFloor.ts) share: their flags, CPU-timed batches over a pool of
 * distinct inputs, medians over interleaved rounds, and the JSON they print and write.
 */
export interface FloorOptions {
  rounds: number;
  /** CPU µs per timed batch. */
  budgetMicros: number;
  out?: string;
}

/** `--rounds R --ms M --out F`; null after printing `help` (for `--help`). */
export function floorOptions(argv: string[], help: string, defaultMs: number): FloorOptions | null {
  const o: FloorOptions = { rounds: 7, budgetMicros: defaultMs * 1000 };
  const ok = readFlags(argv, (flag, next) => {
    if (flag === "--rounds") o.rounds = positiveInt(flag, next(), 1000);
    else if (flag === "--ms") o.budgetMicros = positiveInt(flag, next(), 10_000) * 1000;
    else if (flag === "--out") o.out = next();
    else throw new UsageError(`unknown option ${flag}`);
  });
  if (!ok) {
    console.log(help);
    return null;
  }
  return o;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Runs `fn` over `pool` round-robin, `inner` calls between two clock reads, until `budgetMicros` of process CPU
 * are spent; CPU µs per call. Each result's first byte is folded into a sink so no call is optimised away.
 */
export function timeBatch<T>(fn: (input: T) => Uint8Array, pool: T[], budgetMicros: number, inner: number): number {
  let sink = 0;
  let n = 0;
  const start = cpuMicros();
  let spent = 0;
  while (spent < budgetMicros) {
    for (let i = 0; i < inner; i++) sink ^= fn(pool[(n + i) % pool.length])[0];
    n += inner;
    spent = cpuMicros() - start;
  }
  if (sink === 256) console.log("unreachable"); // keeps the results live
  return spent / n;
}

/** Prints the run's JSON (date, rounds, batch size, load at start and end, the table) and writes it to `out`. */
export function reportFloor(o: FloorOptions, loadBefore: number, table: unknown): void {
  const json = JSON.stringify(
    {
      date: new Date().toISOString(),
      rounds: o.rounds,
      msPerBatch: o.budgetMicros / 1000,
      load: [loadBefore, loadavg()[0]],
      table,
    },
    null,
    1,
  );
  console.log(json);
  if (o.out) writeFileSync(o.out, json);
}
