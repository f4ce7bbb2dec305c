import { type CommitCertificate, encodeCommit } from "../../consensus/commit.js";
import { ConsensusCore } from "../../consensus/core/state.js";
import type { CoreVote, Input, Output, TimeoutKind } from "../../consensus/core/types.js";
import type { ValidatorSet } from "../../consensus/core/validatorSet.js";
import {
  FutureBuffer,
  type FutureBufferLimits,
  MessageError,
  type MessageLimits,
  MessageVerifier,
  Placement,
  type VerifiedProposal,
  type VerifiedVote,
} from "../../consensus/messages/index.js";
import { StaticValidatorSchedule } from "../../consensus/validatorSchedule.js";
import { VoteType } from "../../consensus/vote.js";
import {
  decodeSignedProposal,
  decodeSignedVote,
  encodeEvidence,
  encodeSignedProposal,
  encodeSignedVote,
  type SignedProposal,
  type SignedVote,
} from "../../consensus/wire.js";
import type { ConsensusParams } from "../../genesis/spec.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { type Block, decodeBlock, encodeBlock, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, hexToBytes } from "../../runtime/primitives/bytes.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import type { Chain } from "../chain/chain.js";
import type { Ed25519Verifier } from "../crypto/ed25519.js";
import type { Mempool } from "../mempool/index.js";
import { GossipAction, GossipActionError, type P2PNetwork } from "../network/index.js";
import { BlockSync, type SyncMetrics, SyncServer, type VerifiedBlock } from "../sync/index.js";
import type { ChainApp } from "./app.js";
import type { GuardedSigner } from "./signer.js";
import type { ConsensusWAL } from "./wal.js";
import { decodeWalInput, encodeWalInput } from "./walCodec.js";

/** The proposer executes txs for at most timeoutPropose(round) / this (see ChainApp.buildProposal). */
const PROPOSE_BUDGET_DIVISOR = 3;
/**
 * Peers' votes of the current height kept for re-sends (CometBFT gossips any vote a peer lacks): a
 * validator that missed a round's prevotes — restarted without them, or partitioned — needs them
 * to accept a re-proposal's proof of lock even when a signer of it is down.
 */
const MAX_RESENT_VOTES = 1024;
/** How often a node checks whether peers are ahead (and re-sends its votes to peers behind). */
const SYNC_INTERVAL_MS = 500;
/**
 * Synced blocks are committed in consensus-queue jobs of at most this long each, so peer messages
 * and timeouts are handled between them even while a long sync applies thousands of blocks.
 */
const SYNC_APPLY_SLICE_MS = 200;

export interface DriverModules {
  chain: Chain;
  app: ChainApp;
  mempool: Mempool;
  network: P2PNetwork;
  /** null on a full node (follows the chain, never signs). */
  signer: GuardedSigner | null;
  wal: ConsensusWAL | null;
  verifier: Ed25519Verifier;
  validators: Validator[];
  params: ConsensusParams;
  log: Logger;
  onStep?: (s: { height: bigint; round: number; step: string }) => void;
  metrics?: ConsensusMetrics | null;
  syncMetrics?: SyncMetrics | null;
  /** Overrides of the message admission bounds (tests). */
  messageLimits?: Partial<MessageLimits>;
  futureBufferLimits?: Partial<FutureBufferLimits>;
}

/** What the driver reports (node/metrics.ts implements it with prom-client). */
export interface ConsensusMetrics {
  step(height: bigint, round: number, step: string, nowMs: number): void;
  decided(round: number, validatorCount: number, signers: number[]): void;
  signed(height: bigint): void;
  /** Messages and bytes held for heights above ours (`FutureBuffer`). */
  futureBuffer?(messages: number, bytes: number): void;
}

export interface DriverStatus {
  height: bigint;
  round: number;
  step: string;
  catchingUp: boolean;
  isValidator: boolean;
  lastSignedHeight: bigint;
}

type Job = () => Promise<void>;

/** A message held for a height above ours: a copy (never a view into a network buffer), and who relayed it. */
type HeldMessage = { topic: "proposal" | "vote"; data: Uint8Array; from: string };

