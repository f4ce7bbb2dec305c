import type { Logger } from "../../runtime/lib/logger.js";
import type { Block } from "../../runtime/primitives/block.js";
import { hexToBytes } from "../../runtime/primitives/bytes.js";
import type { CoreVote } from "../core/types.js";
import { VoteType } from "../vote.js";
import { encodeSignedProposal, encodeSignedVote, type SignedVote } from "../wire.js";
import type { NetworkPort, SignerPort, WALPort } from "./ports.js";

/**
 * Own proposals and votes on their way out: every input that led to them is made durable in the WAL
 * first (CometBFT's rule), then the double-sign guard signs — or refuses, and the node stays silent
 * (a restart can replay a step differently; never sign twice) — then they are gossiped.
 */
export class Publisher {
  constructor(
    private readonly chainId: bigint,
    private readonly m: { signer: SignerPort; wal: WALPort | null; network: NetworkPort; log: Logger },
  ) {}

  /** Signs and gossips a proposal of `block`; its encoding, or null when the guard refused. */
  async proposal(height: bigint, round: number, block: Block, valueId: string, polRound: number) {
    const hash = hexToBytes(valueId as `0x${string}`);
    await this.m.wal?.sync();
    let signature: Uint8Array;
    try {
      signature = await this.m.signer.signProposal(this.chainId, height, round, hash, polRound);
    } catch (e) {
      // The guard refused: a WAL replay re-proposes a value the node already proposed and then voted
      // past (its last signed step is a later vote). Never sign twice, stay silent; a throw here
      // would abort the replay and the node could never start again.
      this.m.log.warn("signer refused a proposal", { height: height.toString(), round }, e);
      return null;
    }
    const raw = encodeSignedProposal({ height, round, polRound, block, signature });
    await this.m.network.publish("proposal", raw);
    return raw;
  }

  /** Signs and gossips a vote; the signed vote and its encoding, or null when the guard refused. */
  async vote(v: CoreVote): Promise<{ signed: SignedVote; raw: Uint8Array } | null> {
    const type = v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit;
    const hash = v.valueId === null ? null : hexToBytes(v.valueId as `0x${string}`);
    await this.m.wal?.sync();
    let signature: Uint8Array;
    try {
      signature = await this.m.signer.signVote(this.chainId, type, v.height, v.round, hash);
    } catch (e) {
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
    const raw = encodeSignedVote(signed);
    await this.m.network.publish("vote", raw);
    return { signed, raw };
  }
}
