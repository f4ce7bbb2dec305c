import { createHash } from "node:crypto";
import { type CommitCertificate, encodeCommit } from "../../consensus/commit.js";
import type { ConsensusTopic } from "../../consensus/driver/index.js";
import { proposalSignBytes } from "../../consensus/proposal.js";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import {
  decodeSignedProposal,
  decodeSignedVote,
  encodeSignedProposal,
  encodeSignedVote,
} from "../../consensus/wire.js";
import type { PeerStatus, ReqRespProtocol } from "../../node/network/index.js";
import { type Block, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT } from "../../runtime/primitives/hash.js";
import { SIM_CHAIN_ID } from "./simNode.js";
import type { SimNode, Simulation } from "./simulator.js";

/**
 * The simulation's adversaries, acting on the wire around nodes that run the real driver: equivocating
 * validators (their network sends one half of the peers their messages and the other half conflicting
 * ones, signed with their own key), the lock attack's network schedule and amnesia proposer, and a
 * hostile outsider peer that forges messages and height claims.
 */
export class Adversary {
  private readonly hostileIds = new Set<string>();
  private readonly lockScripted = new Set<string>();
  private hostileStatusFlip = false;

  constructor(private readonly sim: Simulation) {}

  // --- equivocation ----------------------------------------------------------------------------------

  /** A node's gossip: honest nodes broadcast, Byzantine ones equivocate. */
  publish(n: SimNode, topic: ConsensusTopic, data: Uint8Array): void {
    const sim = this.sim;
    const la = sim.opts.lockAttack;
    if (!sim.byzantine.has(n.id) || topic === "evidence") {
      sim.broadcast(n.id, topic, data);
      return;
    }
    if (la !== undefined && n.id === la.attacker) {
      this.lockAttackerPublish(n, topic, data);
      return;
    }
    const [a, b] = this.halves(n.id);
    sim.broadcast(n.id, topic, data, a);
    sim.broadcast(n.id, topic, topic === "proposal" ? this.twinProposal(n.id, data) : this.twinVote(n.id, data), b);
  }

  /** The same proposal with another block (a later timestamp), signed by `by`. */
  private twinProposal(by: number, data: Uint8Array): Uint8Array {
    const p = decodeSignedProposal(data);
    const block: Block = {
      header: { ...p.block.header, timestamp: p.block.header.timestamp + 1n },
      body: p.block.body,
    };
    const hash = hashHeader(block.header);
    const signature = this.sim.crypto.sign(by, proposalSignBytes(SIM_CHAIN_ID, p.height, p.round, hash, p.polRound));
    return encodeSignedProposal({ ...p, block, signature });
  }

  /** The same vote for another value (nil for a block, a made-up block for nil), signed by `by`. */
  private twinVote(by: number, data: Uint8Array, blockHash?: Uint8Array | null): Uint8Array {
    const v = decodeSignedVote(data);
    const hash =
      blockHash !== undefined
        ? blockHash
        : v.blockHash === null
          ? new Uint8Array(createHash("sha256").update(`twin/${v.height}/${v.round}/${by}`).digest())
          : null;
    const signature = this.sim.crypto.sign(by, voteSignBytes(SIM_CHAIN_ID, v.type, v.height, v.round, hash));
    return encodeSignedVote({ ...v, blockHash: hash, signature });
  }

  private halves(byz: number): [number[], number[]] {
    const others = this.sim.nodes.map((n) => n.id).filter((i) => i !== byz);
    const mid = Math.ceil(others.length / 2);
    return [others.slice(0, mid), others.slice(mid)];
  }

  // --- the lock attack -------------------------------------------------------------------------------

  get lockVictim(): number {
    return ((this.sim.opts.lockAttack?.attacker ?? 0) + 1) % this.sim.opts.validators;
  }

  private lockAttacked(h: bigint): boolean {
    const la = this.sim.opts.lockAttack;
    return la !== undefined && this.sim.proposerNode(h, 1) === la.attacker;
  }

