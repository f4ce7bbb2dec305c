import { assert } from "../../runtime/lib/assert.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { type Block, decodeBlock, encodeBlock, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, hexToBytes } from "../../runtime/primitives/bytes.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import { type CommitCertificate, encodeCommit, verifiesCommitsAlike } from "../commit.js";
import { ConsensusCore } from "../core/state.js";
import type { CoreVote, Input, Output, TimeoutKind } from "../core/types.js";
import { type FutureBufferLimits, type MessageLimits, MessageVerifier } from "../messages/index.js";
import { type SignatureVerifier, VoteType } from "../vote.js";
import { decodeSignedProposal, decodeSignedVote, type SignedProposal, type SignedVote } from "../wire.js";
import { EvidenceReporter } from "./evidence.js";
import { HeightState } from "./height.js";
import { type Admitted, Inbound } from "./inbound.js";
import { InputQueue } from "./inputQueue.js";
import { LatePrecommits } from "./latePrecommits.js";
import type {
  AppPort,
  BlockSyncFactory,
  BlockSyncPort,
  ClockPort,
  ConsensusMetrics,
  ConsensusTopic,
  InboundVerdict,
  NetworkPort,
  ParamsPort,
  SignerPort,
  SyncedBlock,
  ValidatorSchedulePort,
  WALPort,
} from "./ports.js";
import { Publisher } from "./publisher.js";
import { decodeWalInput, encodeWalInput } from "./walCodec.js";

export interface DriverOptions {
  chainId: bigint;
  /** Overrides of the message admission bounds (tests). */
  messageLimits?: Partial<MessageLimits>;
  futureBufferLimits?: Partial<FutureBufferLimits>;
  /** How often a stalled height re-sends its messages and asks peers whether they are ahead. */
  stallCheckMs?: number;
  /** Synced blocks are committed in queue jobs of at most this long each (messages and timeouts run between). */
  syncApplySliceMs?: number;
  /**
   * Height pacing under load (CometBFT's timeout_commit): while transactions wait, a height starts no
   * sooner than this after the node committed the previous one, so that a block carries the
   * transactions of that interval instead of each height paying proposal, votes, signatures, syncs
   * and a block write for a handful. A peer's message of the height still starts it at once (its
   * proposer is not waiting on us). 0 (the default) = start as soon as transactions wait.
   */
  minBlockIntervalMs?: number;
}

export const DEFAULT_STALL_CHECK_MS = 500;
export const DEFAULT_SYNC_APPLY_SLICE_MS = 200;
export const DEFAULT_MIN_BLOCK_INTERVAL_MS = 0;

export interface DriverModules {
  app: AppPort;
  network: NetworkPort;
  clock: ClockPort;
  /** null on a full node (follows the chain, never signs). */
  signer: SignerPort | null;
  wal: WALPort | null;
  schedule: ValidatorSchedulePort;
  params: ParamsPort;
  verifier: SignatureVerifier;
  createSync: BlockSyncFactory;
  log: Logger;
  metrics?: ConsensusMetrics | null;
  onStep?: (s: { height: bigint; round: number; step: string }) => void;
  /**
   * Called once when consensus stops on its own: a height this node's software must not process (an
   * upgrade), or a decided block that does not commit here. Nothing is signed or executed after it.
   */
  onHalt?: (reason: string) => void;
}

export interface DriverStatus {
  height: bigint;
  round: number;
  step: string;
  catchingUp: boolean;
  /** This node validates the current height (the set changes on chain: it may join or leave). */
  isValidator: boolean;
  lastSignedHeight: bigint;
  halted: string | null;
}

const EMPTY = new Uint8Array(0);

/**
 * Runs the Tendermint state machine (consensus/core) for one node, through ports only (ports.ts):
 * feeds it verified network messages, its own timeouts and values in one serialised queue
 * (`InputQueue`), writes every input to the WAL before it is handled and replays the WAL after a
 * restart, signs through the double-sign guard and gossips (`Publisher`), re-sends a stalled height's
 * messages (`HeightMessages`), reports equivocation (`EvidenceReporter`), commits decided blocks
 * through the app, and hands catching up to block sync, whose verified blocks it commits in its queue.
 * Each height runs with that height's validators and timing (`HeightState`): both may change on chain.
 */
