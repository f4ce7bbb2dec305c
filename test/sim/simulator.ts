import { ConsensusCore } from "../../consensus/core/state.js";
import type { CoreVote, Output, TimeoutKind, TimeoutParams } from "../../consensus/core/types.js";
import { ValidatorSet } from "../../consensus/core/validatorSet.js";
import type { MessageVerifier } from "../../consensus/messages/index.js";
import { Placement } from "../../consensus/messages/index.js";
import { BinaryHeap } from "../../node/mempool/heap.js";
import { SyncFailure } from "../../node/sync/syncPeers.js";
import { PRNG } from "../utils/prng.js";
import {
  admit,
  certificateHolds,
  certificateOf,
  createVerifier,
  NodeInbound,
  proposalBytes,
  SimCrypto,
  SimSchedule,
  toSignedVote,
  valueHash,
  voteBytes,
} from "./admission.js";

/**
 * A deterministic simulation of a Tendermint network (after TigerBeetle's VOPR): the real
 * consensus state machine on every node, a virtual clock, and a virtual network with delay, loss,
 * duplication, reordering and partitions, all driven by one seed. Checkers run after every event.
 */
export interface SimOptions {
  seed: number;
  validators: number;
  powers?: number[];
  timeouts: TimeoutParams;
  delayMs: [min: number, max: number];
  dropProbability: number;
  duplicateProbability: number;
  /** Every node re-sends its messages for its current height this often (gossip to late peers). */
  gossipIntervalMs: number;
  /** Nodes that equivocate: two proposals and two votes, one to each half of the network. */
  byzantine?: number[];
  /**
   * The attack only the lock rule (L22–L27) stops, an "amnesia" proposer helped by the network. At every height
   * whose round-1 proposer is `attacker` (Byzantine), the victim's round-0 precommit and every decision reach only
   * `victim` (the node after the attacker) until `windowMs` after the victim decided, and the attacker precommits
   * the block to the victim but nil to the others: the victim decides round 0's block, the others — locked on it —
   * time out into round 1, where the attacker proposes a fresh block (no proof of lock) and votes for it. Without
   * the lock rule the others prevote it too, decide it, and disagree with the victim.
   */
  lockAttack?: { attacker: number; windowMs: number };
  /**
   * An outsider peer (no validator key) connected to every node, sending every `intervalMs`: votes and
   * proposals for a node's height + 2, + 1 and its own height with random signatures (claiming real
   * validators and round proposers as authors), and commit certificates with forged signatures for
   * height 10^9 and for the node's own height (a fake decision). It answers no decision request.
   */
  hostilePeer?: { intervalMs: number };
  /** Nodes ban peers whose fault points reach the network's threshold (default true). */
  bans?: boolean;
  crashes?: { node: number; atMs: number; recoverAtMs?: number }[];
  partitions?: { fromMs: number; toMs: number; groups: number[][] }[];
  /** Run until every live honest node has decided this many heights (and at least until minTimeMs). */
  heights: number;
  minTimeMs?: number;
  /** The proposer's app takes this long to build a block (an idle chain waits for transactions). */
  proposeDelayMs?: number;
  maxTimeMs: number;
}

type Msg =
  | {
      kind: "proposal";
      from: number;
      height: bigint;
      round: number;
      valueId: string;
      polRound: number;
      signature: Uint8Array;
    }
  | { kind: "vote"; from: number; vote: CoreVote }
  | { kind: "commit"; from: number; height: bigint; round: number; valueId: string; precommits: CoreVote[] }
  /** Block sync: a node that sees traffic of a later height asks for the decision of its own height. */
  | { kind: "syncRequest"; from: number; height: bigint };

