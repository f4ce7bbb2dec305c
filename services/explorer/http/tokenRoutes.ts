/**
 * The REST routes behind the web UI's token, collection, contract and chart views:
 * - `GET /v1/contracts/:address/abi`: the ABI the contract tab uses (verified, else a native module's).
 * - `POST /v1/call`: a narrow read-only `eth_call` proxy (the page's CSP lets it talk only to this server), so the
 *   contract tab can read view functions. Only `{to, data}` at `latest`; no value, sender or state overrides.
 * - `GET /v1/nfts/:token/:tokenId`: the token's metadata, resolved and sanitised by `nftMetadata.ts`.
 * - `GET /v1/stats/blocks`: per-block series for the home charts (tx/s, gas, block interval, indexer lag).
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { IAzoraCollectionAbi } from "../../../contracts/artifacts/IAzoraCollection.js";
import { type RPCClient, RPCError } from "../../runtime/chain/rpcClient.js";
import { isNativeCollection, NATIVE_MODULES } from "../decode.js";
import { ExplorerError, ExplorerErrorCode } from "../errors.js";
import { MetadataResolver } from "../nftMetadata.js";
import type { ExplorerStore } from "../store.js";
import { collectionItems, topHolders } from "../tokenQueries.js";
import { Address, ErrorBody, Paging } from "./schemas.js";

/** Call data above this size is refused (a view call's arguments; 32 KiB). */
const MAX_CALL_BYTES = 32 * 1024;
/** How many indexed-at times are remembered for the lag series. */
const LAG_MEMORY = 1_000;

const SELECTOR = { tokenURI: "0xc87b56dd", uri: "0x0e89341c" } as const;

/** ABI-decodes a single `string` return value. */
export function decodeString(hex: string): string {
  const b = Buffer.from(hex.replace(/^0x/, ""), "hex");
  if (b.length < 64) throw new Error("short return data");
  const offset = Number(BigInt(`0x${b.subarray(0, 32).toString("hex")}`));
  const len = Number(BigInt(`0x${b.subarray(offset, offset + 32).toString("hex")}`));
  if (offset + 32 + len > b.length) throw new Error("string runs past the return data");
  return b.subarray(offset + 32, offset + 32 + len).toString("utf8");
}

