import type { JobContext, JobInput, JobOutput } from "../../services/runtime/handler.js";
import { BatchQueue } from "../engine/batchQueue.js";
import { outputTensor } from "../engine/encodedRun.js";
import { type InlinePolicy, RunTimes } from "../engine/inlinePolicy.js";
import { modelProbeFile, startInlineProbe } from "../engine/modelProbe.js";
import {
  createONNXSession,
  type EngineRun,
  type EngineSession,
  inThreadSession,
  ONNX_ENGINE,
  type ONNXTensor,
  Tensor,
} from "../engine/session.js";
import {
  AZT1_CONTENT_TYPE,
  DTYPES,
  decodeTensors,
  elementCount,
  encodeTensors,
  type NamedTensor,
  type TensorData,
} from "../engine/tensorContainer.js";
import type { InferencePool } from "../engine/threadPool.js";
import { AIError, AIErrorCode, AIInputCode, inputError } from "../errors.js";
import { loadONNXModelById, parseModelId } from "../models/store.js";
import type { KindModel } from "./kind.js";
import { specObject } from "./kind.js";

/**
 * `ai/onnx`: any ONNX model an operator added by hash (`<modelsDir>/onnx/<sha256>.onnx`), run on named tensors.
 *
 * Spec: `{"model": "0x<sha256>", "outputs"?: ["name", ...]}`. Input and output: AZT1 containers
 * (engine/tensorContainer.ts). Every model input must be given with the model's dtype, its rank and its fixed
 * dimensions; symbolic dimensions take any size. Output: the requested outputs (default all), sorted by name.
 *
 * Comparison for replay: same names, dtypes and shapes; integer and bool tensors exactly equal; float tensors
 * element-wise |a - b| <= `FLOAT_ATOL` + `FLOAT_RTOL` * |a| with NaN where the other has NaN (numpy's allclose).
 *
 * Batching: concurrent jobs for one model are concatenated along dimension 0 when every input and output of the
 * model has the same symbolic first dimension (a batch axis), the jobs' other dimensions agree, and the model holds
 * no dynamic-quantization operator (those compute their scales over the whole batch, so a result would depend on
 * its batch mates).
 *
 * Inline runs: with a pool and an `inline` policy (engine/inlinePolicy.ts), a lone call of a short model runs on the
 * event loop in a second, in-thread session of the model, saving the two thread hops; every other call pools.
 */
export const ONNX_KIND = "ai/onnx";
export const FLOAT_ATOL = 1e-4;
export const FLOAT_RTOL = 1e-3;
/** Operators whose output for one row depends on the other rows of the batch. */
const BATCH_DEPENDENT_OPS = ["DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul"];

export interface GenericONNXOptions {
  readonly modelsDir: string;
  /** Serve only these model ids (hex); default: every model in `<modelsDir>/onnx`. */
  readonly allowedModels?: readonly string[];
  /** Sessions kept open at once (least recently used are released; default 4). */
  readonly maxSessions?: number;
  /** Jobs merged into one run for models that allow it (default 8). */
  readonly maxBatchJobs?: number;
  readonly maxQueue?: number;
  /** Run sessions in these inference threads (engine/threadPool.ts) instead of on the event loop; not closed here. */
  readonly pool?: InferencePool;
  /** With `pool`: when a lone call of a short model runs on the event loop instead (engine/inlinePolicy.ts). */
  readonly inline?: InlinePolicy;
}

interface Loaded {
  readonly id: string;
  readonly session: EngineSession;
  readonly batchable: boolean;
  readonly encodable: boolean;
  readonly queue: BatchQueue<Feed, Ran>;
  /** The model's run times and its in-thread session for inline runs (only with a pool and a policy). */
  readonly inline: InlineSlot;
}

interface InlineSlot {
  readonly runs: RunTimes;
  /** Ready for inline runs; null until the model qualifies, and again once retired. */
  session: EngineSession | null;
  creating: boolean;
  /** The model stopped qualifying (or was evicted): it never gets an in-thread session again. */
  retired: boolean;
}

export type GenericONNXModel = KindModel & {
  /** Loads (or returns the open) session of a model, checking its hash. */
  load(id: string): Promise<Loaded>;
};