type Event =
  /** `via`: the node (or the hostile peer) that sent this copy, which is not always the message's author. */
  | { at: number; seq: number; type: "deliver"; to: number; msg: Msg; via: number }
  | { at: number; seq: number; type: "hostile" }
  | {
      at: number;
      seq: number;
      type: "timer";
      node: number;
      kind: TimeoutKind;
      height: bigint;
      round: number;
      epoch: number;
    }
  | { at: number; seq: number; type: "gossip"; node: number }
  | {
      at: number;
      seq: number;
      type: "value";
      node: number;
      height: bigint;
      round: number;
      valueId: string;
      epoch: number;
    }
  | { at: number; seq: number; type: "crash"; node: number }
  | { at: number; seq: number; type: "recover"; node: number };

type EventInput = Event extends infer E ? (E extends Event ? Omit<E, "seq"> : never) : never;

export class SimFailure extends Error {}

interface SimNode {
  id: number;
  core: ConsensusCore;
  validators: ValidatorSet;
  height: bigint;
  crashed: boolean;
  /** Bumped on restart so timers of the previous life are ignored. */
  epoch: number;
  decided: Map<bigint, { valueId: string; round: number; precommits: CoreVote[] }>;
  /** Held future messages, fault points, bans and sync peers (the node's admission state). */
  inbound: NodeInbound<Msg>;
  /**
   * Every proposal and vote of its current height this node sent or received, re-broadcast on each
   * gossip tick: the gossip property Tendermint's liveness relies on (what a correct node has, every
   * correct node eventually gets), as gossipsub relaying plus re-sending to late peers provide.
   */
  known: Map<string, Msg>;
  /** Persisted double-sign guard: last (height, round, kind→value) signed. Survives crashes. */
  signed: Map<string, string | null>;
  evidence: { first: CoreVote; second: CoreVote }[];
  /** Time of the last sync request (rate limit: one per gossip interval). */
  lastSyncAt: number;
}

const VALID_PREFIXES = ["v:", "b:"];

