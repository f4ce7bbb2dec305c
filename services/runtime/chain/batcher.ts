/**
 * Coalesces a worker's claims, submits and accepts into the market's batch calls (`claimMany`, `submitMany`,
 * `acceptMany`), Nagle-style: while one transaction of an action is unmined, further calls of that action
 * queue; when it is mined (or at once when none is in flight) the queue goes out as one transaction. An idle
 * worker therefore sends the single functions exactly as before (no added latency), and a busy one sends one
 * transaction per action per block, whatever the number of jobs — the per-transaction cost (signature, nonce,
 * simulation, receipt, block space) is paid once per batch instead of once per job.
 *
 * Each caller gets its own view of the batch's receipt: the logs of its job only, and a TxError
 * BATCH_ITEM_SKIPPED carrying the decoded custom error when the market skipped its item (a lost claim race, a job
 * settled meanwhile), as a single call's simulation would have said WOULD_REVERT.
 */
import { toBigInt } from "ethers";
import { TxError, TxErrorCode } from "../errors.js";
import { decodeRevert, encodeMarketCall, MARKET_ADDRESS, marketInterface } from "./market.js";
import type { TxIntent, TxManager, TxOutcome } from "./txManager.js";

export type BatchAction = "claim" | "submit" | "accept";

/** The market's bound on a batch (IJobMarket: 1..64 items). */
export const MARKET_MAX_BATCH = 64;

/**
 * Gas limit per item of a batch: above what one item costs when it succeeds (measured in the ledger tests: claim
 * ~60k, submit ~75k with a 100-byte URI, accept ~150k with its LEARN mint), so a limit never depends on an
 * estimate taken while some items would have been skipped. Unused gas is not charged.
 */
export const BATCH_GAS_PER_ITEM: Record<BatchAction, bigint> = {
  claim: 120_000n,
  submit: 160_000n,
  accept: 300_000n,
};
const BATCH_GAS_BASE = 60_000n;

const MANY: Record<BatchAction, string> = { claim: "claimMany", submit: "submitMany", accept: "acceptMany" };

export interface BatchCall {
  action: BatchAction;
  id: bigint;
  /** The single function's arguments (id first). */
  args: readonly unknown[];
  /** The single call's intent fields, used when the batch holds this call alone. */
  single: Omit<TxIntent, "to" | "data" | "action">;
}

interface Queued {
  call: BatchCall;
  resolve: (o: TxOutcome) => void;
  reject: (e: unknown) => void;
}

/** The custom error a BatchItemSkipped log carries (hex), or undefined when the log does not decode. */
function skippedReason(log: { topics: string[]; data: string }): string | undefined {
  try {
    return String(marketInterface.decodeEventLog("BatchItemSkipped", log.data, log.topics).reason);
  } catch {
    return undefined;
  }
}

const SKIPPED_TOPIC = marketInterface.getEvent("BatchItemSkipped")?.topicHash as string;

export class MarketBatcher {
  private readonly queues = new Map<BatchAction, Queued[]>();
  private readonly inFlight = new Set<BatchAction>();

  constructor(
    private readonly txm: Pick<TxManager, "send">,
    private readonly maxBatch: number,
  ) {
    if (maxBatch < 1 || maxBatch > MARKET_MAX_BATCH) throw new RangeError(`maxBatch must be 1..${MARKET_MAX_BATCH}`);
  }

  send(call: BatchCall): Promise<TxOutcome> {
    return new Promise((resolve, reject) => {
      const q = this.queues.get(call.action) ?? [];
      q.push({ call, resolve, reject });
      this.queues.set(call.action, q);
      // calls made in the same turn of the event loop go out together
      if (!this.inFlight.has(call.action)) {
        this.inFlight.add(call.action);
        setImmediate(() => void this.flush(call.action));
      }
    });
  }

  private async flush(action: BatchAction): Promise<void> {
    const q = this.queues.get(action) ?? [];
    const batch = q.splice(0, this.maxBatch);
    if (batch.length === 0) {
      this.inFlight.delete(action);
      return;
    }
    try {
      if (batch.length === 1) {
        const { call } = batch[0];
        await this.txm
          .send({ ...call.single, action, to: MARKET_ADDRESS, data: encodeMarketCall(action, call.args) })
          .then(batch[0].resolve, batch[0].reject);
      } else {
        await this.sendMany(action, batch);
      }
    } finally {
      // the next batch: whatever queued while this one was in flight
      if ((this.queues.get(action)?.length ?? 0) > 0) setImmediate(() => void this.flush(action));
      else this.inFlight.delete(action);
    }
  }

  private async sendMany(action: BatchAction, batch: Queued[]): Promise<void> {
    const calls = batch.map((b) => b.call);
    const ids = calls.map((c) => c.id);
    const args = action === "submit" ? [ids, calls.map((c) => c.args[1]), calls.map((c) => c.args[2])] : [ids];
    let outcome: TxOutcome;
    try {
      outcome = await this.txm.send({
        jobId: null,
        role: calls[0].single.role,
        action: MANY[action],
        to: MARKET_ADDRESS,
        data: encodeMarketCall(MANY[action], args),
        gasLimit: BATCH_GAS_BASE + BATCH_GAS_PER_ITEM[action] * BigInt(batch.length),
        // best effort: an item the market refuses is skipped (BatchItemSkipped), not a revert of the batch
        precheck: false,
      });
    } catch (e) {
      for (const b of batch) b.reject(e);
      return;
    }
    for (const b of batch) {
      const id = b.call.id;
      const mine = outcome.logs.filter(
        (l) =>
          l.address.toLowerCase() === MARKET_ADDRESS.toLowerCase() &&
          l.topics[1] !== undefined &&
          toBigInt(l.topics[1]) === id,
      );
      const skipped = mine.find((l) => l.topics[0] === SKIPPED_TOPIC);
      if (outcome.status === "mined" && skipped !== undefined) {
        const d = decodeRevert(skippedReason(skipped));
        b.reject(
          new TxError(
            {
              code: TxErrorCode.BATCH_ITEM_SKIPPED,
              action: MANY[action],
              txHash: outcome.hash,
              error: d?.name ?? "Reverted",
              args: d?.args ?? [],
            },
            `${action} of job ${id} skipped in ${MANY[action]}: ${d?.name ?? "Reverted"}`,
          ),
        );
        continue;
      }
      b.resolve({ ...outcome, logs: mine });
    }
  }
}
