/**
 * `azora keys generate|restore|inspect`: the validator's ed25519 consensus key, from a BIP-39 mnemonic
 * (Substrate derivation, node/keys/derive.ts) into an encrypted keystore (node/keys/keystore.ts). Only
 * wiring and output live here.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { type Command, InvalidArgumentError, Option } from "commander";
import { bytesToHex } from "../../runtime/primitives/bytes.js";
import { validatorAddress } from "../../runtime/primitives/validatorSet.js";
import { deriveKey, generateMnemonic, type MnemonicWords, ss58Address } from "./derive.js";
import { DEFAULT_SCRYPT, decryptKey, encryptKey } from "./keystore.js";
import { readPassword, VALIDATOR_PASSWORD_ENV } from "./password.js";
import { readValidatorKeyFile, warnIfExposed, writeKeyFile } from "./validatorKey.js";

/** Mnemonics may come from this variable (for scripts); a file or the terminal is preferable. */
export const MNEMONIC_ENV = "AZORA_VALIDATOR_MNEMONIC";

interface KeyFlags {
  out?: string;
  path: string;
  passwordFile?: string;
  mnemonicFile?: string;
  words?: MnemonicWords;
  scryptN?: number;
  checkPassword?: boolean;
  json?: boolean;
}

function describe(publicKey: Uint8Array) {
  return {
    publicKey: bytesToHex(publicKey),
    ss58Address: ss58Address(publicKey),
    consensusAddress: bytesToHex(validatorAddress(publicKey)),
  };
}

function print(f: KeyFlags, lines: string[], json: Record<string, unknown>): void {
  process.stdout.write(f.json === true ? `${JSON.stringify(json)}\n` : `${lines.join("\n")}\n`);
}

function keyLines(d: ReturnType<typeof describe>, path: string): string[] {
  return [
    `  Public key (hex)   ${d.publicKey}`,
    `  SS58 address       ${d.ss58Address}   (generic prefix 42, as subkey and polkadot-js show it)`,
    `  Consensus address  ${d.consensusAddress}   (sha256(publicKey)[0..20], used in votes and commits)`,
    `  Derivation         BIP-39 → Substrate ed25519${path === "" ? "" : `, path ${path}`}`,
  ];
}

/** A mnemonic from --mnemonic-file, AZORA_VALIDATOR_MNEMONIC, the terminal, or piped stdin. */
async function readMnemonic(f: KeyFlags): Promise<string> {
  if (f.mnemonicFile !== undefined) return readFileSync(f.mnemonicFile, "utf8");
  const env = process.env[MNEMONIC_ENV];
  if (env !== undefined && env !== "") return env;
  if (process.stdin.isTTY === true) process.stderr.write("mnemonic (words separated by spaces): ");
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  throw new InvalidArgumentError(`no mnemonic: give --mnemonic-file, set ${MNEMONIC_ENV}, or type it`);
}

async function seal(f: KeyFlags, seed: Uint8Array, out: string): Promise<void> {
  const password = await readPassword(
    { file: f.passwordFile },
    { file: out, confirm: true, purpose: "password for the new key file" },
  );
  const keystore = await encryptKey(seed, password, {
    scrypt: f.scryptN === undefined ? DEFAULT_SCRYPT : { ...DEFAULT_SCRYPT, n: f.scryptN },
    derivation: { source: "bip39-substrate", path: f.path },
  });
  writeKeyFile(out, keystore);
}

async function runGenerate(f: KeyFlags & { out: string }): Promise<void> {
  const mnemonic = await generateMnemonic(f.words);
  const key = await deriveKey(mnemonic, f.path);
  await seal(f, key.seed, f.out);
  const d = describe(key.publicKey);
  print(
    f,
    [
      `wrote ${f.out} (encrypted: scrypt + AES-256-GCM)`,
      ...keyLines(d, f.path),
      "",
      "  Mnemonic — write it down and keep it offline; it is shown only now, and it alone restores this key:",
      "",
      `  ${mnemonic}`,
      "",
    ],
    { file: f.out, ...d, path: f.path, mnemonic },
  );
}

async function runRestore(f: KeyFlags & { out: string }): Promise<void> {
  const key = await deriveKey(await readMnemonic(f), f.path);
  await seal(f, key.seed, f.out);
  const d = describe(key.publicKey);
  print(f, [`wrote ${f.out} (encrypted: scrypt + AES-256-GCM)`, ...keyLines(d, f.path)], {
    file: f.out,
    ...d,
    path: f.path,
  });
}

