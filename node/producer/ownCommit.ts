import { type CommitCertificate, verifyCommit } from "../../consensus/commit.js";
import type { SignatureVerifier } from "../../consensus/vote.js";
import { equalsBytes } from "../../runtime/primitives/bytes.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";

/**
 * The dev producer's check of the commit certificate it has just built from its own precommit.
 *
 * The check is there to catch a signer whose key does not make the signatures its validator's
 * public key needs (a misconfigured or broken key) before a block is persisted with a certificate
 * no other node would accept. Signing with one fixed key is a pure function, so once a signature of
 * this signer has verified against a public key, every later signature it makes verifies against
 * that key too: the Ed25519 verification (~0.25 ms, the bulk of the check) then runs once per key,
 * not once per block. Everything else `verifyCommit` checks — height, block hash, signer index,
 * duplicates, +2/3 of the power — still runs on every certificate, and a signature attributed to any
 * other key is verified as usual.
 *
 * Only for certificates this process built from `signerPublicKey`'s own signatures: it would accept
 * a forged signature under the trusted key.
 */
export class OwnCommitCheck {
  /** The public key a signature of this producer's signer has verified against, once. */
  private provenKey: Uint8Array | null = null;
  private readonly trusting: SignatureVerifier;

  constructor(private readonly verifier: SignatureVerifier) {
    this.trusting = {
      verify: (publicKey, message, signature) =>
        (this.provenKey !== null && equalsBytes(publicKey, this.provenKey)) ||
        this.verifier.verify(publicKey, message, signature),
    };
  }

  /** Throws `CommitError` as `verifyCommit` does; `signerPublicKey` is the key of the signer that signed `c`. */
  check(
    c: CommitCertificate,
    expected: { chainId: bigint; height: bigint; blockHash: Uint8Array; validators: readonly Validator[] },
    signerPublicKey: Uint8Array,
  ): void {
    if (this.provenKey !== null && equalsBytes(this.provenKey, signerPublicKey)) {
      verifyCommit(c, expected, this.trusting);
      return;
    }
    verifyCommit(c, expected, this.verifier);
    // Every signature verified; the signer's own key is proven if the certificate's signer carries it.
    if (c.signatures.some((s) => equalsBytes(expected.validators[s.validatorIndex].publicKey, signerPublicKey))) {
      this.provenKey = signerPublicKey;
    }
  }
}
