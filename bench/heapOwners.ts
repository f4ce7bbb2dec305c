// Who holds a V8 heap: a .heapsnapshot's dominator tree (retained sizes) and its bytes grouped by owner — the
// nearest dominating object of a specific class (not a plain Object, Array, Map, typed array, closure or V8
// internal), keyed with the field through which the bytes hang ("NodeBackend.headCalls"). Pure: the caller reads
// and parses the file (bench/heapOwnersMain.ts). Weak and shortcut edges do not retain, as in DevTools.

/** The parts of a parsed .heapsnapshot this module reads (V8's format, as DevTools writes it). */
export interface SnapshotGraphJson {
  snapshot: {
    meta: { node_fields: string[]; node_types: unknown[]; edge_fields: string[]; edge_types: unknown[] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapOwners {
  /** Bytes reachable from the root through strong edges (the root's retained size). */
  totalBytes: number;
  /** Objects reachable from the root. */
  objects: number;
  /** Self bytes by owner ("Class.field", "(root)" for what no specific object dominates), largest first. */
  owners: { owner: string; bytes: number }[];
  /** Retained bytes of every reachable object, by snapshot node index (0 for unreachable ones). */
  retainedBytes(nodeIndex: number): number;
  /** The immediate dominator's node index (-1 for the root and unreachable objects). */
  dominatorOf(nodeIndex: number): number;
}

/** Classes that own nothing themselves: containers and V8 internals are charged to what dominates them. */
const GENERIC =
  /^(Object|Array|Map|Set|WeakMap|Uint8Array|ArrayBuffer|Promise|OrderedMap|LRU|ByteLRU|system \/ .*|closure.*|\(.*)$/;

function field(fields: string[], name: string): number {
  const i = fields.indexOf(name);
  if (i < 0) throw new Error(`heap snapshot: fields lack "${name}"`);
  return i;
}

function names(types: unknown[], at: number): string[] {
  const t = types[at];
  if (!Array.isArray(t)) throw new Error("heap snapshot: the type field's types are not a list of names");
  return t.map(String);
}

/** Dominators (Cooper, Harvey and Kennedy's iteration over a DFS postorder), retained sizes and the owner table. */
export function heapOwners(snap: SnapshotGraphJson): HeapOwners {
  const m = snap.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [nType, nName, nSize, nEdges] = ["type", "name", "self_size", "edge_count"].map((f) => field(m.node_fields, f));
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => field(m.edge_fields, f));
  const nodeTypes = names(m.node_types, nType);
  const edgeTypes = names(m.edge_types, eType);
  const { nodes, edges, strings } = snap;
  const n = nodes.length / nf;
  const weak = edgeTypes.indexOf("weak");
  const shortcut = edgeTypes.indexOf("shortcut");
  const indexed = new Set([edgeTypes.indexOf("element"), edgeTypes.indexOf("hidden")]);
  const strong = (e: number) => edges[e * ef + eType] !== weak && edges[e * ef + eType] !== shortcut;
  const target = (e: number) => edges[e * ef + eTo] / nf;
  const size = (v: number) => nodes[v * nf + nSize];
  const first = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) first[v + 1] = first[v] + nodes[v * nf + nEdges];

  // Iterative DFS from the root (node 0): postorder numbers, and the edge each object was first reached by.
  const post = new Int32Array(n).fill(-1);
  const order: number[] = [];
  const viaEdge = new Int32Array(n).fill(-1);
  const parent = new Int32Array(n).fill(-1);
  const seen = new Uint8Array(n);
  const stack = [0];
  const next = Uint32Array.from(first.subarray(0, n));
  seen[0] = 1;
  while (stack.length > 0) {
    const v = stack[stack.length - 1];
    if (next[v] < first[v + 1]) {
      const e = next[v]++;
      const w = target(e);
      if (!strong(e) || seen[w]) continue;
      seen[w] = 1;
      viaEdge[w] = e;
      parent[w] = v;
      stack.push(w);
    } else {
      stack.pop();
      post[v] = order.length;
      order.push(v);
    }
  }
  const count = order.length;
  // Predecessors by postorder number, strong edges between reachable objects only.
  const predStart = new Uint32Array(count + 1);
  for (const v of order) for (let e = first[v]; e < first[v + 1]; e++) if (strong(e)) predStart[post[target(e)] + 1]++;
  for (let k = 0; k < count; k++) predStart[k + 1] += predStart[k];
  const preds = new Uint32Array(predStart[count]);
  const fill = predStart.slice(0, count);
  for (const v of order)
    for (let e = first[v]; e < first[v + 1]; e++) if (strong(e)) preds[fill[post[target(e)]]++] = post[v];

  const root = count - 1;
  const idom = new Int32Array(count).fill(-1);
  idom[root] = root;
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = root - 1; k >= 0; k--) {
      let d = -1;
      for (let p = predStart[k]; p < predStart[k + 1]; p++) {
        let a = preds[p];
        if (idom[a] === -1) continue;
        let b = d === -1 ? a : d;
        while (a !== b) {
          while (a < b) a = idom[a];
          while (b < a) b = idom[b];
        }
        d = a;
      }
      if (idom[k] !== d) {
        idom[k] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (let k = 0; k < count; k++) retained[k] += size(order[k]);
  for (let k = 0; k < root; k++) retained[idom[k]] += retained[k];

  const className = (v: number): string => {
    const type = nodeTypes[nodes[v * nf + nType]];
    const name = strings[nodes[v * nf + nName]];
    if (type === "object" || type === "native") return name;
    if (type === "closure") return `closure ${name}`;
    return `(${type})`;
  };
  const edgeName = (e: number): string =>
    indexed.has(edges[e * ef + eType]) ? `[${edges[e * ef + eName]}]` : strings[edges[e * ef + eName]];
  // Owner of each object: its nearest specific dominator (itself if specific), and the object just below it on
  // the dominator chain, whose first edge names the owner's field. Dominators come later in postorder.
  const generic = new Uint8Array(count);
  for (let k = 0; k < count; k++) generic[k] = k === root || GENERIC.test(className(order[k])) ? 1 : 0;
  const owner = new Int32Array(count).fill(-1);
  const below = new Int32Array(count).fill(-1);
  const bytes = new Map<string, number>();
  for (let k = root - 1; k >= 0; k--) {
    const d = idom[k];
    if (generic[d]) {
      owner[k] = owner[d];
      below[k] = below[d];
    } else {
      owner[k] = d;
      below[k] = k;
    }
    const o = generic[k] ? owner[k] : k;
    let key = o < 0 ? "(root)" : className(order[o]);
    if (o >= 0 && o !== k) {
      const b = order[below[k]];
      key += `.${parent[b] === order[o] ? edgeName(viaEdge[b]) : "?"}`;
    }
    bytes.set(key, (bytes.get(key) ?? 0) + size(order[k]));
  }
  return {
    totalBytes: retained[root],
    objects: count,
    owners: [...bytes].map(([o, b]) => ({ owner: o, bytes: b })).sort((x, y) => y.bytes - x.bytes),
    retainedBytes: (v) => (post[v] < 0 ? 0 : retained[post[v]]),
    dominatorOf: (v) => (post[v] < 0 || post[v] === root ? -1 : order[idom[post[v]]]),
  };
}