export class ConsensusDriver {
  private readonly opts: Required<Omit<DriverOptions, "messageLimits" | "futureBufferLimits">>;
  private readonly m: DriverModules;
  private readonly queue: InputQueue;
  private readonly inbound: Inbound;
  private readonly evidence: EvidenceReporter;
  private readonly publisher: Publisher | null;
  private readonly sync: BlockSyncPort;
  private core: ConsensusCore | null = null;
  private h: HeightState | null = null;
  private stopped = false;
  private haltReason: string | null = null;
  private readonly timeouts = new Set<() => void>();
  private cancelHeightStart: (() => void) | null = null;
  /** When the pending height-start timer fires (virtual or wall ms), or null. */
  private heightStartDueMs: number | null = null;
  private cancelTick: (() => void) | null = null;
  private unsubscribeWork: (() => void) | null = null;
  private lastCommitAtMs: number;
  /** Precommits of the previous height that came after its decision: added to the certificate we carry. */
  private readonly latePrecommits = new LatePrecommits();
  /** While replaying the WAL: a getValue is answered after the replay (from the log if it holds the value). */
  private replaying = false;
  private deferredGetValue: { height: bigint; round: number } | null = null;

  constructor(opts: DriverOptions, modules: DriverModules) {
    this.opts = {
      chainId: opts.chainId,
      stallCheckMs: opts.stallCheckMs ?? DEFAULT_STALL_CHECK_MS,
      syncApplySliceMs: opts.syncApplySliceMs ?? DEFAULT_SYNC_APPLY_SLICE_MS,
      minBlockIntervalMs: opts.minBlockIntervalMs ?? DEFAULT_MIN_BLOCK_INTERVAL_MS,
    };
    this.m = modules;
    this.lastCommitAtMs = modules.clock.nowMs();
    this.queue = new InputQueue((e) =>
      modules.log.error("consensus job failed", { height: this.h?.height.toString() }, e),
    );
    const admission = new MessageVerifier(
      opts.chainId,
      { schedule: modules.schedule, verifier: modules.verifier },
      opts.messageLimits,
    );
    this.inbound = new Inbound(
      admission,
      {
        position: () => ({ height: this.h?.height ?? 0n, round: this.h?.round ?? 0 }),
        admitted: (checked, data) => this.admitted(checked, data),
        hint: (peer) => this.sync.hint(peer),
        metrics: modules.metrics,
      },
      opts.futureBufferLimits,
    );
    this.evidence = new EvidenceReporter({ app: modules.app, network: modules.network, admission, log: modules.log });
    this.publisher =
      modules.signer === null
        ? null
        : new Publisher(opts.chainId, {
            signer: modules.signer,
            wal: modules.wal,
            network: modules.network,
            log: modules.log,
          });
    this.sync = modules.createSync({
      apply: (blocks) => this.applySynced(blocks),
      onIdle: () => this.maybeStartHeight(),
    });
  }

  /** Replays the WAL (after a restart) and enters the height above the app's head. */
  async start(): Promise<void> {
    this.unsubscribeWork = this.m.app.onPendingWork(() => this.maybeStartHeight());
    // Through the queue like every other input: messages that arrive while the WAL replays must not run
    // between replayed inputs. A replay failure fails the start.
    await this.queue.run(() => this.enterHeight(this.m.app.headHeight() + 1n, true));
    this.scheduleStallCheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimers();
    this.unsubscribeWork?.();
    await this.sync.stop();
    await this.queue.stop();
    await this.m.app.reset();
  }

  status(): DriverStatus {
    const h = this.h;
    return {
      height: h?.height ?? 0n,
      round: h?.round ?? 0,
      step: h?.step ?? "propose",
      catchingUp: this.sync.active,
      isValidator: h?.self != null,
      lastSignedHeight: this.m.signer?.lastSigned().height ?? 0n,
      halted: this.haltReason,
    };
  }

  /**
   * A message from `from` (gossip or a direct re-send): what the network should do with it. Accepted
   * proposals and votes are queued for the state machine; see `Inbound` for the rules.
   */
  receive(topic: ConsensusTopic, data: Uint8Array, from: string): InboundVerdict {
    if (this.stopped || this.h === null) return { action: "ignore", code: "CONSENSUS_NOT_RUNNING", reason: "stopped" };
    if (topic === "evidence") return this.evidence.receive(data);
    return this.inbound.receive(topic, data, from);
  }

  // --- heights -------------------------------------------------------------------------------------

