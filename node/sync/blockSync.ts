import type { ValidatorSchedule } from "../../consensus/validatorSchedule.js";
import type { SignatureVerifier } from "../../consensus/vote.js";
import type { Logger } from "../../runtime/lib/logger.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import { ReqRespError, ReqRespErrorCode } from "../network/errors.js";
import type { PeerStatus } from "../network/reqresp/codec.js";
import { syncTrace, syncTraceOn, traceUs } from "../network/reqresp/syncTrace.js";
import type { CommitChecks } from "./commitChecks.js";
import { SyncError, SyncErrorCode } from "./errors.js";
import { SyncFailure, SyncPeers, type SyncPeersOptions } from "./syncPeers.js";
import { type VerifiedBlock, verifyStatusProof, verifySyncItems } from "./verify.js";

/** What block sync needs from the network (P2PNetwork provides it through a thin adapter). */
export interface SyncNetwork {
  /** Ids of the connected peers. */
  peerIds(): string[];
  requestStatus(peer: string): Promise<PeerStatus>;
  requestBlocks(peer: string, from: bigint, count: number): Promise<Uint8Array[]>;
  /** Costs `peer` score points (`reason`: a bounded code); the network bans a peer whose points reach its threshold. */
  penalize(peer: string, points: number, reason: string): void;
}

/** What block sync needs from the node's chain and consensus. */
export interface SyncChain {
  /** Height of the last committed block. */
  headHeight(): bigint;
  /**
   * Commits verified blocks in order, serialised with consensus (the driver runs this in its input
   * queue, in short slices) and moves consensus to the new height. Blocks at or below the head by
   * then (consensus got there first) are skipped.
   */
  apply(blocks: VerifiedBlock[]): Promise<void>;
}

export interface SyncMetrics {
  /** One status or blocks exchange: `ok`, or the failure it counted as. */
  onRequest(kind: "status" | "blocks", result: "ok" | SyncFailure): void;
  onBlocksApplied(count: number): void;
  /** Wall time the client loop spent in one stage: waiting for a blocks response, verifying, applying. */
  onStage(stage: SyncStage, ms: number): void;
  setActive(active: boolean): void;
}

export type SyncStage = "request" | "verify" | "apply";

export interface BlockSyncOptions {
  chainId: bigint;
  /** Blocks per request (the protocol's cap is 64). */
  batchSize: number;
  /**
   * Block requests out at once: while one batch verifies and applies, the next ones travel (1 = ask for the next
   * batch only once this one is in hand).
   */
  requestsInFlight: number;
  /** Status requests in flight at once. */
  maxStatusRequests: number;
  /** A long sync logs its progress this often. */
  progressLogMs: number;
  peers: Partial<SyncPeersOptions>;
}

export const DEFAULT_BLOCK_SYNC_OPTIONS = {
  batchSize: 64,
  requestsInFlight: 2,
  maxStatusRequests: 8,
  progressLogMs: 2000,
} as const;

export interface BlockSyncModules {
  network: SyncNetwork;
  chain: SyncChain;
  schedule: ValidatorSchedule;
  verifier: SignatureVerifier;
  log: Logger;
  now: () => number;
  metrics?: SyncMetrics | null;
  /** Called when a sync run ends (consensus may start its height again). */
  onIdle?: () => void;
  /**
   * Checks a response's commit signatures as it arrives (a worker, while the response before is applied), so that
   * `verifier`'s checks in its turn are hits of its cache of verified signatures; never rejects. Absent: the
   * checks run in turn.
   */
  precheck?: ((checks: CommitChecks) => Promise<void>) | null;
}

/**
 * Catching up with peers that are ahead, beside consensus. A peer's height is believed only with
 * proof: its status carries the commit certificate of its head, verified before anything else
 * happens. Requests go out from here, never from the consensus input queue, so a peer that is slow
 * or silent costs a timeout of this loop only; verified blocks are handed to `chain.apply` in
 * order. Requests rotate over the peers that proved the heights wanted; a peer that times out,
 * serves nothing it proved, or serves blocks that do not verify loses score and backs off, and the
 * next request goes to another peer.
 */