/** Codes of messages that verified but are not relayed now (IGNORE, no penalty). */
export enum HeldMessageCode {
  /** A few heights ahead: held until this node gets there, never relayed. */
  HELD = "CONSENSUS_MESSAGE_HELD_FOR_HEIGHT",
  /** The future buffer is full of nearer heights. */
  BUFFER_FULL = "CONSENSUS_MESSAGE_BUFFER_FULL",
  /** Already held (it came by another route). */
  DUPLICATE = "CONSENSUS_MESSAGE_DUPLICATE",
}

/**
 * THE mapping from a refused consensus message to the network's verdict: provable misbehaviour is
 * REJECT (the relaying peer's score pays), anything else IGNORE. A non-MessageError is a local bug
 * and passes through (the processor ignores it and warns).
 */
function toGossipError(e: unknown): unknown {
  if (!(e instanceof MessageError)) return e;
  const action = e.peerFault ? GossipAction.REJECT : GossipAction.IGNORE;
  return new GossipActionError(action, { code: e.code, reason: e.type.reason });
}

/**
 * Runs the Tendermint state machine (consensus/core) for one node: feeds it verified network
 * messages, its own timeouts and values in one serialised queue, writes every input to the WAL
 * before it is handled, signs through the double-sign guard, gossips proposals and votes, commits
 * decided blocks through the app, and catches up by block sync when peers are ahead.
 */
export class ConsensusDriver {
  private readonly m: DriverModules;
  private readonly chainId: bigint;
  private readonly self: number | null;
  private core!: ConsensusCore;
  private validatorSet!: ValidatorSet;
  private readonly validatorSchedule: StaticValidatorSchedule;
  private readonly admission: MessageVerifier;
  private readonly sync: BlockSync;
  private readonly server: SyncServer;
  private height = 0n;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Blocks of the current height by value id (block hash hex), with their signed proposals. */
  private blocks = new Map<string, { block: Block; proposal: Uint8Array; round: number }>();
  /** Proposals of the current height already handled (round/value id); verdicts by block and expected proposer. */
  private proposalsSeen = new Set<string>();
  private verdicts = new Map<string, boolean>();
  /** Own signed votes and proposal of the current height (commit building and re-sends). */
  private ownVotes = new Map<string, SignedVote>();
  /** Peers' signed votes of the current height (re-sent with ours when the height stalls). */
  private heightVotes = new Map<string, { round: number; raw: Uint8Array }>();
  private ownProposal: Uint8Array | null = null;
  /** Verified messages of heights above ours, replayed on entering their height. */
  private readonly future: FutureBuffer<HeldMessage>;
  private heightStarted = false;
  private heightStartTimer: NodeJS.Timeout | null = null;
  private lastCommitAtMs = Date.now();
  private roundStartedAtMs = 0;
  /** When a proposal or vote of the current height that was new to us last arrived from a peer. */
  private lastPeerMessageAtMs = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private unsubscribePending: (() => void) | null = null;
  private readonly evidenceSeen = new Set<string>();
  private currentRound = 0;
  private currentStep = "propose";
  /** While replaying the WAL: a getValue is answered after the replay (from the log if it holds the value). */
  private replaying = false;
  private deferredGetValue: { height: bigint; round: number } | null = null;

  constructor(modules: DriverModules) {
    this.m = modules;
    this.chainId = modules.chain.spec.chainId;
    const pub = modules.signer?.publicKey;
    const idx =
      pub === undefined ? -1 : modules.validators.findIndex((v) => Buffer.from(v.publicKey).equals(Buffer.from(pub)));
    this.self = idx >= 0 ? idx : null;
    this.validatorSchedule = new StaticValidatorSchedule(modules.validators);
    this.admission = new MessageVerifier(
      this.chainId,
      { schedule: this.validatorSchedule, verifier: modules.verifier },
      modules.messageLimits,
    );
    this.future = new FutureBuffer(modules.futureBufferLimits);
    this.server = new SyncServer(modules.chain);
    const network = modules.network;
    this.sync = new BlockSync(
      { chainId: this.chainId },
      {
        network: {
          peerIds: () => network.peers().map((p) => p.id),
          requestStatus: (peer) => network.requestStatus(peer),
          requestBlocks: (peer, from, count) => network.requestBlocks(peer, from, count),
          penalize: (peer, points, reason) => network.penalize(peer, points, reason),
        },
        chain: {
          headHeight: () => modules.chain.head.header.number,
          apply: (blocks) => this.applySynced(blocks),
        },
        schedule: this.validatorSchedule,
        verifier: modules.verifier,
        log: modules.log.child({ module: "sync" }),
        now: Date.now,
        metrics: modules.syncMetrics,
        onIdle: () => this.maybeStartHeight(),
      },
    );
  }