  /** Prepares `height` (WAL replay on restart) and starts it when there is something to do. */
  private async enterHeight(height: bigint, restarting: boolean): Promise<void> {
    const halt = this.m.app.haltReason(height);
    if (halt !== null) {
      this.halt(halt);
      return;
    }
    // Read before anything of the new height is set up: no await between that and the core's configuration.
    const decided = height === 1n ? undefined : await this.m.app.commitAt(height - 1n);
    const validators = this.m.schedule.validators(height);
    assert(validators !== null, `validators of height ${height} are settled when it starts`);
    const set = this.m.schedule.setAt(height);
    const self = HeightState.selfIndex(validators, this.m.signer?.publicKey);
    const timing = this.m.params.timing(height);
    this.cancelTimers();
    this.h = new HeightState(height, validators, set, self, timing, this.m.clock.nowMs());
    this.latePrecommits.reset(height - 1n, decided);
    // One core for the node's life: its startHeight keeps the previous height's votes, so a late vote
    // of that height (which onVote still accepts) that conflicts with an earlier one yields evidence.
    if (this.core === null) this.core = new ConsensusCore({ self, timeouts: timing.timeouts }, set);
    else this.core.configureHeight({ validators: set, self, timeouts: timing.timeouts });
    const wal = this.m.wal;
    if (restarting && wal !== null && (await this.replayWAL(wal, height))) return;
    await wal?.startHeight(height);
    this.maybeStartHeight();
    // Messages that arrived early for this height (verified again: the node's position has changed).
    for (const f of this.inbound.takeHeld(height)) this.receive(f.topic, f.data, f.from);
  }

