/**
 * The storage port: what the gateway, the CLI and the workers need from an IPFS node. Two implementations
 * sit behind it, chosen by config — Helia in-process (`helia/`) and a Kubo daemon over its RPC API (`kubo/`).
 * Both import with the same UnixFS parameters (CIDv1, raw leaves, 1 MiB fixed chunks, balanced DAG with up to
 * 1024 links per node: IPIP-499's `unixfs-v1-2025` profile), so the same bytes get the same CID on either.
 */
import type { CID } from "multiformats/cid";

export type BackendKind = "helia" | "kubo";

/** `raw` is a single raw-codec block (a small file or a leaf); `file`/`directory` are UnixFS DAG-PB nodes. */
export type EntryType = "file" | "directory" | "raw";

export interface EntryStat {
  cid: CID;
  type: EntryType;
  /** File content bytes (0 for directories). */
  size: bigint;
}

export interface DirEntry {
  name: string;
  cid: CID;
  type: EntryType;
  size: bigint;
}

/** One entry of a tree to import: a file (with content) or an empty directory (without). */
export interface ImportEntry {
  /** Relative path with `/` separators, e.g. `images/1.png`. */
  path: string;
  content?: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Local blocks only: never ask peers. */
  offline?: boolean;
}

export interface CatOptions extends ReadOptions {
  offset?: number;
  length?: number;
}

export interface StorageBackend {
  readonly kind: BackendKind;
  /** Imports one file's bytes; returns the root CID of its DAG. */
  addFile(content: Uint8Array | AsyncIterable<Uint8Array>, opts?: { signal?: AbortSignal }): Promise<CID>;
  /** Imports a tree; returns the CID of the directory that holds its top-level entries. */
  addTree(entries: Iterable<ImportEntry> | AsyncIterable<ImportEntry>, opts?: { signal?: AbortSignal }): Promise<CID>;
  /** Resolves `path` (segments, already validated) under `cid`. Throws NOT_FOUND / PATH_NOT_FOUND. */
  stat(cid: CID, path?: readonly string[], opts?: ReadOptions): Promise<EntryStat>;
  /** File content, optionally a byte range of it. */
  cat(cid: CID, opts?: CatOptions): AsyncIterable<Uint8Array>;
  ls(cid: CID, opts?: ReadOptions): AsyncIterable<DirEntry>;
  /** One block's bytes, exactly as stored (the trustless-gateway `?format=raw` answer). */
  getBlock(cid: CID, opts?: ReadOptions): Promise<Uint8Array>;
  hasBlock(cid: CID): Promise<boolean>;
  /** Keeps the DAG under `cid` (fetching what is missing) from garbage collection. */
  pin(cid: CID, opts?: { signal?: AbortSignal }): Promise<void>;
  unpin(cid: CID): Promise<void>;
  isPinned(cid: CID): Promise<boolean>;
  /** libp2p addresses peers can dial to exchange blocks over bitswap (with /p2p/<id>). */
  addresses(): string[];
  /** Connects to a peer so bitswap can ask it for blocks. */
  connect(multiaddr: string, opts?: { signal?: AbortSignal }): Promise<void>;
  stop(): Promise<void>;
}

/** The UnixFS import parameters both backends use (see the module comment). */
export const IMPORT_PARAMS = {
  cidVersion: 1,
  rawLeaves: true,
  chunkSizeBytes: 1_048_576,
  maxChildrenPerNode: 1024,
} as const;
