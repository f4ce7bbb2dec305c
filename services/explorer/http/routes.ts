/** The explorer's REST API under `/v1` (each route's schema is its OpenAPI entry). */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { ExplorerError, ExplorerErrorCode } from "../errors.js";
import type { ExplorerStore } from "../store.js";
import type { Verifier } from "../verifier.js";
import type { VerifyRequest } from "../verify.js";
import type { Views } from "../views.js";
import {
  Address,
  Block,
  Decoded,
  ErrorBody,
  Hash,
  Holding,
  InternalCall,
  Log,
  Paging,
  Token,
  Transfer,
  Tx,
  Verification,
} from "./schemas.js";

const notFound = (what: string) => new ExplorerError({ code: ExplorerErrorCode.NOT_FOUND, what });

export function registerRoutes(app: FastifyInstance, mods: { store: ExplorerStore; views: Views; verifier: Verifier }) {
  const { store, views, verifier } = mods;

  app.get(
    "/v1/blocks",
    {
      schema: {
        summary: "Latest blocks, newest first",
        tags: ["blocks"],
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
          before: Type.Optional(Type.Integer({ minimum: 0, description: "blocks below this number (paging)" })),
        }),
        response: { 200: Type.Array(Block) },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; before?: number };
      return store.blocks(q.limit, q.before);
    },
  );

  app.get(
    "/v1/blocks/:ref",
    {
      schema: {
        summary: "A block by number or hash, with its transactions",
        tags: ["blocks"],
        params: Type.Object({ ref: Type.String({ pattern: "^([0-9]{1,15}|0x[0-9a-fA-F]{64})$" }) }),
        response: { 200: Type.Object({ block: Block, txs: Type.Array(Tx) }), 404: ErrorBody },
      },
    },
    async (req) => {
      const { ref } = req.params as { ref: string };
      const block = await store.block(ref.startsWith("0x") ? { hash: ref } : { number: Number(ref) });
      if (block === null) throw notFound(`block ${ref}`);
      return { block, txs: await store.blockTxs(block.number) };
    },
  );

  app.get(
    "/v1/txs",
    {
      schema: {
        summary: "Latest transactions, newest first",
        tags: ["transactions"],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }) }),
        response: { 200: Type.Array(Tx) },
      },
    },
    async (req) => store.latestTxs((req.query as { limit: number }).limit),
  );

  app.get(
    "/v1/txs/:hash",
    {
      schema: {
        summary: "A transaction: decoded input, logs, internal calls, token transfers, revert reason",
        tags: ["transactions"],
        params: Type.Object({ hash: Hash }),
        response: {
          200: Type.Composite([
            Tx,
            Type.Object({
              decodedInput: Decoded,
              logs: Type.Array(Log),
              internalCalls: Type.Array(InternalCall),
              transfers: Type.Array(Transfer),
            }),
          ]),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { hash } = req.params as { hash: string };
      const tx = await views.tx(hash);
      if (tx === null) throw notFound(`transaction ${hash}`);
      return tx;
    },
  );

  app.get(
    "/v1/addresses/:address",
    {
      schema: {
        summary: "An address: native balance, transaction count, tokens, NFTs, contract and verification status",
        tags: ["addresses"],
        params: Type.Object({ address: Address }),
        response: {
          200: Type.Object({
            address: Type.String(),
            balance: Type.String(),
            balanceBlock: Type.Union([Type.Integer(), Type.Null()]),
            txCount: Type.Integer(),
            isContract: Type.Boolean(),
            nativeModule: Type.Union([Type.String(), Type.Null()]),
            contract: Type.Union([
              Type.Object({ creator: Type.String(), txHash: Type.String(), blockNumber: Type.Integer() }),
              Type.Null(),
            ]),
            verification: Type.Union([
              Type.Object({ match: Type.String(), contractName: Type.String(), compilerVersion: Type.String() }),
              Type.Null(),
            ]),
            token: Type.Union([Token, Type.Null()]),
            tokens: Type.Array(Holding),
            nfts: Type.Array(Holding),
          }),
        },
      },
    },
    async (req) => views.address((req.params as { address: string }).address),
  );

  app.get(
    "/v1/addresses/:address/txs",
    {
      schema: {
        summary: "Transactions from, to or creating an address, newest first",
        tags: ["addresses"],
        params: Type.Object({ address: Address }),
        querystring: Paging,
        response: { 200: Type.Array(Tx) },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number };
      return store.addressTxs((req.params as { address: string }).address, q);
    },
  );

  app.get(
    "/v1/addresses/:address/transfers",
    {
      schema: {
        summary: "Token transfers from or to an address, newest first",
        tags: ["addresses"],
        params: Type.Object({ address: Address }),
        querystring: Type.Composite([
          Paging,
          Type.Object({
            token: Type.Optional(Address),
            standard: Type.Optional(Type.String({ enum: ["erc20", "erc721", "erc1155"] })),
          }),
        ]),
        response: { 200: Type.Array(Transfer) },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number; token?: string; standard?: "erc20" };
      return store.addressTransfers((req.params as { address: string }).address, q);
    },
  );

  app.get(
    "/v1/tokens/:address",
    {
      schema: {
        summary: "A token or NFT collection: metadata and holder count",
        tags: ["tokens"],
        params: Type.Object({ address: Address }),
        response: { 200: Type.Composite([Token, Type.Object({ holders: Type.Integer() })]), 404: ErrorBody },
      },
    },
    async (req) => {
      const { address } = req.params as { address: string };
      const token = await store.token(address);
      if (token === null) throw notFound(`token ${address}`);
      return { ...token, holders: await store.tokenHolderCount(address) };
    },
  );

  app.get(
    "/v1/tokens/:address/transfers",
    {
      schema: {
        summary: "Transfers of a token or collection, newest first",
        tags: ["tokens"],
        params: Type.Object({ address: Address }),
        querystring: Paging,
        response: { 200: Type.Array(Transfer) },
      },
    },
    async (req) =>
      store.tokenTransfers((req.params as { address: string }).address, req.query as { limit: number; offset: number }),
  );

  app.get(
    "/v1/tokens/:address/holders",
    {
      schema: {
        summary: "Holders of a token (balances) or a collection (one row per token id)",
        tags: ["tokens"],
        params: Type.Object({ address: Address }),
        querystring: Paging,
        response: {
          200: Type.Array(Type.Object({ holder: Type.String(), tokenId: Type.String(), balance: Type.String() })),
        },
      },
    },
    async (req) => {
      const q = req.query as { limit: number; offset: number };
      return store.tokenHolders((req.params as { address: string }).address, q.limit, q.offset);
    },
  );

  app.get(
    "/v1/contracts/:address",
    {
      schema: {
        summary: "A verified contract's ABI and compiler settings",
        tags: ["contracts"],
        params: Type.Object({ address: Address }),
        response: { 200: Verification, 404: ErrorBody },
      },
    },
    async (req) => {
      const { address } = req.params as { address: string };
      const v = await store.verification(address);
      if (v === null) throw notFound(`verified contract ${address}`);
      return v;
    },
  );

  app.post(
    "/v1/contracts/:address/verify",
    {
      schema: {
        summary: "Verify a contract from Solidity standard JSON input: full or partial match, or the reason it differs",
        tags: ["contracts"],
        params: Type.Object({ address: Address }),
        body: Type.Object({
          contractName: Type.String({ minLength: 1, description: "path/File.sol:Name, or Name when unique" }),
          compilerVersion: Type.String({ minLength: 1, description: "e.g. v0.8.37+commit.f401782d" }),
          input: Type.Object({
            language: Type.Optional(Type.String()),
            sources: Type.Record(Type.String(), Type.Object({ content: Type.String() })),
            settings: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
          }),
          constructorArgs: Type.Optional(Type.String({ pattern: "^(0x)?[0-9a-fA-F]*$" })),
        }),
        response: { 200: Verification, 422: ErrorBody },
      },
    },
    async (req) => {
      const body = req.body as Omit<VerifyRequest, "address">;
      return verifier.verify({ ...body, address: (req.params as { address: string }).address });
    },
  );
}
