// What every bench script shares: its Markdown tables, its JSON result, and the whole shell of a standalone
// `npm run bench:<x>` script (flags, --help, heading, table, JSON). Imports nothing of the benches themselves.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "./args.js";

/** A Markdown table padded to its widest cells: the first column left-aligned, the others (figures) right-aligned. */
export function markdownTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ")} |`;
  const sep = `|${widths.map((w, c) => (c === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

/** Writes `value` as indented JSON, creating the directory; returns the absolute path written. */
export function writeJSON(file: string, value: unknown): string {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/** `--name N` as a number; unset (or empty) is undefined, so the bench's own default applies. */
export function numberFlag(v: string | undefined): number | undefined {
  return v === undefined || v === "" ? undefined : Number(v);
}

export interface StandaloneBench<F extends string, R> {
  /** Printed for -h / --help. */
  help: string;
  /** The bench's value flags (`--name value`); --out and --help are added. */
  flags: readonly F[];
  /** Default of --out. */
  out: string;
  run(flags: Partial<Record<F, string>>, log: (line: string) => void): Promise<R>;
  /** The line above the table: date, machine, load. */
  heading(result: R): string;
  /** The table (and any lines after it). */
  table(result: R): string;
}

/**
 * The whole of a standalone bench script: parse flags (or print --help), run, print the heading and the table,
 * write the JSON result to --out, and exit (a bench may leave sockets or timers behind once its result is written).
 */
export async function benchMain<F extends string, R>(b: StandaloneBench<F, R>): Promise<never> {
  const options: Record<string, { type: "string" } | { type: "boolean"; short: "h" }> = {
    out: { type: "string" },
    help: { type: "boolean", short: "h" },
  };
  for (const f of b.flags) options[f] = { type: "string" };
  let result: R;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ options }));
    if (values.help === true) {
      console.log(b.help);
      process.exit(0);
    }
    const flags = Object.fromEntries(b.flags.map((f) => [f, values[f]])) as Partial<Record<F, string>>;
    result = await b.run(flags, (l) => console.log(l));
  } catch (e) {
    // A bad flag is the user's to fix: its message and the usage, not a stack trace.
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof UsageError) && !(typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) throw e;
    console.error(`${(e as Error).message}\n\n${b.help}`);
    process.exit(2);
  }
  console.log(`\n${b.heading(result)}\n`);
  console.log(b.table(result));
  console.log(`written ${writeJSON((values.out as string | undefined) ?? b.out, result)}`);
  process.exit(0);
}