export class BlockSync {
  private readonly opts: BlockSyncOptions;
  private readonly peers: SyncPeers;
  private readonly statusInFlight = new Set<string>();
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    opts: Pick<BlockSyncOptions, "chainId"> & Partial<BlockSyncOptions>,
    private readonly m: BlockSyncModules,
  ) {
    this.opts = { ...DEFAULT_BLOCK_SYNC_OPTIONS, peers: {}, ...opts };
    this.peers = new SyncPeers(this.opts.peers);
  }

  /** The peer-scheduling options in force (penalties, back-off, poll interval). */
  get peerOptions(): Readonly<SyncPeersOptions> {
    return this.peers.opts;
  }

  /** True while a sync run is fetching or applying blocks. */
  get active(): boolean {
    return this.running !== null;
  }

  /** Asks every connected peer whose status is due for it; starts a run when one proves a height above ours. */
  poll(): void {
    for (const peer of this.m.network.peerIds()) this.pollPeer(peer);
  }

  /** `peer` handed over a verified message from a few heights ahead: ask it for its status now (if due). */
  hint(peer: string): void {
    this.pollPeer(peer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private pollPeer(peer: string): void {
    const now = this.m.now();
    if (this.stopped || this.statusInFlight.has(peer) || !this.peers.dueForPoll(peer, now)) return;
    if (this.statusInFlight.size >= this.opts.maxStatusRequests) return;
    this.peers.polled(peer, now);
    this.statusInFlight.add(peer);
    void this.checkStatus(peer).finally(() => this.statusInFlight.delete(peer));
  }

  private async checkStatus(peer: string): Promise<void> {
    let status: PeerStatus;
    try {
      status = await this.m.network.requestStatus(peer);
    } catch (e) {
      this.m.metrics?.onRequest("status", failureOf(e));
      return; // a missing status costs nothing: without one the peer is simply never asked for blocks
    }
    this.m.metrics?.onRequest("status", "ok");
    // Only a claim above our head matters, and only a claim above what the peer proved before needs a proof.
    if (status.height <= this.m.chain.headHeight()) return;
    if (status.height > this.peers.provenHeight(peer)) {
      try {
        verifyStatusProof(status, this.ctx());
      } catch (e) {
        if (!(e instanceof SyncError)) throw e;
        if (e.code === SyncErrorCode.UNVERIFIABLE) {
          // Not a fault: this node cannot check that height yet. Consensus messages and later polls go on.
          this.m.log.debug("peer status not verifiable yet", { peer, height: status.height.toString() });
          return;
        }
        this.fail(peer, SyncFailure.BAD_PROOF, "status", e);
        return;
      }
      this.peers.proven(peer, status.height);
    }
    this.maybeRun();
  }

  private maybeRun(): void {
    if (this.running !== null || this.stopped) return;
    if (this.peers.target(this.m.now()) <= this.m.chain.headHeight()) return;
    this.m.metrics?.setActive(true);
    this.running = this.run()
      .catch((e) => this.m.log.error("block sync failed", {}, e))
      .finally(() => {
        this.running = null;
        this.m.metrics?.setActive(false);
        if (!this.stopped) this.m.onIdle?.();
      });
  }

  private async run(): Promise<void> {
    const { chain } = this.m;
    const headBefore = chain.headHeight();
    const started = this.m.now();
    let lastReport = started;
    let target = headBefore;
    // Block requests already sent, in height order: the next batches travel while this one verifies and applies.
    let ahead: BlocksRequest[] = [];
    while (!this.stopped) {
      const from = chain.headHeight() + 1n;
      target = this.peers.target(this.m.now());
      if (from > target) break;
      // Drop what consensus committed meanwhile, and everything after a gap (a short response leaves one).
      while (ahead.length > 0 && endOf(ahead[0]) <= from) ahead.shift();
      if (ahead.length > 0 && ahead[0].from > from) ahead = [];
      this.requestAhead(ahead, from);
      const req = ahead.shift();
      if (req === undefined) break; // every peer that proved these heights is backing off: the next poll retries
      const waited = this.m.now();
      const waitUs = syncTraceOn ? traceUs() : 0;
      const response = await req.response;
      const gotUs = syncTraceOn ? traceUs() : 0;
      this.m.metrics?.onStage("request", this.m.now() - waited);
      if ("error" in response) {
        this.fail(req.peer, failureOf(response.error), "blocks", response.error);
        // Its other requests are likely to fail alike: one fault costs one penalty; ask again elsewhere.
        ahead = ahead.filter((r) => r.peer !== req.peer);
        continue;
      }
      if (response.items.length === 0) {
        this.fail(req.peer, SyncFailure.EMPTY, "blocks", null);
        ahead = ahead.filter((r) => r.peer !== req.peer);
        continue;
      }
      this.requestAhead(ahead, endOf(req));
      // Blocks at or below the head by now (consensus committed them) are left out.
      let items = response.items.slice(Number(from - req.from));
      // Blocks of heights whose validators are not settled yet are verified against the newest settled ones and
      // applied only if those prove to be theirs (verifySyncItems): one response is one run, one durable batch.
      let start = from;
      let parent: Uint8Array | null = null;
      while (items.length > 0 && !this.stopped) {
        const verifying = this.m.now();
        const { blocks, error, rest } = await verifySyncItems(items, start, this.ctx(), parent);
        const applying = this.m.now();
        this.m.metrics?.onStage("verify", applying - verifying);
        if (blocks.length > 0) {
          this.peers.succeeded(req.peer);
          this.m.metrics?.onRequest("blocks", "ok");
          await chain.apply(blocks);
          this.m.metrics?.onStage("apply", this.m.now() - applying);
          this.m.metrics?.onBlocksApplied(blocks.length);
        }
        if (error !== null) this.fail(req.peer, SyncFailure.INVALID, "blocks", error);
        const applied = Number(chain.headHeight() - start + 1n);
        if (error !== null || applied <= 0 || applied > blocks.length) break;
        // The chain stops before a block verified against a guess of its validators that proved wrong: verify it
        // again, now against the validators the blocks before it settled.
        items = applied === blocks.length ? rest : items.slice(applied);
        start += BigInt(applied);
        parent = blocks[applied - 1].hash;
      }
      if (syncTraceOn) {
        const { sent, arrived, prechecked } = req.stamps as RequestStamps;
        syncTrace({
          side: "loop",
          from: req.from.toString(),
          sent,
          arrived,
          prechecked,
          wait: waitUs,
          got: gotUs,
          done: traceUs(),
        });
      }
      const t = this.m.now();
      if (t - lastReport >= this.opts.progressLogMs) {
        lastReport = t;
        this.logProgress(headBefore, target, started, t);
      }
    }
    if (chain.headHeight() > headBefore) this.logProgress(headBefore, target, started, this.m.now());
  }

  /**
   * Sends block requests for the heights after `ahead` (from `next` when it is empty) until `requestsInFlight` are
   * out, each to the least recently used peer that proved its first height. Their responses are checked only
   * when their turn comes, exactly like a response awaited at once: a request ahead saves its round trip, never a
   * check.
   */
  private requestAhead(ahead: BlocksRequest[], next: bigint): void {
    const now = this.m.now();
    const target = this.peers.target(now);
    const connected = new Set(this.m.network.peerIds());
    while (ahead.length < this.opts.requestsInFlight) {
      const from = ahead.length > 0 ? endOf(ahead[ahead.length - 1]) : next;
      if (from > target) return;
      const peer = this.peers.pick(from, now, (p) => connected.has(p));
      if (peer === null) return;
      const count = Number(min(this.peers.provenHeight(peer), from + BigInt(this.opts.batchSize) - 1n) - from + 1n);
      const stamps: RequestStamps | null = syncTraceOn ? { sent: traceUs(), arrived: 0, prechecked: 0 } : null;
      const response = this.m.network.requestBlocks(peer, from, count).then(
        async (items) => {
          if (stamps !== null) stamps.arrived = traceUs();
          await this.precheck(items, from);
          if (stamps !== null) stamps.prechecked = traceUs();
          return { items };
        },
        (error: unknown) => ({ error }),
      );
      ahead.push({ peer, from, count, response, stamps });
    }
  }

  /** Hands `items`' commit signatures to the `precheck` port, with the validators each is expected from. */
  private async precheck(items: Uint8Array[], from: bigint): Promise<void> {
    const precheck = this.m.precheck;
    if (precheck === undefined || precheck === null || items.length === 0) return;
    const { schedule } = this.m;
    const sets = new Map<readonly Validator[], number>();
    const keySets: Uint8Array[][] = [];
    const setOf = items.map((_, i) => {
      const h = from + BigInt(i);
      const validators = schedule.validators(h) ?? schedule.tentative?.(h)?.validators ?? [];
      let index = sets.get(validators);
      if (index === undefined) {
        index = keySets.push(validators.map((v) => v.publicKey)) - 1;
        sets.set(validators, index);
      }
      return index;
    });
    try {
      await precheck({ chainId: this.opts.chainId, items, keySets, setOf });
    } catch (e) {
      this.m.log.warn("sync commit precheck failed", {}, e);
    }
  }

  private fail(peer: string, kind: SyncFailure, what: "status" | "blocks", err: unknown): void {
    const points = this.peers.failed(peer, kind, this.m.now());
    this.m.network.penalize(peer, points, `sync_${kind}`);
    this.m.metrics?.onRequest(what, kind);
    this.m.log.debug("sync peer failed", { peer, kind, points, err: (err as Error | null)?.message });
  }

  private logProgress(headBefore: bigint, target: bigint, started: number, now: number): void {
    const head = this.m.chain.headHeight();
    const done = Number(head - headBefore);
    const perSec = done / Math.max(0.001, (now - started) / 1000);
    this.m.log.info("block sync", {
      height: head.toString(),
      target: target.toString(),
      blocksPerSec: Math.round(perSec),
      etaSeconds: perSec > 0 && target > head ? Math.ceil(Number(target - head) / perSec) : null,
    });
  }

  private ctx() {
    return { chainId: this.opts.chainId, schedule: this.m.schedule, verifier: this.m.verifier };
  }
}

function failureOf(e: unknown): SyncFailure {
  if (!(e instanceof ReqRespError)) return SyncFailure.UNAVAILABLE;
  if (e.code === ReqRespErrorCode.TIMEOUT) return SyncFailure.TIMEOUT;
  if (e.code === ReqRespErrorCode.INVALID_RESPONSE) return SyncFailure.INVALID;
  return SyncFailure.UNAVAILABLE;
}

/** A blocks request sent to `peer`; its response never rejects (a failure comes back as `error`). */
interface BlocksRequest {
  peer: string;
  from: bigint;
  count: number;
  response: Promise<{ items: Uint8Array[] } | { error: unknown }>;
  /** With `AZORA_SYNC_TRACE` (syncTrace.ts): when it was sent, its items arrived, their precheck ended (µs). */
  stamps: RequestStamps | null;
}

interface RequestStamps {
  sent: number;
  arrived: number;
  prechecked: number;
}

/** The first height after what `r` asked for. */
function endOf(r: BlocksRequest): bigint {
  return r.from + BigInt(r.count);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
