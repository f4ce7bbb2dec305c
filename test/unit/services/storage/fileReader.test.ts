import { createHash } from "node:crypto";
import fc from "fast-check";
import { exporter } from "ipfs-unixfs-exporter";
import { type ImporterOptions, importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced, trickle } from "ipfs-unixfs-importer/layout";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { describe, expect, it } from "vitest";
import { type FileReaderPorts, readFileRange } from "../../../../services/storage/helia/fileReader.js";

/**
 * readFileRange against the reference UnixFS exporter, on DAGs of several importers' shapes: balanced with raw
 * leaves (ours, scaled down), CIDv0 with DAG-PB leaves, trickle, a single block and an empty file. Half the raw
 * leaves are "local" (streamed in small pieces), half come through block(): both paths are walked.
 */

function seededBytes(n: number, seed: string): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, ctr = 0; i < n; i += 32, ctr++)
    out.set(
      createHash("sha256")
        .update(`${seed}:${ctr}`)
        .digest()
        .subarray(0, Math.min(32, n - i)),
      i,
    );
  return out;
}

function memoryStore() {
  const blocks = new Map<string, Uint8Array>();
  return {
    blocks,
    async put(cid: CID, bytes: Uint8Array) {
      blocks.set(cid.toString(), bytes);
      return cid;
    },
    async has(cid: CID) {
      return blocks.has(cid.toString());
    },
    async *get(cid: CID) {
      const b = blocks.get(cid.toString());
      if (b === undefined) throw new Error(`missing ${cid}`);
      yield b;
    },
  };
}

async function importFile(bytes: Uint8Array, opts: Partial<ImporterOptions>) {
  const store = memoryStore();
  let root: CID | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the importer wants interface-blockstore's full type; put/has/get suffice
  for await (const r of importer([{ content: bytes }], store as any, opts)) root = r.cid;
  return { store, root: root as CID };
}

function portsOf(store: ReturnType<typeof memoryStore>): FileReaderPorts {
  return {
    async block(cid) {
      const b = store.blocks.get(cid.toString());
      if (b === undefined) throw new Error(`missing ${cid}`);
      return b;
    },
    async streamLocal(cid, start, end) {
      if (cid.code !== raw.code || cid.multihash.digest[0] % 2 === 0) return undefined;
      const b = store.blocks.get(cid.toString()) as Uint8Array;
      return (async function* () {
        for (let i = start; i < Math.min(end, b.length); i += 97) yield b.subarray(i, Math.min(i + 97, end, b.length));
      })();
    },
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const SHAPES: [string, number, Partial<ImporterOptions>][] = [
  [
    "balanced, raw leaves, CIDv1",
    20_000,
    {
      cidVersion: 1,
      rawLeaves: true,
      chunker: fixedSize({ chunkSize: 1000 }),
      layout: balanced({ maxChildrenPerNode: 4 }),
    },
  ],
  [
    "balanced, DAG-PB leaves, CIDv0",
    9_000,
    {
      cidVersion: 0,
      rawLeaves: false,
      chunker: fixedSize({ chunkSize: 777 }),
      layout: balanced({ maxChildrenPerNode: 3 }),
    },
  ],
  [
    "trickle, raw leaves",
    12_345,
    {
      cidVersion: 1,
      rawLeaves: true,
      chunker: fixedSize({ chunkSize: 500 }),
      layout: trickle({ maxChildrenPerNode: 3, layerRepeat: 2 }),
    },
  ],
  ["one raw block", 600, { cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: 1000 }) }],
  ["empty file", 0, { cidVersion: 1, rawLeaves: true }],
];

describe("readFileRange", () => {
  for (const [name, size, opts] of SHAPES) {
    it(`${name}: whole file and random ranges equal the exporter's`, async () => {
      const bytes = seededBytes(size, name);
      const { store, root } = await importFile(bytes, opts);
      const ports = portsOf(store);
      expect((await collect(readFileRange(ports, root))).equals(Buffer.from(bytes))).toBe(true);
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const entry = await exporter(root, store as any);
      if (entry.type !== "file" && entry.type !== "raw") throw new Error(entry.type);
      await fc.assert(
        fc.asyncProperty(fc.nat(size + 10), fc.nat(size + 10), async (offset, length) => {
          const ours = await collect(readFileRange(ports, root, offset, length));
          const ref = offset >= size ? Buffer.alloc(0) : await collect(entry.content({ offset, length }));
          expect(ours.equals(ref), `${offset}+${length}`).toBe(true);
          expect(ours.equals(Buffer.from(bytes.subarray(offset, offset + length)))).toBe(true);
        }),
        { numRuns: 60, seed: 9 },
      );
    });
  }

  it("refuses a directory", async () => {
    const store = memoryStore();
    let root: CID | undefined;
    // biome-ignore lint/suspicious/noExplicitAny: as above
    for await (const r of importer([{ path: "d/a", content: new Uint8Array([1]) }], store as any, {
      wrapWithDirectory: true,
    }))
      root = r.cid;
    await expect(collect(readFileRange(portsOf(store), root as CID))).rejects.toMatchObject({
      code: "STORAGE_UNSUPPORTED_CONTENT",
    });
  });
});
