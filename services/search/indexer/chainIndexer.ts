import { Contract, decodeBytes32String, type JsonRpcProvider, type Log, toQuantity } from "ethers";
import type { Logger } from "../../../runtime/lib/logger.js";
import { createHeadWatcher, type HeadWatcher } from "../../runtime/chain/heads.js";
import { createRPCClient } from "../../runtime/chain/rpcClient.js";
import type { SearchEngine } from "../engine.js";
import type { SearchMetrics } from "../metrics.js";
import {
  type ChainDoc,
  COURSE_ACTIVE,
  COURSE_LISTED,
  chainIndexSettings,
  collection,
  courseActive,
  courseDoc,
  decodeTransfer,
  JOB_POSTED,
  jobDoc,
  MARKET_ADDRESS,
  market,
  nftDoc,
  RESULT_SUBMITTED,
  TRANSFER,
} from "./chainDocs.js";

/**
 * Follows the chain's finalized blocks (new heads over WebSocket, polling as fallback; a committed block is final
 * on Azora, so nothing is ever undone) and indexes what native modules emit: NFT mints and transfers (metadata
 * fetched by CID through the storage gateway), CourseMarketplace listings, job results. Each range of blocks is
 * one task; the height is saved only after its task succeeded, so a restart resumes where it left off and a range
 * is indexed at least once (documents are idempotent by id). While far behind it logs a progress line.
 */
export interface ChainIndexerOptions {
  engine: SearchEngine;
  provider: JsonRpcProvider;
  ws: string;
  index: string;
  gateway: string;
  marketplaces: string[];
  fromBlock: number;
  batchBlocks: number;
  semantic: boolean;
  logger: Logger;
  metrics?: SearchMetrics | null;
  /** Metadata fetch timeout per attempt (default 5 s, 3 attempts). */
  fetchTimeoutMs?: number;
}

const HEIGHT_KEY = "indexer.height";
const MAX_METADATA_BYTES = 256 * 1024;

export class ChainIndexer {
  private heads: HeadWatcher | null = null;
  private height = -1;
  private head = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private lastProgress = 0;
  private readonly names = new Map<string, string>();
  private readonly jobKinds = new Map<string, string>();

  constructor(private readonly o: ChainIndexerOptions) {}

  progress() {
    return { height: this.height, head: this.head, catchingUp: this.head - this.height > 1 };
  }

  async start(): Promise<void> {
    const { engine, index } = this.o;
    if ((await engine.index(index)) === null) await engine.createIndex(index, chainIndexSettings(this.o.semantic));
    const saved = await engine.store.getMeta(HEIGHT_KEY);
    this.height = saved === null ? this.o.fromBlock - 1 : Number(saved);
    this.heads = createHeadWatcher(createRPCClient(this.o.provider._getConnection().url), {
      wsUrl: this.o.ws,
      pollMs: 2_000,
      logger: this.o.logger,
    });
    this.heads.onHead((h) => {
      this.head = h.number;
      this.o.metrics?.chainHead.set(h.number);
      this.kick();
    });
    const first = await this.heads.start();
    this.head = first.number;
    this.o.logger.info("indexer started", { from: this.height + 1, head: this.head, index });
    this.kick();
  }

  private kick(): void {
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.catchUp();
        } catch (e) {
          if (!this.stopped)
            this.o.logger.warn("indexing failed; retrying on the next block", { height: this.height }, e);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
  }

  /** Indexes every block up to the current head, a range at a time. */
  private async catchUp(): Promise<void> {
    const started = Date.now();
    const startHeight = this.height;
    while (!this.stopped && this.height < this.head) {
      const from = this.height + 1;
      const to = Math.min(this.head, from + this.o.batchBlocks - 1);
      await this.indexRange(from, to);
      this.height = to;
      await this.o.engine.store.setMeta(HEIGHT_KEY, String(to));
      this.o.metrics?.indexedHeight.set(to);
      if (this.head - this.height > this.o.batchBlocks && Date.now() - this.lastProgress > 2_000) {
        this.lastProgress = Date.now();
        const rate = (this.height - startHeight) / Math.max(0.001, (Date.now() - started) / 1000);
        this.o.logger.info("indexer catching up", {
          height: this.height,
          head: this.head,
          blocksPerSec: Math.round(rate),
          etaSec: Math.round((this.head - this.height) / Math.max(rate, 1)),
        });
      }
    }
  }

  private async logs(
    filter: { address?: string | string[]; topics: (string | string[] | null)[] },
    from: number,
    to: number,
  ) {
    return (await this.o.provider.send("eth_getLogs", [
      { ...filter, fromBlock: toQuantity(from), toBlock: toQuantity(to) },
    ])) as Log[];
  }

