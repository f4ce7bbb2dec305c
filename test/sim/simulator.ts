import { createHash } from "node:crypto";
import { decodeCommit } from "../../consensus/commit.js";
import type { TimeoutParams } from "../../consensus/core/types.js";
import { ConsensusDriver, type ConsensusTopic, type SyncedBlock } from "../../consensus/driver/index.js";
import { genesisValidators, type HeightValidators, nextValidators } from "../../consensus/validators/updates.js";
import { VoteType } from "../../consensus/vote.js";
import { decodeSignedVote } from "../../consensus/wire.js";
import { BinaryHeap } from "../../node/mempool/heap.js";
import { ReqRespError, ReqRespErrorCode, type ReqRespProtocol } from "../../node/network/index.js";
import { BAN_PENALTY_POINTS, GOSSIP_REJECT_PENALTY, PeerBans, PeerPenalties } from "../../node/network/scoring.js";
import { BlockSync, encodeSyncItem } from "../../node/sync/index.js";
import type { Logger } from "../../runtime/lib/logger.js";
import type { Block } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import { type Validator, type ValidatorUpdate, validatorAddress } from "../../runtime/primitives/validatorSet.js";
import { PRNG } from "../utils/prng.js";
import { Adversary } from "./adversary.js";
import { SimCrypto } from "./simCrypto.js";
import { SIM_CHAIN_ID, SimApp, type SimChainRules, SimSigner, SimStore, SimWAL } from "./simNode.js";

/**
 * A deterministic simulation of a network of nodes (after TigerBeetle's VOPR) that runs the node's real
 * consensus code — `ConsensusDriver` (input queue, WAL replay, signing through the double-sign guard,
 * re-sends of a stalled height, evidence), message admission, `ValidatorHistory` and `BlockSync` — over
 * simulated ports: a virtual clock, a network with delay, loss, duplication, reordering and partitions
 * (gossip relays what a node accepts, as gossipsub does; requests and responses travel like TCP: late
 * but not lost, and refused across a partition), in-memory WALs and signer states that survive crashes,
 * and a small deterministic app (simNode.ts). One seed drives everything; checkers run as blocks commit
 * and after every event.
 */
