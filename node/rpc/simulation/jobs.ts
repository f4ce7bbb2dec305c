import type { Common } from "@ethereumjs/common";
import type { CallReadRecorder } from "./callReads.js";
import type { JobParams, JobResult, SimulationJob, SimulationKind } from "./protocol.js";
import { call, createAccessList, estimateGas, type SimulationView } from "./simulate.js";
import { simulateV1 } from "./simulateV1.js";
import { traceBlock, traceCall } from "./trace.js";

/** What a job handler runs against, on a simulation worker. */
export interface JobEnv {
  common: Common;
  gasCap: bigint;
  /** A VM over the state at `stateRoot` (views are cached per root). */
  view(stateRoot: Uint8Array): Promise<SimulationView>;
  /** Records what each eth_call read, for the main thread's cross-block cache. */
  reads?: CallReadRecorder;
}

type Handlers = { [K in SimulationKind]: (params: JobParams<K>, env: JobEnv) => Promise<JobResult<K>> };

/** One handler per simulation kind; a new kind (traces, eth_simulateV1) is one more entry. */
const HANDLERS: Handlers = {
  call: async (p, env) => {
    const view = await env.view(p.header.stateRoot);
    const recorder = env.reads;
    recorder?.start();
    try {
      const watch =
        recorder === undefined ? undefined : (b: Parameters<CallReadRecorder["watch"]>[0]) => recorder.watch(b);
      const out = await call(view, env.common, p.header, p.req, p.overrides, env.gasCap, watch);
      // A view of EVM memory would carry its whole buffer across the thread boundary: copy the bytes.
      return { ...out, returnValue: out.returnValue.slice(), reads: recorder?.stop() };
    } finally {
      recorder?.stop();
    }
  },
  estimateGas: async (p, env) =>
    estimateGas(await env.view(p.header.stateRoot), env.common, p.header, p.req, p.overrides, env.gasCap),
  createAccessList: async (p, env) =>
    createAccessList(await env.view(p.header.stateRoot), env.common, p.header, p.req, env.gasCap),
  traceBlock: async (p, env) => traceBlock(await env.view(p.parentStateRoot), env.common, p),
  traceCall: async (p, env) => traceCall(await env.view(p.header.stateRoot), env.common, env.gasCap, p),
  simulateV1: async (p, env) => simulateV1(await env.view(p.base.stateRoot), env.common, env.gasCap, p),
};

export function runJob(job: SimulationJob, env: JobEnv): Promise<unknown> {
  const handler = HANDLERS[job.kind] as (params: unknown, env: JobEnv) => Promise<unknown>;
  return handler(job.params, env);
}
