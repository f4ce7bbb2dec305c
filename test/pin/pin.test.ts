import { rmSync } from "node:fs";
import { join } from "node:path";
import * as dagPB from "@ipld/dag-pb";
import { NextToLast } from "blockstore-fs/sharding";
import Fastify, { type FastifyInstance } from "fastify";
import type { CID } from "multiformats/cid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPinHandler,
  decodeNode,
  decodeProof,
  encodeProof,
  encodeReceipt,
  encodeRequest,
  evidenceURI,
  PinError,
  PinErrorCode,
  provePosition,
  spanOf,
  verifyPositionProof,
  walkDag,
} from "../../services/pin/index.js";
import type { JobHandler, JobInput } from "../../services/runtime/handler.js";
import { createHeliaBackend, type StorageBackend } from "../../services/storage/index.js";
import { seededBytes, tempDir } from "../storage/fixtures.js";

/**
 * `storage/pin` on real Helia nodes (filesystem blockstores, bitswap on loopback): DAG positions name every
 * block, a proof from the root to the block at a position verifies against the root CID and nothing else does
 * (a tampered block, another block with a right hash, a truncated or padded path, another root); the handler
 * admits, pins over bitswap from the requester's node, answers challenges over HTTP from its local blocks only,
 * fails them once a block is deleted from disk, and unpins when the job ends.
 */

let dir: string;
let requester: StorageBackend;
let worker: StorageBackend;
/** 3.5 MiB: a dag-pb root over four raw 1 MiB (and one ½ MiB) leaves. */
let file: CID;
/** A directory with files of several sizes and a subdirectory. */
let tree: CID;
let raw: CID;

const local = (s: StorageBackend) => (cid: CID) => s.getBlock(cid, { offline: true });

beforeAll(async () => {
  dir = tempDir("pin");
  requester = await createHeliaBackend({
    dataDir: join(dir, "requester"),
    listen: ["/ip4/127.0.0.1/tcp/0"],
    peers: [],
  });
  worker = await createHeliaBackend({ dataDir: join(dir, "worker"), listen: ["/ip4/127.0.0.1/tcp/0"], peers: [] });
  file = await requester.addFile(seededBytes(3.5 * 1024 * 1024, "pin-file"));
  tree = await requester.addTree([
    { path: "a.bin", content: seededBytes(2.2 * 1024 * 1024, "a") },
    { path: "b.txt", content: new TextEncoder().encode("hello pin") },
    { path: "sub/c.bin", content: seededBytes(1024 * 1024 + 7, "c") },
    { path: "sub/d.bin", content: seededBytes(300_000, "d") },
    { path: "empty" },
  ]);
  raw = await requester.addFile(new TextEncoder().encode("a single raw block"));
}, 60_000);

