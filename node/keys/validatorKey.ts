import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { hexToBytes } from "../../runtime/primitives/bytes.js";
import { KeyError, KeyErrorCode } from "./errors.js";
import { decryptKey, isKeystore, type Keystore, keystorePublicKey } from "./keystore.js";
import { type PasswordSource, readPassword } from "./password.js";

/** A validator key file as found on disk: an encrypted keystore, or the plain seed `azora init` writes for devnets. */
export type ValidatorKeyFile =
  | { kind: "keystore"; file: string; publicKey: Uint8Array; keystore: Keystore }
  | { kind: "plain"; file: string; seed: Uint8Array };

export function readValidatorKeyFile(file: string): ValidatorKeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new KeyError({ code: KeyErrorCode.BAD_FILE, file, reason: (e as Error).message });
  }
  if (isKeystore(parsed)) {
    return { kind: "keystore", file, publicKey: keystorePublicKey(parsed, file), keystore: parsed as Keystore };
  }
  const seed = (parsed as { seed?: unknown } | null)?.seed;
  if (typeof seed === "string" && /^0x[0-9a-fA-F]{64}$/.test(seed)) {
    return { kind: "plain", file, seed: hexToBytes(seed as `0x${string}`) };
  }
  throw new KeyError({
    code: KeyErrorCode.BAD_FILE,
    file,
    reason: 'neither an encrypted validator keystore nor a plain devnet key ({"seed": "0x…32 bytes"})',
  });
}

/** The validator's ed25519 seed: decrypted with a password from `password` when the file is a keystore. */
export async function loadValidatorSeed(file: string, password: PasswordSource): Promise<Uint8Array> {
  const k = readValidatorKeyFile(file);
  if (k.kind === "plain") return k.seed;
  const pw = await readPassword(password, { file, purpose: `password of the validator key ${file}` });
  return decryptKey(k.keystore, pw, file);
}

/** Writes a new key file with mode 0600; never replaces an existing one (a key lost that way is lost for good). */
export function writeKeyFile(file: string, keystore: Keystore): void {
  if (existsSync(file))
    throw new KeyError({ code: KeyErrorCode.EXISTS, file }, `${file} exists: not overwriting a key`);
  writeFileSync(file, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: "wx" });
}

/** Warns (once per file) when a key file is readable by others. */
export function warnIfExposed(file: string): void {
  if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) {
    process.emitWarning(`${file} is readable by other users; chmod 600 it`);
  }
}
