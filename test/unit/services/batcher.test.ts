import { AbiCoder, toBeHex, zeroPadValue } from "ethers";
import { describe, expect, it } from "vitest";
import { MarketBatcher } from "../../../services/runtime/chain/batcher.js";
import { MARKET_ADDRESS, marketInterface } from "../../../services/runtime/chain/market.js";
import type { TxIntent, TxOutcome } from "../../../services/runtime/chain/txManager.js";
import { TxError, TxErrorCode } from "../../../services/runtime/errors.js";

/** A TxManager stand-in: records intents; each send resolves when the test mines it. */
class FakeTxm {
  sent: TxIntent[] = [];
  private waiting: ((o: TxOutcome) => void)[] = [];
  send(intent: TxIntent): Promise<TxOutcome> {
    this.sent.push(intent);
    return new Promise((r) => this.waiting.push(r));
  }
  mine(logs: TxOutcome["logs"]): void {
    const r = this.waiting.shift();
    if (r === undefined) throw new Error("nothing in flight");
    r({ seq: this.sent.length, hash: `0x${"ab".repeat(32)}`, status: "mined", block: 1, gasUsed: 1n, logs });
  }
}

const topic = (name: string) => marketInterface.getEvent(name)?.topicHash as string;
const idTopic = (id: bigint) => zeroPadValue(toBeHex(id), 32);
const claimed = (id: bigint) => ({ address: MARKET_ADDRESS, topics: [topic("JobClaimed"), idTopic(id)], data: "0x" });
const skipped = (id: bigint, errorData: string) => ({
  address: MARKET_ADDRESS,
  topics: [topic("BatchItemSkipped"), idTopic(id), zeroPadValue("0x01", 32)],
  data: AbiCoder.defaultAbiCoder().encode(["bytes"], [errorData]),
});
const tick = () => new Promise((r) => setImmediate(r));
const call = (id: bigint) => ({
  action: "claim" as const,
  id,
  args: [id],
  single: { jobId: id, role: "work" as const },
});

describe("MarketBatcher", () => {
  it("a lone call goes out at once as the single function; calls queued meanwhile go out as one claimMany", async () => {
    const txm = new FakeTxm();
    const b = new MarketBatcher(txm, 32);
    const first = b.send(call(1n));
    await tick();
    expect(txm.sent.map((s) => s.action)).toEqual(["claim"]);
    expect(txm.sent[0].jobId).toBe(1n);
    const rest = [2n, 3n, 4n].map((id) => b.send(call(id)));
    await tick();
    expect(txm.sent).toHaveLength(1); // waits for the claim in flight
    txm.mine([claimed(1n)]);
    expect((await first).logs).toHaveLength(1);
    await tick();
    await tick();
    expect(txm.sent.map((s) => s.action)).toEqual(["claim", "claimMany"]);
    expect(marketInterface.decodeFunctionData("claimMany", txm.sent[1].data)[0]).toEqual([2n, 3n, 4n]);
    expect(txm.sent[1].jobId).toBeNull();
    expect(txm.sent[1].gasLimit).toBeGreaterThan(0n);
    expect(txm.sent[1].precheck).toBe(false); // best effort: no pre-check eth_call per batch
    expect(txm.sent[0].precheck).toBeUndefined(); // a lone claim is simulated first (a lost race costs nothing)
    // job 3 lost its race: its caller gets the market's error; the others their own logs only
    const noFreeSlot = marketInterface.encodeErrorResult("JobNoFreeSlot", [3n]);
    txm.mine([claimed(2n), skipped(3n, noFreeSlot), claimed(4n)]);
    const [r2, r3, r4] = await Promise.allSettled(rest);
    expect(r2.status === "fulfilled" && r2.value.logs.map((l) => BigInt(l.topics[1]))).toEqual([2n]);
    expect(r4.status === "fulfilled" && r4.value.logs.map((l) => BigInt(l.topics[1]))).toEqual([4n]);
    expect(r3.status).toBe("rejected");
    const e = (r3 as PromiseRejectedResult).reason as TxError;
    expect(e).toBeInstanceOf(TxError);
    expect(e.type).toMatchObject({ code: TxErrorCode.BATCH_ITEM_SKIPPED, error: "JobNoFreeSlot", args: ["3"] });
  });

  it("splits a long queue into batches of maxBatch; with maxBatch 1 every call is a single transaction", async () => {
    const txm = new FakeTxm();
    const b = new MarketBatcher(txm, 2);
    void b.send(call(1n));
    await tick();
    for (const id of [2n, 3n, 4n]) void b.send(call(id));
    txm.mine([claimed(1n)]);
    await tick();
    await tick();
    expect(marketInterface.decodeFunctionData("claimMany", txm.sent[1].data)[0]).toEqual([2n, 3n]);
    txm.mine([claimed(2n), claimed(3n)]);
    await tick();
    await tick();
    expect(txm.sent[2].action).toBe("claim");
    expect(() => new MarketBatcher(txm, 65)).toThrow(RangeError);
  });

  it("a failed batch transaction fails every call in it", async () => {
    const txm = new FakeTxm();
    const b = new MarketBatcher(
      {
        send: (i: TxIntent) => (i.action === "claimMany" ? Promise.reject(new Error("node down")) : txm.send(i)),
      },
      8,
    );
    void b.send(call(1n));
    await tick();
    const rest = [b.send(call(2n)), b.send(call(3n))];
    txm.mine([claimed(1n)]);
    const out = await Promise.allSettled(rest);
    expect(out.map((o) => o.status)).toEqual(["rejected", "rejected"]);
  });
});