  async start(): Promise<void> {
    const { network, mempool } = this.m;
    network.onGossip("proposal", (data, from) => this.onGossip("proposal", data, from));
    network.onGossip("vote", (data, from) => this.onGossip("vote", data, from));
    network.onGossip("evidence", (data) => this.onEvidenceGossip(data));
    network.handleBlockRequests((from, count) => this.server.blocks(from, count));
    network.handleStatus(() => this.server.status());
    this.unsubscribePending = mempool.onPending(() => this.maybeStartHeight());

    // Through the queue like every other input: peer messages that arrive while the WAL replays
    // must not run between replayed inputs (nor execute a block on the head state concurrently with
    // the replay's own). A replay failure still fails the start.
    const replayed = this.queue.then(() => this.enterHeight(this.m.chain.head.header.number + 1n, true));
    this.queue = replayed.catch(() => undefined);
    await replayed;
    this.syncTimer = setInterval(() => this.tick(), SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    if (this.heightStartTimer !== null) clearTimeout(this.heightStartTimer);
    for (const t of this.timers) clearTimeout(t);
    this.unsubscribePending?.();
    await this.sync.stop();
    await this.queue;
    await this.m.app.reset();
  }

  status(): DriverStatus {
    return {
      height: this.height,
      round: this.currentRound,
      step: this.currentStep,
      catchingUp: this.sync.active,
      isValidator: this.self !== null,
      lastSignedHeight: this.m.signer?.lastSigned().height ?? 0n,
    };
  }

  private enqueue(job: Job): Promise<void> {
    const run = async () => {
      if (this.stopped) return;
      try {
        await job();
      } catch (e) {
        this.m.log.error("consensus job failed", { height: this.height.toString() }, e);
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next;
    return next;
  }

  // --- heights -------------------------------------------------------------------------------------

  private newCore(): ConsensusCore {
    return new ConsensusCore(
      {
        self: this.self,
        timeouts: {
          proposeMs: this.m.params.timeoutProposeMs,
          proposeDeltaMs: this.m.params.timeoutProposeDeltaMs,
          prevoteMs: this.m.params.timeoutPrevoteMs,
          prevoteDeltaMs: this.m.params.timeoutPrevoteDeltaMs,
          precommitMs: this.m.params.timeoutPrecommitMs,
          precommitDeltaMs: this.m.params.timeoutPrecommitDeltaMs,
        },
      },
      this.validatorSet,
    );
  }

  /** Prepares `height` (WAL replay on restart) and starts it when there is something to do. */
  private async enterHeight(height: bigint, restarting: boolean): Promise<void> {
    this.height = height;
    this.validatorSet = this.validatorSchedule.setAt(height);
    // One core for the node's life: its startHeight keeps the previous height's votes, so a late
    // vote of that height (which onVote still accepts) that conflicts with an earlier one still
    // yields evidence. A fresh core per height sat at height 0 and silently dropped such votes.
    if (this.core === undefined) this.core = this.newCore();
    else this.core.setValidators(this.validatorSet);
    this.blocks = new Map();
    this.proposalsSeen = new Set();
    this.verdicts = new Map();
    this.ownVotes = new Map();
    this.heightVotes = new Map();
    this.ownProposal = null;
    this.heightStarted = false;
    const wal = this.m.wal;
    if (restarting && wal !== null) {
      const replay = await wal.replay();
      if (replay.height === height && replay.records.length > 0) {
        this.m.log.info("replaying consensus WAL", { height: height.toString(), records: replay.records.length });
        this.replaying = true;
        try {
          for (const r of replay.records) {
            const { input, extra } = decodeWalInput(r);
            if (input.type === "startHeight" && input.height === height) this.heightStarted = true;
            if (input.type === "proposeValue") this.deferredGetValue = null; // the value is in the log
            await this.replayInput(input, extra);
          }
        } finally {
          this.replaying = false;
        }
        const deferred = this.deferredGetValue;
        this.deferredGetValue = null;
        if (deferred !== null) await this.buildValue(deferred.height, deferred.round);
        // The height may not have started before the crash (only late messages were logged).
        this.maybeStartHeight();
        return;
      }
    }
    await wal?.startHeight(height);
    this.maybeStartHeight();
    // Messages that arrived early for this height (verified again: the node's position has changed).
    const pending = this.future.take(height);
    this.m.metrics?.futureBuffer?.(this.future.size, this.future.bytes);
    for (const f of pending) void this.onGossip(f.topic, f.data, f.from).catch(() => undefined);
  }

  /**
   * Round 0 of a height starts when transactions wait or the empty-block interval has passed
   * (an idle chain does not grow by thousands of empty blocks), or at once when a peer has
   * already started it.
   */
  private maybeStartHeight(force = false): void {
    if (this.heightStarted || this.stopped || this.sync.active) return;
    const waited = Date.now() - this.lastCommitAtMs;
    const due = waited >= this.m.params.emptyBlockIntervalMs;
    if (force || due || this.hasTxs()) {
      this.heightStarted = true;
      if (this.heightStartTimer !== null) clearTimeout(this.heightStartTimer);
      this.heightStartTimer = null;
      const h = this.height;
      void this.enqueue(() => this.step({ type: "startHeight", height: h }));
      return;
    }
    if (this.heightStartTimer === null) {
      this.heightStartTimer = setTimeout(() => {
        this.heightStartTimer = null;
        this.maybeStartHeight();
      }, this.m.params.emptyBlockIntervalMs - waited);
    }
  }

  private hasTxs(): boolean {
    return this.m.mempool.stats().pending > 0;
  }

  // --- inputs --------------------------------------------------------------------------------------

  /** WAL first, then the state machine, then its outputs. */
  private async step(input: Input, extra?: Uint8Array, sync = false): Promise<void> {
    if (input.type === "startHeight" && input.height !== this.height) return;
    await this.m.wal?.append(encodeWalInput(input, extra), { sync });
    await this.runOutputs(this.core.step(input));
  }

  private async replayInput(input: Input, extra: Uint8Array | undefined): Promise<void> {
    if (input.type === "vote" && extra !== undefined) input.vote.signed = decodeSignedVote(extra);
    if (input.type === "proposeValue" && extra !== undefined) {
      // Our own block, as proposed before the crash: re-proposed identically (the signer allows it).
      const block = decodeBlock(extra);
      this.blocks.set(input.valueId, { block, proposal: new Uint8Array(0), round: input.round });
    }
    if (input.type === "proposal" && extra !== undefined) {
      const p = decodeSignedProposal(extra);
      this.blocks.set(bytesToHex(hashHeader(p.block.header)), { block: p.block, proposal: extra, round: p.round });
    }
    await this.runOutputs(this.core.step(input));
  }

  /**
   * Admission of a peer's proposal or vote (gossip, direct re-send, or replayed from the future
   * buffer): verified before anything else — size, height and round window, membership, signature
   * (`MessageVerifier`). Returning means Accept, so gossipsub relays it: only verified messages of
   * heights h−1 … h+1 are. Verified messages of h+2 … h+4 are held but not relayed, and hint that
   * the relaying peer may be ahead (block sync asks it for a proven status); anything farther is
   * dropped unread.
   */
  private async onGossip(topic: "proposal" | "vote", data: Uint8Array, from: string): Promise<void> {
    const at = { height: this.height, round: this.currentRound };
    let checked: VerifiedVote | VerifiedProposal;
    try {
      checked = topic === "vote" ? this.admission.decodeVote(data, at) : this.admission.decodeProposal(data, at);
    } catch (e) {
      throw toGossipError(e);
    }
    if (checked.placement === Placement.NEXT || checked.placement === Placement.FUTURE) {
      this.hold(topic, checked, data, from);
      return;
    }
    // The first message of a height from a peer starts it here too (its proposer is not waiting on us).
    const height = "vote" in checked ? checked.vote.height : checked.proposal.height;
    if (height === this.height && !this.heightStarted) this.maybeStartHeight(true);
    void this.enqueue(async () => {
      if ("vote" in checked) await this.onVote(checked.vote, data);
      else await this.onProposal(checked.proposal, data);
    });
  }

  /** Keeps a verified message of a height above ours; throws IGNORE for what is not to be relayed. */
  private hold(
    topic: "proposal" | "vote",
    checked: VerifiedVote | VerifiedProposal,
    data: Uint8Array,
    from: string,
  ): void {
    let height: bigint;
    let key: string;
    if ("vote" in checked) {
      const v = checked.vote;
      height = v.height;
      key = `v/${v.type}/${v.round}/${v.validatorIndex}/${v.blockHash === null ? "nil" : bytesToHex(v.blockHash)}`;
    } else {
      height = checked.proposal.height;
      key = `p/${checked.proposal.round}/${bytesToHex(checked.blockHash)}`;
    }
    const held = this.future.add(height, key, data.length, { topic, data: data.slice(), from });
    this.m.metrics?.futureBuffer?.(this.future.size, this.future.bytes);
    if (checked.placement === Placement.FUTURE) {
      // A validator signed for a height two or more above ours: we are probably behind.
      this.sync.hint(from);
      throw new GossipActionError(GossipAction.IGNORE, { code: HeldMessageCode.HELD, reason: `height ${height}` });
    }
    if (held === "duplicate") {
      throw new GossipActionError(GossipAction.IGNORE, { code: HeldMessageCode.DUPLICATE, reason: "already held" });
    }
    if (held === "full") {
      throw new GossipActionError(GossipAction.IGNORE, { code: HeldMessageCode.BUFFER_FULL, reason: "no room" });
    }
  }

  private async onVote(v: SignedVote, raw: Uint8Array): Promise<void> {
    if (v.height !== this.height && v.height !== this.height - 1n) return;
    if (v.height === this.height) {
      const key = `${v.type}/${v.round}/${v.validatorIndex}/${v.blockHash === null ? "nil" : bytesToHex(v.blockHash)}`;
      // Only news counts as progress: peers' re-sends of votes we hold must not silence our own.
      if (!this.heightVotes.has(key)) this.lastPeerMessageAtMs = Date.now();
      if (this.heightVotes.size >= MAX_RESENT_VOTES) this.pruneHeightVotes();
      // A copy: `raw` may be a view into a much larger network buffer that would stay alive with it.
      if (this.heightVotes.size < MAX_RESENT_VOTES) this.heightVotes.set(key, { round: v.round, raw: raw.slice() });
    }
    const vote: CoreVote = {
      kind: v.type === VoteType.Prevote ? "prevote" : "precommit",
      height: v.height,
      round: v.round,
      valueId: v.blockHash === null ? null : bytesToHex(v.blockHash),
      validator: v.validatorIndex,
      signed: v,
    };
    await this.step({ type: "vote", vote }, raw);
  }

  private async onProposal(p: SignedProposal, raw: Uint8Array): Promise<void> {
    if (p.height !== this.height) return;
    const hash = hashHeader(p.block.header);
    const id = bytesToHex(hash);
    // Deduplicated per round, not per block: a later round's proposer re-proposes its validValue
    // (L15–L16, with polRound ≥ 0), the same block, and only that re-proposal lets validators that
    // locked on it in an earlier round decide it. Dropping every block already seen stalled the
    // chain for good after the first round that ended with some validators locked.
    const key = `${p.round}/${id}`;
    if (this.proposalsSeen.has(key)) return;
    this.proposalsSeen.add(key);
    this.lastPeerMessageAtMs = Date.now();
    // A fresh proposal must be the round proposer's block; a re-proposal carries the block of
    // whoever built it in its round.
    const roundProposer = this.m.validators[this.validatorSchedule.proposer(p.height, p.round)];
    const proposer = p.polRound === -1 ? roundProposer : this.blockProposer(p.block, p.round);
    const verdictKey = `${id}/${bytesToHex(proposer.address)}`;
    let valid = this.verdicts.get(verdictKey);
    if (valid === undefined) {
      const verdict = await this.m.app.processProposal(p.block, proposer);
      if (!verdict.valid)
        this.m.log.warn("invalid proposal", { height: p.height.toString(), round: p.round, reason: verdict.reason });
      valid = verdict.valid;
      this.verdicts.set(verdictKey, valid);
    }
    if (!this.blocks.has(id)) this.blocks.set(id, { block: p.block, proposal: raw, round: p.round });
    await this.step(
      {
        type: "proposal",
        proposal: { height: p.height, round: p.round, valueId: id, polRound: p.polRound, valid },
      },
      raw,
    );
  }

  /**
   * The validator a block names as its proposer (whose fee recipient it pays): the builder of the
   * block, which for a block decided through a re-proposal is not the proposer of the deciding round.
   */
  private blockProposer(block: Block, round: number): Validator {
    return (
      this.m.validators.find((v) => equalsBytes(v.address, block.header.proposer)) ??
      this.m.validators[this.validatorSchedule.proposer(block.header.number, round)]
    );
  }

  // --- outputs -------------------------------------------------------------------------------------

  private async runOutputs(outputs: Output[]): Promise<void> {
    // Own votes the guard signed go back into the core after these outputs, as inputs (logged in
    // the WAL like a peer's): the core counts a vote of ours only once it exists.
    const signed: { vote: CoreVote; raw: Uint8Array }[] = [];
    for (const o of outputs) {
      switch (o.type) {
        case "newRound":
          this.roundStartedAtMs = Date.now();
          this.currentRound = o.round;
          this.currentStep = "propose";
          this.m.onStep?.({ height: o.height, round: o.round, step: "propose" });
          this.m.metrics?.step(o.height, o.round, "propose", Date.now());
          break;
        case "getValue":
          if (this.replaying) this.deferredGetValue = { height: o.height, round: o.round };
          else await this.buildValue(o.height, o.round);
          break;
        case "broadcastProposal":
          await this.publishProposal(o.height, o.round, o.valueId, o.polRound);
          break;
        case "broadcastVote": {
          const raw = await this.publishVote(o.vote);
          if (raw !== null) signed.push({ vote: o.vote, raw });
          break;
        }
        case "scheduleTimeout":
          this.schedule(o.kind, o.height, o.round, o.durationMs);
          break;
        case "decide":
          await this.commit(o.height, o.round, o.valueId, o.precommits);
          return; // the height is over: later outputs belong to the old height
        case "evidence":
          this.reportEvidence(o.first, o.second);
          break;
      }
    }
    for (const { vote, raw } of signed) {
      if (vote.height !== this.height) continue;
      // While replaying, the WAL already holds the record (or the crash came before it): no new one.
      if (this.replaying) await this.runOutputs(this.core.step({ type: "vote", vote }));
      else await this.step({ type: "vote", vote }, raw);
    }
  }

  private async buildValue(height: bigint, round: number): Promise<void> {
    const lastCommit =
      height === 1n ? new Uint8Array(0) : ((await this.m.chain.db.getCommit(height - 1n)) ?? new Uint8Array(0));
    const proposer = this.m.validators[this.self as number];
    const { timeoutProposeMs, timeoutProposeDeltaMs } = this.m.params;
    const p = await this.m.app.buildProposal({
      proposer,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      lastCommit,
      // A third of what the others wait for this round's proposal: the rest is for signing,
      // sending, and the skew between the validators' round starts.
      budgetMs: (timeoutProposeMs + round * timeoutProposeDeltaMs) / PROPOSE_BUDGET_DIVISOR,
    });
    const id = bytesToHex(p.hash);
    this.blocks.set(id, { block: p.block, proposal: new Uint8Array(0), round });
    await this.step({ type: "proposeValue", height, round, valueId: id }, encodeBlock(p.block), true);
  }

  private async publishProposal(height: bigint, round: number, valueId: string, polRound: number): Promise<void> {
    const entry = this.blocks.get(valueId);
    if (entry === undefined || this.m.signer === null) return;
    const hash = hexToBytes(valueId as `0x${string}`);
    let signature: Uint8Array;
    await this.m.wal?.sync();
    try {
      signature = await this.m.signer.signProposal(this.chainId, height, round, hash, polRound);
    } catch (e) {
      // The guard refused: a WAL replay re-proposes a value the node already proposed and then voted
      // past (its last signed step is a later vote). Never sign twice, stay silent; a throw here
      // would abort the replay and the node could never start again.
      this.m.log.warn("signer refused a proposal", { height: height.toString(), round }, e);
      return;
    }
    const raw = encodeSignedProposal({ height, round, polRound, block: entry.block, signature });
    this.blocks.set(valueId, { ...entry, proposal: raw });
    this.ownProposal = raw;
    await this.m.network.publish("proposal", raw);
  }

  /** Signs and gossips an own vote; its encoding, or null when there is no signer or the guard refused. */
  private async publishVote(v: CoreVote): Promise<Uint8Array | null> {
    if (this.m.signer === null) return null;
    const type = v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit;
    const hash = v.valueId === null ? null : hexToBytes(v.valueId as `0x${string}`);
    let signature: Uint8Array;
    // Every input that led to this vote is durable before the vote can leave (CometBFT's WAL rule).
    await this.m.wal?.sync();
    try {
      signature = await this.m.signer.signVote(this.chainId, type, v.height, v.round, hash);
    } catch (e) {
      // The guard refused (a restart replays a step differently): never sign twice, stay silent.
      this.m.log.warn("signer refused a vote", { height: v.height.toString(), round: v.round, kind: v.kind }, e);
      return null;
    }
    const signed: SignedVote = {
      type,
      height: v.height,
      round: v.round,
      blockHash: hash,
      validatorIndex: v.validator,
      signature,
    };
    v.signed = signed;
    this.ownVotes.set(`${v.kind}/${v.round}`, signed);
    this.currentStep = v.kind;
    this.m.metrics?.step(v.height, v.round, v.kind, Date.now());
    this.m.metrics?.signed(v.height);
    const raw = encodeSignedVote(signed);
    await this.m.network.publish("vote", raw);
    return raw;
  }

  private schedule(kind: TimeoutKind, height: bigint, round: number, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (height !== this.height) return; // a timeout of a finished height
      void this.enqueue(() => this.step({ type: "timeout", kind, height, round }));
    }, ms);
    this.timers.add(t);
  }

  private async commit(height: bigint, round: number, valueId: string, precommits: CoreVote[]): Promise<void> {
    const entry = this.blocks.get(valueId);
    if (entry === undefined) {
      // Decided a block we never received: block sync will fetch it with its commit.
      this.m.log.warn("decided an unknown block; syncing", { height: height.toString() });
      return;
    }
    const cert: CommitCertificate = {
      height,
      round,
      blockHash: hexToBytes(valueId as `0x${string}`),
      signatures: precommits
        .map((p) => ({ validatorIndex: p.validator, signature: (p.signed as SignedVote | undefined)?.signature }))
        .filter((s): s is { validatorIndex: number; signature: Uint8Array } => s.signature !== undefined),
    };
    const proposer = this.blockProposer(entry.block, entry.round);
    await this.m.app.finalize(entry.block, encodeCommit(cert), proposer);
    this.lastCommitAtMs = Date.now();
    this.m.metrics?.decided(
      round,
      this.m.validators.length,
      cert.signatures.map((x) => x.validatorIndex),
    );
    this.m.metrics?.step(height, round, "commit", this.lastCommitAtMs);
    this.m.onStep?.({ height, round, step: "commit" });
    await this.enterHeight(height + 1n, false);
  }

  private reportEvidence(first: CoreVote, second: CoreVote): void {
    const a = first.signed as SignedVote | undefined;
    const b = second.signed as SignedVote | undefined;
    if (a === undefined || b === undefined) return;
    const key = `${a.validatorIndex}/${a.height}/${a.round}/${a.type}`;
    if (this.evidenceSeen.has(key)) return;
    this.evidenceSeen.add(key);
    this.m.log.warn("validator equivocated", {
      validator: a.validatorIndex,
      height: a.height.toString(),
      round: a.round,
    });
    this.m.app.addEvidence(encodeEvidence({ a, b }));
    void this.m.network.publish("evidence", encodeEvidence({ a, b })).catch(() => undefined);
  }

  private async onEvidenceGossip(data: Uint8Array): Promise<void> {
    try {
      this.admission.decodeEvidence(data);
    } catch (e) {
      throw toGossipError(e);
    }
    this.m.app.addEvidence(data);
  }

  // --- catching up ---------------------------------------------------------------------------------

  /**
   * Periodic, and only for a height that is not progressing (a healthy network decides heights in
   * tens of milliseconds and needs neither): re-send the votes of this height we hold (ours and
   * peers') and our proposal to every peer, since gossip does not re-deliver to a peer that missed
   * them, and ask peers whether they are ahead. Unconditional re-sends cost ~15 streams per node per
   * tick for nothing.
   */
  private tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (now - this.roundStartedAtMs < SYNC_INTERVAL_MS || now - this.lastCommitAtMs < SYNC_INTERVAL_MS) return;
    // Re-send only when peers have gone quiet too: under load a height can outlast the interval while
    // votes still flow, and re-sending then only adds load (measured: twice the failed rounds at 500 tx/s).
    if (now - this.lastPeerMessageAtMs >= SYNC_INTERVAL_MS) this.resendVotes();
    this.sync.poll();
  }

