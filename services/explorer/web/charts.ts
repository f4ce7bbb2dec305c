/**
 * Home's charts as inline SVG built with the DOM (no library, no inline styles: colours come from style.css
 * classes, so the page's CSP `style-src 'self'` holds): one line per series over the last blocks, with its latest
 * value, mean and max as text for screen readers and for reading exact numbers.
 */
import type { BlockStat } from "./api.js";
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 300;
const H = 80;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

export interface Series {
  id: string;
  title: string;
  unit: string;
  /** One value per block (null where unknown), oldest first. */
  values: (number | null)[];
  /** How to print a value. */
  fmt: (v: number) => string;
}

/** The polyline's points for `values` scaled into W×H (null values break nothing: they are skipped). */
export function points(values: (number | null)[], max: number): string {
  const n = values.length;
  const out: string[] = [];
  values.forEach((v, i) => {
    if (v === null) return;
    const x = n <= 1 ? 0 : (i / (n - 1)) * W;
    const y = H - (max <= 0 ? 0 : (v / max) * (H - 4)) - 2;
    out.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  return out.join(" ");
}

export function chart(s: Series): HTMLElement {
  const known = s.values.filter((v): v is number => v !== null);
  const max = known.length === 0 ? 0 : Math.max(...known);
  const mean = known.length === 0 ? 0 : known.reduce((a, b) => a + b, 0) / known.length;
  const last = known.at(-1);
  const summary =
    known.length === 0 ? "no data yet" : `latest ${s.fmt(last ?? 0)} ${s.unit}, mean ${s.fmt(mean)}, max ${s.fmt(max)}`;
  const g = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-labelledby": `${s.id}-t`,
    class: "chart-svg",
  });
  const title = svg("title", { id: `${s.id}-t` });
  title.textContent = `${s.title}: ${summary}`;
  g.append(title, svg("line", { x1: "0", y1: String(H - 1), x2: String(W), y2: String(H - 1), class: "axis" }));
  if (known.length > 0) g.append(svg("polyline", { points: points(s.values, max), class: "line", fill: "none" }));
  return h(
    "figure",
    { class: "chart", id: s.id, "data-points": String(known.length) },
    h("figcaption", {}, h("strong", {}, s.title), " ", h("span", { class: "muted small" }, summary)),
    g,
  );
}

/** The four home charts from `/v1/stats/blocks`. */
export function blockCharts(stats: BlockStat[]): HTMLElement[] {
  const fixed = (d: number) => (v: number) => v.toFixed(d);
  return [
    chart({
      id: "chart-tps",
      title: "Transactions per second",
      unit: "tx/s",
      values: stats.map((b) => (b.intervalS === null ? null : b.txCount / Math.max(1, b.intervalS))),
      fmt: fixed(2),
    }),
    chart({
      id: "chart-gas",
      title: "Gas used per block",
      unit: "gas",
      values: stats.map((b) => Number(b.gasUsed)),
      fmt: (v) => Math.round(v).toLocaleString("en-US"),
    }),
    chart({
      id: "chart-interval",
      title: "Block interval (final at commit)",
      unit: "s",
      values: stats.map((b) => b.intervalS),
      fmt: fixed(1),
    }),
    chart({
      id: "chart-lag",
      title: "Indexer lag behind block time",
      unit: "s",
      values: stats.map((b) => (b.lagMs === null ? null : b.lagMs / 1000)),
      fmt: fixed(1),
    }),
  ];
}
