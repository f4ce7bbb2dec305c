import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "../../runtime/lib/logger.js";
import type { FastDecodedTx } from "../mempool/fastDecode.js";
import type { CommitChecks, VerifiedSignature } from "./commitChecks.js";
import { type PackedChecks, packChecks } from "./packedChecks.js";

export interface CommitCheckRequest {
  id: number;
  /** Packed and transferred: the items are views into network read buffers, which a clone copies whole. */
  checks: PackedChecks;
}

export interface CommitCheckReply {
  id: number;
  verified: VerifiedSignature[];
  /** The response's transactions the fast decoder accepts, with their senders. */
  decoded: FastDecodedTx[];
}

export type CommitPrecheckResult = Omit<CommitCheckReply, "id">;

const NOTHING: CommitPrecheckResult = { verified: [], decoded: [] };

/**
 * The ed25519 checks of blocks responses' commit certificates on a worker thread, while the main thread applies
 * the response before: block sync verifies each response in its turn as before, and those checks are then hits
 * of the verifier's cache of verified signatures. One worker, started at the first response (a node that never
 * syncs starts none). Without its compiled file (a TypeScript test runner) or after the worker failed, every
 * check resolves to nothing verified: the verification in turn does all the work, as without it.
 */
export class CommitPrecheck {
  private worker: Worker | null = null;
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, (result: CommitPrecheckResult) => void>();
  private readonly file = fileURLToPath(new URL("./commitWorker.js", import.meta.url));

  constructor(private readonly log: Logger) {}

  /**
   * The signatures of `checks` that verify and its decoded transactions; never rejects (nothing when the worker
   * cannot run).
   */
  check(checks: CommitChecks): Promise<CommitPrecheckResult> {
    const worker = this.started();
    if (worker === null) return Promise.resolve(NOTHING);
    const id = this.nextId++;
    // Held by the event loop only while a check is out (an idle worker never keeps the process alive).
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const [packed, transfer] = packChecks(checks);
      worker.postMessage({ id, checks: packed } satisfies CommitCheckRequest, transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.failed = true;
    this.settleAll();
    await w?.terminate();
  }

  private started(): Worker | null {
    if (this.worker !== null || this.failed) return this.worker;
    if (!existsSync(this.file)) {
      this.failed = true;
      return null;
    }
    const w = new Worker(this.file);
    w.on("message", ({ id, verified, decoded }: CommitCheckReply) => {
      this.pending.get(id)?.({ verified, decoded });
      this.pending.delete(id);
      if (this.pending.size === 0) w.unref();
    });
    w.on("error", (e) => {
      this.log.error("sync commit worker failed: checking signatures on the main thread", {}, e);
      this.failed = true;
      this.worker = null;
      this.settleAll();
    });
    w.on("exit", () => {
      this.failed = true;
      this.worker = null;
      this.settleAll();
    });
    w.unref();
    this.worker = w;
    return w;
  }

  private settleAll(): void {
    for (const resolve of this.pending.values()) resolve(NOTHING);
    this.pending.clear();
  }
}
