import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { proposalSignBytes } from "../../consensus/proposal.js";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { assert } from "../../runtime/lib/assert.js";
import { type Logger, nullLogger } from "../../runtime/lib/logger.js";
import { unprefixedHex } from "../../runtime/primitives/bytes.js";
import { Ed25519Signer, Ed25519Verifier } from "../crypto/ed25519.js";
import { SerialQueue } from "../lib/serialQueue.js";
import {
  createSlotFile,
  readSlots,
  type SlotFields,
  SlotFileError,
  SlotFileErrorCode,
  SlotWriter,
  slotTempPath,
} from "../lib/slotFile.js";
import { type HRS, SignerError, SignerErrorCode } from "./errors.js";

/**
 * Double-sign guard for the validator key, after CometBFT's privval `FilePV` and its
 * `FilePVLastSignState`: the last signed (height, round, step, sign bytes, signature) is on disk
 * before a signature is returned, and any signature that would conflict with it is refused, also
 * after a restart.
 *
 * The state file is a two-slot record file (`node/lib/slotFile.ts`, version 2): a write touches
 * only the older slot and is followed by one fdatasync, so a crash or power loss mid-write can only
 * tear the slot being written, whose signature was never returned; on open the valid slot with the
 * highest sequence number wins. CometBFT's temp-file + rename costs a second sync for the directory
 * on every signature; this costs one. (A version-1 file — one JSON object — is read and converted.)
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

/** Version of the state file written: two slots (`SlotV2`). Version 1 (one JSON object) is still read. */
export const SIGNER_STATE_VERSION = 2;

/** Bytes per slot; the file is exactly two slots. A slot is JSON, padded with spaces, ending in "\n". */
export const SLOT_BYTES = 1024;

/**
 * The fields of a state as stored: integers as decimal strings or numbers, bytes as lowercase hex
 * without `0x`. Version 1 was this object alone; a version-2 slot adds `seq` and `crc` (CRC-32C,
 * 8 hex digits, of the slot's JSON without `crc`).
 */
interface StateFields {
  version: 1 | 2;
  /** The validator's ed25519 public key, so a state file is never used with another key. */
  publicKey: string;
  height: string;
  round: number;
  step: 0 | SignStep;
  signBytes: string | null;
  signature: string | null;
}

// Moved to consensus/ (message verification needs it too); re-exported for existing importers.
export { proposalSignBytes };

export interface GuardedSignerOpts {
  /** Path of the JSON last-sign state; its directory is created if needed. */
  stateFile: string;
  /** The 32-byte ed25519 seed of the validator key. */
  seed: Uint8Array;
  log?: Logger;
  /**
   * fdatasync each new state before the signature is returned (default). Only the dev validator
   * turns it off: its precommits never leave the node before the block is committed, and the
   * highest-committed record (synced) guards its heights; a state lost to power loss only lags.
   */
  sync?: boolean;
  /**
   * Opens the writer of the state file's slots, whose newest slot on disk has sequence `seq`
   * (default: a `SlotWriter`). Tests inject a slow or failing one.
   */
  openWriter?: (file: string, seq: bigint) => StateWriter;
}

/** The slot writes the guard makes: `SlotWriter`'s. */
export type StateWriter = Pick<SlotWriter, "write" | "writeAsync" | "close">;

export class GuardedSigner {
  readonly publicKey: Uint8Array;
  readonly stateFile: string;
  private readonly key: Ed25519Signer;
  private state: LastSignState;
  /** The state file, open for in-place slot writes for the signer's life. */
  private readonly slots: StateWriter;
  /** Serialises `sign` calls: each check-sign-persist runs alone. */
  private readonly queue = new SerialQueue();
  /** Set after a failed write of the state file; every later `sign` is refused. */
  private failure: string | null = null;
  private readonly sync: boolean;

  private constructor(stateFile: string, key: Ed25519Signer, state: LastSignState, slots: StateWriter, sync: boolean) {
    this.stateFile = stateFile;
    this.sync = sync;
    this.key = key;
    this.publicKey = key.publicKey;
    this.state = state;
    this.slots = slots;
  }