export function createGenericONNXModel(opts: GenericONNXOptions): GenericONNXModel {
  const allowed = opts.allowedModels ? new Set(opts.allowedModels.map((m) => parseModelId(m))) : null;
  const open = new Map<string, Promise<Loaded>>();
  const maxSessions = opts.maxSessions ?? 4;

  async function loadModel(id: string): Promise<Loaded> {
    const bytes = await loadONNXModelById(opts.modelsDir, id);
    const session = opts.pool ? await opts.pool.createSession(bytes) : inThreadSession(await createONNXSession(bytes));
    const batchable = (opts.maxBatchJobs ?? 8) > 1 && hasBatchAxis(session) && !hasBatchDependentOps(bytes);
    const encodable = session.outputMetadata.every((m) => m.isTensor && m.type in DTYPES);
    const queue = new BatchQueue<Feed, Ran>({
      name: `onnx-${id.slice(0, 8)}`,
      maxBatch: batchable ? (opts.maxBatchJobs ?? 8) : 1,
      maxQueue: opts.maxQueue ?? 64,
      key: ({ tensors: inputs }) => inputs.map((t) => `${t.name}:${t.dtype}:${t.dims.slice(1).join("x")}`).join(","),
      run: (jobs) => runBatch(session, jobs, encodable),
    });
    return {
      id,
      session,
      batchable,
      encodable,
      queue,
      inline: { runs: new RunTimes(), session: null, creating: false, retired: false },
    };
  }

  /**
   * Records a lone run's time; creates the in-thread session once the model qualifies, retires it once it is far
   * over the bound.
   */
  function observe(l: Loaded, elements: number, r: Ran): void {
    const policy = opts.pool ? opts.inline : undefined;
    const slot = l.inline;
    if (!policy || slot.retired || r.batchJobs !== undefined) return; // (a batch's time is not a lone run's)
    slot.runs.observe(r.modelMs, elements);
    if (policy.retires(slot.runs)) {
      retireInline(slot);
      return;
    }
    if (!policy.fits(slot.runs) || slot.session || slot.creating) return;
    slot.creating = true;
    void (async () => {
      let s: EngineSession | null = null;
      try {
        s = inThreadSession(await createONNXSession(await loadONNXModelById(opts.modelsDir, l.id)));
      } catch {
        slot.retired = true; // (a model that cannot load twice keeps pooling)
      }
      slot.creating = false;
      if (s && slot.retired) await s.release();
      else slot.session = s;
    })();
  }

  /** Runs one job: inline when the policy allows it now, else through the model's queue (and pool). */
  async function runFeed(l: Loaded, feed: Feed): Promise<Ran & { inline?: boolean }> {
    const inline = l.inline.session;
    const policy = opts.inline;
    const elements = inputElements(feed); // (now: a pooled run may move the buffers away)
    if (inline && policy?.alone && l.queue.idle && policy.fitsCall(l.inline.runs, elements)) {
      const file = modelProbeFile(); // (a measuring switch, off by default: engine/modelProbe.ts)
      const probe = file === undefined ? undefined : await startInlineProbe(file);
      const [r] = await runBatch(inline, [feed], l.encodable);
      if (r instanceof Error) throw r;
      if (probe)
        await probe.end(r.modelMs, inline, () => Object.fromEntries(feed.tensors.map((t) => [t.name, toORT(t)])));
      observe(l, elements, r);
      return { ...r, inline: true };
    }
    const r = await l.queue.push(feed);
    observe(l, elements, r);
    return opts.pool && policy ? { ...r, inline: false } : r;
  }

  async function unload(l: Loaded): Promise<void> {
    l.queue.close();
    retireInline(l.inline);
    await l.session.release();
  }

  async function load(id: string): Promise<Loaded> {
    let p = open.get(id);
    if (p) {
      open.delete(id); // re-insert: Map order is the LRU order
      open.set(id, p);
      return p;
    }
    p = loadModel(id);
    open.set(id, p);
    p.catch(() => open.delete(id));
    while (open.size > maxSessions) {
      const [oldest, q] = open.entries().next().value as [string, Promise<Loaded>];
      open.delete(oldest);
      void q.then(unload);
    }
    return p;
  }

  return {
    kind: ONNX_KIND,
    modelId: null,
    engine: `${ONNX_ENGINE}; generic AZT1; batch axis 0 <= ${opts.maxBatchJobs ?? 8} jobs unless dynamically quantized; compare ints exact, floats allclose(rtol ${FLOAT_RTOL}, atol ${FLOAT_ATOL})`,
    load,
    async run(job: JobInput, _ctx: JobContext): Promise<JobOutput> {
      const end = opts.inline?.begin(); // counted from its start: `alone` means no other call is anywhere on its way
      try {
        return await runJob(job);
      } finally {
        end?.();
      }
    },
    agrees(own: JobOutput, submitted: Uint8Array): boolean {
      return tensorsAgree(own.bytes, submitted);
    },
    async close() {
      const all = [...open.values()];
      open.clear();
      for (const p of all) {
        const l = await p.catch(() => null);
        if (l) await unload(l);
      }
    },
  };

  async function runJob(job: JobInput): Promise<JobOutput> {
    const spec = specObject(job);
    const id = parseModelId(spec.model);
    if (!id) throw inputError(AIInputCode.SPEC_INVALID, "spec.model must be the model's sha256 (hex)");
    if (allowed && !allowed.has(id)) throw inputError(AIInputCode.MODEL_UNKNOWN, `model 0x${id} is not served here`);
    let loaded: Loaded;
    try {
      loaded = await load(id);
    } catch (e) {
      if (e instanceof AIError && e.code === AIErrorCode.MODEL_MISSING) {
        throw inputError(AIInputCode.MODEL_UNKNOWN, `model 0x${id} is not in this worker's models directory`);
      }
      throw e;
    }
    const inputs = decodeTensors(job.input);
    validateInputs(loaded.session, inputs);
    const wanted = outputNames(loaded.session, spec.outputs);
    // Tensors decoded as views into the input may move to the inference thread only when the caller gives the
    // input up; copies (misaligned data) are ours anyway.
    const owned = job.inputDisposable === true || inputs.every((t) => t.data.buffer !== job.input.buffer);
    const r = await runFeed(loaded, { tensors: inputs, owned, outputs: [...wanted] });
    const { bytes, modelMs, modelEndUs, sha256, inline } = r;
    return { bytes, contentType: AZT1_CONTENT_TYPE, modelMs, modelEndUs, sha256, inline };
  }
}

