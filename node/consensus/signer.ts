import fs from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { assert } from "../../runtime/lib/assert.js";
import { type Logger, nullLogger } from "../../runtime/lib/logger.js";
import { rlpEncode } from "../../runtime/primitives/rlpCodec.js";
import { Ed25519Signer, Ed25519Verifier } from "../crypto/ed25519.js";
import { type HRS, SignerError, SignerErrorCode } from "./errors.js";

/**
 * Double-sign guard for the validator key, after CometBFT's privval `FilePV` and its
 * `FilePVLastSignState`: the last signed (height, round, step, sign bytes, signature) is written
 * durably (temp file, fsync, rename, fsync of the directory) before a signature is returned, and
 * any signature that would conflict with it is refused, also after a restart.
 */

/** 1 = proposal, 2 = prevote, 3 = precommit: the order of the steps within a round. */
export type SignStep = 1 | 2 | 3;
export const SIGN_STEP = { proposal: 1, prevote: 2, precommit: 3 } as const satisfies Record<string, SignStep>;

export interface LastSignState {
  height: bigint;
  round: number;
  /** 0 only in the initial state (height 0): nothing has been signed yet. */
  step: 0 | SignStep;
  signBytes: Uint8Array | null;
  signature: Uint8Array | null;
}

/** Version of the JSON state file (`StateFileV1`). */
export const SIGNER_STATE_VERSION = 1;

/** The state file as JSON: integers as decimal strings or numbers, bytes as lowercase hex without `0x`. */
interface StateFileV1 {
  version: 1;
  /** The validator's ed25519 public key, so a state file is never used with another key. */
  publicKey: string;
  height: string;
  round: number;
  step: 0 | SignStep;
  signBytes: string | null;
  signature: string | null;
}

const PROPOSAL_DOMAIN = new TextEncoder().encode("azora/proposal/1");

/**
 * The exact bytes a proposer signs: domain, chain id, height, round, POL round + 1 (0 = none, so
 * the −1 of Tendermint's validRound fits an unsigned RLP integer) and block hash. Same RLP shape
 * as `voteSignBytes`; the distinct domain tag keeps a proposal signature from passing as a vote.
 * Also used to verify peers' proposals, so it does not check `polRound < round` (the caller does).
 */
export function proposalSignBytes(
  chainId: bigint,
  height: bigint,
  round: number,
  blockHash: Uint8Array,
  polRound: number,
): Uint8Array {
  assert(Number.isSafeInteger(round), "proposal round must be an integer");
  assert(round >= 0, "proposal round must be >= 0");
  assert(Number.isSafeInteger(polRound), "proposal polRound must be an integer");
  assert(polRound >= -1, "proposal polRound must be >= -1");
  return rlpEncode([
    PROPOSAL_DOMAIN,
    bigIntToUnpaddedBytes(chainId),
    bigIntToUnpaddedBytes(height),
    bigIntToUnpaddedBytes(BigInt(round)),
    bigIntToUnpaddedBytes(BigInt(polRound + 1)),
    blockHash,
  ]);
}

export interface GuardedSignerOpts {
  /** Path of the JSON last-sign state; its directory is created if needed. */
  stateFile: string;
  /** The 32-byte ed25519 seed of the validator key. */
  seed: Uint8Array;
  log?: Logger;
}

export class GuardedSigner {
  readonly publicKey: Uint8Array;
  readonly stateFile: string;
  private readonly key: Ed25519Signer;
  private state: LastSignState;
  /** Serialises `sign` calls: each check-sign-persist runs alone. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set after a failed write of the state file; every later `sign` is refused. */
  private failure: string | null = null;

  private constructor(stateFile: string, key: Ed25519Signer, state: LastSignState) {
    this.stateFile = stateFile;
    this.key = key;
    this.publicKey = key.publicKey;
    this.state = state;
  }

