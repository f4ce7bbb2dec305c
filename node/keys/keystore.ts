/**
 * The encrypted validator key file: the ed25519 seed sealed with AES-256-GCM under a key stretched from
 * the password by scrypt (the construction of Ethereum's keystore v3, with an authenticated cipher in place
 * of CTR + MAC). Both primitives come from node:crypto (OpenSSL). The public key stays in clear so
 * `azora keys inspect` and operators can see which key a file holds; it is bound to the ciphertext as
 * GCM associated data, and the decrypted seed must give it back, so a file whose key was swapped fails.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from "node:crypto";
import { publicKeyFromSeed } from "../crypto/ed25519.js";
import { KeyError, KeyErrorCode } from "./errors.js";

export const KEYSTORE_TYPE = "azora-validator-key";
export const KEYSTORE_VERSION = 1;

export interface ScryptParams {
  /** CPU/memory cost, a power of two (memory ≈ 128 · n · r bytes). */
  n: number;
  r: number;
  p: number;
}

/** geth's "standard" scrypt cost is n = 2^18; 2^17 (128 MiB, well under a second here) keeps node starts quick. */
export const DEFAULT_SCRYPT: ScryptParams = { n: 2 ** 17, r: 8, p: 1 };
/** A file may not ask for more than this (a hostile file must not make the node allocate gigabytes). */
const MAX_SCRYPT_N = 2 ** 20;
const MAX_SCRYPT_R = 16;
const MAX_SCRYPT_P = 16;
export const MIN_PASSWORD_LENGTH = 8;

export interface Keystore {
  type: typeof KEYSTORE_TYPE;
  version: typeof KEYSTORE_VERSION;
  scheme: "ed25519";
  /** 0x-hex raw ed25519 public key (32 bytes). */
  publicKey: string;
  /** How the key was made, for the operator's records (never needed to decrypt). */
  derivation?: { source: "bip39-substrate"; path: string };
  crypto: {
    kdf: "scrypt";
    kdfparams: ScryptParams & { dklen: 32; salt: string };
    cipher: "aes-256-gcm";
    iv: string;
    ciphertext: string;
    tag: string;
  };
}

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
function unhex(s: unknown, bytes: number, what: string, file: string): Buffer {
  if (typeof s !== "string" || !new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`).test(s)) {
    throw new KeyError({ code: KeyErrorCode.BAD_FILE, file, reason: `${what}: expected ${bytes} bytes of 0x-hex` });
  }
  return Buffer.from(s.slice(2), "hex");
}

function deriveKEK(password: string, salt: Uint8Array, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFKC"),
      salt,
      32,
      { N: p.n, r: p.r, p: p.p, maxmem: 256 * p.n * p.r + 1024 * 1024 },
      (e, key) => (e === null ? resolve(key) : reject(e)),
    ),
  );
}

/** What the cipher authenticates beside the seed: the file's identity and its public key. */
function associatedData(publicKey: string): Buffer {
  return Buffer.from(`${KEYSTORE_TYPE}/v${KEYSTORE_VERSION}/ed25519/${publicKey.toLowerCase()}`);
}

export function checkNewPassword(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new KeyError(
      { code: KeyErrorCode.WEAK_PASSWORD, minLength: MIN_PASSWORD_LENGTH },
      `the password must have at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
}

export async function encryptKey(
  seed: Uint8Array,
  password: string,
  opts: { scrypt?: ScryptParams; derivation?: Keystore["derivation"] } = {},
): Promise<Keystore> {
  checkNewPassword(password);
  const params = opts.scrypt ?? DEFAULT_SCRYPT;
  const publicKey = hex(publicKeyFromSeed(seed));
  const salt = randomBytes(32);
  const iv = randomBytes(12);
  const kek = await deriveKEK(password, salt, params);
  const cipher = createCipheriv("aes-256-gcm", kek, iv);
  cipher.setAAD(associatedData(publicKey));
  const ciphertext = Buffer.concat([cipher.update(seed), cipher.final()]);
  return {
    type: KEYSTORE_TYPE,
    version: KEYSTORE_VERSION,
    scheme: "ed25519",
    publicKey,
    ...(opts.derivation === undefined ? {} : { derivation: opts.derivation }),
    crypto: {
      kdf: "scrypt",
      kdfparams: { ...params, dklen: 32, salt: hex(salt) },
      cipher: "aes-256-gcm",
      iv: hex(iv),
      ciphertext: hex(ciphertext),
      tag: hex(cipher.getAuthTag()),
    },
  };
}

export function isKeystore(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as { type?: unknown }).type === KEYSTORE_TYPE;
}

