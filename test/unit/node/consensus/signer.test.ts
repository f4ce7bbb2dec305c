import { spawn } from "node:child_process";
import fs from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VoteType, voteSignBytes } from "../../../../consensus/vote.js";
import { SignerError, SignerErrorCode } from "../../../../node/consensus/errors.js";
import {
  GuardedSigner,
  proposalSignBytes,
  SIGNER_STATE_VERSION,
  type SignStep,
  SLOT_BYTES,
} from "../../../../node/consensus/signer.js";
import { Ed25519Signer, Ed25519Verifier, publicKeyFromSeed } from "../../../../node/crypto/ed25519.js";
import { type SlotFields, SlotWriter } from "../../../../node/lib/slotFile.js";
import { AssertionError } from "../../../../runtime/lib/assert.js";
import { nullLogger } from "../../../../runtime/lib/logger.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const CHAIN_ID = 7n;
const seed = (b: number) => new Uint8Array(32).fill(b);
const hash = (b: number) => new Uint8Array(32).fill(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const verifier = new Ed25519Verifier();

/** The two slots of a version-2 state file, parsed (null for a blank slot). */
async function slots(file: string): Promise<(Record<string, unknown> | null)[]> {
  const bytes = await readFile(file);
  expect(bytes.length).toBe(2 * SLOT_BYTES);
  return [0, 1].map((i) => {
    const text = bytes.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES).toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    return text.trim().length === 0 ? null : (JSON.parse(text) as Record<string, unknown>);
  });
}

async function expectSignerError(p: Promise<unknown>, code: SignerErrorCode): Promise<SignerError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(SignerError);
  expect((err as SignerError).type.code).toBe(code);
  return err as SignerError;
}

/** Runs a TypeScript snippet in a child `node --import tsx` process; resolves with its stdout and how it ended. */
async function runChild(dir: string, source: string, args: string[]) {
  const script = join(dir, "child.mts");
  await writeFile(script, source);
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) =>
    child.on("exit", (c, s) => res([c, s])),
  );
  return { stdout, stderr, code, signal };
}

/**
 * A real `SlotWriter` that records each write, counts writes in flight and can hold the next
 * asynchronous write (a slow disk) or fail it.
 */
function recordingWriter(calls: string[]) {
  let inner: SlotWriter | null = null;
  let gate: Promise<void> | null = null;
  const writer = {
    inFlight: 0,
    maxInFlight: 0,
    failNext: null as Error | null,
    /** Holds every asynchronous write until `release()`. */
    hold() {
      let release = () => {};
      gate = new Promise<void>((r) => {
        release = r;
      });
      return { release };
    },
    write(fields: SlotFields, sync?: boolean) {
      calls.push(`write sync=${sync}`);
      inner?.write(fields, sync);
    },
    async writeAsync(fields: SlotFields, sync?: boolean) {
      calls.push(`writeAsync sync=${sync}`);
      writer.inFlight++;
      writer.maxInFlight = Math.max(writer.maxInFlight, writer.inFlight);
      try {
        if (gate !== null) await gate;
        const failure = writer.failNext;
        writer.failNext = null;
        if (failure !== null) throw failure;
        await inner?.writeAsync(fields, sync);
      } finally {
        writer.inFlight--;
      }
    },
    close() {
      inner?.close();
    },
  };
  const openWriter = (file: string, seq: bigint) => {
    inner = new SlotWriter(file, SIGNER_STATE_VERSION, SLOT_BYTES, seq);
    return writer;
  };
  return { writer, openWriter };
}

