import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { heapOwners, type SnapshotGraphJson } from "../../../bench/heapOwners.js";

const dir = mkdtempSync(join(tmpdir(), "heap-owners-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A real V8 snapshot of a small Node process: an `OwnerProbe` whose `rows` field holds 2,000 arrays of 1,000
 * numbers (~16 MB, through a plain Array: charged to the probe) and one of 100,000 (800 KB) that a global
 * also reaches (so the probe does not dominate it).
 */
function probeSnapshot(): SnapshotGraphJson {
  const file = join(dir, "p.heapsnapshot");
  const script = `
    const v8 = require("node:v8");
    class OwnerProbe { constructor() { this.rows = []; for (let i = 0; i < 2000; i++) this.rows.push(new Array(1000).fill(i + 0.5)); } }
    globalThis.probe = new OwnerProbe();
    globalThis.shared = new Array(100000).fill(0.5);
    globalThis.probe.rows.push(globalThis.shared);
    v8.writeHeapSnapshot(${JSON.stringify(file)});
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(file, "utf8")) as SnapshotGraphJson;
}

describe("heap owners (dominator tree)", () => {
  const snap = probeSnapshot();
  const r = heapOwners(snap);
  const nf = snap.snapshot.meta.node_fields.length;
  const nameAt = snap.snapshot.meta.node_fields.indexOf("name");
  const typeAt = snap.snapshot.meta.node_fields.indexOf("type");
  const objectType = (snap.snapshot.meta.node_types[typeAt] as string[]).indexOf("object");
  /** The one instance (type "object", not its class's closure) of `name`. */
  const indexOf = (name: string) => {
    for (let v = 0; v * nf < snap.nodes.length; v++)
      if (snap.nodes[v * nf + typeAt] === objectType && snap.strings[snap.nodes[v * nf + nameAt]] === name) return v;
    return -1;
  };

  it("charges the arrays under a field to their owner, by the field's name", () => {
    const rows = r.owners.find((o) => o.owner === "OwnerProbe.rows");
    // The 2,000 arrays of 1,000 doubles (8 bytes each) are the probe's alone; the 800 KB one is not.
    expect(rows?.bytes).toBeGreaterThan(2000 * 8000);
    expect(rows?.bytes).toBeLessThan(2000 * 8100);
    expect(r.owners[0].owner).toBe("OwnerProbe.rows");
  });

  it("retains what only the owner reaches, not what is also reachable from elsewhere", () => {
    const probe = indexOf("OwnerProbe");
    expect(r.retainedBytes(probe)).toBeGreaterThan(2000 * 8000);
    expect(r.retainedBytes(probe)).toBeLessThan(2000 * 8100);
    expect(r.totalBytes).toBeLessThan(2000 * 8000 + 20_000_000);
  });
});