function retireInline(slot: InlineSlot): void {
  slot.retired = true;
  const s = slot.session;
  slot.session = null;
  void s?.release();
}

function outputNames(session: EngineSession, requested: unknown): Set<string> {
  if (requested === undefined) return new Set(session.outputNames);
  if (!Array.isArray(requested) || requested.length === 0) {
    throw inputError(AIInputCode.SPEC_INVALID, "spec.outputs must be a non-empty array of output names");
  }
  for (const n of requested) {
    if (typeof n !== "string" || !session.outputNames.includes(n)) {
      throw inputError(AIInputCode.SPEC_INVALID, `the model has no output ${String(n).slice(0, 64)}`);
    }
  }
  return new Set(requested as string[]);
}

function hasBatchAxis(session: EngineSession): boolean {
  const firstDims = [...session.inputMetadata, ...session.outputMetadata].map((m) => (m.isTensor ? m.shape[0] : 0));
  return firstDims.length > 0 && typeof firstDims[0] === "string" && firstDims.every((d) => d === firstDims[0]);
}

/** The op_type strings sit verbatim in the protobuf; a false positive only turns batching off. */
function hasBatchDependentOps(bytes: Buffer): boolean {
  return BATCH_DEPENDENT_OPS.some((op) => bytes.includes(op));
}

export function validateInputs(session: EngineSession, inputs: readonly NamedTensor[]): void {
  const byName = new Map(inputs.map((t) => [t.name, t]));
  for (const m of session.inputMetadata) {
    const t = byName.get(m.name);
    if (!t) throw inputError(AIInputCode.TENSOR_NAME, `missing input tensor ${m.name}`);
    if (!m.isTensor) throw inputError(AIInputCode.TENSOR_DTYPE, `input ${m.name} is not a tensor input`);
    if (m.type !== t.dtype) {
      throw inputError(AIInputCode.TENSOR_DTYPE, `input ${m.name} must be ${m.type}, got ${t.dtype}`);
    }
    if (m.shape.length > 0 && m.shape.length !== t.dims.length) {
      throw inputError(
        AIInputCode.TENSOR_SHAPE,
        `input ${m.name} must have rank ${m.shape.length}, got ${t.dims.length}`,
      );
    }
    m.shape.forEach((d, i) => {
      if (typeof d === "number" && d >= 0 && t.dims[i] !== d) {
        throw inputError(
          AIInputCode.TENSOR_SHAPE,
          `input ${m.name} must have shape [${m.shape.join(", ")}], got [${t.dims.join(", ")}]`,
        );
      }
    });
    byName.delete(m.name);
  }
  const extra = [...byName.keys()];
  if (extra.length > 0) throw inputError(AIInputCode.TENSOR_NAME, `the model has no input ${extra[0].slice(0, 64)}`);
}

function toORT(t: NamedTensor): ONNXTensor {
  return new Tensor(t.dtype, t.data as never, t.dims as number[]);
}

/**
 * A job's input tensors, whether their buffers may be moved to an inference thread (not read after), and the
 * outputs it wants.
 */
interface Feed {
  readonly tensors: NamedTensor[];
  readonly owned: boolean;
  readonly outputs: readonly string[];
}

/** A job's result (AZT1), its sha256 when made where the model ran, and the engine's run time (its batch's). */
interface Ran {
  readonly bytes: Uint8Array;
  readonly sha256?: `0x${string}`;
  readonly modelMs: number;
  /** When the engine's run returned (µs, monotonic clock: a call's trace). */
  readonly modelEndUs?: number;
  /** Jobs in the batch it ran in, when more than one. */
  readonly batchJobs?: number;
}

