/**
 * The banner a long-running command prints on stdout once it is up: a title, then one aligned `label  value` row
 * per endpoint. Operators read it; e2e tests find URLs in it with `<label>\s+<url>`, so labels stay stable.
 */
export function printBanner(title: string, rows: ReadonlyArray<readonly [label: string, value: string]>): void {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = ["", `  ${title}`, "", ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`), ""];
  process.stdout.write(`${lines.join("\n")}\n`);
}