  /** Loads the state file, or creates it at height 0 when absent. A corrupt file is refused, never reset. */
  static async open(opts: GuardedSignerOpts): Promise<GuardedSigner> {
    const log = opts.log ?? nullLogger;
    const key = new Ed25519Signer(opts.seed);
    const file = opts.stateFile;
    await mkdir(dirname(file), { recursive: true });
    // A temp file is left only by a crash before its rename (creation or conversion): never used.
    await rm(slotTempPath(file), { force: true });
    let bytes: Buffer | null;
    try {
      bytes = await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      bytes = null;
    }
    let state: LastSignState;
    let seq = 0n;
    if (bytes === null) {
      state = { height: 0n, round: 0, step: 0, signBytes: null, signature: null };
      createSlotFile(file, SIGNER_STATE_VERSION, fieldsOf(state, key.publicKey), SLOT_BYTES);
      log.info("created signer state file", { file });
    } else if (bytes.length === 2 * SLOT_BYTES) {
      // Version 2 (a version-1 file is one small JSON object, never exactly two slots long).
      const loaded = readStateSlots(bytes, file, key.publicKey, log);
      state = loaded.state;
      seq = loaded.seq;
    } else {
      // Version 1: one JSON object. Converted in place (atomically), so the next write is a slot write.
      state = parseFields(parseJSON(bytes.toString("utf8"), file), 1, file, key.publicKey);
      createSlotFile(file, SIGNER_STATE_VERSION, fieldsOf(state, key.publicKey), SLOT_BYTES);
      log.info("converted signer state file to version 2", { file });
    }
    log.info("loaded signer state", { file, height: state.height, round: state.round, step: state.step });
    const openWriter = opts.openWriter ?? ((f, s) => new SlotWriter(f, SIGNER_STATE_VERSION, SLOT_BYTES, s));
    return new GuardedSigner(file, key, state, openWriter(file, seq), opts.sync ?? true);
  }