  private windowOpen(h: bigint): boolean {
    const la = this.sim.opts.lockAttack;
    if (la === undefined || !this.lockAttacked(h)) return false;
    const decidedAt = this.sim.victimDecidedAt.get(h);
    return decidedAt === undefined || this.sim.now < decidedAt + la.windowMs;
  }

  /** Its round-0 precommit for the block to the victim only, nil to the others (an equivocation). */
  private lockAttackerPublish(n: SimNode, topic: ConsensusTopic, data: Uint8Array): void {
    const sim = this.sim;
    if (topic === "vote") {
      const v = decodeSignedVote(data);
      if (v.type === VoteType.Precommit && v.round === 0 && v.blockHash !== null && this.lockAttacked(v.height)) {
        sim.broadcast(n.id, topic, data, [this.lockVictim]);
        const others = sim.nodes.map((x) => x.id).filter((i) => i !== this.lockVictim);
        sim.broadcast(n.id, topic, this.twinVote(n.id, data, null), others);
        return;
      }
    }
    sim.broadcast(n.id, topic, data);
  }

  /** The network's part of the lock attack: the victim's and the attacker's round-0 precommits for the block reach only the victim. */
  heldBack(to: number, topic: ConsensusTopic, data: Uint8Array): boolean {
    const la = this.sim.opts.lockAttack;
    if (la === undefined || to === this.lockVictim || topic !== "vote") return false;
    const v = decodeSignedVote(data);
    if (v.type !== VoteType.Precommit || v.round !== 0 || !this.windowOpen(v.height)) return false;
    return (
      v.validatorIndex === this.sim.indexAt(v.height, this.lockVictim) ||
      (v.validatorIndex === this.sim.indexAt(v.height, la.attacker) && v.blockHash !== null)
    );
  }

  /** Decisions travel by block sync too: a node other than the victim learns nothing while the window is open. */
  syncHeldBack(n: SimNode): boolean {
    if (this.sim.opts.lockAttack === undefined || n.id === this.lockVictim) return false;
    return this.windowOpen(this.sim.heightOf(n));
  }

  /**
   * The attacker's amnesia (its own driver committed the block in round 0 and moved on): when a locked
   * honest node enters a round the attacker proposes, after the victim decided, the attacker proposes a
   * fresh block without proof of lock and prevotes and precommits it.
   */
  onStep(n: SimNode, s: { height: bigint; round: number; step: string }): void {
    const sim = this.sim;
    const la = sim.opts.lockAttack;
    if (la === undefined || s.step !== "propose" || s.round < 1) return;
    if (n.id === la.attacker || n.id === this.lockVictim) return;
    const h = s.height;
    if (!this.lockAttacked(h) || sim.proposerNode(h, s.round) !== la.attacker || !sim.victimDecidedAt.has(h)) return;
    const key = `${h}/${s.round}`;
    if (this.lockScripted.has(key)) return;
    this.lockScripted.add(key);
    const decided = sim.nodes[this.lockVictim].store.chain[Number(h)];
    if (decided === undefined) return;
    sim.lockAttackProposals++;
    const attacker = sim.validatorOf(la.attacker, 0);
    const block: Block = {
      header: {
        ...decided.block.header,
        timestamp: decided.block.header.timestamp + 1000n,
        proposer: attacker.address,
        miner: attacker.feeRecipient,
      },
      body: decided.block.body,
    };
    const hash = hashHeader(block.header);
    const from = la.attacker;
    const signature = sim.crypto.sign(from, proposalSignBytes(SIM_CHAIN_ID, h, s.round, hash, -1));
    sim.broadcast(
      from,
      "proposal",
      encodeSignedProposal({ height: h, round: s.round, polRound: -1, block, signature }),
    );
    for (const type of [VoteType.Prevote, VoteType.Precommit]) {
      const vote = {
        type,
        height: h,
        round: s.round,
        blockHash: hash,
        validatorIndex: sim.indexAt(h, from),
        signature: sim.crypto.sign(from, voteSignBytes(SIM_CHAIN_ID, type, h, s.round, hash)),
      };
      sim.broadcast(from, "vote", encodeSignedVote(vote));
    }
  }

