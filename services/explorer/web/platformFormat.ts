/** Pure formatting for the platform pages (no DOM): times, basis points, exact shares of 256-bit stakes. */

export const when = (unixSeconds: number) =>
  unixSeconds === 0 ? "—" : new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");

export const bps = (n: number | string) =>
  `${(Number(n) / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })} %`;

/** `part / whole` as a percentage with two decimals, from decimal wei strings (exact: bigint arithmetic). */
export function percent(part: string, whole: string): string {
  const w = BigInt(whole);
  if (w === 0n) return "0 %";
  const hundredths = (BigInt(part) * 10_000n) / w;
  return `${(Number(hundredths) / 100).toLocaleString("en-US", { maximumFractionDigits: 2 })} %`;
}
