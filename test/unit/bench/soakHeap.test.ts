import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { constructorTotals, growthBetween, type HeapSnapshotJson, slope } from "../../../bench/soakHeap.js";

const dir = mkdtempSync(join(tmpdir(), "soak-heap-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two real V8 snapshots of a small Node process, 5,000 `SoakProbe`s (each holding a 64-byte array) kept between. */
function probeSnapshots(): [HeapSnapshotJson, HeapSnapshotJson] {
  const script = `
    const v8 = require("node:v8");
    class SoakProbe { constructor(i) { this.i = i; this.bytes = new Uint8Array(64); } }
    globalThis.kept = [];
    v8.writeHeapSnapshot(${JSON.stringify(join(dir, "a.heapsnapshot"))});
    for (let i = 0; i < 5000; i++) globalThis.kept.push(new SoakProbe(i));
    v8.writeHeapSnapshot(${JSON.stringify(join(dir, "b.heapsnapshot"))});
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const read = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8")) as HeapSnapshotJson;
  return [read("a.heapsnapshot"), read("b.heapsnapshot")];
}

describe("soak heap-snapshot diff", () => {
  it("finds the constructor whose instances were kept, with their exact count", () => {
    const [a, b] = probeSnapshots();
    const before = constructorTotals(a);
    const after = constructorTotals(b);
    expect(before.get("SoakProbe")).toBeUndefined();
    expect(after.get("SoakProbe")?.count).toBe(5000);
    const top = growthBetween(before, after, 10);
    const probe = top.find((g) => g.name === "SoakProbe");
    expect(probe?.countDelta).toBe(5000);
    expect(probe?.selfBytesDelta).toBeGreaterThan(0);
    // The typed arrays they hold grew by at least as many.
    expect(top.find((g) => g.name === "Uint8Array")?.countDelta).toBeGreaterThanOrEqual(5000);
    // Largest growth first.
    for (let i = 1; i < top.length; i++)
      expect(top[i - 1].selfBytesDelta).toBeGreaterThanOrEqual(top[i].selfBytesDelta);
  });

  it("reports shrinking and vanished constructors with negative deltas", () => {
    const before = new Map([
      ["Gone", { count: 3, selfBytes: 300 }],
      ["Same", { count: 1, selfBytes: 10 }],
    ]);
    const after = new Map([
      ["Same", { count: 1, selfBytes: 10 }],
      ["New", { count: 2, selfBytes: 50 }],
    ]);
    expect(growthBetween(before, after, 10)).toEqual([
      { name: "New", countDelta: 2, selfBytesDelta: 50, selfBytesAfter: 50 },
      { name: "Same", countDelta: 0, selfBytesDelta: 0, selfBytesAfter: 10 },
      { name: "Gone", countDelta: -3, selfBytesDelta: -300, selfBytesAfter: 0 },
    ]);
  });
});

describe("slope", () => {
  it("is the least-squares slope, not the end points' difference", () => {
    expect(slope([0, 1, 2, 3, 4].map((x) => ({ x, y: 3 * x + 7 })))).toBeCloseTo(3, 12);
    // A sawtooth (GC cycles) on a flat level: the end points differ, the fit is flat.
    const saw = Array.from({ length: 40 }, (_, x) => ({ x, y: 100 + (x % 4) * 10 }));
    expect(saw[saw.length - 1].y - saw[0].y).toBe(30);
    expect(Math.abs(slope(saw) ?? 1)).toBeLessThan(0.1);
  });

  it("is null without two distinct x", () => {
    expect(slope([])).toBeNull();
    expect(slope([{ x: 1, y: 1 }])).toBeNull();
    expect(
      slope([
        { x: 1, y: 1 },
        { x: 1, y: 5 },
      ]),
    ).toBeNull();
  });
});
