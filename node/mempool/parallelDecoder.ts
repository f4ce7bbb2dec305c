import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Common } from "@ethereumjs/common";
import { createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { createAddressFromString } from "@ethereumjs/util";
import type { Logger } from "../../runtime/lib/logger.js";
import { type DecodeContext, decodeRawTransaction } from "./decode.js";
import { MempoolError, type MempoolErrorType } from "./errors.js";
import type { PooledTx } from "./types.js";

export interface DecodeWorkerData {
  chainId: bigint;
  maxTxBytes: number;
}

export interface DecodeRequest {
  id: number;
  raw: Uint8Array;
}

type DecodedFields = Omit<PooledTx, "tx" | "raw" | "receivedAt">;

export type DecodeReply =
  | { id: number; ok: true; fields: DecodedFields }
  | { id: number; ok: false; error: MempoolErrorType | { code: "UNEXPECTED"; message: string } };

/**
 * A pooled tx whose ethereumjs object is built only when something needs it (block execution, RPC
 * reads). The sender recovered in the worker is installed on it, so the main thread never runs
 * an ecrecover for it.
 */
function lazyPooledTx(fields: DecodedFields, raw: Uint8Array, common: Common, receivedAt: number): PooledTx {
  let tx: TypedTransaction | undefined;
  return {
    ...fields,
    raw,
    receivedAt,
    get tx(): TypedTransaction {
      if (tx === undefined) {
        const decoded = createTxFromRLP(raw, { common, freeze: false });
        const sender = createAddressFromString(fields.sender);
        decoded.getSenderAddress = () => sender;
        tx = decoded;
      }
      return tx;
    },
  };
}

/**
 * Decodes and recovers senders of incoming transactions on worker threads, so the main thread —
 * which also executes blocks and serves RPC — spends no time on RLP decoding or ecrecover.
 * Requests arriving in the same tick travel in one message. Falls back to decoding inline when
 * workers are disabled or their compiled file is absent (e.g. under a TypeScript test runner).
 */
export class ParallelDecoder {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<
    number,
    { resolve: (p: PooledTx) => void; reject: (e: Error) => void; raw: Uint8Array }
  >();
  private queue: DecodeRequest[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private nextWorker = 0;

  constructor(
    private readonly opts: { chainId: bigint; maxTxBytes: number; workers: number },
    private readonly modules: { common: Common; log: Logger; stages?: DecodeContext["stages"] },
  ) {
    const file = fileURLToPath(new URL("./admissionWorker.js", import.meta.url));
    if (opts.workers <= 0 || !existsSync(file)) return;
    const workerData: DecodeWorkerData = { chainId: opts.chainId, maxTxBytes: opts.maxTxBytes };
    for (let i = 0; i < opts.workers; i++) {
      const w = new Worker(file, { workerData });
      w.on("message", (replies: DecodeReply[]) => this.onReplies(replies));
      w.on("error", (e) => modules.log.error("decode worker failed", { worker: i }, e));
      w.unref();
      this.workers.push(w);
    }
  }

  /**
   * Workers to start by default. On 2–3 cores a worker competes with the main thread and with the
   * clients on the same machine, and measured slower (bench: 660–680 vs 740–780 value tx/s on 2
   * vCPUs), so decoding stays inline there; with 4+ cores, all but two cores decode (at most 4).
   */
  static defaultWorkers(): number {
    const cores = availableParallelism();
    return cores < 4 ? 0 : Math.min(4, cores - 2);
  }

  get workerCount(): number {
    return this.workers.length;
  }

  decode(raw: Uint8Array): Promise<PooledTx> {
    if (this.workers.length === 0) {
      const { common } = this.modules;
      return Promise.resolve().then(() =>
        decodeRawTransaction(raw, {
          common,
          chainId: this.opts.chainId,
          maxTxBytes: this.opts.maxTxBytes,
          stages: this.modules.stages,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, raw });
      this.queue.push({ id, raw });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    const w = this.workers[this.nextWorker++ % this.workers.length];
    w.postMessage(batch);
  }

  private onReplies(replies: DecodeReply[]): void {
    for (const r of replies) {
      const p = this.pending.get(r.id);
      if (p === undefined) continue;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(lazyPooledTx(r.fields, p.raw, this.modules.common, Date.now()));
      else if (r.error.code === "UNEXPECTED") p.reject(new Error(r.error.message));
      else p.reject(new MempoolError(r.error as MempoolErrorType));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const p of this.pending.values()) p.reject(new Error("decoder closed"));
    this.pending.clear();
  }
}
