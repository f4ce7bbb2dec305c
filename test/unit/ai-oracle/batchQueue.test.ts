import { describe, expect, it } from "vitest";
import { BatchQueue } from "../../../ai-oracle/engine/batchQueue.js";
import { AIError, AIErrorCode } from "../../../ai-oracle/errors.js";

function deferred() {
  let release!: () => void;
  const p = new Promise<void>((r) => {
    release = r;
  });
  return { p, release };
}

describe("BatchQueue", () => {
  it("runs the first request alone and batches those that arrive while it runs", async () => {
    const gate = deferred();
    const seen: number[][] = [];
    const q = new BatchQueue<number, number>({
      name: "t",
      maxBatch: 3,
      maxQueue: 10,
      run: async (items) => {
        seen.push(items);
        if (seen.length === 1) await gate.p;
        return items.map((x) => x * 10);
      },
    });
    const results = [1, 2, 3, 4, 5].map((x) => q.push(x));
    gate.release();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
    expect(seen).toEqual([[1], [2, 3, 4], [5]]);
    expect(q.batchSizes).toEqual([1, 3, 1]);
  });

  it("batches only items with the same key, keeping arrival order per key", async () => {
    const gate = deferred();
    const seen: string[][] = [];
    const q = new BatchQueue<string, string>({
      name: "t",
      maxBatch: 8,
      maxQueue: 10,
      key: (s) => s[0],
      run: async (items) => {
        seen.push(items);
        if (seen.length === 1) await gate.p;
        return items;
      },
    });
    const all = ["a0", "a1", "b1", "a2", "b2"].map((s) => q.push(s));
    gate.release();
    await Promise.all(all);
    expect(seen).toEqual([["a0"], ["a1", "a2"], ["b1", "b2"]]);
  });

  it("refuses beyond maxQueue with AI_QUEUE_FULL and fails per item without stopping", async () => {
    const gate = deferred();
    const q = new BatchQueue<number, number>({
      name: "m",
      maxBatch: 1,
      maxQueue: 2,
      run: async ([x]) => {
        await gate.p;
        return [x === 2 ? new Error("bad item") : x];
      },
    });
    const running = q.push(1);
    const a = q.push(2);
    const b = q.push(3);
    const refused = await q.push(4).catch((e) => e);
    expect(refused).toBeInstanceOf(AIError);
    expect((refused as AIError).code).toBe(AIErrorCode.QUEUE_FULL);
    gate.release();
    expect(await running).toBe(1);
    await expect(a).rejects.toThrow("bad item");
    expect(await b).toBe(3);
  });

  it("close() fails waiting requests with AI_CLOSED", async () => {
    const gate = deferred();
    const q = new BatchQueue<number, number>({
      name: "c",
      maxBatch: 1,
      maxQueue: 4,
      run: async (x) => {
        await gate.p;
        return x;
      },
    });
    const first = q.push(1);
    const waiting = q.push(2);
    q.close();
    await expect(waiting).rejects.toMatchObject({ type: { code: AIErrorCode.CLOSED } });
    gate.release();
    expect(await first).toBe(1);
  });
});
