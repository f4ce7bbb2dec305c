import { keccak256 } from "../../primitives/hash.js";
import { secp256k1Native } from "../../primitives/nativeCrypto.js";
import { encodeArgs, wordToBigInt } from "../abi.js";
import { customError } from "../host.js";
import { LEARN_ADDRESS } from "./ledger.js";

/** EIP-712 / EIP-2612 for LEARN, as OpenZeppelin 5's EIP712 + ERC20Permit + ECDSA compute it. */
const utf8 = (s: string) => new TextEncoder().encode(s);

const DOMAIN_TYPEHASH = keccak256(
  utf8("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);
const PERMIT_TYPEHASH = keccak256(
  utf8("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
);
export const LEARN_EIP712_NAME = "Azora Learn";
export const LEARN_EIP712_VERSION = "1";

/** secp256k1n / 2: OZ's ECDSA refuses s above it (EIP-2), so each signature has one valid form. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

// The chain id is fixed for a node's life; cache the separator per id rather than re-hash per call.
const separators = new Map<bigint, Uint8Array>();

export function domainSeparator(chainId: bigint): Uint8Array {
  let sep = separators.get(chainId);
  if (sep === undefined) {
    sep = keccak256(
      encodeArgs(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [
          DOMAIN_TYPEHASH,
          keccak256(utf8(LEARN_EIP712_NAME)),
          keccak256(utf8(LEARN_EIP712_VERSION)),
          chainId,
          LEARN_ADDRESS.bytes,
        ],
      ),
    ).slice();
    separators.set(chainId, sep);
  }
  return sep;
}

/** keccak256("\x19\x01" ‖ domainSeparator ‖ hashStruct(Permit)): what the owner signed. */
export function permitDigest(
  chainId: bigint,
  owner: Uint8Array,
  spender: Uint8Array,
  value: bigint,
  nonce: bigint,
  deadline: bigint,
): Uint8Array {
  const structHash = keccak256(
    encodeArgs(
      ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
      [PERMIT_TYPEHASH, owner, spender, value, nonce, deadline],
    ),
  );
  const out = new Uint8Array(66);
  out.set([0x19, 0x01]);
  out.set(domainSeparator(chainId), 2);
  out.set(structHash, 34);
  return keccak256(out).slice();
}

/**
 * OZ `ECDSA.recover(hash, v, r, s)`: high s → ECDSAInvalidSignatureS(s); anything ecrecover would
 * answer with address(0) (v not 27/28, r or s zero or ≥ n, no such point) → ECDSAInvalidSignature().
 */
export function recoverSigner(digest: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array): Uint8Array {
  if (wordToBigInt(s) > HALF_N) throw customError("ECDSAInvalidSignatureS(bytes32)", ["bytes32"], [s]);
  const invalid = customError("ECDSAInvalidSignature()", [], []);
  if (v !== 27n && v !== 28n) throw invalid;
  const sig = new Uint8Array(64);
  sig.set(r, 0);
  sig.set(s, 32);
  let pub: Uint8Array;
  try {
    pub = secp256k1Native.ecdsaRecover(sig, Number(v - 27n), digest, false);
  } catch {
    throw invalid; // libsecp256k1 refuses r/s of zero or ≥ n and points that do not exist
  }
  return keccak256(pub.subarray(1)).slice(12);
}
