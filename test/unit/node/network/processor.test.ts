import { TopicValidatorResult } from "@libp2p/gossipsub";
import { describe, expect, it } from "vitest";
import { GossipAction, GossipActionError, GossipErrorCode } from "../../../../node/network/index.js";
import { resolveTopicLimits } from "../../../../node/network/options.js";
import { GossipQueue } from "../../../../node/network/processor/gossipQueue.js";
import { GossipProcessor } from "../../../../node/network/processor/processor.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";
import { deferred, RecordingMetrics, waitFor } from "./fixtures.js";

function processor(overrides: Parameters<typeof resolveTopicLimits>[0] = {}) {
  const metrics = new RecordingMetrics();
  const p = new GossipProcessor(resolveTopicLimits(overrides), { log: nullLogger, metrics });
  return { p, metrics };
}

describe("GossipQueue", () => {
  it("bounds items and bytes, and runs at most `concurrency` jobs", async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const done: number[] = [];
    const q = new GossipQueue<number>({ maxLength: 3, maxBytes: 100, concurrency: 2 }, async (n) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
      done.push(n);
    });
    expect(q.push(1, 10)).toBe(true); // starts
    expect(q.push(2, 10)).toBe(true); // starts
    expect(q.push(3, 60)).toBe(true); // queued
    expect(q.push(4, 50)).toBe(false); // 60 + 50 > 100 bytes
    expect(q.push(5, 10)).toBe(true);
    expect(q.push(6, 10)).toBe(true);
    expect(q.push(7, 1)).toBe(false); // 3 queued
    expect(q.length).toBe(3);
    expect(q.inFlight).toBe(2);
    gate.resolve();
    await waitFor(() => done.length === 5, "all accepted jobs ran");
    expect(done.sort()).toEqual([1, 2, 3, 5, 6]);
    expect(maxRunning).toBe(2);
    expect(q.bytes).toBe(0);
  });

  it("keeps draining after a worker rejects", async () => {
    const seen: number[] = [];
    const q = new GossipQueue<number>({ maxLength: 10, maxBytes: 1000, concurrency: 1 }, async (n) => {
      seen.push(n);
      if (n === 1) throw new Error("boom");
    });
    q.push(1, 1);
    q.push(2, 1);
    await waitFor(() => seen.length === 2, "second job ran");
  });

  it("compacts its backing array under sustained load", async () => {
    let n = 0;
    const q = new GossipQueue<number>({ maxLength: 10_000, maxBytes: 1e9, concurrency: 1 }, async () => {
      n++;
    });
    for (let i = 0; i < 5000; i++) q.push(i, 1);
    await waitFor(() => n === 5000, "5000 jobs ran");
    expect(q.length).toBe(0);
  });
});

describe("GossipProcessor", () => {
  const run = (p: GossipProcessor, topic: "tx" | "vote", data: Uint8Array) =>
    new Promise<TopicValidatorResult>((resolve) => p.submit(topic, data, "peerX", resolve));

  it("returning = Accept; GossipActionError = its action; any other throw = Ignore (not the peer's fault)", async () => {
    const { p, metrics } = processor();
    p.setHandler("tx", async (data) => {
      if (data[0] === 1) throw new GossipActionError(GossipAction.REJECT, { code: "TX_BAD_SIG", reason: "sig" });
      if (data[0] === 2) throw new GossipActionError(GossipAction.IGNORE, { code: "TX_KNOWN", reason: "known" });
      if (data[0] === 3) throw new TypeError("bug");
    });
    expect(await run(p, "tx", new Uint8Array([0]))).toBe(TopicValidatorResult.Accept);
    expect(await run(p, "tx", new Uint8Array([1]))).toBe(TopicValidatorResult.Reject);
    expect(await run(p, "tx", new Uint8Array([2]))).toBe(TopicValidatorResult.Ignore);
    expect(await run(p, "tx", new Uint8Array([3]))).toBe(TopicValidatorResult.Ignore);
    expect(metrics.outcomes).toEqual([
      { topic: "tx", action: GossipAction.ACCEPT, code: null },
      { topic: "tx", action: GossipAction.REJECT, code: "TX_BAD_SIG" },
      { topic: "tx", action: GossipAction.IGNORE, code: "TX_KNOWN" },
      { topic: "tx", action: GossipAction.IGNORE, code: GossipErrorCode.HANDLER_ERROR },
    ]);
  });

  it("GOSSIP_ERROR_OVERSIZE: rejects above the topic cap without calling the handler", async () => {
    const { p, metrics } = processor({ vote: { maxMessageBytes: 8 } });
    let calls = 0;
    p.setHandler("vote", async () => {
      calls++;
    });
    expect(await run(p, "vote", new Uint8Array(9))).toBe(TopicValidatorResult.Reject);
    expect(await run(p, "vote", new Uint8Array(8))).toBe(TopicValidatorResult.Accept);
    expect(calls).toBe(1);
    expect(metrics.count("vote", GossipAction.REJECT, GossipErrorCode.OVERSIZE)).toBe(1);
  });

  it("GOSSIP_ERROR_NO_HANDLER: ignores topics nobody handles", async () => {
    const { p } = processor();
    expect(await run(p, "vote", new Uint8Array(1))).toBe(TopicValidatorResult.Ignore);
  });

  it("GOSSIP_ERROR_QUEUE_FULL: a flood is dropped as Ignore and counted, memory stays bounded", async () => {
    const { p, metrics } = processor({ tx: { maxQueueLength: 4, concurrency: 1 } });
    const gate = deferred();
    let handled = 0;
    p.setHandler("tx", async () => {
      await gate.promise;
      handled++;
    });
    const results: Promise<TopicValidatorResult>[] = [];
    for (let i = 0; i < 1000; i++) results.push(run(p, "tx", new Uint8Array([i & 0xff])));
    expect(p.queueLength("tx")).toBe(4);
    expect(metrics.drops).toHaveLength(1000 - 5); // 1 running + 4 queued
    gate.resolve();
    const all = await Promise.all(results);
    expect(handled).toBe(5);
    expect(all.filter((r) => r === TopicValidatorResult.Accept)).toHaveLength(5);
    expect(metrics.count("tx", GossipAction.IGNORE, GossipErrorCode.QUEUE_FULL)).toBe(995);
  });

  it("GOSSIP_ERROR_SHUTDOWN: stop() answers everything queued with Ignore", async () => {
    const { p } = processor({ tx: { concurrency: 1 } });
    const gate = deferred();
    p.setHandler("tx", () => gate.promise);
    const first = run(p, "tx", new Uint8Array([1]));
    const queued = run(p, "tx", new Uint8Array([2]));
    p.stop();
    expect(await queued).toBe(TopicValidatorResult.Ignore);
    expect(await run(p, "tx", new Uint8Array([3]))).toBe(TopicValidatorResult.Ignore);
    gate.resolve();
    expect(await first).toBe(TopicValidatorResult.Accept);
  });
});
