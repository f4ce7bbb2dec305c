import type { Chain } from "../chain/chain.js";
import type { PeerStatus } from "../network/index.js";
import { encodeSyncItemRaw } from "./codec.js";

/**
 * The serving side of block sync: blocks with their commit certificates, and this node's status
 * with the proof of its head (the head's commit certificate), which peers check before believing it.
 */
export class SyncServer {
  /** The head's certificate and its signers' keys, read once per head. */
  private proof: { height: bigint; commit: Uint8Array; signers: Uint8Array[] } | null = null;

  constructor(private readonly chain: Chain) {}

  async status(): Promise<PeerStatus> {
    const { header, hash } = this.chain.head;
    const height = header.number;
    if (this.proof?.height !== height) {
      // Height 0 (genesis) has no certificate; nobody needs a proof for it.
      const commit = height === 0n ? new Uint8Array(0) : ((await this.chain.db.getCommit(height)) ?? new Uint8Array(0));
      const validators = height === 0n ? [] : ((await this.chain.validatorsAt(height)) ?? []);
      this.proof = { height, commit, signers: validators.map((v) => v.publicKey) };
    }
    return { height, hash, commit: this.proof.commit, signers: this.proof.signers };
  }

  /**
   * Encoded blocks-with-commits for heights [from, from + count), stopping at the head or a gap: the stored
   * encodings of each block's header and body (no decode and encode again), all read in two LevelDB calls.
   */
  async blocks(from: bigint, count: number): Promise<Uint8Array[]> {
    const head = this.chain.head.header.number;
    const n = from > head ? 0 : Math.min(count, Number(head - from + 1n));
    const raw = await this.chain.db.getRawBlocks(from, n);
    return raw.map((b) => encodeSyncItemRaw(b.header, b.body, b.commit));
  }
}
