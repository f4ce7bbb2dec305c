/**
 * The in-process IPFS node: Helia 7 with UnixFS, blocks in a filesystem blockstore and node state (peer
 * key, pins) in a filesystem datastore under the data dir. Local-only by construction: libp2p listens where
 * the config says (127.0.0.1 by default), dials only the peers it is given, and has no public bootstrap
 * list, no mDNS, no DHT, no delegated routers and no HTTP gateways — so nothing leaves the machine unless an
 * operator names a peer. Blocks move between nodes over bitswap.
 */
import { createReadStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type UnixFS, unixfs } from "@helia/unixfs";
import * as dagPB from "@ipld/dag-pb";
import { identify } from "@libp2p/identify";
import { noise } from "@libp2p/noise";
import { tcp } from "@libp2p/tcp";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { FsDatastore } from "datastore-fs";
import { createHelia } from "helia";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import type { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import {
  type CatOptions,
  type DirEntry,
  type EntryStat,
  IMPORT_PARAMS,
  type ImportEntry,
  type ReadOptions,
  type StorageBackend,
} from "../backend.js";
import { StorageError, StorageErrorCode } from "../errors.js";
import { WholeBlockFsBlockstore } from "./blockstore.js";
import { type FileReaderPorts, readFileRange } from "./fileReader.js";

/** Read size when streaming a leaf from disk: small enough for a fast first byte, large enough for throughput. */
const STREAM_CHUNK = 256 * 1024;

export interface HeliaBackendOptions {
  /** Blocks go to `<dataDir>/blocks`, node state (peer key, pins) to `<dataDir>/datastore`. */
  dataDir: string;
  /** libp2p listen addresses, e.g. `/ip4/127.0.0.1/tcp/4010`. Empty: no listener (a client-only node). */
  listen: readonly string[];
  /** Peers to dial at start (multiaddrs with /p2p/<id>); bitswap asks connected peers for missing blocks. */
  peers: readonly string[];
}

/** Imports use exactly these settings; see IMPORT_PARAMS. */
const IMPORTER = {
  cidVersion: IMPORT_PARAMS.cidVersion,
  rawLeaves: IMPORT_PARAMS.rawLeaves,
  chunker: fixedSize({ chunkSize: IMPORT_PARAMS.chunkSizeBytes }),
  layout: balanced({ maxChildrenPerNode: IMPORT_PARAMS.maxChildrenPerNode }),
} as const;

export async function createHeliaBackend(opts: HeliaBackendOptions): Promise<StorageBackend> {
  mkdirSync(opts.dataDir, { recursive: true });
  const blockstore = new WholeBlockFsBlockstore(join(opts.dataDir, "blocks"));
  const datastore = new FsDatastore(join(opts.dataDir, "datastore"));
  await blockstore.open();
  await datastore.open();
  const helia = createHelia({
    blockstore,
    datastore,
    // no delegated routing, no recursive gateways: no HTTP traffic at all
    http: { delegatedRouters: [], recursiveGateways: [] },
    libp2p: {
      addresses: { listen: [...opts.listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: [],
      services: { identify: identify() },
    },
  });
  await helia.start();
  const fs: UnixFS = unixfs(helia);

  const backend: StorageBackend = {
    kind: "helia",

    async addFile(content, o) {
      return fs.addByteStream(toStream(content), { ...IMPORTER, signal: o?.signal });
    },

    async addTree(entries, o) {
      let root: CID | undefined;
      for await (const r of fs.addAll(toCandidates(entries), {
        ...IMPORTER,
        wrapWithDirectory: true,
        signal: o?.signal,
      }))
        if (r.path === "") root = r.cid;
      if (root === undefined) throw new StorageError({ code: StorageErrorCode.INVALID_PATH, path: "(empty tree)" });
      return root;
    },

    async stat(cid, path = [], o) {
      if (path.length === 0 && cid.code === raw.code) {
        // a raw block is its own content: its size is the file's, no need to read it
        const size = await blockstore.sizeOf(cid);
        if (size !== undefined) return { cid, type: "raw", size: BigInt(size) };
      }
      try {
        const s = await fs.stat(cid, { path: path.length > 0 ? path.join("/") : undefined, ...readOpts(o) });
        return { cid: s.cid, type: s.type, size: s.type === "directory" ? 0n : s.size } satisfies EntryStat;
      } catch (e) {
        throw mapError(e, cid, path);
      }
    },

    async *cat(cid, o?: CatOptions) {
      const ports: FileReaderPorts = {
        block: (c, signal) => backend.getBlock(c, { signal, offline: o?.offline }),
        async streamLocal(c, start, end) {
          const size = await blockstore.sizeOf(c);
          if (size === undefined) return undefined;
          if (start >= Math.min(end, size)) return (async function* () {})();
          return createReadStream(blockstore.fileOf(c), {
            start,
            end: Math.min(end, size) - 1,
            highWaterMark: STREAM_CHUNK,
          });
        },
      };
      try {
        yield* readFileRange(ports, cid, o?.offset, o?.length, o?.signal);
      } catch (e) {
        throw mapError(e, cid, []);
      }
    },

    async *ls(cid, o) {
      try {
        for await (const e of fs.ls(cid, readOpts(o))) {
          const type = e.cid.code === raw.code ? "raw" : (await fs.stat(e.cid, readOpts(o))).type;
          yield { name: e.name, cid: e.cid, type, size: e.size } satisfies DirEntry;
        }
      } catch (e) {
        throw mapError(e, cid, []);
      }
    },

    async getBlock(cid, o) {
      try {
        const chunks: Uint8Array[] = [];
        for await (const c of helia.blockstore.get(cid, readOpts(o))) chunks.push(c);
        return chunks.length === 1 ? chunks[0] : new Uint8Array(Buffer.concat(chunks));
      } catch (e) {
        throw mapError(e, cid, []);
      }
    },

    hasBlock: async (cid) => blockstore.has(cid),

    async pin(cid, o) {
      if (await helia.pins.isPinned(cid)) return;
      for await (const _ of helia.pins.add(cid, { signal: o?.signal })) {
        // drains: each yielded CID is a block now held and pinned
      }
    },

    async unpin(cid) {
      if (!(await helia.pins.isPinned(cid))) return;
      // The walk that releases each block's pin count reads local blocks only: Helia's own walker would ask
      // peers for a block this node lost and wait on them (or reject from a background job).
      for await (const _ of helia.pins.rm(cid, { walker: localWalker(blockstore) })) {
        // drains
      }
    },

    isPinned: (cid) => helia.pins.isPinned(cid),

    addresses: () => helia.libp2p.getMultiaddrs().map((a) => a.toString()),

    async connect(addr, o) {
      try {
        await helia.libp2p.dial(multiaddr(addr), { signal: o?.signal });
      } catch (e) {
        throw new StorageError({
          code: StorageErrorCode.BACKEND_UNAVAILABLE,
          backend: "helia",
          reason: `dial ${addr}: ${(e as Error).message}`,
        });
      }
    },

    async stop() {
      await helia.stop();
      await blockstore.close();
      await datastore.close();
    },
  };

  for (const p of opts.peers) await backend.connect(p, { signal: AbortSignal.timeout(10_000) });
  return backend;
}

/**
 * A graph walker over the blocks this node holds, for `pins.rm`: every occurrence of a held block, depth first
 * (as Helia's walker, which `pins.add` counted with), a missing block's subtree skipped, dag-pb links followed.
 */
function localWalker(local: WholeBlockFsBlockstore): NonNullable<RmOptions["walker"]> {
  return () => ({
    async *walk(root: CID) {
      const stack: { cid: CID; depth: number; path: CID[] }[] = [{ cid: root, depth: 0, path: [root] }];
      while (stack.length > 0) {
        const n = stack.pop() as { cid: CID; depth: number; path: CID[] };
        if (!(await local.has(n.cid))) continue;
        const chunks: Uint8Array[] = [];
        for await (const c of local.get(n.cid)) chunks.push(c);
        const bytes = chunks.length === 1 ? chunks[0] : new Uint8Array(Buffer.concat(chunks));
        // pins.rm reads only the block's CID
        yield { block: { cid: n.cid, bytes }, depth: n.depth, path: n.path } as never;
        if (n.cid.code !== dagPB.code) continue;
        const links = dagPB.decode(bytes).Links;
        for (let i = links.length - 1; i >= 0; i--)
          stack.push({ cid: links[i].Hash, depth: n.depth + 1, path: [...n.path, links[i].Hash] });
      }
    },
  });
}

type RmOptions = NonNullable<Parameters<ReturnType<typeof createHelia>["pins"]["rm"]>[1]>;

function readOpts(o: ReadOptions | undefined): { signal?: AbortSignal; offline?: boolean } {
  return { signal: o?.signal, offline: o?.offline };
}

async function* toStream(content: Uint8Array | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (content instanceof Uint8Array) yield content;
  else yield* content;
}

async function* toCandidates(entries: Iterable<ImportEntry> | AsyncIterable<ImportEntry>) {
  for await (const e of entries) {
    yield e.content === undefined ? { path: e.path } : { path: e.path, content: toStream(e.content) };
  }
}

/** Helia and the UnixFS exporter name their errors (`err.name`); map them to codes once, here. */
function mapError(e: unknown, cid: CID, path: readonly string[]): unknown {
  if (e instanceof StorageError) return e;
  const name = (e as { name?: string }).name;
  switch (name) {
    case "NotFoundError":
    case "NoPropError":
      return path.length > 0
        ? new StorageError({ code: StorageErrorCode.PATH_NOT_FOUND, cid: cid.toString(), path: path.join("/") })
        : new StorageError({ code: StorageErrorCode.NOT_FOUND, cid: cid.toString() });
    case "BlockNotFoundWhileOfflineError":
    case "OfflineError":
      return new StorageError({ code: StorageErrorCode.NOT_FOUND, cid: cid.toString() });
    case "NotUnixFSError":
    case "NoResolverError":
    case "NotADirectoryError":
      return new StorageError({ code: StorageErrorCode.UNSUPPORTED_CONTENT, cid: cid.toString(), codec: cid.code });
    default:
      return e;
  }
}
