/**
 * The `storage/pin` job handler: the worker runtime's port (services/runtime/handler.ts) over the worker's IPFS
 * node. A pin job is posted in the market's Retrieval mode: its challenge window is the custody period.
 *   admit   — before claiming: the request parses, the DAG fits this worker's limits, its root block is
 *             fetchable and commits to the requested size;
 *   run     — pin the DAG (fetched over bitswap from the providers the spec names and the worker's peers), read
 *             every block back from disk, record the pin, return the receipt;
 *   routes  — `GET /pin/proof/<cid>?position=<n>`: the blocks from the root down to the one at the position,
 *             read from the local blockstore only (a worker that lost a block cannot borrow it from a peer);
 *   check   — a verifier's side of a challenge: fetch that proof from the holding worker and verify it against
 *             the root CID (retrying a few times, so a worker that is restarting is not slashed for it);
 *   release — when the job ends, unpin what no other job holds.
 */
import type { Logger } from "../../runtime/lib/logger.js";
import type { CheckContext, CheckResult, JobHandler, JobInput } from "../runtime/handler.js";
import { JobInputError } from "../runtime/handler.js";
import { errorCodeOf } from "../runtime/result.js";
import type { StorageBackend } from "../storage/backend.js";
import { parseCID } from "../storage/gateway/paths.js";
import {
  decodeNode,
  decodeProof,
  encodeProof,
  isPinnableRoot,
  MAX_PROOF_BYTES,
  PROOF_CONTENT_TYPE,
  provePosition,
  spanOf,
  verifyPositionProof,
  walkDag,
} from "./dag.js";
import {
  decodeReceipt,
  decodeRequest,
  encodeReceipt,
  PIN_KIND,
  type PinRequest,
  positionOf,
  RECEIPT_CONTENT_TYPE,
  uintField,
} from "./documents.js";
import { PinError, PinErrorCode } from "./errors.js";
import { PinLedger } from "./ledger.js";

export interface PinLimits {
  /** Largest DAG (its span, `dagBytes`) taken for one job. */
  maxPinBytes: bigint;
  /** Most bytes held on disk for all jobs at once. */
  capacityBytes: bigint;
}

export const DEFAULT_PIN_LIMITS: PinLimits = { maxPinBytes: 64n << 30n, capacityBytes: 512n << 30n };

export interface PinHandlerOptions {
  /** Where the pin ledger lives (`pins.json`). */
  stateDir: string;
  limits?: Partial<PinLimits>;
  /** Time to fetch the root block before claiming, and per proof request when verifying. */
  fetchTimeoutMs?: number;
  /** Proof requests per holding worker before a verifier votes the challenge upheld. */
  checkAttempts?: number;
  /** Pause between those requests. */
  checkRetryMs?: number;
  logger?: Logger;
}

/** Most libp2p addresses dialled from a spec's `providers` (where the requester says the DAG can be fetched). */
const MAX_PROVIDERS = 8;
/** Distinct blocks a pin may have (a walk's bound; 1 MiB leaves make this 10 TiB). */
const MAX_BLOCKS = 10_000_000;