  /** Loads the state file, or creates it at height 0 when absent. A corrupt file is refused, never reset. */
  static async open(opts: GuardedSignerOpts): Promise<GuardedSigner> {
    const log = opts.log ?? nullLogger;
    const key = new Ed25519Signer(opts.seed);
    await mkdir(dirname(opts.stateFile), { recursive: true });
    // A temp file is left only by a crash before its rename: its signature was never returned.
    await rm(tmpPath(opts.stateFile), { force: true });
    let text: string | null;
    try {
      text = await readFile(opts.stateFile, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      text = null;
    }
    if (text === null) {
      const state: LastSignState = { height: 0n, round: 0, step: 0, signBytes: null, signature: null };
      writeFileDurably(opts.stateFile, serializeState(state, key.publicKey));
      log.info("created signer state file", { file: opts.stateFile });
      return new GuardedSigner(opts.stateFile, key, state);
    }
    const state = parseState(text, opts.stateFile, key.publicKey);
    log.info("loaded signer state", {
      file: opts.stateFile,
      height: state.height,
      round: state.round,
      step: state.step,
    });
    return new GuardedSigner(opts.stateFile, key, state);
  }

  /** A copy of the last signed state (height 0 when nothing was ever signed). */
  lastSigned(): LastSignState {
    const s = this.state;
    return {
      height: s.height,
      round: s.round,
      step: s.step,
      signBytes: s.signBytes === null ? null : s.signBytes.slice(),
      signature: s.signature === null ? null : s.signature.slice(),
    };
  }

  /**
   * Signs `signBytes` for (height, round, step), or throws SignerError(DOUBLE_SIGN | REGRESSION).
   * The same (height, round, step) with byte-identical `signBytes` returns the stored signature
   * (a re-send after a restart). The new state is on disk before the signature is returned.
   */
  sign(height: bigint, round: number, step: SignStep, signBytes: Uint8Array): Promise<Uint8Array> {
    const run = this.queue.then(() => this.signNow(height, round, step, signBytes.slice()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Signs a vote (`voteSignBytes`) as step 2 (prevote) or 3 (precommit). */
  signVote(
    chainId: bigint,
    type: VoteType,
    height: bigint,
    round: number,
    blockHash: Uint8Array | null,
  ): Promise<Uint8Array> {
    assert(type === VoteType.Prevote || type === VoteType.Precommit, "vote type must be prevote or precommit");
    const step = type === VoteType.Prevote ? SIGN_STEP.prevote : SIGN_STEP.precommit;
    return this.sign(height, round, step, voteSignBytes(chainId, type, height, round, blockHash));
  }

  /** Signs a proposal (`proposalSignBytes`) as step 1. */
  signProposal(
    chainId: bigint,
    height: bigint,
    round: number,
    blockHash: Uint8Array,
    polRound: number,
  ): Promise<Uint8Array> {
    return this.sign(height, round, SIGN_STEP.proposal, proposalSignBytes(chainId, height, round, blockHash, polRound));
  }

  private async signNow(height: bigint, round: number, step: SignStep, signBytes: Uint8Array): Promise<Uint8Array> {
    if (this.failure !== null) {
      throw new SignerError({ code: SignerErrorCode.PERSIST_FAILED, file: this.stateFile, reason: this.failure });
    }
    assert(height >= 1n, "signed height must be >= 1");
    assert(Number.isSafeInteger(round), "signed round must be an integer");
    assert(round >= 0, "signed round must be >= 0");
    assert(step === 1 || step === 2 || step === 3, "signed step must be 1, 2 or 3");
    assert(signBytes.length > 0, "sign bytes must not be empty");

    const last = this.state;
    const requested: HRS = { height, round, step };
    const order = compareHRS(requested, last);
    if (order < 0) {
      throw new SignerError({ code: SignerErrorCode.REGRESSION, requested, last: hrsOf(last) });
    }
    if (order === 0) {
      // Same height, round and step: only a byte-identical re-sign is allowed.
      if (last.signBytes !== null && last.signature !== null && equalBytes(last.signBytes, signBytes)) {
        return last.signature.slice();
      }
      throw new SignerError({ code: SignerErrorCode.DOUBLE_SIGN, requested, last: hrsOf(last) });
    }

    const signature = this.key.sign(signBytes);
    const next: LastSignState = { height, round, step, signBytes, signature };
    try {
      writeFileDurably(this.stateFile, serializeState(next, this.publicKey));
    } catch (e) {
      // The file may hold the old or the new state: refuse everything until a restart re-reads it.
      this.failure = (e as Error).message;
      throw new SignerError({ code: SignerErrorCode.PERSIST_FAILED, file: this.stateFile, reason: this.failure });
    }
    this.state = next;
    return signature.slice();
  }
}

function hrsOf(s: LastSignState): HRS {
  return { height: s.height, round: s.round, step: s.step };
}

/** Lexicographic order of (height, round, step). */
function compareHRS(a: HRS, b: HRS): number {
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  return 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function tmpPath(file: string): string {
  return `${file}.tmp`;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

function serializeState(s: LastSignState, publicKey: Uint8Array): string {
  const file: StateFileV1 = {
    version: SIGNER_STATE_VERSION,
    publicKey: toHex(publicKey),
    height: s.height.toString(),
    round: s.round,
    step: s.step,
    signBytes: s.signBytes === null ? null : toHex(s.signBytes),
    signature: s.signature === null ? null : toHex(s.signature),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

const HEX = /^(?:[0-9a-f]{2})*$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const verifier = new Ed25519Verifier();

/** Parses and checks a state file; every defect is CORRUPT_STATE naming the file (or KEY_MISMATCH). */
function parseState(text: string, file: string, publicKey: Uint8Array): LastSignState {
  const corrupt = (reason: string) => new SignerError({ code: SignerErrorCode.CORRUPT_STATE, file, reason });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw corrupt(`not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw corrupt("not a JSON object");
  const f = raw as Record<string, unknown>;
  if (f.version !== SIGNER_STATE_VERSION) throw corrupt(`unsupported version ${JSON.stringify(f.version)}`);
  const hex = (name: string): Uint8Array | null => {
    const v = f[name];
    if (v === null) return null;
    if (typeof v !== "string" || !HEX.test(v)) throw corrupt(`${name} is not lowercase hex or null`);
    return new Uint8Array(Buffer.from(v, "hex"));
  };
  const storedKey = hex("publicKey");
  if (storedKey === null || storedKey.length !== 32) throw corrupt("publicKey is not 32 bytes of hex");
  if (!equalBytes(storedKey, publicKey)) {
    throw new SignerError({
      code: SignerErrorCode.KEY_MISMATCH,
      file,
      expected: toHex(publicKey),
      found: toHex(storedKey),
    });
  }
  if (typeof f.height !== "string" || !DECIMAL.test(f.height)) throw corrupt("height is not a decimal string");
  const height = BigInt(f.height);
  const round = f.round;
  if (typeof round !== "number" || !Number.isSafeInteger(round) || round < 0) throw corrupt("bad round");
  const step = f.step;
  if (step !== 0 && step !== 1 && step !== 2 && step !== 3) throw corrupt("step is not 0, 1, 2 or 3");
  const signBytes = hex("signBytes");
  const signature = hex("signature");
  if (height === 0n) {
    // The initial state: nothing signed.
    if (round !== 0 || step !== 0 || signBytes !== null || signature !== null) {
      throw corrupt("height 0 must have round 0, step 0 and nothing signed");
    }
    return { height, round, step, signBytes, signature };
  }
  if (step === 0) throw corrupt("step 0 above height 0");
  if (signBytes === null || signBytes.length === 0) throw corrupt("signBytes missing");
  if (signature === null || signature.length !== 64) throw corrupt("signature is not 64 bytes");
  // Pair check with the write: the stored signature must verify, or the record is not ours.
  if (!verifier.verify(publicKey, signBytes, signature)) throw corrupt("signature does not verify over signBytes");
  return { height, round, step, signBytes, signature };
}

/**
 * Replaces `file` atomically and durably: temp file, fdatasync, rename, fsync of the directory.
 * Synchronous on purpose: this runs before every vote leaves the node, and the eight `fs/promises`
 * round trips through libuv's thread pool it used to take cost ~7 ms per signature on a busy
 * machine (the synchronous calls take ~0.5 ms, nearly all of it the two syncs).
 */
function writeFileDurably(file: string, data: string): void {
  const tmp = tmpPath(file);
  const fd = fs.openSync(tmp, "w", 0o600);
  try {
    fs.writeFileSync(fd, data, "utf8");
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  const dir = fs.openSync(dirname(file), "r");
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}