function inputElements(feed: Feed): number {
  return feed.tensors.reduce((n, t) => n + t.data.length, 0);
}

/**
 * Runs jobs as one batch (concatenated along axis 0) or, for a single job, as is (no copy at batch 1). A single
 * job of a model whose outputs all have AZT1 dtypes (`encodable`) is encoded and hashed where it ran.
 */
async function runBatch(session: EngineSession, feedsOf: Feed[], encodable: boolean): Promise<(Ran | Error)[]> {
  const jobs = feedsOf.map((f) => f.tensors);
  if (jobs.length === 1) {
    const feeds = Object.fromEntries(jobs[0].map((t) => [t.name, toORT(t)]));
    const giveAway = feedsOf[0].owned;
    try {
      if (encodable) return [await session.runEncoded(feeds, { giveAway, outputs: feedsOf[0].outputs })];
      const { outputs, modelMs, modelEndUs } = await session.run(feeds, { giveAway });
      const tensors = Object.entries(outputs).map(([n, t]) => outputTensor(n, t));
      const bytes = encodeTensors(tensors.filter((t) => feedsOf[0].outputs.includes(t.name)));
      return [{ bytes, modelMs, modelEndUs }];
    } catch (e) {
      if (e instanceof AIError) throw e;
      return [inputError(AIInputCode.MODEL_REJECTED_INPUT, `onnxruntime: ${(e as Error).message.slice(0, 300)}`)];
    }
  }
  const rows = jobs.map((inputs) => inputs[0].dims[0]);
  const total = rows.reduce((a, b) => a + b, 0);
  const feeds: Record<string, ONNXTensor> = {};
  for (const name of jobs[0].map((t) => t.name)) {
    const parts = jobs.map((inputs) => inputs.find((t) => t.name === name)!);
    feeds[name] = toORT(concatAxis0(parts, total));
  }
  let ran: EngineRun;
  try {
    ran = await session.run(feeds, { giveAway: true }); // the concatenated buffers are fresh: nobody else reads them
  } catch {
    // One bad job must not fail its batch mates: fall back to running each alone.
    const each: (Ran | Error)[] = [];
    for (const f of feedsOf) each.push((await runBatch(session, [f], encodable))[0]);
    return each;
  }
  const results: NamedTensor[][] = jobs.map(() => []);
  for (const [name, t] of Object.entries(ran.outputs)) {
    const whole = outputTensor(name, t);
    let at = 0;
    rows.forEach((n, i) => {
      results[i].push(sliceAxis0(whole, at, n));
      at += n;
    });
  }
  return results.map((outputs, i) => ({
    bytes: encodeTensors(outputs.filter((t) => feedsOf[i].outputs.includes(t.name))),
    modelMs: ran.modelMs,
    batchJobs: jobs.length,
  }));
}

function concatAxis0(parts: NamedTensor[], total: number): NamedTensor {
  const first = parts[0];
  const rowElems = elementCount(first.dims.slice(1));
  const Ctor = first.data.constructor as new (n: number) => TensorData;
  const data = new Ctor(total * rowElems);
  let at = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, at);
    at += p.data.length;
  }
  return { name: first.name, dtype: first.dtype, dims: [total, ...first.dims.slice(1)], data };
}

function sliceAxis0(t: NamedTensor, start: number, n: number): NamedTensor {
  const rowElems = elementCount(t.dims.slice(1));
  return {
    name: t.name,
    dtype: t.dtype,
    dims: [n, ...t.dims.slice(1)],
    data: t.data.subarray(start * rowElems, (start + n) * rowElems) as TensorData, // a view: encoding copies it
  };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** The `ai/onnx` comparison rule over two AZT1 results. */
export function tensorsAgree(own: Uint8Array, submitted: Uint8Array): boolean {
  let a: NamedTensor[];
  let b: NamedTensor[];
  try {
    a = decodeTensors(own);
    b = decodeTensors(submitted);
  } catch {
    return false;
  }
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (x.name !== y.name || x.dtype !== y.dtype || x.dims.join() !== y.dims.join()) return false;
    const float = x.dtype === "float32" || x.dtype === "float64" || x.dtype === "float16";
    for (let k = 0; k < x.data.length; k++) {
      if (!float) {
        if (x.data[k] !== y.data[k]) return false;
        continue;
      }
      const u = x.dtype === "float16" ? halfToFloat(x.data[k] as number) : (x.data[k] as number);
      const v = y.dtype === "float16" ? halfToFloat(y.data[k] as number) : (y.data[k] as number);
      if (Number.isNaN(u) || Number.isNaN(v)) {
        if (!(Number.isNaN(u) && Number.isNaN(v))) return false;
      } else if (!(u === v || Math.abs(u - v) <= FLOAT_ATOL + FLOAT_RTOL * Math.abs(u))) return false;
    }
    return true;
  });
}