afterAll(async () => {
  await requester?.stop();
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The depth-first layout, computed here independently: every block occurrence with its first position. */
async function layout(root: CID, get: (c: CID) => Promise<Uint8Array>) {
  const out: { cid: CID; start: bigint; length: bigint }[] = [];
  const visit = async (cid: CID, start: bigint): Promise<bigint> => {
    const bytes = await get(cid);
    out.push({ cid, start, length: BigInt(bytes.length) });
    let at = start + BigInt(bytes.length);
    if (cid.code === dagPB.code) for (const l of dagPB.decode(bytes).Links) at = await visit(l.Hash as CID, at);
    return at;
  };
  const end = await visit(root, 0n);
  return { blocks: out, end };
}

describe("DAG positions and proofs", () => {
  it("every block of a file, a directory and a raw block is the one its positions name, first and last", async () => {
    for (const root of [file, tree, raw]) {
      const get = local(requester);
      const { blocks, end } = await layout(root, get);
      const summary = await walkDag(root, get, { maxBlocks: 1000 });
      expect(summary.consistent, `${root}: Tsizes are the subtrees' sizes`).toBe(true);
      expect(summary.dagBytes).toBe(end);
      expect(spanOf(decodeNode(root, await get(root)))).toBe(end);
      expect(summary.blocks).toBe(new Set(blocks.map((b) => b.cid.toString())).size);
      for (const b of blocks) {
        for (const p of [b.start, b.start + b.length - 1n]) {
          const proof = await provePosition(root, p, get);
          const at = await verifyPositionProof(root, p, proof.blocks);
          expect(at.toString(), `${root} position ${p}`).toBe(b.cid.toString());
          // beyond the span, positions wrap around: the same block
          expect((await verifyPositionProof(root, p + end, proof.blocks)).toString()).toBe(b.cid.toString());
        }
      }
    }
    const fileLayout = await layout(file, local(requester));
    expect(fileLayout.blocks).toHaveLength(5); // the root and four leaves
  });

  it("a tampered block, a right block at the wrong place, a cut or padded path and another root all fail", async () => {
    const get = local(requester);
    const { blocks } = await layout(file, get);
    const [, leaf0, leaf1] = blocks;
    const p = leaf1.start + 10n;
    const proof = await provePosition(file, p, get);
    expect(proof.blocks).toHaveLength(2);
    const fails = async (root: CID, position: bigint, bs: Uint8Array[], what: string) => {
      const e = await verifyPositionProof(root, position, bs).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, what).toBeInstanceOf(PinError);
      expect((e as PinError).code, what).toBe(PinErrorCode.BAD_PROOF);
    };
    const flipped = new Uint8Array(proof.blocks[1]);
    flipped[100] ^= 1;
    await fails(file, p, [proof.blocks[0], flipped], "a flipped byte in the leaf");
    const rootFlipped = new Uint8Array(proof.blocks[0]);
    rootFlipped[rootFlipped.length - 1] ^= 1;
    await fails(file, p, [rootFlipped, proof.blocks[1]], "a flipped byte in the root");
    await fails(file, p, [proof.blocks[0], await get(leaf0.cid)], "another leaf of the same DAG");
    await fails(file, leaf0.start, proof.blocks, "the right path for another position");
    await fails(file, p, [proof.blocks[0]], "the path cut above the block");
    await fails(file, p, [...proof.blocks, proof.blocks[1]], "a block past the end");
    await fails(tree, p, proof.blocks, "another root");
    await fails(file, p, [], "no blocks");
    // the wire form round-trips, and garbage does not decode
    const hex = (bs: Uint8Array[]) => bs.map((b) => Buffer.from(b).toString("hex"));
    expect(hex(decodeProof(encodeProof(proof.blocks)))).toEqual(hex(proof.blocks));
    expect(() => decodeProof(new Uint8Array([0, 0, 0, 9, 1, 2]))).toThrow(PinError);
  });
});

describe("the storage/pin handler", () => {
  let handler: JobHandler;
  let app: FastifyInstance;
  let url: string;
  let request: { cid: CID; dagBytes: bigint };
  const job = (input: Uint8Array, spec: Record<string, unknown> = {}): JobInput => ({
    id: 7n,
    kind: "storage/pin",
    spec: { providers: requester.addresses(), ...spec },
    input,
  });
  const signal = () => AbortSignal.timeout(60_000);

  beforeAll(async () => {
    handler = createPinHandler({
      stateDir: join(dir, "worker-pin"),
      limits: { maxPinBytes: 8n << 20n, capacityBytes: 16n << 20n },
      fetchTimeoutMs: 10_000,
      checkAttempts: 2,
      checkRetryMs: 50,
    });
    app = Fastify();
    await handler.routes?.(app, { storage: worker });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    request = { cid: file, dagBytes: (await layout(file, local(requester))).end };
  });

  afterAll(async () => {
    await app?.close();
  });

  it("admits a fetchable DAG within its limits; refuses a wrong size, an oversized DAG and a malformed request", async () => {
    const ok = job(encodeRequest(request));
    expect(await handler.admit?.(ok, signal(), { storage: worker })).toBeUndefined();
    const wrong = await handler.admit?.(job(encodeRequest({ ...request, dagBytes: request.dagBytes + 1n })), signal(), {
      storage: worker,
    });
    expect(wrong).toMatch(/^PIN_SIZE_MISMATCH/);
    const big = await handler.admit?.(job(encodeRequest({ ...request, dagBytes: 9n << 20n })), signal(), {
      storage: worker,
    });
    expect(big).toMatch(/^PIN_TOO_LARGE/);
    const garbage = await handler.admit?.(job(new TextEncoder().encode("{}")), signal(), { storage: worker });
    expect(garbage).toMatch(/^PIN_BAD_REQUEST/);
  });

  it("pins over bitswap, answers challenges from its own blocks; a deleted block fails its challenge; release unpins", {
    timeout: 300_000,
  }, async () => {
    const input = job(encodeRequest(request));
    const out = await handler.run(input, { signal: signal(), progress() {}, storage: worker });
    const { blocks } = await layout(file, local(requester));
    expect(new TextDecoder().decode(out.bytes)).toBe(
      new TextDecoder().decode(encodeReceipt({ cid: file, dagBytes: request.dagBytes, blocks: blocks.length })),
    );
    for (const b of blocks) expect(await worker.hasBlock(b.cid), `${b.cid} held`).toBe(true);
    expect(await worker.isPinned(file)).toBe(true);

    const check = (position: bigint, sources = [url]) =>
      handler.check?.(input, out.bytes, { signal: signal(), evidenceURI: evidenceURI(position), sources });
    for (const b of blocks) expect(await check(b.start + b.length / 2n), `position in ${b.cid}`).toEqual({ ok: true });

    // the worker loses one leaf (deleted from disk): challenges under it fail, the others still pass
    const lost = blocks[3];
    const { dir: shard, file: name } = new NextToLast().encode(lost.cid);
    rmSync(join(dir, "worker", "blocks", shard, name));
    expect(await worker.hasBlock(lost.cid)).toBe(false);
    const failed = await check(lost.start + 1n);
    expect(failed?.ok).toBe(false);
    expect(failed?.reason).toMatch(/HTTP 404/);
    expect(await check(blocks[1].start)).toEqual({ ok: true });
    // ...and a peer that has the block does not help: proofs come from local blocks only
    await worker.connect(requester.addresses()[0]);
    expect((await check(lost.start + 1n))?.ok).toBe(false);

    // a worker serving a proof of another position is caught at once (no retry can fix a wrong proof)
    const liar = Fastify();
    const wrongProof = encodeProof((await provePosition(file, blocks[1].start, local(requester))).blocks);
    liar.get("/pin/proof/:cid", async (_req, reply) => reply.send(Buffer.from(wrongProof)));
    const liarURL = await liar.listen({ host: "127.0.0.1", port: 0 });
    try {
      const r = await check(blocks[2].start, [liarURL]);
      expect(r?.ok).toBe(false);
      expect(r?.reason).toMatch(/PIN_BAD_PROOF/);
      expect(r?.reason).not.toMatch(/try 2/);
    } finally {
      await liar.close();
    }

    // a receipt for another DAG never passes, whatever the worker serves
    const other = encodeReceipt({ cid: tree, dagBytes: request.dagBytes, blocks: 5 });
    expect((await handler.check?.(input, other, { signal: signal(), sources: [url] }))?.ok).toBe(false);

    await handler.release?.(input, { storage: worker });
    expect(await worker.isPinned(file)).toBe(false);
  });
});
