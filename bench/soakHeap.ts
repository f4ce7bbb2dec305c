// Pure helpers of the soak bench: a V8 .heapsnapshot reduced to per-constructor totals, the diff of two of them,
// and the least-squares slope that decides "does memory grow". No I/O here: the caller reads the files.

/** The parts of a parsed .heapsnapshot this module reads (V8's format, as DevTools writes it). */
export interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

export interface ConstructorTotal {
  /** Objects of this constructor in the snapshot. */
  count: number;
  /** Sum of their own (shallow) sizes, bytes. */
  selfBytes: number;
}

/**
 * DevTools' grouping ("class name"): objects and native objects by their constructor's name, everything else by its
 * node type in parentheses; the string variants are one group, as in the Summary view.
 */
function className(type: string, name: string): string {
  if (type === "object" || type === "native") return name;
  if (type === "hidden") return "(system)";
  if (type === "code") return "(compiled code)";
  if (type === "string" || type === "concatenated string" || type === "sliced string") return "(string)";
  return `(${type})`;
}

/** Per-constructor count and shallow size of one snapshot. */
export function constructorTotals(snap: HeapSnapshotJson): Map<string, ConstructorTotal> {
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  if (typeAt < 0 || nameAt < 0 || sizeAt < 0) throw new Error("heap snapshot: node_fields lacks type/name/self_size");
  const typeNames = snap.snapshot.meta.node_types[typeAt];
  if (!Array.isArray(typeNames)) throw new Error("heap snapshot: node_types[type] is not a list of names");
  const out = new Map<string, ConstructorTotal>();
  const { nodes, strings } = snap;
  for (let i = 0; i + width <= nodes.length; i += width) {
    const key = className(String(typeNames[nodes[i + typeAt]]), strings[nodes[i + nameAt]]);
    const t = out.get(key);
    if (t === undefined) out.set(key, { count: 1, selfBytes: nodes[i + sizeAt] });
    else {
      t.count++;
      t.selfBytes += nodes[i + sizeAt];
    }
  }
  return out;
}

export interface ConstructorGrowth {
  name: string;
  countDelta: number;
  selfBytesDelta: number;
  /** Shallow bytes in the later snapshot. */
  selfBytesAfter: number;
}

/** Constructors by shallow-size growth from `before` to `after`, largest first (shrinking ones last). */
export function growthBetween(
  before: Map<string, ConstructorTotal>,
  after: Map<string, ConstructorTotal>,
  top: number,
): ConstructorGrowth[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  const rows: ConstructorGrowth[] = [];
  for (const name of names) {
    const a = before.get(name) ?? { count: 0, selfBytes: 0 };
    const b = after.get(name) ?? { count: 0, selfBytes: 0 };
    rows.push({
      name,
      countDelta: b.count - a.count,
      selfBytesDelta: b.selfBytes - a.selfBytes,
      selfBytesAfter: b.selfBytes,
    });
  }
  rows.sort((x, y) => y.selfBytesDelta - x.selfBytesDelta || x.name.localeCompare(y.name));
  return rows.slice(0, top);
}

/** Least-squares slope dy/dx; null with fewer than two distinct x. */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number | null {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  return sxx === 0 ? null : sxy / sxx;
}
