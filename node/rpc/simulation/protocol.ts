/**
 * What travels between the simulation pool (main thread) and its workers. Everything here is
 * structured-clone data: bigints, Uint8Arrays, plain objects.
 *
 * To add a simulation (a tracer, eth_simulateV1): one entry in `SimulationJobs` and one handler in
 * `jobs.ts`; the pool, its limits and its errors need no change.
 */
import type { AccessListResult, CallOutcome } from "../../../rpc/backend.js";
import type { SimulationErrorCode } from "../../../rpc/errors.js";
import type { CallRequest, StateOverride } from "../../../rpc/types.js";
import type { BlockHeader } from "../../../runtime/primitives/block.js";
import type { CallReads } from "./callReads.js";
import type { SimulateV1Params } from "./simulateV1.js";
import type { TraceBlockParams, TraceCallParams } from "./trace.js";

/** Every simulation runs at one committed block: on the state after `header`, in its context. */
interface AtBlock {
  header: BlockHeader;
}

export interface SimulationJobs {
  /** `reads`: what the call read (absent when the worker records nothing), for the cross-block cache. */
  call: {
    params: AtBlock & { req: CallRequest; overrides?: StateOverride };
    result: CallOutcome & { reads?: CallReads };
  };
  estimateGas: { params: AtBlock & { req: CallRequest; overrides?: StateOverride }; result: bigint };
  createAccessList: { params: AtBlock & { req: CallRequest }; result: AccessListResult };
  /** debug_traceTransaction and debug_traceBlockBy*: the trace's JSON text. */
  traceBlock: { params: TraceBlockParams; result: string };
  /** debug_traceCall: the trace's JSON text. */
  traceCall: { params: TraceCallParams; result: string };
  /** eth_simulateV1: the simulated blocks' JSON text. */
  simulateV1: { params: SimulateV1Params; result: string };
}

export type SimulationKind = keyof SimulationJobs;
export type JobParams<K extends SimulationKind> = SimulationJobs[K]["params"];
export type JobResult<K extends SimulationKind> = SimulationJobs[K]["result"];
export type SimulationJob = { [K in SimulationKind]: { kind: K; params: JobParams<K> } }[SimulationKind];

/** Fixed for a worker's life. */
export interface SimulationWorkerData {
  chainId: bigint;
  gasCap: bigint;
  /** Estimated bytes of the trie nodes the worker keeps; they are immutable, so the cache never goes stale. */
  nodeCacheBytes: number;
}

/** How often a worker reports its V8 heap to the pool (/metrics): a gauge, not a per-job cost. */
export const WORKER_HEAP_REPORT_MS = 10_000;

/** Reads a worker asks the main thread for (the database is open there, once per process). */
export type HostRead = { kind: "node"; key: string } | { kind: "blockHash"; number: bigint };

/** A failure as the worker reports it; the pool turns it back into the RPC error. */
export type WireError =
  | { kind: "server"; message: string }
  | { kind: "limit"; message: string }
  | { kind: "simulation"; code: SimulationErrorCode; message: string }
  | { kind: "reverted"; data: string }
  | { kind: "internal"; message: string };

export type ToWorker =
  | { t: "job"; id: number; job: SimulationJob }
  | { t: "reply"; id: number; value: Uint8Array | undefined }
  | { t: "replyError"; id: number; message: string };

export type FromWorker =
  | { t: "ready" }
  | { t: "read"; id: number; read: HostRead }
  | { t: "done"; id: number; value: unknown }
  | { t: "failed"; id: number; error: WireError }
  /** The worker's own V8 heap (its isolate is not in the main thread's process.memoryUsage()). */
  | { t: "heap"; used: number; total: number };
