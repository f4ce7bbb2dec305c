import { formatEther, getAddress, Interface, type Log } from "ethers";
import { CourseMarketplaceAbi } from "../../../contracts/artifacts/CourseMarketplace.js";
import { IAzoraCollectionAbi } from "../../../contracts/artifacts/IAzoraCollection.js";
import { IJobMarketAbi } from "../../../contracts/artifacts/IJobMarket.js";

/**
 * What the chain indexer makes of native-module events: one document per NFT (minted on a native collection, its
 * `ipfs://` metadata fetched), per course listed on a CourseMarketplace, per job result delivered on the market.
 * Pure decoding here; fetching and calls are the indexer's (`chainIndexer.ts`).
 */
export const collection = new Interface(IAzoraCollectionAbi);
export const marketplace = new Interface(CourseMarketplaceAbi);
export const market = new Interface(IJobMarketAbi);

export const TRANSFER = collection.getEvent("Transfer")!.topicHash;
export const COURSE_LISTED = marketplace.getEvent("CourseListed")!.topicHash;
export const COURSE_ACTIVE = marketplace.getEvent("CourseActiveSet")!.topicHash;
export const JOB_POSTED = market.getEvent("JobPosted")!.topicHash;
export const RESULT_SUBMITTED = market.getEvent("ResultSubmitted")!.topicHash;
export const MARKET_ADDRESS = "0x0000000000000000000000000000000000000A05";

/** Native NFT collections live at 0x + 10 zero bytes + 0a03 + an 8-byte number. */
export const isNativeCollection = (address: string) => /^0x0{20}0a03[0-9a-f]{16}$/i.test(address);

/** The chain index's settings: what is searched, faceted and sorted, and semantic search on. */
export function chainIndexSettings(semantic: boolean) {
  return {
    searchableAttributes: ["title", "course", "description", "collectionName", "attributes", "jobKind"],
    filterableAttributes: ["kind", "collection", "owner", "price", "jobKind", "teacher", "active"],
    sortableAttributes: ["price", "block"],
    embedder: semantic ? { source: "azora", fields: ["title", "course", "description"] } : null,
  };
}

export type ChainDoc = Record<string, unknown> & { id: string };

export interface NFTMint {
  collection: string;
  tokenId: bigint;
  to: string;
  block: number;
}

export function decodeTransfer(log: Log): (NFTMint & { from: string }) | null {
  if (log.topics.length !== 4 || !isNativeCollection(log.address)) return null;
  const e = collection.parseLog(log);
  if (e === null) return null;
  return {
    collection: getAddress(log.address),
    from: getAddress(e.args.from as string),
    to: getAddress(e.args.to as string),
    tokenId: e.args.tokenId as bigint,
    block: log.blockNumber,
  };
}

/** An NFT's document from its mint, its collection's name and its metadata JSON (ERC-721 metadata schema). */
export function nftDoc(
  m: NFTMint,
  collectionName: string,
  tokenURI: string,
  meta: Record<string, unknown> | null,
): ChainDoc {
  const str = (v: unknown) => (typeof v === "string" ? v.slice(0, 8192) : undefined);
  const attrs = Array.isArray(meta?.attributes)
    ? (meta.attributes as { trait_type?: unknown; value?: unknown }[])
        .map((a) => `${String(a?.trait_type ?? "")} ${String(a?.value ?? "")}`.trim())
        .join(". ")
    : undefined;
  return {
    id: `nft-${m.collection.toLowerCase()}-${m.tokenId}`,
    kind: "nft",
    collection: m.collection,
    collectionName,
    tokenId: m.tokenId.toString(),
    owner: m.to,
    tokenURI,
    title: str(meta?.name) ?? `${collectionName} #${m.tokenId}`,
    description: str(meta?.description),
    course: str(meta?.course),
    image: str(meta?.image),
    attributes: attrs,
    block: m.block,
  };
}

export function courseDoc(log: Log, name: string): ChainDoc {
  const e = marketplace.parseLog(log)!;
  return {
    id: `course-${log.address.toLowerCase()}-${e.args.courseId}`,
    kind: "course",
    marketplace: getAddress(log.address),
    courseId: (e.args.courseId as bigint).toString(),
    teacher: getAddress(e.args.teacher as string),
    owner: getAddress(e.args.teacher as string),
    collection: getAddress(e.args.certificates as string),
    title: name,
    price: Number(formatEther(e.args.price as bigint)),
    durationSec: Number(e.args.duration as bigint),
    active: true,
    block: log.blockNumber,
  };
}

export function courseActive(log: Log): { id: string; active: boolean } {
  const e = marketplace.parseLog(log)!;
  return { id: `course-${log.address.toLowerCase()}-${e.args.courseId}`, active: e.args.active as boolean };
}

export function jobDoc(log: Log, kind: string): ChainDoc {
  const e = market.parseLog(log)!;
  return {
    id: `job-${e.args.id}-${e.args.slot}`,
    kind: "job",
    jobId: (e.args.id as bigint).toString(),
    jobKind: kind,
    owner: getAddress(e.args.worker as string),
    title: `${kind} result of job ${e.args.id}`,
    resultHash: e.args.resultHash as string,
    resultURI: e.args.resultURI as string,
    block: log.blockNumber,
  };
}