  async indexRange(from: number, to: number): Promise<void> {
    const [transfers, courses, jobs] = await Promise.all([
      this.logs({ topics: [TRANSFER] }, from, to),
      this.o.marketplaces.length === 0
        ? Promise.resolve([] as Log[])
        : this.logs({ address: this.o.marketplaces, topics: [[COURSE_LISTED, COURSE_ACTIVE]] }, from, to),
      this.logs({ address: MARKET_ADDRESS, topics: [[JOB_POSTED, RESULT_SUBMITTED]] }, from, to),
    ]);
    const full: ChainDoc[] = [];
    const partial: ChainDoc[] = [];
    const norm = (l: Log) =>
      ({
        ...l,
        blockNumber: Number(l.blockNumber),
        index: Number((l as { logIndex?: unknown }).logIndex ?? 0),
      }) as unknown as Log;
    for (const raw of transfers) {
      const l = norm(raw);
      const t = decodeTransfer(l);
      if (t === null) continue;
      if (t.from === "0x0000000000000000000000000000000000000000") {
        full.push(await this.nft(t));
        this.o.metrics?.indexerDocs.inc({ source: "nft" });
      } else {
        partial.push({ id: `nft-${t.collection.toLowerCase()}-${t.tokenId}`, owner: t.to });
      }
    }
    for (const raw of courses) {
      const l = norm(raw);
      if (l.topics[0] === COURSE_LISTED) {
        const certificates = `0x${l.topics[3].slice(26)}`;
        full.push(courseDoc(l, await this.collectionName(certificates)));
        this.o.metrics?.indexerDocs.inc({ source: "course" });
      } else partial.push(courseActive(l));
    }
    for (const raw of jobs) {
      const l = norm(raw);
      const e = market.parseLog(l)!;
      if (l.topics[0] === JOB_POSTED) {
        this.jobKinds.set(String(e.args.id), safeKind(e.args.kind as string));
        continue;
      }
      full.push(jobDoc(l, this.jobKinds.get(String(e.args.id)) ?? (await this.jobKind(e.args.id as bigint))));
      this.o.metrics?.indexerDocs.inc({ source: "job" });
    }
    const { engine, index } = this.o;
    for (const [docs, mode] of [
      [full, "replace"],
      [partial, "update"],
    ] as const) {
      if (docs.length === 0) continue;
      const t = await engine.waitForTask((await engine.addDocuments(index, docs, mode)).uid, 600_000);
      if (t.status !== "succeeded") throw new Error(`indexing blocks ${from}–${to} failed: ${t.error}`);
    }
    if (full.length + partial.length > 0)
      this.o.logger.debug("indexed", { from, to, documents: full.length + partial.length });
  }

  private async collectionName(address: string): Promise<string> {
    let n = this.names.get(address);
    if (n === undefined) {
      n = String(await new Contract(address, collection, this.o.provider).name().catch(() => ""));
      this.names.set(address, n);
    }
    return n;
  }

  private async jobKind(id: bigint): Promise<string> {
    const job = await new Contract(MARKET_ADDRESS, market, this.o.provider).job(id).catch(() => null);
    return job === null ? "" : safeKind(job[1][0] as string);
  }

  private async nft(t: { collection: string; tokenId: bigint; to: string; block: number }): Promise<ChainDoc> {
    const c = new Contract(t.collection, collection, this.o.provider);
    const uri = String(await c.tokenURI(t.tokenId).catch(() => ""));
    const meta = await this.metadata(uri);
    return nftDoc(t, await this.collectionName(t.collection), uri, meta);
  }

  /** The metadata JSON an `ipfs://` token URI names, through the storage gateway (which checks blocks against the CID). */
  private async metadata(uri: string): Promise<Record<string, unknown> | null> {
    const m = /^ipfs:\/\/(?:ipfs\/)?([A-Za-z0-9]+(?:\/[^?#]*)?)$/.exec(uri);
    if (m === null) return null;
    const url = `${this.o.gateway.replace(/\/+$/, "")}/ipfs/${m[1]}`;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(this.o.fetchTimeoutMs ?? 5_000) });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const body = new Uint8Array(await r.arrayBuffer());
        if (body.length > MAX_METADATA_BYTES) throw new Error("metadata larger than 256 KiB");
        const json = JSON.parse(new TextDecoder().decode(body));
        return typeof json === "object" && json !== null && !Array.isArray(json) ? json : null;
      } catch (e) {
        if (attempt === 3) {
          this.o.logger.warn("NFT metadata unavailable; indexed without it", { uri }, e);
          return null;
        }
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    return null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.heads?.close();
    await this.running;
  }
}

function safeKind(k: string): string {
  try {
    return decodeBytes32String(k);
  } catch {
    return k;
  }
}
