import { spawn } from "node:child_process";
import fs from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VoteType, voteSignBytes } from "../../../../consensus/vote.js";
import { SignerError, SignerErrorCode } from "../../../../node/consensus/errors.js";
import { GuardedSigner, proposalSignBytes, type SignStep } from "../../../../node/consensus/signer.js";
import { Ed25519Verifier, publicKeyFromSeed } from "../../../../node/crypto/ed25519.js";
import { AssertionError } from "../../../../runtime/lib/assert.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const CHAIN_ID = 7n;
const seed = (b: number) => new Uint8Array(32).fill(b);
const hash = (b: number) => new Uint8Array(32).fill(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const verifier = new Ed25519Verifier();

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

  it("creates a version-1 state file at height 0 and signs verifiable signatures", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    expect(signer.publicKey).toEqual(publicKeyFromSeed(seed(1)));
    expect(JSON.parse(await readFile(stateFile, "utf8"))).toEqual({
      version: 1,
      publicKey: hex(signer.publicKey),
      height: "0",
      round: 0,
      step: 0,
      signBytes: null,
      signature: null,
    });

    const bytes = voteSignBytes(CHAIN_ID, VoteType.Prevote, 1n, 0, hash(0xaa));
    const sig = await signer.signVote(CHAIN_ID, VoteType.Prevote, 1n, 0, hash(0xaa));
    expect(verifier.verify(signer.publicKey, bytes, sig)).toBe(true);
    const onDisk = JSON.parse(await readFile(stateFile, "utf8"));
    expect(onDisk).toEqual({
      version: 1,
      publicKey: hex(signer.publicKey),
      height: "1",
      round: 0,
      step: 2,
      signBytes: hex(bytes),
      signature: hex(sig),
    });
    expect(signer.lastSigned()).toEqual({ height: 1n, round: 0, step: 2, signBytes: bytes, signature: sig });
  });

  it("the state file and its directory are synced before the signature is returned", async () => {
    const signer = await GuardedSigner.open({ stateFile, seed: seed(1) });
    const calls: string[] = [];
    const { fdatasyncSync, fsyncSync, renameSync } = fs;
    const spies = [
      vi.spyOn(fs, "fdatasyncSync").mockImplementation((fd) => {
        fdatasyncSync(fd);
        calls.push("datasync");
      }),
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
      expect(calls).toEqual(["datasync", "rename", "sync"]); // temp file, rename, then the directory
      await signer.sign(1n, 0, 1, new Uint8Array([1])); // idempotent re-sign: no write
      expect(calls.length).toBe(3);
    } finally {
      for (const s of spies) s.mockRestore();
    }
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
    const good = JSON.parse(await readFile(stateFile, "utf8"));
    const flipped = good.signature.replace(/^../, good.signature.startsWith("00") ? "01" : "00");
    const variants: [string, string][] = [
      ["empty file", ""],
      ["truncated JSON", JSON.stringify(good).slice(0, 40)],
      ["not an object", "[1,2,3]"],
      ["unknown version", JSON.stringify({ ...good, version: 2 })],
      ["height not decimal", JSON.stringify({ ...good, height: "0x08" })],
      ["negative round", JSON.stringify({ ...good, round: -1 })],
      ["bad step", JSON.stringify({ ...good, step: 4 })],
      ["odd hex", JSON.stringify({ ...good, signBytes: `${good.signBytes}0` })],
      ["signature missing", JSON.stringify({ ...good, signature: null })],
      ["signature does not verify", JSON.stringify({ ...good, signature: flipped })],
      ["height moved back by hand", JSON.stringify({ ...good, height: "0" })],
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
  });

  it(SignerErrorCode.KEY_MISMATCH, async () => {
    await GuardedSigner.open({ stateFile, seed: seed(1) });
    const err = await expectSignerError(GuardedSigner.open({ stateFile, seed: seed(2) }), SignerErrorCode.KEY_MISMATCH);
    expect(err.type).toMatchObject({ file: stateFile, found: hex(publicKeyFromSeed(seed(1))) });
  });

  it(SignerErrorCode.PERSIST_FAILED, async () => {
    const sub = join(dir, "sub");
    const file = join(sub, "state.json");
    const signer = await GuardedSigner.open({ stateFile: file, seed: seed(1) });
    await rm(sub, { recursive: true }); // the next temp file cannot be created
    await expectSignerError(signer.sign(1n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
    expect(signer.lastSigned().height).toBe(0n);
    // Halted: even a request that would be fine is refused until a restart re-reads the file.
    await expectSignerError(signer.sign(2n, 0, 1, new Uint8Array([1])), SignerErrorCode.PERSIST_FAILED);
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
