import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { AIError, AIErrorCode } from "../errors.js";
import type { EncodedRun } from "./encodedRun.js";
import type { EngineRun, EngineSession, ONNXFeeds, ONNXTensor } from "./session.js";
import { Tensor } from "./session.js";
import { fromWire, type ThreadReply, type ThreadRequest, toWire, type WireTensor } from "./threadWire.js";

/**
 * Inference threads: onnxruntime-node runs `session.run` synchronously on the calling thread, so in a worker
 * process every model run stalls the event loop (HTTP parsing, payments, response writes queue behind it). An
 * `InferencePool` creates each session inside one of its `worker_threads` and runs it there; the event loop only
 * posts the feeds and receives the outputs. Sessions keep the engine's options (one intra-op thread, sequential),
 * so outputs are bit-identical to an in-thread session's. Buffers move without copies where the caller gives
 * them up (`run(feeds, { giveAway: true })`), and outputs always move.
 *
 * Each session lives on one thread (the one with the fewest sessions when it is created) and runs one call at a
 * time there, like an in-thread session behind a `BatchQueue`; more threads serve more models at once.
 */
export interface InferencePoolOptions {
  /** Threads (default `defaultInferenceThreads()`). */
  readonly threads?: number;
}

/** Cores less one for the event loop, at least 1, at most 4: 1 on a 2-core machine. */
export function defaultInferenceThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

interface Pending {
  resolve(r: ThreadReply & { ok: true }): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  sessions: number;
  /** Why it stopped (crashed or closed); null while it runs. */
  dead: Error | null;
}

function wireFeeds(feeds: ONNXFeeds, giveAway: boolean, transfer: ArrayBuffer[]): Record<string, WireTensor> {
  const wire: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(feeds)) wire[name] = toWire(t.type, t.dims, t.data, giveAway, transfer);
  return wire;
}

/** The compiled thread, or — when running from TypeScript sources (vitest) — the .ts through tsx. */
function spawnThread(): Worker {
  const js = new URL("./sessionThread.js", import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL("./sessionThread.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`;
  return new Worker(boot, { eval: true });
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private nextSession = 1;
  private closed = false;

  constructor(opts: InferencePoolOptions = {}) {
    const n = opts.threads ?? defaultInferenceThreads();
    if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new RangeError("threads must be an integer in 1..64");
    for (let i = 0; i < n; i++) this.slots.push(this.spawn());
  }

  get threads(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    const slot: Slot = { worker: spawnThread(), pending: new Map(), sessions: 0, dead: null };
    slot.worker.unref(); // referenced only while calls are pending (see call)
    slot.worker.on("message", (r: ThreadReply) => {
      const p = slot.pending.get(r.id);
      if (!p) return;
      slot.pending.delete(r.id);
      if (slot.pending.size === 0) slot.worker.unref();
      if (r.ok) p.resolve(r);
      else p.reject(Object.assign(new Error(r.error.message), { name: r.error.name }));
    });
    const fail = (e: Error) => {
      slot.dead ??= e;
      for (const p of slot.pending.values()) p.reject(slot.dead);
      slot.pending.clear();
    };
    slot.worker.on("error", (e) => fail(new Error(`inference thread failed: ${e.message}`)));
    slot.worker.on("exit", (code) => fail(new Error(`inference thread exited (code ${code})`)));
    return slot;
  }

  private call(slot: Slot, m: ThreadRequest, transfer: ArrayBuffer[] = []): Promise<ThreadReply & { ok: true }> {
    if (slot.dead) return Promise.reject(slot.dead);
    return new Promise((resolve, reject) => {
      slot.pending.set(m.id, { resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage(m, transfer);
    });
  }

  /** Creates a session from model bytes (already hash-checked) in the least loaded live thread. */
  async createSession(model: Uint8Array): Promise<EngineSession> {
    if (this.closed) throw new AIError({ code: AIErrorCode.CLOSED });
    const live = this.slots.filter((s) => !s.dead);
    if (live.length === 0) throw new Error("every inference thread has stopped");
    const slot = live.reduce((a, b) => (b.sessions < a.sessions ? b : a));
    const session = this.nextSession++;
    slot.sessions++;
    let meta: NonNullable<(ThreadReply & { ok: true })["metadata"]>;
    try {
      const r = await this.call(slot, { op: "create", id: this.nextId++, session, model });
      meta = r.metadata!;
    } catch (e) {
      slot.sessions--;
      throw e;
    }
    let released = false;
    return {
      inputNames: meta.inputNames,
      outputNames: meta.outputNames,
      inputMetadata: meta.inputMetadata as EngineSession["inputMetadata"],
      outputMetadata: meta.outputMetadata as EngineSession["outputMetadata"],
      run: async (feeds: ONNXFeeds, opts?: { giveAway?: boolean }): Promise<EngineRun> => {
        const transfer: ArrayBuffer[] = [];
        const wire = wireFeeds(feeds, opts?.giveAway === true, transfer);
        const r = await this.call(slot, { op: "run", id: this.nextId++, session, feeds: wire }, transfer);
        const out: Record<string, ONNXTensor> = {};
        for (const [name, t] of Object.entries(r.outputs ?? {})) {
          out[name] = new Tensor(t.type as never, fromWire(t) as never, t.dims as number[]);
        }
        return { outputs: out, modelMs: r.modelMs ?? 0, modelEndUs: r.modelEndUs };
      },
      runEncoded: async (feeds, opts): Promise<EncodedRun> => {
        const transfer: ArrayBuffer[] = [];
        const wire = wireFeeds(feeds, opts.giveAway === true, transfer);
        const m = { op: "runEncoded", id: this.nextId++, session, feeds: wire, outputs: opts.outputs } as const;
        const r = await this.call(slot, m, transfer);
        if (!r.encoded) throw new Error("inference thread answered runEncoded without a result");
        return { bytes: r.encoded.bytes, sha256: r.encoded.sha256, modelMs: r.modelMs ?? 0, modelEndUs: r.modelEndUs };
      },
      release: async () => {
        if (released) return;
        released = true;
        slot.sessions--;
        if (!slot.dead) await this.call(slot, { op: "release", id: this.nextId++, session });
      },
    };
  }

  /** Stops the threads; calls in progress fail with AI_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        s.dead ??= new AIError({ code: AIErrorCode.CLOSED });
        for (const p of s.pending.values()) p.reject(s.dead);
        s.pending.clear();
        await s.worker.terminate();
      }),
    );
  }
}