export interface SimOptions {
  seed: number;
  /** Genesis validators: nodes 0 … validators − 1. */
  validators: number;
  /** Nodes that start as full nodes (no power; they may join through `validatorChanges`). Default 0. */
  fullNodes?: number;
  powers?: number[];
  timeouts: TimeoutParams;
  delayMs: [min: number, max: number];
  dropProbability: number;
  duplicateProbability: number;
  /** How often a stalled height re-sends its messages and asks peers for their status (the driver's stall check). */
  gossipIntervalMs: number;
  /** Nodes that equivocate: two proposals and two votes, one to each half of the network. */
  byzantine?: number[];
  /**
   * The attack only the lock rule (L22–L27) stops, an "amnesia" proposer helped by the network. At every height
   * whose round-1 proposer is `attacker` (Byzantine), the victim's round-0 precommit and every decision (block
   * sync) reach only `victim` (the node after the attacker) until `windowMs` after the victim decided, and the
   * attacker precommits the block to the victim but nil to the others: the victim decides round 0's block, the
   * others — locked on it — time out into round 1, where the attacker proposes a fresh block (no proof of lock)
   * and votes for it. Without the lock rule the others prevote it too, decide it, and disagree with the victim.
   */
  lockAttack?: { attacker: number; windowMs: number };
  /**
   * An outsider peer (no validator key) connected to every node, sending every `intervalMs`: votes and
   * proposals for a node's height + 2, + 1 and its own height with random signatures (claiming real
   * validators and round proposers as authors). It answers every status request with a forged commit
   * certificate, alternately for height 10^9 and for the asking node's own height (a fake decision), and
   * serves no blocks.
   */
  hostilePeer?: { intervalMs: number };
  /** Nodes ban peers whose fault points reach the network's threshold (default true). */
  bans?: boolean;
  crashes?: { node: number; atMs: number; recoverAtMs?: number }[];
  partitions?: { fromMs: number; toMs: number; groups: number[][] }[];
  /**
   * Validator updates reported by the block at `height` (the simulated staking module; every node applies
   * them alike, at `height` + 2): `power` 0 removes `node`, a node outside the set joins.
   */
  validatorChanges?: { height: number; updates: { node: number; power: number }[] }[];
  /**
   * A software upgrade from `height` on that `oldNodes` do not run (default: every node): they must stop
   * before processing that height — nothing signed or executed there, not even from block sync.
   */
  upgrade?: { height: number; oldNodes?: number[] };
  /**
   * A slow validator: `node`'s precommits reach everyone `extraDelayMs` later than its other messages,
   * after the others' precommits made the quorum (with no loss, they always do).
   */
  latePrecommitter?: { node: number; extraDelayMs: number };
  /**
   * An idle chain: a height starts after the empty-block interval (or when a peer's message of it
   * arrives), not at once. Default false (a busy chain).
   */
  idle?: boolean;
  /**
   * With `idle`: transactions start waiting at this virtual time and keep waiting (the chain turns busy),
   * and the drivers hear of it through `onPendingWork`.
   */
  workFromMs?: number;
  /** Every driver's `minBlockIntervalMs` (height pacing while transactions wait); unset = the driver's default. */
  minBlockIntervalMs?: number;
  /** Run until every live honest node has committed this many heights (and at least until minTimeMs). */
  heights: number;
  minTimeMs?: number;
  /** The proposer's app takes this long to build a block. */
  proposeDelayMs?: number;
  /**
   * A deep backlog: the proposer's app spends the driver's whole execution budget before the
   * `proposeDelayMs` of sealing and signing (as the node's app does under load).
   */
  buildSpendsBudget?: boolean;
  /** A node whose event loop is busy (admitting transactions under load): every timer of it fires `ms` late. */
  lateTimers?: { node: number; ms: number };
  maxTimeMs: number;
}

export class SimFailure extends Error {}

export interface SimNode {
  id: number;
  /** What survives a crash. */
  readonly store: SimStore;
  crashed: boolean;
  /** Bumped at each crash: timers and responses of an earlier life are dropped. */
  life: number;
  driver: ConsensusDriver | null;
  app: SimApp | null;
  /** Gossip messages seen (gossipsub's seen cache, by content): not validated or relayed twice. */
  seen: Map<string, number>;
  faults: PeerPenalties;
  bans: PeerBans;
  /** Peers this node banned. */
  readonly banned: Set<number>;
  /** Nodes this node's app received verified evidence against. */
  readonly evidence: number[];
  /** Why its driver stopped on its own (an upgrade it does not run), or null. */
  halted: string | null;
}

/** Request–response timeout (a silent peer costs this much of block sync's time). */
const REQUEST_TIMEOUT_MS = 1_000;
/** Gossipsub's seen cache keeps message ids this long. */
const SEEN_TTL_MS = 120_000;

type Event = { at: number; seq: number; fn: () => void };

