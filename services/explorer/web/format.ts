/** Pure formatting for the UI (no DOM): amounts in units, short hashes, ages. */

/** `value` (a decimal integer string in base units) with `decimals` places, trailing zeros trimmed. */
export function formatUnits(value: string, decimals: number): string {
  const v = BigInt(value);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const frac = (abs % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  const s = `${whole.toLocaleString("en-US")}${frac === "" ? "" : `.${frac}`}`;
  return neg ? `-${s}` : s;
}

export const azr = (wei: string) => `${formatUnits(wei, 18)} AZR`;

export const short = (hex: string, keep = 8) =>
  hex.length <= keep * 2 + 2 ? hex : `${hex.slice(0, keep + 2)}…${hex.slice(-keep)}`;

export function age(unixSeconds: number, nowMs: number): string {
  const s = Math.max(0, Math.round(nowMs / 1000 - unixSeconds));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** What a search string names: a block (number), a transaction or block hash, an address — or nothing. */
export type SearchTarget =
  | { kind: "block"; ref: string }
  | { kind: "hash"; hash: string }
  | { kind: "address"; address: string }
  | null;

export function classify(input: string): SearchTarget {
  const q = input.trim();
  if (/^[0-9]{1,15}$/.test(q)) return { kind: "block", ref: String(Number(q)) };
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return { kind: "hash", hash: q.toLowerCase() };
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return { kind: "address", address: q.toLowerCase() };
  return null;
}

/** A decoded argument as text (ethers gives bigints as decimal strings, tuples as arrays). */
export function argText(v: unknown): string {
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
