/**
 * The port between the worker runtime and the work itself. The runtime (`services/runtime/`) watches the
 * market, claims, fetches and checks inputs, stores outputs content-addressed, submits and answers replay
 * duties; a handler only turns input bytes into canonical output bytes. AI inference (`ai-oracle/`), video,
 * search and mail workers each implement this interface for their job kinds.
 */

import type { FastifyInstance } from "fastify";
import type { StorageBackend } from "../storage/backend.js";

/** A bad job input (wrong tensor shape or dtype, audio that is not audio, an image that does not decode). */
export class JobInputError extends Error {
  override readonly name = "JobInputError";
  constructor(
    /** Bounded, machine-readable reason, e.g. "INPUT_NOT_AUDIO", "TENSOR_SHAPE". */
    readonly code: string,
    message: string,
    /**
     * A reason to carry into the error result, e.g. ffmpeg's own last error line. Must be reproducible (the
     * same input and engine give the same text), since a verifier's error result must hash the same.
     */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface JobInput {
  /** Market job id. */
  readonly id: bigint;
  /** Short kind name, e.g. "ai/transcribe". */
  readonly kind: string;
  /** The job's spec document (parsed JSON of `specURI`): model id, parameters. */
  readonly spec: Readonly<Record<string, unknown>>;
  /** The input bytes; the runtime has already checked sha256(input) == the job's inputHash. */
  readonly input: Uint8Array;
  /**
   * The caller never reads `input` again: a handler may take its buffer (e.g. move it to an inference thread
   * without a copy, which leaves `input` empty). Unset: the handler must leave `input` intact.
   */
  readonly inputDisposable?: boolean;
}

export interface JobContext {
  /** Aborted when the worker shuts down or the job's delivery deadline passes. */
  readonly signal: AbortSignal;
  /** Progress of long work, 0..1; the runtime logs it and exposes it on /metrics. */
  progress(fraction: number, note?: string): void;
  /**
   * The worker's content storage (IPFS, served by its gateway at `/ipfs/…`) when it runs with one: handlers
   * whose output is a tree (an HLS directory) add it here and name its CID in their result document.
   */
  readonly storage?: StorageBackend;
}

/** What a spot check gets besides the job: the dispute's evidence and where the delivered result lives. */
export interface CheckContext {
  signal: AbortSignal;
  /** The challenger's evidence URI (from `JobChallenged`), if any: e.g. which segment to look at. */
  evidenceURI?: string;
  /** Base URLs of the workers that delivered the result (their gateways serve its files). */
  sources: readonly string[];
  storage?: StorageBackend;
}

export interface CheckResult {
  ok: boolean;
  /** Why not, for the log (bounded, no peer-supplied text above debug). */
  reason?: string;
}

export interface JobOutput {
  /**
   * Canonical result bytes: the same engine, flags and input give the same bytes. The runtime stores them
   * content-addressed; resultHash = sha256(bytes), resultURI names the CIDv1 (raw codec, sha256).
   */
  readonly bytes: Uint8Array;
  /** MIME type of `bytes`, e.g. "application/json". */
  readonly contentType: string;
  /**
   * How long the engine itself ran for this job (ms; a batch's run when the job was batched), when the handler
   * knows: the rest of its time is queueing, hops and encoding. For timings only, never part of the result.
   */
  readonly modelMs?: number;
  /** When the engine's run returned, µs on the machine's monotonic clock (services/runtime/callTrace.ts). */
  readonly modelEndUs?: number;
  /**
   * sha256 of `bytes` (`0x` + hex), when the handler computed it where it made them (an inference thread): a
   * caller may use it instead of hashing again. Must equal sha256(bytes) — the handler's tests check it.
   */
  readonly sha256?: `0x${string}`;
  /**
   * Whether the model ran on the event loop (true) or in an inference thread (false), when the handler has both
   * paths (ai-oracle/engine/inlinePolicy.ts). For timings only, never part of the result.
   */
  readonly inline?: boolean;
}

export interface JobHandler {
  /** Job kinds served, as the short names the market's bytes32 kinds encode. */
  readonly kinds: readonly string[];
  /** Engine identity pinned for replay (names and versions of runtime and model, thread count, flags). */
  readonly engine: string;
  /** Loads models or checks tools; called once before the first job. */
  init?(): Promise<void>;
  /** Runs one job. Throws JobInputError for bad input: the job fails with that reason, the worker stays up. */
  run(job: JobInput, ctx: JobContext): Promise<JobOutput>;
  /**
   * Replay verification: does a submitted result agree with this worker's own output for the same job, under
   * the kind's comparison rule (exact for decoded outputs, a stated tolerance for float vectors)? A verifier
   * votes for the submitted hash when it matches, otherwise for its own.
   */
  agrees(own: JobOutput, submitted: Uint8Array, job: JobInput): boolean;
  /**
   * Before claiming, with the input fetched and checked: can this worker take the job (its limits, its
   * engine, content it must fetch)? A reason when not — the job is not claimed, so its requester gets a refund
   * when nobody takes it.
   */
  admit?(
    job: JobInput,
    signal: AbortSignal,
    /** `deliverWindowSec`: the time a claim leaves to deliver (work that cannot finish in it is better not claimed). */
    ctx?: { storage?: StorageBackend; deliverWindowSec?: number },
  ): Promise<string | undefined>;
  /**
   * Spot-check replay for work too long to redo whole (a video): checks a delivered result by re-running
   * sampled parts of it. When present, a verifier calls this instead of `run` + `agrees`, and votes for the
   * delivered hash when it passes, else for a rejection hash no worker delivered.
   */
  check?(job: JobInput, submitted: Uint8Array, ctx: CheckContext): Promise<CheckResult>;
  /**
   * The job this worker delivered has ended (paid, slashed or refunded): let go of what it kept for it (a pin).
   * Best effort, called once per job; a failure is logged.
   */
  release?(job: JobInput, ctx: { storage?: StorageBackend }): Promise<void>;
  /**
   * Work paid by the unit (a mail campaign paid per delivered message): the part of the job's `price` a result
   * earns, computed from the result bytes alone (they are stored, so a restart computes the same claim). When
   * present the runtime delivers with the market's `submitMetered` (redundancy 1, RequesterAccept or Arbiter
   * jobs), and an undisputed settlement pays that much and refunds the rest to the requester.
   */
  meter?(result: Uint8Array, price: bigint): bigint;
  /** Needs the worker's content storage (`JobContext.storage`). */
  readonly needsStorage?: boolean;
  /** Routes of its own on the worker's HTTP port (e.g. the video player page), registered before it listens. */
  routes?(app: FastifyInstance, deps: { storage?: StorageBackend }): Promise<void>;
  close?(): Promise<void>;
}
