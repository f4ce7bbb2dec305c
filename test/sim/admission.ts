import { createHash } from "node:crypto";
import { type CommitCertificate, CommitError, verifyCommit } from "../../consensus/commit.js";
import type { CoreVote } from "../../consensus/core/types.js";
import type { ValidatorSet } from "../../consensus/core/validatorSet.js";
import { FutureBuffer, MessageError, MessageVerifier, type Placement } from "../../consensus/messages/index.js";
import { proposalSignBytes } from "../../consensus/proposal.js";
import type { ValidatorSchedule } from "../../consensus/validatorSchedule.js";
import { type SignatureVerifier, VoteType, voteSignBytes } from "../../consensus/vote.js";
import type { SignedVote } from "../../consensus/wire.js";
import { BAN_PENALTY_POINTS, GOSSIP_REJECT_PENALTY, PeerBans, PeerPenalties } from "../../node/network/scoring.js";
import { SyncPeers } from "../../node/sync/syncPeers.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";

/**
 * The node's message admission, run in the simulator: the real `MessageVerifier` (window, membership,
 * signatures), `FutureBuffer`, `SyncPeers` (whom to ask for a decision: only peers that proved they
 * have it) and the network's fault points and bans, behind ports the simulator fills with its own
 * validator sets, virtual clock and simulated signatures.
 */

export const SIM_CHAIN_ID = 1n;

/**
 * Simulated signatures: validator i's signature on m is sha256(key_i ‖ m), twice. Cheap, and
 * unforgeable for the simulated adversaries, which never hold another validator's key — the one
 * property the protocol needs from ed25519.
 */
export class SimCrypto implements SignatureVerifier {
  private readonly keys: Uint8Array[];

  constructor(validators: number) {
    this.keys = Array.from({ length: validators }, (_, i) => new Uint8Array(32).fill(i + 1));
  }

  publicKey(i: number): Uint8Array {
    return this.keys[i];
  }

  sign(i: number, message: Uint8Array): Uint8Array {
    return tag(this.keys[i], message);
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return signature.length === 64 && Buffer.from(tag(publicKey, message)).equals(Buffer.from(signature));
  }
}

function tag(key: Uint8Array, message: Uint8Array): Uint8Array {
  const h = createHash("sha256").update(key).update(message).digest();
  const out = new Uint8Array(64);
  out.set(h, 0);
  out.set(h, 32);
  return out;
}

const hashes = new Map<string, Uint8Array>();

/** The 32-byte "block hash" of a simulated value id. */
export function valueHash(valueId: string): Uint8Array {
  let h = hashes.get(valueId);
  if (h === undefined) {
    h = new Uint8Array(createHash("sha256").update(valueId).digest());
    hashes.set(valueId, h);
  }
  return h;
}

export function voteBytes(v: CoreVote): Uint8Array {
  const type = v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit;
  return voteSignBytes(SIM_CHAIN_ID, type, v.height, v.round, v.valueId === null ? null : valueHash(v.valueId));
}

export function proposalBytes(p: { height: bigint; round: number; valueId: string; polRound: number }): Uint8Array {
  return proposalSignBytes(SIM_CHAIN_ID, p.height, p.round, valueHash(p.valueId), p.polRound);
}

/** A core vote as it travels: its signature rides in `signed`. */
export function toSignedVote(v: CoreVote): SignedVote {
  return {
    type: v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit,
    height: v.height,
    round: v.round,
    blockHash: v.valueId === null ? null : valueHash(v.valueId),
    validatorIndex: v.validator,
    signature: v.signed instanceof Uint8Array ? v.signed : new Uint8Array(0),
  };
}

export function certificateOf(
  height: bigint,
  round: number,
  valueId: string,
  precommits: CoreVote[],
): CommitCertificate {
  return {
    height,
    round,
    blockHash: valueHash(valueId),
    signatures: precommits.map((p) => ({
      validatorIndex: p.validator,
      signature: p.signed instanceof Uint8Array ? p.signed : new Uint8Array(64),
    })),
  };
}

/** The simulator's validator sets behind the `ValidatorSchedule` port. */
export class SimSchedule implements ValidatorSchedule {
  readonly list: Validator[];

  constructor(
    crypto: SimCrypto,
    validators: number,
    powers: readonly bigint[],
    private readonly setAt: (h: bigint) => ValidatorSet,
  ) {
    this.list = Array.from({ length: validators }, (_, i) => ({
      publicKey: crypto.publicKey(i),
      address: new Uint8Array(20).fill(i + 1),
      votingPower: powers[i],
      feeRecipient: new Uint8Array(20),
    }));
  }

  validators(): readonly Validator[] {
    return this.list;
  }

  proposer(height: bigint, round: number): number {
    return this.setAt(height).proposer(round);
  }
}

/** What one simulated node keeps for admission: held future messages, fault points, bans, sync peers. */
export class NodeInbound<M> {
  readonly future = new FutureBuffer<{ msg: M; via: number }>();
  readonly faults: PeerPenalties;
  readonly bans: PeerBans;
  readonly syncPeers = new SyncPeers({ pollIntervalMs: 0 });
  /** The last decision request this node sent, to notice it went unanswered. */
  pendingSync: { peer: string; height: bigint } | null = null;
  /** Peers this node banned (checked: never an honest one). */
  readonly banned = new Set<number>();

  constructor(
    now: () => number,
    private readonly bansEnabled: boolean,
  ) {
    this.faults = new PeerPenalties(30_000, 4096, now);
    this.bans = new PeerBans(60_000, 4096, now);
  }

  isBanned(peer: number): boolean {
    return this.bans.isBanned(String(peer));
  }

  /** A provably invalid message came from `peer`: fault points, and a ban at the network's threshold. */
  fault(peer: number): void {
    const id = String(peer);
    this.faults.add(id, GOSSIP_REJECT_PENALTY);
    if (this.bansEnabled && this.faults.get(id) >= BAN_PENALTY_POINTS && !this.bans.isBanned(id)) {
      this.bans.ban(id);
      this.banned.add(peer);
    }
  }
}

export type Admission = { ok: true; placement: Placement } | { ok: false; peerFault: boolean };

/** Runs the real verifier; a refusal becomes a value (the simulator does not throw on peer input). */
export function admit(fn: () => Placement): Admission {
  try {
    return { ok: true, placement: fn() };
  } catch (e) {
    if (e instanceof MessageError) return { ok: false, peerFault: e.peerFault };
    throw e;
  }
}

/** Verifies a commit certificate with the real `verifyCommit`; false when it does not prove the decision. */
export function certificateHolds(cert: CommitCertificate, schedule: SimSchedule, crypto: SimCrypto): boolean {
  try {
    verifyCommit(
      cert,
      { chainId: SIM_CHAIN_ID, height: cert.height, blockHash: cert.blockHash, validators: schedule.list },
      crypto,
    );
    return true;
  } catch (e) {
    if (e instanceof CommitError) return false;
    throw e;
  }
}

export function createVerifier(schedule: SimSchedule, crypto: SimCrypto): MessageVerifier {
  return new MessageVerifier(SIM_CHAIN_ID, { schedule, verifier: crypto });
}