describe("GuardedSigner", () => {
  let dir: string;
  let stateFile: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "azora-signer-"));
    stateFile = join(dir, "priv_validator_state.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates a two-slot version-2 state file at height 0 and signs verifiable signatures", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    expect(signer.publicKey).toEqual(publicKeyFromSeed(seed(1)));
    const initial = await slots(stateFile);
    expect(initial[0]).toEqual({
      version: 2,
      seq: "0",
      publicKey: hex(signer.publicKey),
      height: "0",
      round: 0,
      step: 0,
      signBytes: null,
      signature: null,
      crc: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    expect(initial[1]).toBeNull(); // blank until the first signature

    const bytes = voteSignBytes(CHAIN_ID, VoteType.Prevote, 1n, 0, hash(0xaa));
    const sig = await signer.signVote(CHAIN_ID, VoteType.Prevote, 1n, 0, hash(0xaa));
    expect(verifier.verify(signer.publicKey, bytes, sig)).toBe(true);
    const after = await slots(stateFile);
    expect(after[0]).toEqual(initial[0]); // the older slot is the one written
    expect(after[1]).toMatchObject({
      version: 2,
      seq: "1",
      publicKey: hex(signer.publicKey),
      height: "1",
      round: 0,
      step: 2,
      signBytes: hex(bytes),
      signature: hex(sig),
    });
    expect(signer.lastSigned()).toEqual({ height: 1n, round: 0, step: 2, signBytes: bytes, signature: sig });
    // Slots alternate: the next signature overwrites slot 0, never the newest state.
    await signer.signVote(CHAIN_ID, VoteType.Precommit, 1n, 0, hash(0xaa));
    const third = await slots(stateFile);
    expect(third[0]).toMatchObject({ seq: "2", step: 3 });
    expect(third[1]).toEqual(after[1]);
  });

  it("the new state is fdatasync'd before the signature is returned", async () => {
    const calls: string[] = [];
    const { writer, openWriter } = recordingWriter(calls);
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1), openWriter });
    const { fsyncSync, renameSync } = fs;
    const spies = [
      vi.spyOn(fs, "renameSync").mockImplementation((from, to) => {
        renameSync(from, to);
        calls.push("rename");
      }),
      vi.spyOn(fs, "fsyncSync").mockImplementation((fd) => {
        fsyncSync(fd);
        calls.push("sync");
      }),
    ];
    try {
      await signer.sign(1n, 0, 1, new Uint8Array([1]));
      // One in-place slot write with its fdatasync (off the event loop): no rename, no directory sync.
      expect(calls).toEqual(["writeAsync sync=true"]);
      await signer.sign(1n, 0, 1, new Uint8Array([1])); // idempotent re-sign: no write
      expect(calls.length).toBe(1);
      expect(writer.inFlight).toBe(0);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it("no signature is returned before its state write resolves (a slow disk)", async () => {
    const calls: string[] = [];
    const { writer, openWriter } = recordingWriter(calls);
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1), openWriter });
    const gate = writer.hold();
    let signed = false;
    const pending = signer.sign(1n, 0, 1, new Uint8Array([1])).then((sig) => {
      signed = true;
      return sig;
    });
    // Many turns of the event loop (the pool's fdatasync is still "running"): nothing is released.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(["writeAsync sync=true"]);
    expect(signed).toBe(false);
    expect(signer.lastSigned().height).toBe(0n);
    gate.release();
    const sig = await pending;
    expect(verifier.verify(signer.publicKey, new Uint8Array([1]), sig)).toBe(true);
    expect(signer.lastSigned()).toMatchObject({ height: 1n, step: 1 });
    // And it is on disk: a reopened guard refuses to conflict with it.
    await signer.close();
    const reopened = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await expectSignerError(reopened.sign(1n, 0, 1, new Uint8Array([2])), SignerErrorCode.DOUBLE_SIGN);
  });

  it("concurrent signs during a slow write are serialised: one write at a time, never a double sign", async () => {
    const calls: string[] = [];
    const { writer, openWriter } = recordingWriter(calls);
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1), openWriter });
    const gate = writer.hold();
    const requests = [
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(1)),
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(2)), // conflicts with the first
      signer.signVote(CHAIN_ID, VoteType.Precommit, 2n, 0, hash(1)), // a later step: fine
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(1)), // the first again: its stored signature
    ];
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    // Only the first write has started; the others wait for it, unchecked.
    expect(calls).toEqual(["writeAsync sync=true"]);
    expect(writer.maxInFlight).toBe(1);
    gate.release();
    const results = await Promise.allSettled(requests);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
    expect(((results[1] as PromiseRejectedResult).reason as SignerError).type.code).toBe(SignerErrorCode.DOUBLE_SIGN);
    // The prevote was re-requested after the precommit: a regression, refused.
    expect(((results[3] as PromiseRejectedResult).reason as SignerError).type.code).toBe(SignerErrorCode.REGRESSION);
    expect(calls).toEqual(["writeAsync sync=true", "writeAsync sync=true"]);
    expect(writer.maxInFlight).toBe(1);
    expect(signer.lastSigned()).toMatchObject({ height: 2n, round: 0, step: 3 });
  });

  it("a failed asynchronous state write returns no signature and halts the signer", async () => {
    const calls: string[] = [];
    const { writer, openWriter } = recordingWriter(calls);
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1), openWriter });
    writer.failNext = new Error("EIO: i/o error, fdatasync");
    const err = await expectSignerError(signer.sign(1n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
    expect(err.type).toMatchObject({ reason: "EIO: i/o error, fdatasync" });
    expect(signer.lastSigned().height).toBe(0n);
    await expectSignerError(signer.sign(2n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
  });

  it("allows every forward move: next step, next round, next height", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const steps: [bigint, number, SignStep][] = [
      [1n, 0, 1],
      [1n, 0, 2],
      [1n, 0, 3],
      [1n, 1, 2], // a new round may skip the proposal step
      [1n, 3, 1],
      [2n, 0, 3],
      [10n, 0, 1],
    ];
    for (const [h, r, s] of steps) {
      const bytes = new TextEncoder().encode(`m/${h}/${r}/${s}`);
      const sig = await signer.sign(h, r, s, bytes);
      expect(verifier.verify(signer.publicKey, bytes, sig), `${h}/${r}/${s}`).toBe(true);
      expect(signer.lastSigned().height).toBe(h);
    }
  });

  it(SignerErrorCode.REGRESSION, async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await signer.sign(5n, 2, 2, new Uint8Array([1]));
    // Lower height, same height and lower round, same height/round and lower step.
    for (const [h, r, s] of [
      [4n, 9, 3],
      [5n, 1, 3],
      [5n, 2, 1],
    ] as [bigint, number, SignStep][]) {
      const err = await expectSignerError(signer.sign(h, r, s, new Uint8Array([1])), SignerErrorCode.REGRESSION);
      expect(err.type).toEqual({
        code: SignerErrorCode.REGRESSION,
        requested: { height: h, round: r, step: s },
        last: { height: 5n, round: 2, step: 2 },
      });
    }
    expect(signer.lastSigned().height).toBe(5n);
  });

  it(SignerErrorCode.DOUBLE_SIGN, async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await signer.signVote(CHAIN_ID, VoteType.Precommit, 3n, 1, hash(1));
    const err = await expectSignerError(
      signer.signVote(CHAIN_ID, VoteType.Precommit, 3n, 1, hash(2)),
      SignerErrorCode.DOUBLE_SIGN,
    );
    expect(err.type).toEqual({
      code: SignerErrorCode.DOUBLE_SIGN,
      requested: { height: 3n, round: 1, step: 3 },
      last: { height: 3n, round: 1, step: 3 },
    });
    // A nil vote conflicts with a vote for a block too.
    await expectSignerError(signer.signVote(CHAIN_ID, VoteType.Precommit, 3n, 1, null), SignerErrorCode.DOUBLE_SIGN);
  });

  it("returns the stored signature for a byte-identical re-sign, without rewriting the file", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const first = await signer.signProposal(CHAIN_ID, 4n, 0, hash(9), -1);
    const before = await readFile(stateFile);
    const again = await signer.signProposal(CHAIN_ID, 4n, 0, hash(9), -1);
    expect(again).toEqual(first);
    expect(await readFile(stateFile)).toEqual(before);
    // A proposal for the same block with another POL round is a different message: refused.
    await expectSignerError(signer.signProposal(CHAIN_ID, 4n, 0, hash(9), 0), SignerErrorCode.DOUBLE_SIGN);
  });

  it("keeps refusing conflicting signatures after a restart, and re-sends the stored one", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const sig = await signer.signVote(CHAIN_ID, VoteType.Prevote, 8n, 2, hash(3));

    const reopened = await GuardedSigner.open({ stateFile, seed: seed(1) });
    expect(reopened.lastSigned()).toEqual(signer.lastSigned());
    await expectSignerError(reopened.signVote(CHAIN_ID, VoteType.Prevote, 8n, 2, hash(4)), SignerErrorCode.DOUBLE_SIGN);
    await expectSignerError(reopened.signVote(CHAIN_ID, VoteType.Prevote, 8n, 1, hash(4)), SignerErrorCode.REGRESSION);
    expect(await reopened.signVote(CHAIN_ID, VoteType.Prevote, 8n, 2, hash(3))).toEqual(sig);
    await reopened.signVote(CHAIN_ID, VoteType.Precommit, 8n, 2, hash(3));
  });

  it("serialises concurrent signs: of two conflicting requests exactly one is signed", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const results = await Promise.allSettled([
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(1)),
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(2)),
      signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(3)),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected"]);
    for (const r of results.slice(1)) {
      expect(((r as PromiseRejectedResult).reason as SignerError).type.code).toBe(SignerErrorCode.DOUBLE_SIGN);
    }
  });

  it(SignerErrorCode.CORRUPT_STATE, async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await signer.signVote(CHAIN_ID, VoteType.Prevote, 8n, 2, hash(3));
    // A valid version-1 file of the same state, then broken in each way a parser must catch.
    const { seq: _seq, crc: _crc, ...fields } = (await slots(stateFile))[1] as Record<string, unknown>;
    const good: Record<string, unknown> = { ...fields, version: 1 };
    const signature = good.signature as string;
    const flipped = signature.replace(/^../, signature.startsWith("00") ? "01" : "00");
    const variants: [string, string][] = [
      ["empty file", ""],
      ["truncated JSON", JSON.stringify(good).slice(0, 40)],
      ["not an object", "[1,2,3]"],
      ["unknown version", JSON.stringify({ ...good, version: 3 })],
      ["height not decimal", JSON.stringify({ ...good, height: "0x08" })],
      ["negative round", JSON.stringify({ ...good, round: -1 })],
      ["bad step", JSON.stringify({ ...good, step: 4 })],
      ["odd hex", JSON.stringify({ ...good, signBytes: `${good.signBytes}0` })],
      ["signature missing", JSON.stringify({ ...good, signature: null })],
      ["signature does not verify", JSON.stringify({ ...good, signature: flipped })],
      ["height moved back by hand", JSON.stringify({ ...good, height: "0" })],
      ["two slots of zeros", "\0".repeat(2 * SLOT_BYTES)],
      ["two blank slots", `${" ".repeat(SLOT_BYTES - 1)}\n`.repeat(2)],
    ];
    for (const [what, text] of variants) {
      await writeFile(stateFile, text);
      const err = await expectSignerError(
        GuardedSigner.open({ stateFile, seed: seed(1) }),
        SignerErrorCode.CORRUPT_STATE,
      );
      expect(err.type, what).toMatchObject({ code: SignerErrorCode.CORRUPT_STATE, file: stateFile });
      // Never reset: the corrupt file is left as it was for the operator.
      expect(await readFile(stateFile, "utf8"), what).toBe(text);
    }
    // The good version-1 object itself is accepted (and converted).
    await writeFile(stateFile, JSON.stringify(good));
    const reopened = await GuardedSigner.open({ stateFile, seed: seed(1) });
    expect(reopened.lastSigned()).toEqual(signer.lastSigned());
  });

  it("a slot torn by a crash mid-write is skipped with a warning: the other slot holds the state before it", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await signer.signVote(CHAIN_ID, VoteType.Prevote, 3n, 0, hash(1)); // seq 1 → slot 1
    const before = signer.lastSigned();
    await signer.signVote(CHAIN_ID, VoteType.Precommit, 3n, 0, hash(1)); // seq 2 → slot 0
    // What a torn write of slot 0 can leave: part new bytes, part zeros (its signature never left).
    const file = await readFile(stateFile);
    file.fill(0, 100, 300);
    await writeFile(stateFile, file);
    const warnings: string[] = [];
    const log = { ...nullLogger, warn: (msg: string) => void warnings.push(msg), child: () => log };
    const reopened = await GuardedSigner.open({ stateFile, seed: seed(1), log });
    expect(reopened.lastSigned()).toEqual(before);
    expect(warnings).toEqual([expect.stringContaining("one slot is unreadable")]);
    // Signing continues into the damaged slot; the next open reads both slots again.
    await reopened.signVote(CHAIN_ID, VoteType.Precommit, 3n, 0, hash(1));
    const again = await GuardedSigner.open({ stateFile, seed: seed(1) });
    expect(again.lastSigned()).toMatchObject({ height: 3n, round: 0, step: 3 });
    // A checksum mismatch counts as torn too (a bit flipped inside the JSON).
    const flipped = await readFile(stateFile);
    const at = flipped.indexOf(Buffer.from('"round":0'), 0); // in slot 0, the newest now
    flipped[at + 8] = "1".charCodeAt(0);
    await writeFile(stateFile, flipped);
    expect((await GuardedSigner.open({ stateFile, seed: seed(1) })).lastSigned()).toEqual(before);
  });

  it("converts a version-1 file (one JSON object) and keeps guarding its state", async () => {
    const key = seed(4);
    const bytes = voteSignBytes(CHAIN_ID, VoteType.Precommit, 9n, 1, hash(5));
    const sig = new Ed25519Signer(key).sign(bytes);
    const v1 = {
      version: 1,
      publicKey: hex(publicKeyFromSeed(key)),
      height: "9",
      round: 1,
      step: 3,
      signBytes: hex(bytes),
      signature: hex(sig),
    };
    await writeFile(stateFile, `${JSON.stringify(v1, null, 2)}\n`);
    const signer = await GuardedSigner.open({ stateFile, seed: key });
    expect(signer.lastSigned()).toEqual({ height: 9n, round: 1, step: 3, signBytes: bytes, signature: sig });
    expect((await readFile(stateFile)).length).toBe(2 * SLOT_BYTES);
    await expectSignerError(signer.signVote(CHAIN_ID, VoteType.Precommit, 9n, 1, hash(6)), SignerErrorCode.DOUBLE_SIGN);
    await signer.signVote(CHAIN_ID, VoteType.Prevote, 10n, 0, hash(6));
    expect((await GuardedSigner.open({ stateFile, seed: key })).lastSigned().height).toBe(10n);
  });

  it(SignerErrorCode.KEY_MISMATCH, async () => {
    await GuardedSigner.open({ stateFile, seed: seed(1) });
    const err = await expectSignerError(GuardedSigner.open({ stateFile, seed: seed(2) }), SignerErrorCode.KEY_MISMATCH);
    expect(err.type).toMatchObject({ file: stateFile, found: hex(publicKeyFromSeed(seed(1))) });
  });

  it(SignerErrorCode.PERSIST_FAILED, async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    // Make the next slot write fail: close the state file under the signer.
    fs.closeSync((signer as unknown as { slots: { fd: number } }).slots.fd);
    await expectSignerError(signer.sign(1n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
    expect(signer.lastSigned().height).toBe(0n);
    // Halted: even a request that would be fine is refused until a restart re-reads the file.
    await expectSignerError(signer.sign(2n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
    expect((await GuardedSigner.open({ stateFile, seed: seed(1) })).lastSigned().height).toBe(0n);
  });

  it("rewindForDevChain: back to a committed block's precommit, synced even for the unsynced dev signer", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1), sync: false });
    for (let h = 1n; h <= 5n; h++) await signer.signVote(CHAIN_ID, VoteType.Precommit, h, 0, hash(Number(h)));
    const syncs = vi.spyOn(fs, "fdatasyncSync");
    try {
      const bytes = voteSignBytes(CHAIN_ID, VoteType.Precommit, 2n, 0, hash(2));
      await signer.rewindForDevChain(signer.publicKey, { height: 2n, round: 0, signBytes: bytes });
      expect(syncs).toHaveBeenCalledTimes(1);
      // Exactly the state right after block 2: its precommit re-sends identically, a conflicting one is refused.
      const again = await signer.signVote(CHAIN_ID, VoteType.Precommit, 2n, 0, hash(2));
      expect(verifier.verify(signer.publicKey, bytes, again)).toBe(true);
      await expectSignerError(
        signer.signVote(CHAIN_ID, VoteType.Precommit, 2n, 0, hash(9)),
        SignerErrorCode.DOUBLE_SIGN,
      );
      await expectSignerError(signer.signVote(CHAIN_ID, VoteType.Prevote, 2n, 0, hash(2)), SignerErrorCode.REGRESSION);
      // The new block 3 is signed, and the state survives a restart.
      await signer.signVote(CHAIN_ID, VoteType.Precommit, 3n, 0, hash(0x33));
      await signer.close();
      expect((await GuardedSigner.open({ stateFile, seed: seed(1) })).lastSigned()).toMatchObject({
        height: 3n,
        step: 3,
      });
    } finally {
      syncs.mockRestore();
    }
  });

  it("rewindForDevChain: back to genesis with null; refused for another key; a failed write halts the signer", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await signer.signVote(CHAIN_ID, VoteType.Precommit, 4n, 0, hash(4));
    await signer.rewindForDevChain(signer.publicKey, null);
    expect(signer.lastSigned()).toEqual({ height: 0n, round: 0, step: 0, signBytes: null, signature: null });
    await signer.signVote(CHAIN_ID, VoteType.Precommit, 1n, 0, hash(1));
    expect(() => signer.rewindForDevChain(publicKeyFromSeed(seed(2)), null)).toThrow(AssertionError);

    fs.closeSync((signer as unknown as { slots: { fd: number } }).slots.fd);
    await expectSignerError(signer.rewindForDevChain(signer.publicKey, null), SignerErrorCode.PERSIST_FAILED);
    expect(signer.lastSigned().height).toBe(1n);
    await expectSignerError(signer.sign(2n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
  });

  it("close() waits for pending signs, then refuses new ones", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const pending = signer.sign(1n, 0, 1, new Uint8Array([1]));
    await signer.close();
    await pending;
    await expectSignerError(signer.sign(2n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
    expect((await GuardedSigner.open({ stateFile, seed: seed(1) })).lastSigned().height).toBe(1n);
  });

  it("asserts on arguments no caller may pass (height 0, negative round, empty bytes)", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    await expect(signer.sign(0n, 0, 1, new Uint8Array([1]))).rejects.toBeInstanceOf(AssertionError);
    await expect(signer.sign(1n, -1, 1, new Uint8Array([1]))).rejects.toBeInstanceOf(AssertionError);
    await expect(signer.sign(1n, 0, 1, new Uint8Array())).rejects.toBeInstanceOf(AssertionError);
    // The signer still works afterwards.
    await signer.sign(1n, 0, 1, new Uint8Array([1]));
  });

  it("proposalSignBytes binds every field and differs from vote bytes", () => {
    const base = proposalSignBytes(CHAIN_ID, 5n, 1, hash(1), -1);
    const variants = [
      proposalSignBytes(CHAIN_ID + 1n, 5n, 1, hash(1), -1),
      proposalSignBytes(CHAIN_ID, 6n, 1, hash(1), -1),
      proposalSignBytes(CHAIN_ID, 5n, 2, hash(1), -1),
      proposalSignBytes(CHAIN_ID, 5n, 1, hash(2), -1),
      proposalSignBytes(CHAIN_ID, 5n, 1, hash(1), 0),
      voteSignBytes(CHAIN_ID, VoteType.Prevote, 5n, 1, hash(1)),
    ];
    for (const v of variants) expect(Buffer.from(v).equals(base)).toBe(false);
    expect(proposalSignBytes(CHAIN_ID, 5n, 1, hash(1), -1)).toEqual(base);
  });

  it("a process SIGKILLed right after sign resolves leaves the record: the restarted signer refuses to conflict", async () => {
    const signerURL = pathToFileURL(join(ROOT, "node/consensus/signer.ts")).href;
    const source = `
import { writeSync } from "node:fs";
import { GuardedSigner } from ${JSON.stringify(signerURL)};
const [stateFile, seedHex, hashHex] = process.argv.slice(2);
const signer = await GuardedSigner.open({ stateFile, seed: Buffer.from(seedHex, "hex") });
const sig = await signer.signVote(${CHAIN_ID}n, 1, 5n, 0, Buffer.from(hashHex, "hex"));
writeSync(1, Buffer.from(sig).toString("hex") + "\\n");
process.kill(process.pid, "SIGKILL");
`;
    const child = await runChild(dir, source, [stateFile, hex(seed(3)), hex(hash(0xab))]);
    expect(child.signal, child.stderr).toBe("SIGKILL");
    const sig = Buffer.from(child.stdout.trim(), "hex");
    expect(sig.length).toBe(64);

    const signer = await GuardedSigner.open({ stateFile, seed: seed(3) });
    expect(signer.lastSigned()).toMatchObject({ height: 5n, round: 0, step: 2 });
    await expectSignerError(
      signer.signVote(CHAIN_ID, VoteType.Prevote, 5n, 0, hash(0xcd)),
      SignerErrorCode.DOUBLE_SIGN,
    );
    await expectSignerError(signer.signVote(CHAIN_ID, VoteType.Prevote, 5n, 0, null), SignerErrorCode.DOUBLE_SIGN);
    expect(Buffer.from(await signer.signVote(CHAIN_ID, VoteType.Prevote, 5n, 0, hash(0xab)))).toEqual(sig);
  });
});
