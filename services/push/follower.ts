/**
 * Follows finalized blocks (BFT: a head is final) and publishes their events as notifications. Progress is
 * the store's `chain.next` — written after each block's notifications are stored — and every notification
 * carries a dedupe key, so a kill at any point re-reads at most one block and publishes nothing twice.
 * Catches up in ranges after downtime (one `eth_getLogs` per range), then follows heads.
 */
import type { Logger } from "../../runtime/lib/logger.js";
import { createHeadWatcher, type HeadWatcher } from "../runtime/chain/heads.js";
import { MarketReader } from "../runtime/chain/market.js";
import { createRPCClient, type RPCClient, toQuantity } from "../runtime/chain/rpcClient.js";
import {
  type Notification,
  notificationsOfLog,
  notificationsOfTx,
  type RawLog,
  type RawTx,
  WATCHED_TOPICS,
} from "./chainEvents.js";
import { walletChannel } from "./channels.js";
import type { PushStore } from "./store.js";

export interface FollowerOptions {
  rpcUrl: string;
  wsUrl?: string;
  /** First block on a fresh store: "latest" starts at the current head, a number at that block. */
  fromBlock: "latest" | number;
  /** Most blocks per catch-up step. */
  rangeBlocks: number;
  pollMs: number;
  /** Stores and fans out one notification (a repeat of `dedupeKey` is a no-op). */
  publish: (channel: string, data: unknown, dedupeKey: string) => void;
  store: PushStore;
  log: Logger;
  onBlock?: (n: number) => void;
}

export interface ChainFollower {
  start(): Promise<void>;
  close(): Promise<void>;
  /** The next block to read. */
  readonly next: number;
}

const NEXT = "chain.next";

export function createChainFollower(opts: FollowerOptions): ChainFollower {
  const rpc: RPCClient = createRPCClient(opts.rpcUrl);
  const market = new MarketReader(rpc);
  let heads: HeadWatcher | undefined;
  let next = Number(opts.store.getMeta(NEXT) ?? -1);
  let running: Promise<void> = Promise.resolve();
  let target = -1;
  let closed = false;

  async function catchUp(): Promise<void> {
    while (!closed && next <= target) {
      const to = Math.min(target, next + opts.rangeBlocks - 1);
      const logs = await rpc.call<RawLog[]>("eth_getLogs", [
        { fromBlock: toQuantity(next), toBlock: toQuantity(to), topics: [WATCHED_TOPICS] },
      ]);
      const byBlock = new Map<number, RawLog[]>();
      for (const l of logs) {
        const n = Number(BigInt(l.blockNumber));
        byBlock.set(n, [...(byBlock.get(n) ?? []), l]);
      }
      for (let n = next; n <= to && !closed; n++) {
        const block = await rpc.call<{ transactions: RawTx[] } | null>("eth_getBlockByNumber", [toQuantity(n), true]);
        const out: Notification[] = (block?.transactions ?? []).flatMap(notificationsOfTx);
        for (const l of byBlock.get(n) ?? []) {
          const r = notificationsOfLog(l);
          out.push(...r.notifications);
          if (r.pending !== undefined) {
            try {
              const job = await market.job(r.pending.jobId, n);
              out.push({ channel: walletChannel(job.requester), data: r.pending.data, dedupeKey: r.pending.dedupeKey });
            } catch (e) {
              opts.log.warn("job lookup failed; result not notified", {
                job: `${r.pending.jobId}`,
                err: (e as Error).message,
              });
            }
          }
        }
        for (const x of out) opts.publish(x.channel, x.data, x.dedupeKey);
        next = n + 1;
        opts.store.setMeta(NEXT, String(next));
        opts.onBlock?.(n);
      }
    }
  }

  function kick(head: number): void {
    target = Math.max(target, head);
    running = running
      .then(catchUp)
      .catch((e) =>
        opts.log.warn("chain follower step failed; retrying at the next head", { err: (e as Error).message }),
      );
  }

  return {
    get next() {
      return next;
    },
    async start() {
      heads = createHeadWatcher(rpc, { wsUrl: opts.wsUrl, pollMs: opts.pollMs, logger: opts.log });
      const first = await heads.start();
      if (next < 0) {
        next = opts.fromBlock === "latest" ? first.number + 1 : opts.fromBlock;
        opts.store.setMeta(NEXT, String(next));
      }
      opts.log.info("following the chain", { next, head: first.number });
      heads.onHead((h) => kick(h.number));
      kick(first.number);
    },
    async close() {
      closed = true;
      await heads?.close();
      await running;
    },
  };
}