export class Simulation {
  readonly opts: SimOptions;
  readonly rng: PRNG;
  now = 0;
  private seq = 0;
  private readonly queue = new BinaryHeap<Event>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  readonly nodes: SimNode[] = [];
  /** The agreed value of each decided height (the agreement checker's reference). */
  readonly decisions = new Map<bigint, string>();
  /** When each height was first decided by any node (virtual ms). */
  readonly decidedAt = new Map<bigint, number>();
  readonly byzantine: Set<number>;
  events = 0;
  /** Fresh proposals the lock attacker made to locked validators after the victim decided (the attack's chances). */
  lockAttackProposals = 0;
  private readonly victimDecidedAt = new Map<bigint, number>();
  private readonly lockAttackScripted = new Set<string>();
  private readonly setsByHeight = new Map<bigint, ValidatorSet>();
  private readonly genesisSet: ValidatorSet;
  readonly crypto: SimCrypto;
  private readonly schedule: SimSchedule;
  private readonly verifier: MessageVerifier;
  /** The hostile peer's id (one past the validators) and what it sent. */
  readonly hostileId: number;
  hostileSent = 0;
  /** Hostile messages that passed verification somewhere (must stay 0). */
  hostileAccepted = 0;
  private readonly hostileMessages = new WeakSet<object>();

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = new PRNG(opts.seed);
    this.byzantine = new Set([...(opts.byzantine ?? []), ...(opts.lockAttack ? [opts.lockAttack.attacker] : [])]);
    const validators = new ValidatorSet(
      Array.from({ length: opts.validators }, (_, i) => ({
        address: `v${String(i).padStart(3, "0")}`,
        votingPower: BigInt(opts.powers?.[i] ?? 10),
      })),
    ).next(); // as genesis: the set of height 1 has been advanced once
    this.genesisSet = validators;
    this.crypto = new SimCrypto(opts.validators);
    this.schedule = new SimSchedule(
      this.crypto,
      opts.validators,
      Array.from({ length: opts.validators }, (_, i) => BigInt(opts.powers?.[i] ?? 10)),
      (h) => this.setAt(h),
    );
    this.verifier = createVerifier(this.schedule, this.crypto);
    this.hostileId = opts.validators;
    for (let i = 0; i < opts.validators; i++) {
      this.nodes.push({
        id: i,
        core: new ConsensusCore({ self: i, timeouts: opts.timeouts }, validators),
        validators,
        height: 1n,
        crashed: false,
        epoch: 0,
        decided: new Map(),
        inbound: new NodeInbound<Msg>(() => this.now, opts.bans ?? true),
        known: new Map(),
        signed: new Map(),
        evidence: [],
        lastSyncAt: -Infinity,
      });
    }
    for (const c of opts.crashes ?? []) {
      this.push({ at: c.atMs, type: "crash", node: c.node });
      if (c.recoverAtMs !== undefined) this.push({ at: c.recoverAtMs, type: "recover", node: c.node });
    }
  }

  private push(e: EventInput): void {
    this.queue.push({ ...e, seq: this.seq++ } as Event);
  }

  get honest(): SimNode[] {
    return this.nodes.filter((n) => !this.byzantine.has(n.id));
  }

  private connected(a: number, b: number, at: number): boolean {
    for (const p of this.opts.partitions ?? []) {
      if (at < p.fromMs || at >= p.toMs) continue;
      const ga = p.groups.findIndex((g) => g.includes(a));
      const gb = p.groups.findIndex((g) => g.includes(b));
      if (ga !== gb) return false;
    }
    return true;
  }

  /** The validator set of height `h` (advanced once per height, as every node does). */
  private setAt(h: bigint): ValidatorSet {
    let vs = this.setsByHeight.get(h);
    if (vs === undefined) {
      vs = h <= 1n ? this.genesisSet : this.setAt(h - 1n).next();
      this.setsByHeight.set(h, vs);
    }
    return vs;
  }

  private get lockVictim(): number {
    return ((this.opts.lockAttack?.attacker ?? 0) + 1) % this.opts.validators;
  }

  private lockAttacked(h: bigint): boolean {
    const la = this.opts.lockAttack;
    return la !== undefined && this.setAt(h).proposer(1) === la.attacker;
  }

  /** The network's part of the lock attack: round-0 precommits and decisions of an attacked height reach only the victim. */
  private heldBackByLockAttack(to: number, msg: Msg): boolean {
    const la = this.opts.lockAttack;
    if (la === undefined || to === this.lockVictim) return false;
    const h = this.msgHeight(msg);
    if (!this.lockAttacked(h)) return false;
    const decidedAt = this.victimDecidedAt.get(h);
    if (decidedAt !== undefined && this.now >= decidedAt + la.windowMs) return false;
    if (msg.kind === "commit") return true;
    if (msg.kind !== "vote" || msg.vote.kind !== "precommit" || msg.vote.round !== 0) return false;
    // The victim's round-0 precommit, and the attacker's for the block (the others get its nil instead).
    const v = msg.vote;
    return v.validator === this.lockVictim || (v.validator === la.attacker && v.valueId !== null);
  }

  private send(from: number, to: number, msg: Msg): void {
    if (from === to) return;
    if (to === this.hostileId) return; // it reads what it gets and answers nothing
    if (!this.connected(from, to, this.now)) return;
    if (this.heldBackByLockAttack(to, msg)) return;
    if (this.rng.chance(this.opts.dropProbability)) return;
    const copies = this.rng.chance(this.opts.duplicateProbability) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const [min, max] = this.opts.delayMs;
      const at = this.now + min + this.rng.int(max - min + 1);
      this.push({ at, type: "deliver", to, msg, via: from });
    }
  }

  private broadcast(from: number, msg: Msg, only?: number[]): void {
    for (const n of this.nodes) if (only === undefined || only.includes(n.id)) this.send(from, n.id, msg);
  }

  start(): void {
    for (const n of this.nodes) {
      this.run(n, n.core.step({ type: "startHeight", height: 1n }));
      this.push({ at: this.opts.gossipIntervalMs + n.id, type: "gossip", node: n.id });
    }
    if (this.opts.hostilePeer !== undefined) this.push({ at: this.opts.hostilePeer.intervalMs, type: "hostile" });
  }

  /** Runs until every live honest node has decided `heights` heights, or until maxTimeMs. */
  runToCompletion(): { timeMs: number; events: number } {
    this.start();
    while (this.queue.size > 0) {
      const e = this.queue.pop() as Event;
      if (e.at > this.opts.maxTimeMs) break;
      this.now = e.at;
      this.events++;
      this.handle(e);
      this.checkAgreement();
      if (this.done()) return { timeMs: this.now, events: this.events };
    }
    throw new SimFailure(
      `liveness: not every live honest node decided ${this.opts.heights} heights by ${this.opts.maxTimeMs} ms ` +
        `(heights: ${this.nodes.map((n) => `${n.id}${n.crashed ? "✝" : ""}=${n.height - 1n}`).join(" ")})`,
    );
  }

  done(): boolean {
    if (this.now < (this.opts.minTimeMs ?? 0)) return false;
    return this.honest.filter((n) => !n.crashed).every((n) => n.height > BigInt(this.opts.heights));
  }

  private handle(e: Event): void {
    switch (e.type) {
      case "crash": {
        const n = this.nodes[e.node];
        n.crashed = true;
        return;
      }
      case "recover": {
        // Restart: volatile consensus state is gone; decided blocks and the signer guard persist.
        const n = this.nodes[e.node];
        n.crashed = false;
        n.epoch++;
        n.core = new ConsensusCore({ self: n.id, timeouts: this.opts.timeouts }, n.validators);
        n.inbound.future.clear();
        n.inbound.pendingSync = null;
        n.known = new Map();
        this.run(n, n.core.step({ type: "startHeight", height: n.height }));
        return;
      }
      case "gossip": {
        const n = this.nodes[e.node];
        this.push({ at: this.now + this.opts.gossipIntervalMs, type: "gossip", node: n.id });
        if (n.crashed) return;
        for (const m of n.known.values()) this.broadcast(n.id, m);
        const last = n.decided.get(n.height - 1n);
        if (last !== undefined) {
          this.broadcast(n.id, { kind: "commit", from: n.id, height: n.height - 1n, ...last });
        }
        return;
      }
      case "value": {
        const n = this.nodes[e.node];
        if (n.crashed || e.epoch !== n.epoch || e.height !== n.height) return;
        this.run(n, n.core.step({ type: "proposeValue", height: e.height, round: e.round, valueId: e.valueId }));
        return;
      }
      case "timer": {
        const n = this.nodes[e.node];
        if (n.crashed || e.epoch !== n.epoch || e.height !== n.height) return;
        this.run(n, n.core.step({ type: "timeout", kind: e.kind, height: e.height, round: e.round }));
        return;
      }
      case "deliver": {
        const n = this.nodes[e.to];
        if (n.crashed) return;
        this.deliver(n, e.msg, e.via);
        return;
      }
      case "hostile":
        this.push({ at: this.now + (this.opts.hostilePeer?.intervalMs ?? 0), type: "hostile" });
        this.hostileTick();
        return;
    }
  }

  private msgHeight(m: Msg): bigint {
    return m.kind === "vote" ? m.vote.height : m.height;
  }

  /** A copy of `v` signed by validator `by` (its signature rides in `signed`). */
  private signed(by: number, v: CoreVote): CoreVote {
    return { ...v, signed: this.crypto.sign(by, voteBytes(v)) };
  }

  /**
   * Asks a peer that proved it has decided this node's height (SyncPeers: rotation, back-off) for the
   * decision, at most once per gossip interval; a request still unanswered by the next one counts as a
   * timeout for that peer. (Sync timeouts cost no fault points here: a partition or a lost packet looks
   * the same, and the real node counts an unreachable peer's failed dial as no more than a hiccup.)
   */
  private requestSync(n: SimNode): void {
    if (this.now - n.lastSyncAt < this.opts.gossipIntervalMs) return;
    const s = n.inbound;
    if (s.pendingSync !== null && s.pendingSync.height === n.height) {
      s.syncPeers.failed(s.pendingSync.peer, SyncFailure.TIMEOUT, this.now);
    }
    const peer = s.syncPeers.pick(n.height, this.now, (p) => !s.isBanned(Number(p)));
    s.pendingSync = null;
    if (peer === null) return;
    n.lastSyncAt = this.now;
    s.pendingSync = { peer, height: n.height };
    this.send(n.id, Number(peer), { kind: "syncRequest", from: n.id, height: n.height });
  }

  /** The node's admission of one delivered copy (`via` sent it): verify, then hold, hand to the core, or drop. */
  private deliver(n: SimNode, m: Msg, via: number): void {
    const s = n.inbound;
    if (s.isBanned(via)) return;
    const h = this.msgHeight(m);
    if (m.kind === "syncRequest") {
      const d = n.decided.get(m.height);
      if (d !== undefined) this.send(n.id, m.from, { kind: "commit", from: n.id, height: m.height, ...d });
      return;
    }
    if (m.kind === "commit") {
      // A decision with its certificate: proof that the sender has this height (block sync's status proof).
      if (h < n.height) return;
      if (!certificateHolds(certificateOf(h, m.round, m.valueId, m.precommits), this.schedule, this.crypto)) {
        this.refused(n, m, via, true);
        return;
      }
      this.accepted(m);
      s.syncPeers.proven(String(via), h);
      if (h === n.height) {
        if (s.pendingSync?.height === h) s.syncPeers.succeeded(s.pendingSync.peer);
        this.decide(n, h, m.round, m.valueId, m.precommits);
      } else {
        this.requestSync(n);
      }
      return;
    }
    const at = { height: n.height, round: n.core.snapshot().round };
    const verdict =
      m.kind === "vote"
        ? admit(() => this.verifier.checkVote(toSignedVote(m.vote), at))
        : admit(
            () =>
              this.verifier.checkProposal(
                {
                  height: m.height,
                  round: m.round,
                  polRound: m.polRound,
                  blockHash: valueHash(m.valueId),
                  signature: m.signature,
                },
                at,
              ).placement,
          );
    if (!verdict.ok) {
      this.refused(n, m, via, verdict.peerFault);
      return;
    }
    this.accepted(m);
    if (verdict.placement === Placement.NEXT || verdict.placement === Placement.FUTURE) {
      const key =
        m.kind === "proposal"
          ? `p/${m.round}/${m.valueId}`
          : `v/${m.vote.kind}/${m.vote.round}/${m.vote.validator}/${m.vote.valueId}`;
      s.future.add(h, key, 1, { msg: m, via });
      this.requestSync(n);
      return;
    }
    if (verdict.placement === Placement.PREVIOUS) {
      // Late votes of the previous height still go to the core: a conflicting one is evidence.
      if (m.kind === "vote") this.run(n, n.core.step({ type: "vote", vote: m.vote }));
      return;
    }
    const key =
      m.kind === "proposal"
        ? `p/${m.round}/${m.valueId}`
        : `v/${m.vote.kind}/${m.vote.round}/${m.vote.validator}/${m.vote.valueId}`;
    if (n.known.size < 10_000) n.known.set(key, m);
    if (m.kind === "proposal") {
      // Signed by the round's proposer (checked above); value validity is decided by the app.
      const valid = VALID_PREFIXES.some((p) => m.valueId.startsWith(p));
      this.run(
        n,
        n.core.step({
          type: "proposal",
          proposal: { height: h, round: m.round, valueId: m.valueId, polRound: m.polRound, valid },
        }),
      );
    } else {
      // Relayed votes are accepted: a vote is signed by its validator (verified above), so a relay cannot
      // forge it. Relaying is what lets a node that missed a round's prevotes — e.g. restarted without
      // them — see the proof of lock of a re-proposal.
      this.run(n, n.core.step({ type: "vote", vote: m.vote }));
    }
  }

  private accepted(m: Msg): void {
    if (this.hostileMessages.has(m)) this.hostileAccepted++;
  }

  /** A refused message: a provably invalid one costs `via` fault points (bans at the threshold). */
  private refused(n: SimNode, m: Msg, via: number, peerFault: boolean): void {
    if (!peerFault) return;
    if (via !== this.hostileId && !this.byzantine.has(via)) {
      throw new SimFailure(`admission: node ${n.id} refused a ${m.kind} relayed by honest node ${via} as invalid`);
    }
    n.inbound.fault(via);
  }

  /**
   * The hostile peer's turn: to every node, a vote and a proposal for each of its height, height + 1
   * and height + 2 with random signatures (authored, so it claims, by real validators and round
   * proposers), a certificate for height 10^9 and one for the node's own height, both forged.
   */
  private hostileTick(): void {
    const from = this.hostileId;
    const sig = () => {
      const b = new Uint8Array(64);
      for (let i = 0; i < 64; i++) b[i] = this.rng.int(256);
      return b;
    };
    const forgedPrecommits = (height: bigint, valueId: string) =>
      this.nodes
        .slice(0, Math.ceil((this.nodes.length * 2 + 1) / 3))
        .map((v): CoreVote => ({ kind: "precommit", height, round: 0, valueId, validator: v.id, signed: sig() }));
    for (const n of this.nodes) {
      const msgs: Msg[] = [];
      for (const dh of [0n, 1n, 2n]) {
        const height = n.height + dh;
        const round = this.rng.int(3);
        const valueId = `v:${height}:${round}:hostile:${this.rng.int(1_000_000)}`;
        const validator = this.rng.int(this.nodes.length);
        const kind = this.rng.chance(0.5) ? "prevote" : "precommit";
        msgs.push({ kind: "vote", from: validator, vote: { kind, height, round, valueId, validator, signed: sig() } });
        const proposer = this.setAt(height).proposer(round);
        msgs.push({ kind: "proposal", from: proposer, height, round, valueId, polRound: -1, signature: sig() });
      }
      const fake = `v:${n.height}:0:hostile:decided`;
      const far = 10n ** 9n;
      msgs.push({
        kind: "commit",
        from,
        height: far,
        round: 0,
        valueId: "v:far",
        precommits: forgedPrecommits(far, "v:far"),
      });
      msgs.push({
        kind: "commit",
        from,
        height: n.height,
        round: 0,
        valueId: fake,
        precommits: forgedPrecommits(n.height, fake),
      });
      for (const m of msgs) {
        this.hostileMessages.add(m);
        this.hostileSent++;
        this.send(from, n.id, m);
      }
    }
  }

  /** Executes a node's outputs: the driver of the simulation. */
  private run(n: SimNode, outputs: Output[]): void {
    // Own votes that were signed go back into the node's core after its outputs (as the driver does).
    const signed: CoreVote[] = [];
    this.runOutputs(n, outputs, signed);
    for (const v of signed) if (!n.crashed) this.run(n, n.core.step({ type: "vote", vote: v }));
  }

  private runOutputs(n: SimNode, outputs: Output[], signed: CoreVote[]): void {
    for (const o of outputs) {
      switch (o.type) {
        case "getValue": {
          const valueId = `v:${o.height}:${o.round}:${n.id}`;
          if ((this.opts.proposeDelayMs ?? 0) === 0) {
            this.run(n, n.core.step({ type: "proposeValue", height: o.height, round: o.round, valueId }));
          } else {
            this.push({
              at: this.now + (this.opts.proposeDelayMs ?? 0),
              type: "value",
              node: n.id,
              height: o.height,
              round: o.round,
              valueId,
              epoch: n.epoch,
            });
          }
          break;
        }
        case "broadcastProposal": {
          const fields = { height: o.height, round: o.round, valueId: o.valueId, polRound: o.polRound };
          const msg: Msg = {
            kind: "proposal",
            from: n.id,
            ...fields,
            signature: this.crypto.sign(n.id, proposalBytes(fields)),
          };
          if (n.id === this.opts.lockAttack?.attacker) {
            this.broadcast(n.id, msg); // its amnesia proposals are scripted (lockAttackRound)
          } else if (this.byzantine.has(n.id)) {
            // Equivocating proposer: value A to one half, value B to the other.
            const [a, b] = this.halves(n.id);
            this.broadcast(n.id, msg, a);
            const twin = { ...fields, valueId: `b:${o.height}:${o.round}:${n.id}:twin` };
            this.broadcast(n.id, { ...msg, ...twin, signature: this.crypto.sign(n.id, proposalBytes(twin)) }, b);
          } else {
            n.known.set(`p/${o.round}/${o.valueId}`, msg);
            this.broadcast(n.id, msg);
          }
          break;
        }
        case "broadcastVote": {
          if (!this.signOnce(n, o.vote)) break;
          o.vote.signed = this.signed(n.id, o.vote).signed;
          signed.push(o.vote);
          const msg: Msg = { kind: "vote", from: n.id, vote: o.vote };
          if (n.id === this.opts.lockAttack?.attacker) {
            const vote = o.vote;
            if (vote.kind === "precommit" && vote.round === 0 && this.lockAttacked(vote.height)) {
              // Its round-0 precommit for the block to the victim only, nil to the others: they see +2/3
              // precommits (so timeoutPrecommit moves them to round 1) but not +2/3 for the block.
              this.broadcast(n.id, { kind: "vote", from: n.id, vote }, [this.lockVictim]);
              const others = this.nodes.map((x) => x.id).filter((i) => i !== this.lockVictim);
              const nil = this.signed(n.id, { ...vote, valueId: null });
              this.broadcast(n.id, { kind: "vote", from: n.id, vote: nil }, others);
            } else {
              this.broadcast(n.id, { kind: "vote", from: n.id, vote });
            }
          } else if (this.byzantine.has(n.id)) {
            // Double vote: its vote to one half, a conflicting one to the other half.
            const [a, b] = this.halves(n.id);
            this.broadcast(n.id, msg, a);
            const twin = o.vote.valueId === null ? `b:${o.vote.height}:${o.vote.round}:${n.id}:twin` : null;
            const twinVote = this.signed(n.id, { ...o.vote, valueId: twin });
            this.broadcast(n.id, { kind: "vote", from: n.id, vote: twinVote }, b);
          } else {
            n.known.set(`v/${o.vote.kind}/${o.vote.round}/${o.vote.validator}/${o.vote.valueId}`, msg);
            this.broadcast(n.id, msg);
          }
          break;
        }
        case "scheduleTimeout":
          this.push({
            at: this.now + o.durationMs,
            type: "timer",
            node: n.id,
            kind: o.kind,
            height: o.height,
            round: o.round,
            epoch: n.epoch,
          });
          break;
        case "decide":
          this.decide(n, o.height, o.round, o.valueId, o.precommits);
          break;
        case "evidence":
          n.evidence.push({ first: o.first, second: o.second });
          if (!this.byzantine.has(o.first.validator)) {
            throw new SimFailure(`accountability: honest validator ${o.first.validator} was accused of equivocation`);
          }
          break;
        case "newRound":
          this.lockAttackRound(n, o.height, o.round);
          break;
      }
    }
  }

  /** The signer's double-sign guard (persisted in the real node): never two values for one (h, r, kind). */
  private signOnce(n: SimNode, v: CoreVote): boolean {
    if (this.byzantine.has(n.id)) return true;
    const key = `${v.height}/${v.round}/${v.kind}`;
    if (n.signed.has(key)) {
      if (n.signed.get(key) !== v.valueId) return false; // refused: would equivocate after a restart
      return true;
    }
    n.signed.set(key, v.valueId);
    return true;
  }

  /**
   * The attacker's amnesia, scripted (its own core decided the block in round 0 and moved on): when a locked
   * honest node enters a round the attacker proposes, after the victim decided, the attacker proposes a fresh
   * block without proof of lock and prevotes and precommits it.
   */
  private lockAttackRound(n: SimNode, h: bigint, round: number): void {
    const la = this.opts.lockAttack;
    if (la === undefined || n.id === la.attacker || n.id === this.lockVictim || round < 1) return;
    if (!this.lockAttacked(h) || this.setAt(h).proposer(round) !== la.attacker || !this.victimDecidedAt.has(h)) return;
    const key = `${h}/${round}`;
    if (this.lockAttackScripted.has(key)) return;
    this.lockAttackScripted.add(key);
    this.lockAttackProposals++;
    const valueId = `v:${h}:${round}:${la.attacker}:fresh`;
    const from = la.attacker;
    const fields = { height: h, round, valueId, polRound: -1 };
    const signature = this.crypto.sign(from, proposalBytes(fields));
    this.broadcast(from, { kind: "proposal", from, ...fields, signature });
    for (const kind of ["prevote", "precommit"] as const) {
      const vote = this.signed(from, { kind, height: h, round, valueId, validator: from });
      this.broadcast(from, { kind: "vote", from, vote });
    }
  }

  private halves(byz: number): [number[], number[]] {
    const others = this.nodes.map((n) => n.id).filter((i) => i !== byz);
    const mid = Math.ceil(others.length / 2);
    return [others.slice(0, mid), others.slice(mid)];
  }

  private decide(n: SimNode, h: bigint, round: number, valueId: string, precommits: CoreVote[]): void {
    if (n.decided.has(h)) return;
    n.decided.set(h, { valueId, round, precommits });
    if (n.id === this.lockVictim && this.opts.lockAttack !== undefined) this.victimDecidedAt.set(h, this.now);
    // Validity: only values some node proposed as valid can be decided.
    if (!VALID_PREFIXES.some((p) => valueId.startsWith(p)))
      throw new SimFailure(`validity: node ${n.id} decided invalid ${valueId} at ${h}`);
    const agreed = this.decisions.get(h);
    if (agreed === undefined) {
      this.decisions.set(h, valueId);
      this.decidedAt.set(h, this.now);
    } else if (agreed !== valueId && !this.byzantine.has(n.id)) {
      throw new SimFailure(`agreement: node ${n.id} decided ${valueId} at height ${h}, another node decided ${agreed}`);
    }
    // Commit, then the next height with the validator set advanced for it.
    n.height = h + 1n;
    n.validators = n.validators.next();
    n.core.setValidators(n.validators);
    n.known = new Map();
    this.run(n, n.core.step({ type: "startHeight", height: n.height }));
    for (const { msg, via } of n.inbound.future.take(n.height)) this.deliver(n, msg, via);
  }

  private checkAgreement(): void {
    // Decisions are checked as they happen (decide()); nothing global left to check per event.
  }
}

export const DEFAULT_TIMEOUTS: TimeoutParams = {
  proposeMs: 300,
  proposeDeltaMs: 100,
  prevoteMs: 100,
  prevoteDeltaMs: 100,
  precommitMs: 100,
  precommitDeltaMs: 100,
};

/** Seeds for a run: SIM_SEED pins one (reproduce a failure), SIM_SEEDS=n runs n (soak). */
export function seeds(defaultCount: number, base: number): number[] {
  const pinned = process.env.SIM_SEED;
  if (pinned !== undefined) return [Number(pinned)];
  const count = Number(process.env.SIM_SEEDS ?? defaultCount);
  return Array.from({ length: count }, (_, i) => base + i);
}

export function runScenario(opts: SimOptions): { timeMs: number; events: number; sim: Simulation } {
  const sim = new Simulation(opts);
  try {
    const r = sim.runToCompletion();
    return { ...r, sim };
  } catch (e) {
    if (e instanceof SimFailure) {
      throw new SimFailure(`${e.message}\nreproduce: SIM_SEED=${opts.seed} npm run test:sim`);
    }
    throw e;
  }
}
