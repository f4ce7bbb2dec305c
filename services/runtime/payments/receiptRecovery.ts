import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { AzoraError } from "../../../runtime/lib/errors.js";
import { type Receipt, recoverReceiptSignerHex } from "../../client/payments.js";

/**
 * Who signed a metered receipt: its EIP-712 digest and the libsecp256k1 recovery, the CPU part of the receipt's check
 * that needs no journal. A port, so the payee's logic (freshness, nonce, deposit — on the event loop, where its state
 * is) stays testable without threads: `inThreadRecovery` computes it on the caller's thread, `ThreadedReceiptRecovery`
 * on one small long-lived `worker_threads` thread, so a lone metered call's check overlaps the upload of its body
 * (~0.1–0.3 ms of the event loop on a 2-core machine, where the body waits in the kernel meanwhile).
 *
 * `recover` resolves to the signer as lowercase hex, or rejects with an `Error` whose message says why the receipt
 * or its signature is malformed (the payee refuses it), or with a `ReceiptCheckError` when the check itself could not
 * run (a thread that crashed or stopped answering: the payee's fault, not the payer's).
 */
export interface ReceiptSignerRecovery {
  recover(chainId: bigint, r: Receipt, signature: string): Promise<string>;
  /** Stops what it started (the thread); later calls reject. */
  close(): Promise<void>;
}

export enum ReceiptCheckErrorCode {
  /** The recovery thread crashed, stopped answering or was closed; the next call starts a new thread. */
  UNAVAILABLE = "PAYMENT_CHECK_UNAVAILABLE",
}

export class ReceiptCheckError extends AzoraError<{ code: ReceiptCheckErrorCode; reason: string }> {
  constructor(reason: string) {
    super({ code: ReceiptCheckErrorCode.UNAVAILABLE, reason }, `receipt check unavailable: ${reason}`);
  }
}

/** The recovery on the caller's thread (tests, search's paid queries). */
export const inThreadRecovery: ReceiptSignerRecovery = {
  recover: async (chainId, r, signature) => recoverReceiptSignerHex(chainId, r, signature),
  close: async () => {},
};

/** A request to the recovery thread and its answer (the signer, or why the receipt is malformed). */
export interface RecoveryRequest {
  id: number;
  chainId: bigint;
  receipt: Receipt;
  signature: string;
}
export type RecoveryReply = { id: number; signer: string } | { id: number; malformed: string };

interface Pending {
  resolve(signer: string): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface ThreadedRecoveryOptions {
  /** A call unanswered for this long fails and the thread is replaced (default 10 s: the check takes ~0.1 ms). */
  timeoutMs?: number;
  /** Starts the thread (default: receiptRecoveryThread's); tests pass threads that crash or hang. */
  spawn?: () => Worker;
}

/** The compiled thread, or — when running from TypeScript sources (vitest) — the .ts through tsx. */
export function spawnRecoveryThread(): Worker {
  const js = new URL("./receiptRecoveryThread.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL("./receiptRecoveryThread.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true });
}

/**
 * The recovery on one `worker_threads` thread, started with the payee (the native keccak and secp256k1 addons load
 * there once). Calls are answered in order by id. A thread that exits, errs or leaves a call unanswered past
 * `timeoutMs` fails every call it holds with a `ReceiptCheckError` (never a hang) and is replaced at the next call.
 * The thread is unreferenced while idle, so it never keeps a process alive.
 */
export class ThreadedReceiptRecovery implements ReceiptSignerRecovery {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly spawn: () => Worker;

  constructor(o: ThreadedRecoveryOptions = {}) {
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.spawn = o.spawn ?? spawnRecoveryThread;
    this.start();
  }

  private start(): Worker {
    const w = this.spawn();
    this.worker = w;
    w.unref();
    w.on("message", (m: RecoveryReply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.settle(m.id, p);
      if ("signer" in m) p.resolve(m.signer);
      else p.reject(new Error(m.malformed));
    });
    w.on("error", (e) => this.fail(w, `the recovery thread failed: ${e.message}`));
    w.on("exit", (code) => this.fail(w, `the recovery thread exited (code ${code})`));
    return w;
  }

  private settle(id: number, p: Pending): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** Fails every call `w` holds; the next call starts a new thread. */
  private fail(w: Worker, reason: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    void w.terminate();
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const p of calls) {
      clearTimeout(p.timer);
      p.reject(new ReceiptCheckError(reason));
    }
  }

  recover(chainId: bigint, receipt: Receipt, signature: string): Promise<string> {
    if (this.closed) return Promise.reject(new ReceiptCheckError("closed"));
    const w = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(w, `no answer in ${this.timeoutMs} ms`), this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, chainId, receipt, signature } satisfies RecoveryRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (w !== null) {
      this.fail(w, "closed");
      await w.terminate();
    }
  }
}