export function createPinHandler(opts: PinHandlerOptions): JobHandler {
  const limits = { ...DEFAULT_PIN_LIMITS, ...opts.limits };
  const fetchTimeoutMs = opts.fetchTimeoutMs ?? 30_000;
  const attempts = opts.checkAttempts ?? 3;
  const retryMs = opts.checkRetryMs ?? 2_000;
  const ledger = new PinLedger(`${opts.stateDir}/pins.json`);
  const log = opts.logger;

  /** Local blocks only: what this worker holds, never a peer's. */
  const localBlock =
    (storage: StorageBackend) => (cid: Parameters<StorageBackend["getBlock"]>[0], signal?: AbortSignal) =>
      storage.getBlock(cid, { signal, offline: true });

  async function dialProviders(storage: StorageBackend, spec: Readonly<Record<string, unknown>>): Promise<void> {
    const list = Array.isArray(spec.providers) ? spec.providers.slice(0, MAX_PROVIDERS) : [];
    for (const p of list) {
      if (typeof p !== "string" || p.length > 512 || !p.includes("/p2p/")) continue;
      try {
        await storage.connect(p, { signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        log?.debug("pin provider not reachable", { provider: p, code: (e as { code?: string }).code });
      }
    }
  }

  function requestOf(job: JobInput): PinRequest {
    try {
      return decodeRequest(job.input);
    } catch (e) {
      if (e instanceof PinError) throw new JobInputError(e.code, e.message);
      throw e;
    }
  }

  const handler: JobHandler = {
    kinds: [PIN_KIND],
    engine: "azora storage/pin v1: custody of raw and dag-pb DAGs, proofs by DAG position over link Tsizes",
    needsStorage: true,

    async admit(job, signal, ctx) {
      const storage = ctx?.storage;
      if (storage === undefined) return "PIN_NO_STORAGE: the worker runs without content storage";
      let req: PinRequest;
      try {
        req = requestOf(job);
      } catch (e) {
        return `${(e as JobInputError).code}: ${(e as Error).message}`;
      }
      if (!isPinnableRoot(req.cid))
        return `${PinErrorCode.UNSUPPORTED_CODEC}: root codec 0x${req.cid.code.toString(16)} (raw and dag-pb only)`;
      if (req.dagBytes > limits.maxPinBytes)
        return `${PinErrorCode.TOO_LARGE}: ${req.dagBytes} bytes > ${limits.maxPinBytes} per pin`;
      if (!ledger.holds(req.cid.toString()) && ledger.heldBytes() + req.dagBytes > limits.capacityBytes)
        return `${PinErrorCode.TOO_LARGE}: ${ledger.heldBytes()} bytes held + ${req.dagBytes} > capacity ${limits.capacityBytes}`;
      await dialProviders(storage, job.spec);
      let root: Uint8Array;
      try {
        root = await storage.getBlock(req.cid, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(fetchTimeoutMs)]),
        });
      } catch (e) {
        return `${PinErrorCode.BLOCK_MISSING}: the root block is not fetchable (${(e as { code?: string }).code ?? "error"})`;
      }
      const span = spanOf(decodeNode(req.cid, root));
      if (span !== req.dagBytes)
        return `${PinErrorCode.SIZE_MISMATCH}: the request says ${req.dagBytes} bytes, the root spans ${span}`;
      return undefined;
    },

    async run(job, ctx) {
      const storage = ctx.storage;
      if (storage === undefined) throw new Error("storage/pin needs the worker's content storage");
      const req = requestOf(job);
      await dialProviders(storage, job.spec);
      ctx.progress(0, "fetching");
      await storage.pin(req.cid, { signal: ctx.signal });
      // every block read back from disk: the receipt states what is held, not what was asked for
      const summary = await walkDag(req.cid, localBlock(storage), { maxBlocks: MAX_BLOCKS, signal: ctx.signal });
      if (!summary.consistent)
        log?.warn("pinned DAG states link sizes that are not its subtrees': some blocks are never challenged", {
          job: job.id,
          cid: req.cid.toString(),
        });
      ledger.add(req.cid.toString(), job.id, summary.storedBytes);
      log?.info("pinned", {
        job: job.id,
        cid: req.cid.toString(),
        dagBytes: req.dagBytes,
        blocks: summary.blocks,
        storedBytes: summary.storedBytes,
      });
      return {
        bytes: encodeReceipt({ cid: req.cid, dagBytes: req.dagBytes, blocks: summary.blocks }),
        contentType: RECEIPT_CONTENT_TYPE,
      };
    },

    agrees(own, submitted) {
      return Buffer.from(own.bytes).equals(Buffer.from(submitted));
    },

    async check(job, submitted, ctx) {
      return checkChallenge(job, submitted, ctx);
    },

    async routes(app, deps) {
      app.get<{ Params: { cid: string }; Querystring: { position?: string } }>(
        "/pin/proof/:cid",
        {
          schema: {
            description:
              "storage/pin retrieval proof: the blocks from the root down to the one at `position` (local blocks only)",
            params: { type: "object", properties: { cid: { type: "string" } }, required: ["cid"] },
            querystring: { type: "object", properties: { position: { type: "string" } } },
          },
        },
        async (req, reply) => {
          const storage = deps.storage;
          if (storage === undefined) return reply.code(503).send({ error: { code: "PIN_NO_STORAGE" } });
          let root: ReturnType<typeof parseCID>;
          let position: bigint;
          try {
            root = parseCID(req.params.cid);
            position = uintField(req.query.position ?? "0", "position");
          } catch {
            return reply.code(400).send({ error: { code: PinErrorCode.BAD_REQUEST } });
          }
          try {
            const proof = await provePosition(root, position, localBlock(storage), AbortSignal.timeout(30_000));
            return reply
              .header("content-type", PROOF_CONTENT_TYPE)
              .header("cache-control", "no-store")
              .send(Buffer.from(encodeProof(proof.blocks)));
          } catch (e) {
            if (e instanceof PinError && e.code === PinErrorCode.BLOCK_MISSING)
              return reply.code(404).send({ error: { code: e.code, cid: (e.type as { cid: string }).cid } });
            if (e instanceof PinError) return reply.code(422).send({ error: { code: e.code } });
            throw e;
          }
        },
      );
    },

    async release(job, ctx) {
      let req: PinRequest;
      try {
        req = decodeRequest(job.input);
      } catch {
        return;
      }
      for (const cid of ledger.release(job.id)) {
        if (cid !== req.cid.toString()) continue;
        await ctx.storage?.unpin(req.cid);
        log?.info("unpinned", { job: job.id, cid });
      }
    },
  };

  /**
   * A verifier's check of one challenge: the delivered receipt must be the request's, and the holding worker
   * must answer the challenged position with a proof that verifies against the root. Pass → the verifier votes
   * the delivered hash (the challenge is rejected); fail → it votes a rejection hash (two such votes uphold it).
   */
  async function checkChallenge(job: JobInput, submitted: Uint8Array, ctx: CheckContext): Promise<CheckResult> {
    let req: PinRequest;
    try {
      req = decodeRequest(job.input);
    } catch {
      // a request no worker can pin: the delivered error result is the right answer, and there is nothing to hold
      return errorCodeOf(submitted) === PinErrorCode.BAD_REQUEST ? { ok: true } : { ok: false, reason: "bad request" };
    }
    try {
      const receipt = decodeReceipt(submitted);
      if (!receipt.cid.equals(req.cid) || receipt.dagBytes !== req.dagBytes)
        return { ok: false, reason: "the receipt is not for the requested DAG" };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    const position = positionOf(ctx.evidenceURI, req.dagBytes);
    const reasons: string[] = [];
    for (const source of ctx.sources) {
      for (let attempt = 1; attempt <= attempts; attempt++) {
        ctx.signal.throwIfAborted();
        const got = await fetchProof(source, req, position, ctx.signal);
        if (got.ok) {
          log?.info("retrieval challenge answered", { job: job.id, position, block: got.block });
          return { ok: true };
        }
        reasons.push(`${source} (try ${attempt}): ${got.reason}`);
        // a wrong proof is final; an unreachable worker or a missing block may be a restart: try again
        if (got.final || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
    return { ok: false, reason: `position ${position}: ${reasons.join("; ").slice(0, 600)}` };
  }

  async function fetchProof(
    source: string,
    req: PinRequest,
    position: bigint,
    signal: AbortSignal,
  ): Promise<{ ok: true; block: string } | { ok: false; final: boolean; reason: string }> {
    const url = `${source.replace(/\/+$/, "")}/pin/proof/${req.cid.toString()}?position=${position}`;
    let bytes: Uint8Array;
    try {
      const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(fetchTimeoutMs)]) });
      if (!res.ok) {
        await res.body?.cancel();
        return { ok: false, final: false, reason: `HTTP ${res.status}` };
      }
      const read = await readCapped(res, MAX_PROOF_BYTES);
      if (read === undefined) return { ok: false, final: true, reason: `a proof over ${MAX_PROOF_BYTES} bytes` };
      bytes = read;
    } catch (e) {
      if (signal.aborted) throw e;
      return { ok: false, final: false, reason: (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name };
    }
    try {
      const cid = await verifyPositionProof(req.cid, position, decodeProof(bytes));
      return { ok: true, block: cid.toString() };
    } catch (e) {
      return { ok: false, final: true, reason: e instanceof PinError ? e.message : (e as Error).message };
    }
  }

  return handler;
}

/** The body, or undefined past `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > max) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(c);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