export function registerTokenRoutes(
  app: FastifyInstance,
  mods: { store: ExplorerStore; rpc: RPCClient; ipfsGateway: string | undefined },
): { indexed(height: number): void } {
  const { store, rpc } = mods;
  const call = (to: string, data: string) => rpc.call<string>("eth_call", [{ to, data }, "latest"]);
  const metadata = new MetadataResolver({
    gateway: mods.ipfsGateway,
    fetch,
    async tokenUri(token, tokenId) {
      const info = await store.token(token);
      const id = BigInt(tokenId).toString(16).padStart(64, "0");
      if (info?.standard === "erc1155") {
        // ERC-1155: the client substitutes {id} with the zero-padded lowercase hex id.
        return decodeString(await call(token, `${SELECTOR.uri}${id}`)).replaceAll("{id}", id);
      }
      return decodeString(await call(token, `${SELECTOR.tokenURI}${id}`));
    },
  });

  const HoldingRows = Type.Array(
    Type.Object({ holder: Type.String(), tokenId: Type.String(), balance: Type.String() }),
  );
  app.get(
    "/v1/tokens/:address/top-holders",
    {
      schema: {
        summary: "A fungible token's holders, largest balance first",
        tags: ["tokens"],
        params: Type.Object({ address: Address }),
        querystring: Paging,
        response: { 200: HoldingRows },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number };
      return topHolders(store.db, (req.params as { address: string }).address, q.limit, q.offset);
    },
  );
  app.get(
    "/v1/tokens/:address/items",
    {
      schema: {
        summary: "A collection's items with their owners, lowest token id first",
        tags: ["tokens"],
        params: Type.Object({ address: Address }),
        querystring: Paging,
        response: { 200: HoldingRows },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number };
      return collectionItems(store.db, (req.params as { address: string }).address, q.limit, q.offset);
    },
  );

  app.get(
    "/v1/contracts/:address/abi",
    {
      schema: {
        summary: "The ABI the contract tab uses: a verified contract's, else a native module's or native collection's",
        tags: ["contracts"],
        params: Type.Object({ address: Address }),
        response: {
          200: Type.Object({
            source: Type.String({ enum: ["verified", "native"] }),
            name: Type.String(),
            abi: Type.Array(Type.Unknown()),
          }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const address = (req.params as { address: string }).address.toLowerCase();
      const v = await store.verification(address);
      if (v !== null) return { source: "verified", name: v.contractName, abi: v.abi };
      const native = NATIVE_MODULES.find((m) => m.address === address);
      if (native !== undefined) return { source: "native", name: native.name, abi: [...native.abi] };
      if (isNativeCollection(address))
        return { source: "native", name: "NFT collection", abi: [...IAzoraCollectionAbi] };
      throw new ExplorerError({ code: ExplorerErrorCode.NOT_FOUND, what: `an ABI for ${address}` });
    },
  );

  app.post(
    "/v1/call",
    {
      schema: {
        summary: "Read-only eth_call at the latest block (view functions for the contract tab)",
        tags: ["contracts"],
        body: Type.Object(
          {
            to: Address,
            data: Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$", maxLength: 2 + 2 * MAX_CALL_BYTES }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            result: Type.Union([Type.String(), Type.Null()]),
            error: Type.Union([
              Type.Object({ message: Type.String(), data: Type.Union([Type.String(), Type.Null()]) }),
              Type.Null(),
            ]),
          }),
          400: ErrorBody,
        },
      },
    },
    async (req) => {
      const { to, data } = req.body as { to: string; data: string };
      try {
        return { result: await call(to, data), error: null };
      } catch (e) {
        // A revert is an answer (shown on the page); a node that cannot be reached is not.
        if (e instanceof RPCError && e.rpcCode !== 0)
          return { result: null, error: { message: e.message.replace(/^eth_call: /, ""), data: e.data ?? null } };
        throw e;
      }
    },
  );

  app.get(
    "/v1/nfts/:token/:tokenId",
    {
      schema: {
        summary: "An NFT's metadata: token URI, name, description and image through the IPFS gateway (sanitised)",
        tags: ["tokens"],
        params: Type.Object({ token: Address, tokenId: Type.String({ pattern: "^[0-9]{1,78}$" }) }),
        response: {
          200: Type.Object({
            tokenUri: Type.Union([Type.String(), Type.Null()]),
            name: Type.Union([Type.String(), Type.Null()]),
            description: Type.Union([Type.String(), Type.Null()]),
            image: Type.Union([Type.String(), Type.Null()]),
            imageUrl: Type.Union([Type.String(), Type.Null()]),
            problem: Type.Union([Type.String(), Type.Null()]),
          }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { token, tokenId } = req.params as { token: string; tokenId: string };
      if (BigInt(tokenId) >= 2n ** 256n)
        throw new ExplorerError({ code: ExplorerErrorCode.INVALID_PARAMS, reason: "token id above 2^256" });
      return metadata.get(token.toLowerCase(), tokenId);
    },
  );

  // When each block was indexed (this process only): lag = indexed at − block timestamp.
  const indexedAt = new Map<number, number>();
  app.get(
    "/v1/stats/blocks",
    {
      schema: {
        summary: "Per-block series for charts, oldest first: transactions, gas used, interval and indexer lag",
        description:
          "Finality on Azora is the commit: a block is final when the node announces it. The node exposes no commit " +
          "round or commit time, so `intervalS` (timestamp difference to the parent, null after genesis) and `lagMs` (when this explorer " +
          "stored the block minus its timestamp; null for blocks indexed before it started) are what is shown.",
        tags: ["blocks"],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 2, maximum: 500, default: 100 }) }),
        response: {
          200: Type.Array(
            Type.Object({
              number: Type.Integer(),
              timestamp: Type.Integer(),
              txCount: Type.Integer(),
              gasUsed: Type.String(),
              gasLimit: Type.String(),
              intervalS: Type.Union([Type.Number(), Type.Null()]),
              lagMs: Type.Union([Type.Integer(), Type.Null()]),
            }),
          ),
        },
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      // One more than asked: the oldest block's interval needs its parent.
      const rows = (await store.blocks(limit + 1)).reverse();
      return rows.slice(rows.length > limit ? 1 : 0).map((b, i, shown) => {
        const parent = rows.length > limit ? rows[i] : i > 0 ? shown[i - 1] : undefined;
        const at = indexedAt.get(b.number);
        return {
          number: b.number,
          timestamp: b.timestamp,
          txCount: b.txCount,
          gasUsed: b.gasUsed,
          gasLimit: b.gasLimit,
          // Genesis carries a configured timestamp, not a production time: no interval after it.
          intervalS: parent === undefined || parent.number === 0 ? null : b.timestamp - parent.timestamp,
          lagMs: at === undefined ? null : Math.max(0, at - b.timestamp * 1000),
        };
      });
    },
  );

  let lastSeen: number | null = null;
  return {
    indexed(height) {
      const now = Date.now();
      const from = lastSeen === null ? height : lastSeen + 1;
      for (let n = Math.max(from, height - LAG_MEMORY + 1); n <= height; n++) indexedAt.set(n, now);
      lastSeen = height;
      for (const n of indexedAt.keys()) {
        if (indexedAt.size <= LAG_MEMORY) break;
        indexedAt.delete(n);
      }
    },
  };
}