async function runInspect(file: string | undefined, f: KeyFlags): Promise<void> {
  if (file === undefined) {
    // subkey inspect: what a mnemonic derives to, nothing written.
    const key = await deriveKey(await readMnemonic(f), f.path);
    const d = describe(key.publicKey);
    print(f, keyLines(d, f.path), { ...d, path: f.path });
    return;
  }
  const k = readValidatorKeyFile(file);
  warnIfExposed(file);
  if (k.kind === "plain") {
    const { publicKeyFromSeed } = await import("../crypto/ed25519.js");
    const d = describe(publicKeyFromSeed(k.seed));
    print(f, [`${file}: plain devnet key (NOT encrypted: for devnets only)`, ...keyLines(d, "").slice(0, 3)], {
      file,
      encrypted: false,
      ...d,
    });
    return;
  }
  let checked = false;
  if (f.checkPassword === true) {
    const pw = await readPassword({ file: f.passwordFile }, { file, purpose: `password of ${file}` });
    await decryptKey(k.keystore, pw, file);
    checked = true;
  }
  const d = describe(k.publicKey);
  const path = k.keystore.derivation?.path ?? "";
  print(
    f,
    [
      `${file}: encrypted validator key (scrypt n=${k.keystore.crypto.kdfparams.n} + AES-256-GCM)${checked ? ", password correct" : ""}`,
      ...keyLines(d, path),
    ],
    { file, encrypted: true, passwordChecked: checked, ...d, path },
  );
}

function wordsArg(v: string): MnemonicWords {
  const n = Number(v);
  if (![12, 15, 18, 21, 24].includes(n)) throw new InvalidArgumentError("--words must be 12, 15, 18, 21 or 24");
  return n as MnemonicWords;
}

function scryptNArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 ** 10 || n > 2 ** 20 || (n & (n - 1)) !== 0)
    throw new InvalidArgumentError("--scrypt-n must be a power of two in [2^10, 2^20]");
  return n;
}

const PATH_HELP = "Substrate derivation path, hard junctions only (e.g. //validator//0); default: none";
const PASSWORD_HELP = `file whose first line is the key file's password (else ${VALIDATOR_PASSWORD_ENV}, else asked on the terminal)`;
const MNEMONIC_HELP = `file holding the mnemonic (else ${MNEMONIC_ENV}, else read from the terminal / stdin)`;

export function registerKeyCommands(program: Command): void {
  const keys = program
    .command("keys")
    .description("Validator consensus keys: ed25519 from a BIP-39 mnemonic (as subkey derives), stored encrypted");
  keys
    .command("generate")
    .description("Make a new mnemonic and write its key, encrypted, to --out; prints the mnemonic once")
    .requiredOption("--out <file>", "the key file to write (never overwritten; mode 0600)")
    .option("--words <n>", "mnemonic length: 12, 15, 18, 21 or 24", wordsArg, 24)
    .option("--path <path>", PATH_HELP, "")
    .option("--password-file <file>", PASSWORD_HELP)
    .addOption(
      new Option("--scrypt-n <n>", `scrypt cost (default ${DEFAULT_SCRYPT.n}; lower only for tests)`)
        .argParser(scryptNArg)
        .hideHelp(),
    )
    .option("--json", "machine-readable output")
    .action((f: KeyFlags & { out: string }) => runGenerate(f));
  keys
    .command("restore")
    .description("Write the key of an existing mnemonic, encrypted, to --out")
    .requiredOption("--out <file>", "the key file to write (never overwritten; mode 0600)")
    .option("--mnemonic-file <file>", MNEMONIC_HELP)
    .option("--path <path>", PATH_HELP, "")
    .option("--password-file <file>", PASSWORD_HELP)
    .addOption(new Option("--scrypt-n <n>", "scrypt cost").argParser(scryptNArg).hideHelp())
    .option("--json", "machine-readable output")
    .action((f: KeyFlags & { out: string }) => runRestore(f));
  keys
    .command("inspect [file]")
    .description("Show a key file's public key, SS58 and consensus address; without a file, what a mnemonic derives to")
    .option("--check-password", "decrypt the file to check the password")
    .option("--password-file <file>", PASSWORD_HELP)
    .option("--mnemonic-file <file>", MNEMONIC_HELP)
    .option("--path <path>", `with a mnemonic: ${PATH_HELP}`, "")
    .option("--json", "machine-readable output")
    .action((file: string | undefined, f: KeyFlags) => runInspect(file, f));
}