  /** Closes the state file after pending signs; every later `sign` is refused. */
  close(): Promise<void> {
    return this.queue.run(() => {
      if (this.failure === null) this.failure = "signer closed";
      this.slots.close();
    });
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
    const bytes = signBytes.slice();
    return this.queue.run(() => this.signNow(height, round, step, bytes));
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

  /**
   * Dev chain rewind only (`evm_revert`, `anvil_reset`: explicit history rewriting). Moves the
   * last-signed state back to the precommit of the block that is the head again — `vote` is that
   * precommit's (height, round, sign bytes), re-signed here with the same deterministic key, so the
   * state is exactly the one the guard held right after that block — or to the initial state
   * (`null`: back to genesis). Refused unless this guard holds `devPublicKey`: a network validator's
   * guard never moves back (`azora db rollback` keeps it).
   */
  rewindForDevChain(
    devPublicKey: Uint8Array,
    vote: { height: bigint; round: number; signBytes: Uint8Array } | null,
  ): Promise<void> {
    assert(equalBytes(this.publicKey, devPublicKey), "only the dev validator's guard is ever rewound");
    return this.queue.run(() => {
      if (this.failure !== null) {
        throw new SignerError({ code: SignerErrorCode.PERSIST_FAILED, file: this.stateFile, reason: this.failure });
      }
      const next: LastSignState =
        vote === null
          ? { height: 0n, round: 0, step: 0, signBytes: null, signature: null }
          : {
              height: vote.height,
              round: vote.round,
              step: SIGN_STEP.precommit,
              signBytes: vote.signBytes.slice(),
              signature: this.key.sign(vote.signBytes),
            };
      try {
        // Always synced (the dev signer's per-block writes are not): written before the database's
        // synced rollback, it must not be lost behind it, or the next block would be a regression.
        this.slots.write(fieldsOf(next, this.publicKey), true);
      } catch (e) {
        // As in `signNow`: the file may hold either state; refuse everything until a restart re-reads it.
        this.failure = e instanceof SlotFileError ? e.type.reason : (e as Error).message;
        throw new SignerError({ code: SignerErrorCode.PERSIST_FAILED, file: this.stateFile, reason: this.failure });
      }
      this.state = next;
    });
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
      // The older slot only, then one fdatasync: the newest durable state is never overwritten. The
      // synced write runs on libuv's pool (the fdatasync blocked the node's only thread 1-5 ms per
      // signature); it is awaited, so no signature leaves before its state is durable, and `sign`'s
      // queue keeps later requests (and their checks against `this.state`) behind it. The unsynced
      // dev write only reaches the page cache: microseconds, not worth a round trip through the pool.
      const fields = fieldsOf(next, this.publicKey);
      if (this.sync) await this.slots.writeAsync(fields, true);
      else this.slots.write(fields, false);
    } catch (e) {
      // The file may hold the old or the new state: refuse everything until a restart re-reads it.
      this.failure = e instanceof SlotFileError ? e.type.reason : (e as Error).message;
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

/** The stored fields of a state, in the order they are written (the slot's CRC covers that order). */
function fieldsOf(s: LastSignState, publicKey: Uint8Array): Omit<StateFields, "version"> & SlotFields {
  return {
    publicKey: unprefixedHex(publicKey),
    height: s.height.toString(),
    round: s.round,
    step: s.step,
    signBytes: s.signBytes === null ? null : unprefixedHex(s.signBytes),
    signature: s.signature === null ? null : unprefixedHex(s.signature),
  };
}

const HEX = /^(?:[0-9a-f]{2})*$/;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const verifier = new Ed25519Verifier();

function parseJSON(text: string, file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SignerError({ code: SignerErrorCode.CORRUPT_STATE, file, reason: `not JSON: ${(e as Error).message}` });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SignerError({ code: SignerErrorCode.CORRUPT_STATE, file, reason: "not a JSON object" });
  }
  return raw as Record<string, unknown>;
}

/**
 * The newest valid slot. A slot that does not parse or fails its checksum is what a crash during
 * its write leaves (its signature was never returned): the other slot holds the state before it,
 * and a warning names the damaged one. Both unreadable is CORRUPT_STATE; a readable slot of
 * another key is KEY_MISMATCH.
 */
function readStateSlots(
  bytes: Buffer,
  file: string,
  publicKey: Uint8Array,
  log: Logger,
): { state: LastSignState; seq: bigint } {
  let read: ReturnType<typeof readSlots<LastSignState>>;
  try {
    read = readSlots(
      bytes,
      file,
      SLOT_BYTES,
      (f) => parseFields(f, 2, file, publicKey),
      (e) => e instanceof SignerError && e.type.code === SignerErrorCode.KEY_MISMATCH,
    );
  } catch (e) {
    if (e instanceof SlotFileError && e.type.code === SlotFileErrorCode.CORRUPT)
      throw corruptState(file, e.type.reason);
    throw e;
  }
  if (read.problems.length > 0) {
    log.warn("signer state: one slot is unreadable (a write torn by a crash); using the other", {
      file,
      slot: read.index,
      seq: read.seq.toString(),
      problem: read.problems.join("; "),
    });
  }
  return { state: read.value, seq: read.seq };
}

function corruptState(file: string, reason: string): SignerError {
  return new SignerError({ code: SignerErrorCode.CORRUPT_STATE, file, reason });
}

/** Checks a state's fields (version 1 file or version 2 slot); every defect is CORRUPT_STATE (or KEY_MISMATCH). */
function parseFields(f: Record<string, unknown>, version: 1 | 2, file: string, publicKey: Uint8Array): LastSignState {
  const corrupt = (reason: string) => corruptState(file, reason);
  if (f.version !== version) throw corrupt(`unsupported version ${JSON.stringify(f.version)}`);
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
      expected: unprefixedHex(publicKey),
      found: unprefixedHex(storedKey),
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