  // --- the hostile peer ------------------------------------------------------------------------------

  start(): void {
    const hp = this.sim.opts.hostilePeer;
    if (hp === undefined) return;
    const tick = () => {
      this.sim.at(this.sim.now + hp.intervalMs, tick);
      this.hostileTick();
    };
    this.sim.at(hp.intervalMs, tick);
  }

  isHostile(messageId: string): boolean {
    return this.hostileIds.has(messageId);
  }

  private random(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.sim.rng.int(256);
    return b;
  }

  /** To every node: a vote and a proposal for each of its height, + 1 and + 2, with random signatures. */
  private hostileTick(): void {
    const sim = this.sim;
    for (const n of sim.nodes) {
      if (n.crashed) continue;
      for (const dh of [0n, 1n, 2n]) {
        const height = sim.heightOf(n) + dh;
        const round = sim.rng.int(3);
        const validators = sim.setOf(height).validators.length;
        const vote = encodeSignedVote({
          type: sim.rng.chance(0.5) ? VoteType.Prevote : VoteType.Precommit,
          height,
          round,
          blockHash: this.random(32),
          validatorIndex: sim.rng.int(validators),
          signature: this.random(64),
        });
        const block: Block = {
          header: {
            parentHash: this.random(32),
            number: height,
            timestamp: BigInt(Math.floor(sim.now / 1000)),
            stateRoot: ZERO_HASH,
            transactionsRoot: EMPTY_TRIE_ROOT,
            receiptsRoot: EMPTY_TRIE_ROOT,
            logsBloom: new Uint8Array(256),
            gasLimit: 30_000_000n,
            gasUsed: 0n,
            baseFeePerGas: 0n,
            miner: this.random(20),
            proposer: this.random(20),
            validatorsHash: sim.setOf(height).hash,
            lastCommitHash: ZERO_HASH,
            evidenceHash: hashEvidence([]),
          },
          body: { transactions: [], lastCommit: new Uint8Array(0), evidence: [] },
        };
        const proposal = encodeSignedProposal({ height, round, polRound: -1, block, signature: this.random(64) });
        for (const [topic, data] of [
          ["vote", vote],
          ["proposal", proposal],
        ] as const) {
          this.hostileIds.add(createHash("sha256").update(topic).update(data).digest("hex"));
          sim.hostileSent++;
          sim.send(sim.hostileId, n.id, topic, data, "gossip");
        }
      }
    }
  }

  /**
   * The hostile peer's answers: a status claiming height 10^9 or the asker's own height with a forged
   * certificate (signers named, signatures random); no blocks (asking it for any means a claim was believed).
   */
  hostileAnswer(n: SimNode, protocol: ReqRespProtocol): PeerStatus | Uint8Array[] | null {
    const sim = this.sim;
    if (protocol === "blocks") {
      sim.hostileAccepted++;
      return null;
    }
    if (protocol !== "status") return null;
    this.hostileStatusFlip = !this.hostileStatusFlip;
    const height = this.hostileStatusFlip ? 10n ** 9n : sim.heightOf(n);
    const set = sim.setOf(sim.heightOf(n));
    const hash = this.random(32);
    const signers = Math.ceil((set.validators.length * 2 + 1) / 3);
    const cert: CommitCertificate = {
      height,
      round: 0,
      blockHash: hash,
      signatures: Array.from({ length: signers }, (_, i) => ({ validatorIndex: i, signature: this.random(64) })),
    };
    sim.hostileSent++;
    return { height, hash, commit: encodeCommit(cert), signers: set.validators.map((v) => v.publicKey) };
  }
}
