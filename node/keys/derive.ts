/**
 * Validator consensus keys from a BIP-39 mnemonic, derived exactly as Substrate's tools derive ed25519
 * keys (subkey, polkadot-js): the mini-secret is PBKDF2-SHA512 over the mnemonic's *entropy* (salt
 * "mnemonic"), its first 32 bytes are the ed25519 seed, and hard junctions (`//name`) are applied with
 * Substrate's `Ed25519HDKD`. So `subkey inspect --scheme ed25519 "<phrase>//path"` and polkadot-js show
 * the public key `azora keys inspect` shows. The seed then signs through node:crypto (node/crypto/ed25519.ts):
 * the same 32-byte seed gives byte-identical keys and signatures in both (STACK-NOTES §5).
 */
import {
  cryptoWaitReady,
  ed25519PairFromSeed,
  encodeAddress,
  keyExtractPath,
  keyFromPath,
  mnemonicGenerate,
  mnemonicToMiniSecret,
  mnemonicValidate,
} from "@polkadot/util-crypto";
import { KeyError, KeyErrorCode } from "./errors.js";

/** Substrate's generic SS58 prefix (what subkey prints without `--network`). */
export const SS58_GENERIC_PREFIX = 42;

export interface DerivedKey {
  /** The ed25519 seed (32 bytes): what the keystore encrypts and the signer uses. */
  seed: Uint8Array;
  publicKey: Uint8Array;
}

let ready: Promise<boolean> | null = null;
/** The wasm build of polkadot's crypto (JS fallbacks give the same bytes; this is only faster). */
function waitReady(): Promise<boolean> {
  ready ??= cryptoWaitReady();
  return ready;
}

export type MnemonicWords = 12 | 15 | 18 | 21 | 24;

export async function generateMnemonic(words: MnemonicWords = 24): Promise<string> {
  await waitReady();
  return mnemonicGenerate(words);
}

/** Words separated by single spaces, lower case (as the BIP-39 English list spells them). */
export function normalizeMnemonic(phrase: string): string {
  return phrase.trim().toLowerCase().split(/\s+/).join(" ");
}

/**
 * The ed25519 key of `mnemonic` at the Substrate derivation `path` ("" = the phrase's own key, or hard
 * junctions like `//validator//0`). Soft junctions (`/x`) do not exist for ed25519 and are refused.
 */
export async function deriveKey(mnemonic: string, path = ""): Promise<DerivedKey> {
  await waitReady();
  const phrase = normalizeMnemonic(mnemonic);
  if (!mnemonicValidate(phrase)) throw new KeyError({ code: KeyErrorCode.INVALID_MNEMONIC }, "invalid BIP-39 mnemonic");
  let junctions: ReturnType<typeof keyExtractPath>["path"];
  try {
    const extracted = keyExtractPath(path);
    if (extracted.parts === null ? path !== "" : extracted.parts.join("") !== path) throw new Error("unparsed");
    junctions = extracted.path;
  } catch {
    throw new KeyError({ code: KeyErrorCode.INVALID_PATH, path }, `invalid derivation path "${path}"`);
  }
  if (junctions.some((j) => !j.isHard)) {
    throw new KeyError(
      { code: KeyErrorCode.INVALID_PATH, path },
      `invalid derivation path "${path}": ed25519 has only hard junctions (//name)`,
    );
  }
  const root = ed25519PairFromSeed(mnemonicToMiniSecret(phrase));
  const pair = keyFromPath(root, junctions, "ed25519");
  // An ed25519 secret key here is seed ‖ public key.
  return { seed: pair.secretKey.slice(0, 32), publicKey: pair.publicKey };
}

/** The SS58 address subkey and polkadot-js show for a public key (generic prefix 42). */
export function ss58Address(publicKey: Uint8Array): string {
  return encodeAddress(publicKey, SS58_GENERIC_PREFIX);
}