/** Checks a parsed keystore's shape and returns its public key (no password needed). */
export function keystorePublicKey(v: unknown, file: string): Uint8Array {
  const k = v as Partial<Keystore>;
  if (k.type !== KEYSTORE_TYPE) throw new KeyError({ code: KeyErrorCode.BAD_FILE, file, reason: "not a keystore" });
  if (k.version !== KEYSTORE_VERSION || k.scheme !== "ed25519") {
    throw new KeyError({
      code: KeyErrorCode.BAD_FILE,
      file,
      reason: `unsupported keystore version ${String(k.version)} / scheme ${String(k.scheme)}`,
    });
  }
  return new Uint8Array(unhex(k.publicKey, 32, "publicKey", file));
}

function checkedScrypt(p: unknown, file: string): ScryptParams {
  const o = (p ?? {}) as Record<string, unknown>;
  const n = o.n;
  const r = o.r;
  const pp = o.p;
  const ok =
    typeof n === "number" &&
    Number.isInteger(n) &&
    n >= 2 &&
    n <= MAX_SCRYPT_N &&
    (n & (n - 1)) === 0 &&
    typeof r === "number" &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= MAX_SCRYPT_R &&
    typeof pp === "number" &&
    Number.isInteger(pp) &&
    pp >= 1 &&
    pp <= MAX_SCRYPT_P &&
    o.dklen === 32;
  if (!ok) {
    throw new KeyError({
      code: KeyErrorCode.BAD_FILE,
      file,
      reason: `kdfparams out of bounds (n a power of two ≤ 2^20, r ≤ ${MAX_SCRYPT_R}, p ≤ ${MAX_SCRYPT_P}, dklen 32)`,
    });
  }
  return { n, r, p: pp };
}

/** The seed sealed in `v` (a parsed keystore); `KEY_ERROR_WRONG_PASSWORD` when the password (or the file) is wrong. */
export async function decryptKey(v: unknown, password: string, file: string): Promise<Uint8Array> {
  const publicKey = keystorePublicKey(v, file);
  const c = (v as Keystore).crypto as Partial<Keystore["crypto"]> | undefined;
  if (c?.kdf !== "scrypt" || c.cipher !== "aes-256-gcm") {
    throw new KeyError({ code: KeyErrorCode.BAD_FILE, file, reason: "expected kdf scrypt and cipher aes-256-gcm" });
  }
  const params = checkedScrypt(c.kdfparams, file);
  const salt = unhex(c.kdfparams?.salt, 32, "kdfparams.salt", file);
  const iv = unhex(c.iv, 12, "iv", file);
  const ciphertext = unhex(c.ciphertext, 32, "ciphertext", file);
  const tag = unhex(c.tag, 16, "tag", file);
  const kek = await deriveKEK(password, salt, params);
  const decipher = createDecipheriv("aes-256-gcm", kek, iv);
  decipher.setAAD(associatedData((v as Keystore).publicKey));
  decipher.setAuthTag(tag);
  let seed: Buffer;
  try {
    seed = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new KeyError(
      { code: KeyErrorCode.WRONG_PASSWORD, file },
      `${file}: wrong password, or the key file was altered (decryption failed its authentication)`,
    );
  }
  // Authenticated, so this holds unless the file was written by a buggy tool: pair the check anyway.
  if (!Buffer.from(publicKeyFromSeed(seed)).equals(Buffer.from(publicKey))) {
    throw new KeyError({ code: KeyErrorCode.BAD_FILE, file, reason: "the sealed seed does not give the public key" });
  }
  return new Uint8Array(seed);
}