export class Simulation {
  readonly opts: SimOptions;
  readonly rng: PRNG;
  now = 0;
  private seq = 0;
  private readonly queue = new BinaryHeap<Event>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  readonly nodes: SimNode[] = [];
  /** The agreed block hash of each committed height (the agreement checker's reference). */
  readonly decisions = new Map<bigint, string>();
  /** When each height was first committed by any node (virtual ms). */
  readonly decidedAt = new Map<bigint, number>();
  /** The validator (node id) named as proposer by each committed block, and the round it was decided in. */
  readonly committedProposer = new Map<bigint, { node: number; round: number }>();
  /** The validators (node ids) whose precommits for height h − 1 committed block h carries. */
  readonly carriedSigners = new Map<bigint, number[]>();
  readonly byzantine: Set<number>;
  readonly crypto: SimCrypto;
  events = 0;
  /** The hostile peer's id (one past the nodes) and what it sent. */
  readonly hostileId: number;
  hostileSent = 0;
  /** Hostile messages (or status claims) that passed verification somewhere (must stay 0). */
  hostileAccepted = 0;
  /** Fresh proposals the lock attacker made to locked validators after the victim decided (the attack's chances). */
  lockAttackProposals = 0;
  readonly adversary: Adversary;
  private failure: SimFailure | null = null;
  private readonly genesis: Validator[];
  private readonly reference = new Map<bigint, HeightValidators>();
  private readonly updatesByHeight = new Map<bigint, ValidatorUpdate[]>();
  readonly victimDecidedAt = new Map<bigint, number>();

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = new PRNG(opts.seed);
    this.byzantine = new Set([...(opts.byzantine ?? []), ...(opts.lockAttack ? [opts.lockAttack.attacker] : [])]);
    const total = opts.validators + (opts.fullNodes ?? 0);
    this.crypto = new SimCrypto(total);
    this.hostileId = total;
    this.genesis = Array.from({ length: opts.validators }, (_, i) => this.validatorOf(i, opts.powers?.[i] ?? 10));
    for (const c of opts.validatorChanges ?? []) {
      this.updatesByHeight.set(
        BigInt(c.height),
        c.updates.map((u) => ({
          publicKey: this.crypto.publicKey(u.node),
          power: BigInt(u.power),
          feeRecipient: feeRecipientOf(u.node),
        })),
      );
    }
    for (let i = 0; i < total; i++) {
      this.nodes.push({
        id: i,
        store: new SimStore(this.genesis),
        crashed: false,
        life: 0,
        driver: null,
        app: null,
        seen: new Map(),
        faults: new PeerPenalties(30_000, 4096, () => this.now),
        bans: new PeerBans(60_000, 4096, () => this.now),
        banned: new Set(),
        evidence: [],
        halted: null,
      });
    }
    this.adversary = new Adversary(this);
    for (const c of opts.crashes ?? []) {
      this.at(c.atMs, () => this.crash(this.nodes[c.node]));
      if (c.recoverAtMs !== undefined) this.at(c.recoverAtMs, () => this.recover(this.nodes[c.node]));
    }
  }

  // --- identities and the chain's rules --------------------------------------------------------------

  validatorOf(node: number, power: number): Validator {
    const publicKey = this.crypto.publicKey(node);
    return {
      publicKey,
      address: validatorAddress(publicKey),
      votingPower: BigInt(power),
      feeRecipient: feeRecipientOf(node),
    };
  }

  /** The node holding validator `publicKey`. */
  nodeOf(publicKey: Uint8Array): number {
    for (let i = 0; i < this.nodes.length; i++) if (equalsBytes(this.crypto.publicKey(i), publicKey)) return i;
    throw new Error("unknown validator key");
  }

  /** The validators of `height` as the chain settles them (the reference every node must match). */
  setOf(height: bigint): HeightValidators {
    let r = this.reference.get(height);
    if (r !== undefined) return r;
    if (height <= 1n) {
      r = genesisValidators(this.genesis);
    } else {
      // Block h settles h + 2: the updates of block `height` − 2 apply to `height`.
      r = nextValidators(this.setOf(height - 1n), this.updatesByHeight.get(height - 2n) ?? []);
    }
    this.reference.set(height, r);
    return r;
  }

  /** The node that proposes `round` at `height`. */
  proposerNode(height: bigint, round: number): number {
    const s = this.setOf(height);
    return this.nodeOf(s.validators[s.set.proposer(round)].publicKey);
  }

  /** `node`'s index among the validators of `height`, or −1. */
  indexAt(height: bigint, node: number): number {
    const key = this.crypto.publicKey(node);
    return this.setOf(height).validators.findIndex((v) => equalsBytes(v.publicKey, key));
  }

  private rulesFor(n: SimNode): SimChainRules {
    const life = n.life;
    return {
      keys: this.crypto,
      validatorUpdates: (h) => this.updatesByHeight.get(h) ?? [],
      busy: () => this.opts.idle !== true || (this.opts.workFromMs !== undefined && this.now >= this.opts.workFromMs),
      onPendingWork: (cb) => {
        const from = this.opts.workFromMs;
        if (this.opts.idle !== true || from === undefined || this.now >= from) return () => undefined;
        let live = true;
        this.at(from, () => {
          if (live && n.life === life && !n.crashed) cb();
        });
        return () => {
          live = false;
        };
      },
      haltReason: (h) => {
        const u = this.opts.upgrade;
        if (u === undefined || h < BigInt(u.height) || !(u.oldNodes ?? [n.id]).includes(n.id)) return null;
        return `software upgrade required from height ${u.height}`;
      },
      buildDelay: (budgetMs) =>
        new Promise((resolve) => {
          const ms = (this.opts.proposeDelayMs ?? 0) + (this.opts.buildSpendsBudget === true ? budgetMs : 0);
          this.at(this.now + ms, () => {
            if (n.life === life && !n.crashed) resolve();
          });
        }),
      committed: (node, block, hash, round) => this.onCommitted(node, block, hash, round),
      evidence: (node, v) => {
        const accused = this.nodeOf(v.publicKey);
        this.nodes[node].evidence.push(accused);
        if (!this.byzantine.has(accused))
          this.fail(`accountability: honest validator ${accused} was accused of equivocation`);
      },
    };
  }

  private onCommitted(node: number, block: Block, hash: Uint8Array, round: number): void {
    const h = block.header.number;
    const id = bytesToHex(hash);
    const agreed = this.decisions.get(h);
    if (agreed === undefined) {
      this.decisions.set(h, id);
      this.decidedAt.set(h, this.now);
      this.committedProposer.set(h, {
        node: this.nodeOf(
          this.setOf(h).validators.find((v) => equalsBytes(v.address, block.header.proposer))?.publicKey ??
            new Uint8Array(32),
        ),
        round,
      });
      if (block.body.lastCommit.length > 0) {
        const parent = this.setOf(h - 1n).validators;
        this.carriedSigners.set(
          h,
          decodeCommit(block.body.lastCommit).signatures.map((x) => this.nodeOf(parent[x.validatorIndex].publicKey)),
        );
      }
    } else if (agreed !== id && !this.byzantine.has(node)) {
      this.fail(`agreement: node ${node} committed ${id} at height ${h}, another node committed ${agreed}`);
    }
    // Every node settles the reference validators of h + 2, with the same proposer priorities.
    const settled = this.nodes[node].app?.history.at(h + 2n);
    const reference = this.setOf(h + 2n);
    if (
      settled === undefined ||
      !equalsBytes(settled.hash, reference.hash) ||
      settled.set.proposerPriorities.join() !== reference.set.proposerPriorities.join()
    ) {
      this.fail(`validators: node ${node} settled another set or other priorities for height ${h + 2n}`);
    }
    if (this.opts.lockAttack !== undefined && node === this.adversary.lockVictim && !this.victimDecidedAt.has(h)) {
      this.victimDecidedAt.set(h, this.now);
    }
  }

  // --- lifecycle -------------------------------------------------------------------------------------

  get honest(): SimNode[] {
    return this.nodes.filter((n) => !this.byzantine.has(n.id));
  }

  /** The height a node works on (its head + 1). */
  heightOf(n: SimNode): bigint {
    return n.store.head + 1n;
  }

  fail(message: string): void {
    this.failure ??= new SimFailure(message);
  }

  at(time: number, fn: () => void): void {
    this.queue.push({ at: Math.max(time, this.now), seq: this.seq++, fn });
  }

  private logger(n: SimNode): Logger {
    const log: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      // A halt is judged by `onHalt` (an expected upgrade, or a failure).
      error: (msg, ctx, err) =>
        msg !== "consensus halted" &&
        this.fail(
          `node ${n.id} logged an error: ${msg} ${JSON.stringify(ctx ?? {})} ${(err as Error | undefined)?.message ?? ""}`,
        ),
      child: () => log,
    };
    return log;
  }

  /** Starts a node's process: its app, WAL and signer over the store, the real driver and block sync. */
  private boot(n: SimNode): void {
    const life = n.life;
    const alive = () => n.life === life && !n.crashed;
    const app = new SimApp(n.id, n.store, this.rulesFor(n));
    const log = this.logger(n);
    const driver = new ConsensusDriver(
      {
        chainId: SIM_CHAIN_ID,
        stallCheckMs: this.opts.gossipIntervalMs,
        minBlockIntervalMs: this.opts.minBlockIntervalMs,
      },
      {
        app,
        network: {
          publish: async (topic, data) => {
            if (alive()) this.adversary.publish(n, topic, data);
          },
          sendDirect: async (peer, topic, data) => {
            if (alive()) this.send(n.id, Number(peer), topic, data, "direct");
          },
          peers: () => this.peersOf(n),
        },
        clock: {
          nowMs: () => this.now,
          setTimer: (ms, fn) => {
            let cancelled = false;
            const late = this.opts.lateTimers?.node === n.id ? this.opts.lateTimers.ms : 0;
            this.at(this.now + ms + late, () => {
              if (!cancelled && alive()) fn();
            });
            return () => {
              cancelled = true;
            };
          },
        },
        signer: new SimSigner(n.store, this.crypto, n.id, !this.byzantine.has(n.id)),
        wal: new SimWAL(n.store),
        schedule: app.history,
        params: { timing: () => ({ timeouts: this.opts.timeouts, emptyBlockIntervalMs: 1_000 }) },
        verifier: this.crypto,
        createSync: ({ apply, onIdle }) =>
          new BlockSync(
            { chainId: SIM_CHAIN_ID, peers: { pollIntervalMs: this.opts.gossipIntervalMs } },
            {
              network: {
                peerIds: () => this.peersOf(n),
                requestStatus: (peer) => this.request(n, Number(peer), "status", (p) => p.app?.status() ?? null),
                requestBlocks: (peer, from, count) =>
                  this.request(n, Number(peer), "blocks", (p) =>
                    p.app === null ? null : p.app.blocksFrom(from, count).map((b) => encodeSyncItem(b.block, b.commit)),
                  ),
                penalize: (peer, points) => this.penalize(n, Number(peer), points),
              },
              chain: { headHeight: () => app.headHeight(), apply: (blocks) => apply(blocks as SyncedBlock[]) },
              schedule: app.history,
              verifier: this.crypto,
              log,
              now: () => this.now,
              onIdle,
            },
          ),
        log,
        onStep: (s) => {
          if (alive()) this.adversary.onStep(n, s);
        },
        onHalt: (reason) => {
          if (this.opts.upgrade !== undefined && reason.startsWith("software upgrade required")) n.halted = reason;
          else this.fail(`node ${n.id} halted: ${reason}`);
        },
      },
    );
    n.app = app;
    n.driver = driver;
    driver.start().catch((e) => this.fail(`node ${n.id} did not start: ${(e as Error).stack}`));
  }

  private crash(n: SimNode): void {
    // The process dies: nothing more runs in it (its driver is not stopped, just never called again).
    n.crashed = true;
    n.life++;
    n.driver = null;
    n.app = null;
  }

  private recover(n: SimNode): void {
    n.crashed = false;
    n.seen = new Map();
    this.boot(n);
  }

  // --- network ---------------------------------------------------------------------------------------

  connected(a: number, b: number): boolean {
    if (a === this.hostileId || b === this.hostileId) return true;
    for (const p of this.opts.partitions ?? []) {
      if (this.now < p.fromMs || this.now >= p.toMs) continue;
      const ga = p.groups.findIndex((g) => g.includes(a));
      const gb = p.groups.findIndex((g) => g.includes(b));
      if (ga !== gb) return false;
    }
    return true;
  }

  private peersOf(n: SimNode): string[] {
    const out: string[] = [];
    for (const p of this.nodes) if (p.id !== n.id && !n.bans.isBanned(String(p.id))) out.push(String(p.id));
    if (this.opts.hostilePeer !== undefined && !n.bans.isBanned(String(this.hostileId)))
      out.push(String(this.hostileId));
    return out;
  }

  private delay(): number {
    const [min, max] = this.opts.delayMs;
    return min + this.rng.int(max - min + 1);
  }

  /** One message from `from` to `to`: lost, duplicated, delayed (gossip and direct sends alike). */
  send(from: number, to: number, topic: ConsensusTopic, data: Uint8Array, mode: "gossip" | "direct"): void {
    if (from === to || to === this.hostileId) return; // the hostile peer reads what it gets and answers nothing
    if (!this.connected(from, to)) return;
    if (this.adversary.heldBack(to, topic, data)) return;
    if (this.rng.chance(this.opts.dropProbability)) return;
    const copies = this.rng.chance(this.opts.duplicateProbability) ? 2 : 1;
    const late = this.opts.latePrecommitter;
    const extra =
      late !== undefined && late.node === from && topic === "vote" && decodeSignedVote(data).type === VoteType.Precommit
        ? late.extraDelayMs
        : 0;
    for (let c = 0; c < copies; c++)
      this.at(this.now + this.delay() + extra, () => this.deliver(from, to, topic, data, mode));
  }

  /** Gossip from `from` to every peer. */
  broadcast(from: number, topic: ConsensusTopic, data: Uint8Array, only?: readonly number[]): void {
    for (const p of this.nodes)
      if (only === undefined || only.includes(p.id)) this.send(from, p.id, topic, data, "gossip");
  }

  /**
   * A node's network receives a message: gossip is validated once per content (seen cache) and relayed to
   * every other peer when the node accepts it; a message refused as invalid costs the sender fault points.
   */
  private deliver(from: number, to: number, topic: ConsensusTopic, data: Uint8Array, mode: "gossip" | "direct"): void {
    const n = this.nodes[to];
    if (n.crashed || n.driver === null || n.bans.isBanned(String(from))) return;
    const id = messageId(topic, data);
    if (mode === "gossip") {
      if (n.seen.has(id)) return;
      n.seen.set(id, this.now);
      if (n.seen.size > 20_000) for (const [k, t] of n.seen) if (this.now - t > SEEN_TTL_MS) n.seen.delete(k);
    }
    const verdict = n.driver.receive(topic, data, String(from));
    if (verdict.action === "reject") {
      if (from !== this.hostileId && !this.byzantine.has(from)) {
        this.fail(`admission: node ${to} refused a ${topic} from honest node ${from} as invalid (${verdict.code})`);
      }
      this.fault(n, from, GOSSIP_REJECT_PENALTY);
      return;
    }
    if (verdict.action !== "accept") return;
    if (this.adversary.isHostile(id)) this.hostileAccepted++;
    if (mode === "gossip")
      for (const p of this.nodes) if (p.id !== from && p.id !== to) this.send(to, p.id, topic, data, "gossip");
  }

  /**
   * A request–response exchange (block sync): a stream over a reliable connection, so nothing is lost, but
   * a crashed or partitioned peer cannot be dialled and a peer that does not answer times out.
   */
  private request<T>(n: SimNode, peer: number, protocol: ReqRespProtocol, serve: (p: SimNode) => T | null): Promise<T> {
    const life = n.life;
    const alive = () => n.life === life && !n.crashed;
    return new Promise<T>((resolve, reject) => {
      const error = (code: ReqRespErrorCode, after: number) =>
        this.at(this.now + after, () => {
          if (alive()) reject(new ReqRespError({ code, protocol, peer: String(peer) }));
        });
      if (peer === this.hostileId) {
        const answer = this.adversary.hostileAnswer(n, protocol) as T | null;
        if (answer === null) error(ReqRespErrorCode.TIMEOUT, REQUEST_TIMEOUT_MS);
        else this.at(this.now + this.delay(), () => alive() && resolve(answer));
        return;
      }
      const p = this.nodes[peer];
      if (p.crashed || !this.connected(n.id, peer) || this.adversary.syncHeldBack(n)) {
        error(ReqRespErrorCode.DIAL_FAILED, this.delay());
        return;
      }
      this.at(this.now + this.delay(), () => {
        if (p.crashed || !this.connected(n.id, peer) || p.bans.isBanned(String(n.id))) {
          error(ReqRespErrorCode.STREAM_ERROR, this.delay());
          return;
        }
        const answer = serve(p);
        if (answer === null) {
          error(ReqRespErrorCode.STREAM_ERROR, this.delay());
          return;
        }
        this.at(this.now + this.delay(), () => alive() && resolve(answer));
      });
    });
  }

  /** What block sync reports about a peer (P2PNetwork.penalize): fault points, and a ban at the threshold. */
  private penalize(n: SimNode, peer: number, points: number): void {
    this.fault(n, peer, points);
  }

  private fault(n: SimNode, peer: number, points: number): void {
    const id = String(peer);
    n.faults.add(id, points);
    if ((this.opts.bans ?? true) && n.faults.get(id) >= BAN_PENALTY_POINTS && !n.bans.isBanned(id)) {
      n.bans.ban(id);
      n.banned.add(peer);
      if (peer !== this.hostileId && !this.byzantine.has(peer)) this.fail(`node ${n.id} banned honest peer ${peer}`);
    }
  }

  // --- the run ---------------------------------------------------------------------------------------

  /** Runs until every live honest node has committed `heights` heights, or until maxTimeMs. */
  async runToCompletion(): Promise<{ timeMs: number; events: number }> {
    for (const n of this.nodes) this.boot(n);
    this.adversary.start();
    await drain();
    while (this.queue.size > 0) {
      const e = this.queue.pop() as Event;
      if (e.at > this.opts.maxTimeMs) break;
      this.now = e.at;
      this.events++;
      e.fn();
      // Everything the event set off runs before virtual time moves: the ports answer through microtasks.
      await drain();
      if (this.failure !== null) throw this.failure;
      if (this.done()) return { timeMs: this.now, events: this.events };
    }
    // Nothing left to happen (every node stopped on its own): done if the heights were reached anyway.
    if (this.queue.size === 0 && this.done(true)) return { timeMs: this.now, events: this.events };
    throw new SimFailure(
      `liveness: not every live honest node committed ${this.opts.heights} heights by ${this.opts.maxTimeMs} ms ` +
        `(heights: ${this.nodes.map((n) => `${n.id}${n.crashed ? "✝" : ""}=${n.store.head}`).join(" ")})`,
    );
  }

  done(ignoreMinTime = false): boolean {
    if (!ignoreMinTime && this.now < (this.opts.minTimeMs ?? 0)) return false;
    return this.honest
      .filter((n) => !n.crashed && n.halted === null)
      .every((n) => n.store.head >= BigInt(this.opts.heights));
  }
}

function feeRecipientOf(node: number): Uint8Array {
  return new Uint8Array(20).fill(node + 1);
}

function messageId(topic: string, data: Uint8Array): string {
  return createHash("sha256").update(topic).update(data).digest("hex");
}

/** Resolves once every microtask queued so far (and those they queue) has run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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

export async function runScenario(opts: SimOptions): Promise<{ timeMs: number; events: number; sim: Simulation }> {
  const sim = new Simulation(opts);
  try {
    const r = await sim.runToCompletion();
    return { ...r, sim };
  } catch (e) {
    if (e instanceof SimFailure) {
      throw new SimFailure(`${e.message}\nreproduce: SIM_SEED=${opts.seed} npm run test:sim`);
    }
    throw e;
  }
}