  /**
   * The rounds a lagging peer can use: the current and previous one, and the rounds of our lock and
   * valid value (the proof of lock a re-proposal needs). Votes of other rounds are dropped, which also
   * bounds what a height stalled for hundreds of rounds keeps and re-sends.
   */
  private usefulRounds(): Set<number> {
    const snap = this.core.snapshot();
    return new Set([snap.round, snap.round - 1, snap.validRound, snap.lockedRound]);
  }

  private pruneHeightVotes(): void {
    const useful = this.usefulRounds();
    for (const [key, v] of this.heightVotes) if (!useful.has(v.round)) this.heightVotes.delete(key);
  }

  private resendVotes(): void {
    const { network } = this.m;
    this.pruneHeightVotes();
    const useful = this.usefulRounds();
    const votes = [
      ...[...this.ownVotes.values()].filter((v) => useful.has(v.round)).map(encodeSignedVote),
      ...[...this.heightVotes.values()].map((v) => v.raw),
    ];
    for (const peer of network.peers()) {
      for (const v of votes) void network.sendDirect(peer.id, "vote", v).catch(() => undefined);
      if (this.ownProposal !== null)
        void network.sendDirect(peer.id, "proposal", this.ownProposal).catch(() => undefined);
    }
  }

  /**
   * Commits blocks block sync fetched and verified (BlockSync's `apply` port), in consensus-queue jobs
   * of at most SYNC_APPLY_SLICE_MS each; after each job consensus moves to the height above the new
   * head. Blocks consensus committed meanwhile are skipped. Rejects when a verified block does not
   * execute (a local fault: the peer proved the block is the one the validators committed).
   */
  private async applySynced(blocks: VerifiedBlock[]): Promise<void> {
    let next = 0;
    while (next < blocks.length && !this.stopped) {
      let failure: unknown = null;
      await this.enqueue(async () => {
        const started = Date.now();
        const headBefore = this.m.chain.head.header.number;
        try {
          while (next < blocks.length && Date.now() - started < SYNC_APPLY_SLICE_MS) {
            const b = blocks[next++];
            if (b.block.header.number <= this.m.chain.head.header.number) continue;
            await this.m.app.finalize(b.block, b.commit, this.blockProposer(b.block, b.round));
          }
        } catch (e) {
          failure = e;
          next = blocks.length;
        }
        // Nothing new (consensus committed these heights while the blocks were on their way): stay in
        // the current height. Re-entering it would wipe its votes, proposal and timeouts and restart
        // round 0, whose votes the signer then refuses as double-signs.
        if (this.m.chain.head.header.number === headBefore) return;
        this.lastCommitAtMs = Date.now();
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        await this.enterHeight(this.m.chain.head.header.number + 1n, false);
      });
      if (failure !== null) throw failure;
    }
  }
}