  /** Replays the log of `height` into the state machine; false when it holds nothing of that height. */
  private async replayWAL(wal: WALPort, height: bigint): Promise<boolean> {
    const replay = await wal.replay();
    if (replay.height !== height || replay.records.length === 0) return false;
    const h = this.current();
    this.m.log.info("replaying consensus WAL", { height: height.toString(), records: replay.records.length });
    this.replaying = true;
    try {
      for (const r of replay.records) {
        const { input, extra } = decodeWalInput(r);
        if (input.type === "startHeight" && input.height === height) h.started = true;
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
    return true;
  }

  private async replayInput(input: Input, extra: Uint8Array | undefined): Promise<void> {
    const h = this.current();
    if (input.type === "vote" && extra !== undefined) input.vote.signed = decodeSignedVote(extra);
    if (input.type === "proposeValue" && extra !== undefined) {
      // Our own block, as proposed before the crash: re-proposed identically (the signer allows it).
      h.blocks.set(input.valueId, { block: decodeBlock(extra), proposal: EMPTY, round: input.round });
    }
    if (input.type === "proposal" && extra !== undefined) {
      const p = decodeSignedProposal(extra);
      h.blocks.set(bytesToHex(hashHeader(p.block.header)), { block: p.block, proposal: extra, round: p.round });
    }
    await this.runOutputs(this.coreOf().step(input));
  }

  /**
   * Round 0 of a height starts when transactions wait (and `minBlockIntervalMs` has passed since the
   * last commit) or the empty-block interval has passed (an idle chain does not grow by thousands of
   * empty blocks), or at once when a peer has already started it.
   */
  private maybeStartHeight(force = false, dueMs?: number): void {
    const h = this.h;
    if (h === null || h.started || this.stopped || this.sync.active) return;
    const now = this.m.clock.nowMs();
    const waited = now - this.lastCommitAtMs;
    const interval = this.m.app.hasPendingWork() ? this.opts.minBlockIntervalMs : h.timing.emptyBlockIntervalMs;
    // interval 0: at once even if the wall clock stepped back since the commit (as before pacing existed).
    if (force || interval <= 0 || waited >= interval) {
      h.started = true;
      // From the start timer: when it was due, however late it fired (the proposer's budget counts that).
      h.startDueMs = dueMs !== undefined && dueMs <= now ? dueMs : now;
      this.cancelHeightStartTimer();
      void this.queue.enqueue(() => this.step({ type: "startHeight", height: h.height }));
      return;
    }
    // Work that arrives during the empty-block wait brings the start forward; a later due time never
    // replaces an earlier one.
    const due = this.lastCommitAtMs + interval;
    if (this.heightStartDueMs !== null && this.heightStartDueMs <= due) return;
    this.cancelHeightStartTimer();
    this.heightStartDueMs = due;
    this.cancelHeightStart = this.m.clock.setTimer(due - now, () => {
      this.cancelHeightStart = null;
      this.heightStartDueMs = null;
      this.maybeStartHeight(false, due);
    });
  }

  private cancelHeightStartTimer(): void {
    this.cancelHeightStart?.();
    this.cancelHeightStart = null;
    this.heightStartDueMs = null;
  }

  /** Stops consensus for good (nothing more is signed or executed) and tells the node why. */
  private halt(reason: string): void {
    if (this.haltReason !== null) return;
    this.haltReason = reason;
    this.stopped = true;
    this.cancelTimers();
    this.m.log.error("consensus halted", { reason });
    this.m.onHalt?.(reason);
  }

  private cancelTimers(): void {
    for (const cancel of this.timeouts) cancel();
    this.timeouts.clear();
    this.cancelHeightStartTimer();
    if (this.stopped) {
      this.cancelTick?.();
      this.cancelTick = null;
    }
  }

  private current(): HeightState {
    assert(this.h !== null, "consensus has entered a height");
    return this.h;
  }

  private coreOf(): ConsensusCore {
    assert(this.core !== null, "consensus has entered a height");
    return this.core;
  }

  // --- inputs --------------------------------------------------------------------------------------

  /** WAL first, then the state machine, then its outputs. */
  private async step(input: Input, extra?: Uint8Array, sync = false): Promise<void> {
    if (this.stopped) return;
    if (input.type === "startHeight" && input.height !== this.current().height) return;
    await this.m.wal?.append(encodeWalInput(input, extra), { sync });
    await this.runOutputs(this.coreOf().step(input));
  }

  /** A verified message of the previous, current or next height (`Inbound`): into the queue. */
  private admitted(checked: Admitted, data: Uint8Array): void {
    const h = this.current();
    // The first message of a height from a peer starts it here too (its proposer is not waiting on us).
    const height = "vote" in checked ? checked.vote.height : checked.proposal.height;
    if (height === h.height && !h.started) this.maybeStartHeight(true);
    void this.queue.enqueue(async () => {
      if ("vote" in checked) await this.onVote(checked.vote, data);
      else await this.onProposal(checked.proposal, data);
    });
  }

  private async onVote(v: SignedVote, raw: Uint8Array): Promise<void> {
    const h = this.current();
    if (v.height !== h.height && v.height !== h.height - 1n) return;
    if (v.height === h.height) h.messages.recordPeerVote(v, raw, this.m.clock.nowMs(), () => this.usefulRounds());
    else this.latePrecommits.record(v);
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
    const h = this.current();
    if (p.height !== h.height) return;
    const id = bytesToHex(hashHeader(p.block.header));
    // Deduplicated per round, not per block: a later round's proposer re-proposes its validValue
    // (L15–L16, with polRound ≥ 0), the same block, and only that re-proposal lets validators that
    // locked on it in an earlier round decide it.
    const key = `${p.round}/${id}`;
    if (h.proposalsSeen.has(key)) return;
    h.proposalsSeen.add(key);
    h.messages.lastNewsAtMs = this.m.clock.nowMs();
    // A fresh proposal must be the round proposer's block; a re-proposal carries the block of whoever built it.
    const roundProposer = h.validators[this.m.schedule.proposer(p.height, p.round)];
    const proposer = p.polRound === -1 ? roundProposer : this.blockProposer(p.block, p.round, h.validators);
    const verdictKey = `${id}/${bytesToHex(proposer.address)}`;
    let valid = h.verdicts.get(verdictKey);
    if (valid === undefined) {
      const verdict = await this.m.app.validateValue(p.block, proposer);
      if (!verdict.valid)
        this.m.log.warn("invalid proposal", { height: p.height.toString(), round: p.round, reason: verdict.reason });
      valid = verdict.valid;
      h.verdicts.set(verdictKey, valid);
    }
    if (!h.blocks.has(id)) h.blocks.set(id, { block: p.block, proposal: raw, round: p.round });
    await this.step(
      { type: "proposal", proposal: { height: p.height, round: p.round, valueId: id, polRound: p.polRound, valid } },
      raw,
    );
  }

  /**
   * The validator a block names as its proposer (whose fee recipient it pays): the builder of the
   * block, which for a block decided through a re-proposal is not the proposer of the deciding round.
   */
  private blockProposer(block: Block, round: number, validators: readonly Validator[]): Validator {
    return (
      validators.find((v) => equalsBytes(v.address, block.header.proposer)) ??
      validators[this.m.schedule.proposer(block.header.number, round)]
    );
  }

  // --- outputs -------------------------------------------------------------------------------------

  private async runOutputs(outputs: Output[]): Promise<void> {
    const h = this.current();
    // Own votes the guard signed go back into the core after these outputs, as inputs (logged in the
    // WAL like a peer's): the core counts a vote of ours only once it exists.
    const signed: { vote: CoreVote; raw: Uint8Array }[] = [];
    for (const o of outputs) {
      switch (o.type) {
        case "newRound": {
          const now = this.m.clock.nowMs();
          h.roundStartedAtMs = now;
          h.round = o.round;
          h.step = "propose";
          this.m.onStep?.({ height: o.height, round: o.round, step: "propose" });
          this.m.metrics?.step(o.height, o.round, "propose", now);
          break;
        }
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
          this.scheduleTimeout(o.kind, o.height, o.round, o.durationMs);
          break;
        case "decide":
          await this.commit(o.height, o.round, o.valueId, o.precommits);
          return; // the height is over: later outputs belong to the old height
        case "evidence":
          this.evidence.report(o.first, o.second);
          break;
      }
    }
    for (const { vote, raw } of signed) {
      if (vote.height !== this.current().height) continue;
      // While replaying, the WAL already holds the record (or the crash came before it): no new one.
      if (this.replaying) await this.runOutputs(this.coreOf().step({ type: "vote", vote }));
      else await this.step({ type: "vote", vote }, raw);
    }
  }

  private async buildValue(height: bigint, round: number): Promise<void> {
    const h = this.current();
    if (h.self === null) return;
    const stored = height === 1n ? EMPTY : ((await this.m.app.commitAt(height - 1n)) ?? EMPTY);
    // The certificate as decided plus the precommits that came later (still this proposal's to carry).
    const lastCommit = this.latePrecommits.extend(stored);
    const block = await this.m.app.buildValue({
      height,
      round,
      proposer: h.validators[h.self],
      timestamp: BigInt(Math.floor(this.m.clock.nowMs() / 1000)),
      lastCommit,
      budgetMs: h.proposeBudgetMs(round, this.m.clock.nowMs()),
    });
    const id = bytesToHex(hashHeader(block.header));
    h.blocks.set(id, { block, proposal: EMPTY, round });
    await this.step({ type: "proposeValue", height, round, valueId: id }, encodeBlock(block), true);
  }

  private async publishProposal(height: bigint, round: number, valueId: string, polRound: number): Promise<void> {
    const h = this.current();
    const entry = h.blocks.get(valueId);
    if (entry === undefined || this.publisher === null) return;
    const raw = await this.publisher.proposal(height, round, entry.block, valueId, polRound);
    if (raw === null) return;
    h.blocks.set(valueId, { ...entry, proposal: raw });
    h.messages.recordOwnProposal(raw);
  }

  /** Signs and gossips an own vote; its encoding, or null when there is no signer or the guard refused. */
  private async publishVote(v: CoreVote): Promise<Uint8Array | null> {
    if (this.publisher === null) return null;
    const out = await this.publisher.vote(v);
    if (out === null) return null;
    const h = this.current();
    v.signed = out.signed;
    h.messages.recordOwnVote(v.kind, out.signed);
    h.step = v.kind;
    this.m.metrics?.step(v.height, v.round, v.kind, this.m.clock.nowMs());
    this.m.metrics?.signed(v.height);
    return out.raw;
  }

  private scheduleTimeout(kind: TimeoutKind, height: bigint, round: number, ms: number): void {
    const cancel = this.m.clock.setTimer(ms, () => {
      this.timeouts.delete(cancel);
      if (height !== this.h?.height) return; // a timeout of a finished height
      void this.queue.enqueue(() => this.step({ type: "timeout", kind, height, round }));
    });
    this.timeouts.add(cancel);
  }

  private async commit(height: bigint, round: number, valueId: string, precommits: CoreVote[]): Promise<void> {
    const h = this.current();
    const entry = h.blocks.get(valueId);
    if (entry === undefined) {
      // Decided a block we never received: block sync fetches it with its commit.
      this.m.log.warn("decided an unknown block; syncing", { height: height.toString() });
      this.sync.poll();
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
    try {
      await this.m.app.finalize(
        entry.block,
        encodeCommit(cert),
        this.blockProposer(entry.block, entry.round, h.validators),
      );
    } catch (e) {
      this.m.log.error("the decided block does not commit", { height: height.toString() }, e);
      this.halt(`the decided block ${valueId} at height ${height} does not commit: ${(e as Error).message}`);
      return;
    }
    this.lastCommitAtMs = this.m.clock.nowMs();
    this.m.metrics?.decided(
      round,
      h.validators.length,
      cert.signatures.map((x) => x.validatorIndex),
    );
    this.m.metrics?.step(height, round, "commit", this.lastCommitAtMs);
    this.m.onStep?.({ height, round, step: "commit" });
    await this.enterHeight(height + 1n, false);
  }

  // --- stalls and catching up ----------------------------------------------------------------------

  private scheduleStallCheck(): void {
    if (this.stopped) return;
    this.cancelTick = this.m.clock.setTimer(this.opts.stallCheckMs, () => {
      this.cancelTick = null;
      this.stallCheck();
      this.scheduleStallCheck();
    });
  }

  /**
   * Periodic, and only for a height that is not progressing (a healthy network decides heights in tens
   * of milliseconds and needs neither): re-send the votes of this height we hold and our proposal to
   * every peer, since gossip does not re-deliver to a peer that missed them, and ask peers whether they
   * are ahead. Unconditional re-sends cost ~15 streams per node per tick for nothing.
   */
  private stallCheck(): void {
    const h = this.h;
    if (this.stopped || h === null) return;
    const now = this.m.clock.nowMs();
    const interval = this.opts.stallCheckMs;
    if (now - h.roundStartedAtMs < interval || now - this.lastCommitAtMs < interval) return;
    // Re-send only when peers have gone quiet too: under load a height can outlast the interval while
    // votes still flow, and re-sending then only adds load (measured: twice the failed rounds at 500 tx/s).
    if (now - h.messages.lastNewsAtMs >= interval) h.messages.resend(this.m.network, this.usefulRounds());
    this.sync.poll();
  }

  /** The rounds a lagging peer can use: the current and previous one, and those of our lock and valid value. */
  private usefulRounds(): Set<number> {
    const snap = this.coreOf().snapshot();
    return new Set([snap.round, snap.round - 1, snap.validRound, snap.lockedRound]);
  }

  /**
   * Commits blocks block sync fetched and verified, in queue jobs of at most `syncApplySliceMs` each;
   * after each job consensus moves to the height above the new head. Blocks consensus committed
   * meanwhile are skipped; the run stops before a block whose commit was verified against other validators than
   * its height's (`SyncedBlock.verifiedWith`). Rejects when a verified block does not commit (a local fault: the peer
   * proved the block is the one the validators committed).
   */
  private async applySynced(blocks: readonly SyncedBlock[]): Promise<void> {
    let next = 0;
    while (next < blocks.length && !this.stopped) {
      let failure: unknown = null;
      await this.queue.enqueue(async () => {
        const started = this.m.clock.nowMs();
        const headBefore = this.m.app.headHeight();
        try {
          while (next < blocks.length && this.m.clock.nowMs() - started < this.opts.syncApplySliceMs) {
            const b = blocks[next++];
            const number = b.block.header.number;
            if (number <= this.m.app.headHeight()) continue;
            // A software upgrade this node does not run: never execute past it, even from sync.
            const halt = this.m.app.haltReason(number);
            if (halt !== null) {
              this.halt(halt);
              break;
            }
            const validators = this.m.schedule.validators(number);
            assert(validators !== null, "the validators of the block above the head are settled");
            if (b.verifiedWith !== undefined && !verifiesCommitsAlike(b.verifiedWith, validators)) {
              // Its commit was verified against a guess of these validators that proved wrong: stop before it
              // (sync verifies it again against them; nothing of it is committed).
              next = blocks.length;
              break;
            }
            await this.m.app.finalize(b.block, b.commit, this.blockProposer(b.block, b.round, validators));
          }
        } catch (e) {
          failure = e;
          next = blocks.length;
        }
        // Nothing new (consensus committed these heights while the blocks were on their way): stay in the
        // current height. Re-entering it would wipe its votes, proposal and timeouts and restart round 0,
        // whose votes the signer then refuses as double-signs.
        if (this.m.app.headHeight() === headBefore) return;
        this.lastCommitAtMs = this.m.clock.nowMs();
        await this.enterHeight(this.m.app.headHeight() + 1n, false);
      });
      if (failure !== null) throw failure;
    }
  }
}
