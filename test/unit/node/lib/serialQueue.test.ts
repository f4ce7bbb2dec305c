import { describe, expect, it } from "vitest";
import { SerialQueue } from "../../../../node/lib/serialQueue.js";

describe("SerialQueue", () => {
  it("starts a task inside the call when none is pending, else after the ones before it settle", async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    let releaseA = () => {};
    const a = q.run(async () => {
      log.push("a start");
      await new Promise<void>((r) => {
        releaseA = r;
      });
      log.push("a end");
      return "a";
    });
    expect(log).toEqual(["a start"]); // synchronously, inside run()
    const b = q.run(() => {
      log.push("b");
      throw new Error("b failed");
    });
    const c = q.run(() => {
      log.push("c");
      return "c";
    });
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(log).toEqual(["a start"]);
    releaseA();
    expect(await a).toBe("a");
    await expect(b).rejects.toThrow("b failed"); // its own promise only: the queue goes on
    expect(await c).toBe("c");
    expect(log).toEqual(["a start", "a end", "b", "c"]);
    // Idle again: the next task runs inside the call; a synchronous throw becomes a rejection.
    let ran = false;
    const d = q.run(() => {
      ran = true;
      throw new Error("d failed");
    });
    expect(ran).toBe(true);
    await expect(d).rejects.toThrow("d failed");
  });
});
