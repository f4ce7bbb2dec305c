import { describe, expect, it } from "vitest";
import { FairQueue } from "../../../../rpc/fairQueue.js";

describe("FairQueue: waiting simulations served round-robin by client", () => {
  it("a client's backlog does not delay another client's next item by more than one turn", () => {
    const q = new FairQueue<string>();
    for (let i = 0; i < 5; i++) q.push("flood", `f${i}`);
    q.push("quiet", "q0");
    q.push("quiet", "q1");
    expect(q.size).toBe(7);
    expect(q.sizeOf("flood")).toBe(5);
    expect([q.shift(), q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(["f0", "q0", "f1", "q1", "f2"]);
    expect(q.remove("flood", "f4")).toBe(true);
    expect(q.remove("flood", "f4")).toBe(false);
    expect(q.drain()).toEqual(["f3"]);
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});
