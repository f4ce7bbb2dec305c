/** Response shapes of the explorer's REST API (TypeBox: validation, serialisation and the OpenAPI document). */
import { type TSchema, Type } from "@sinclair/typebox";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Address = Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" });
export const Hash = Type.String({ pattern: "^0x[0-9a-fA-F]{64}$" });
const Decimal = Type.String({ pattern: "^-?[0-9]+$", description: "a decimal integer (wei or token units)" });

export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String() });

export const Block = Type.Object({
  number: Type.Integer(),
  hash: Type.String(),
  parentHash: Type.String(),
  timestamp: Type.Integer(),
  miner: Type.String(),
  gasUsed: Decimal,
  gasLimit: Decimal,
  baseFeePerGas: Nullable(Decimal),
  txCount: Type.Integer(),
});

export const Decoded = Nullable(
  Type.Object({ name: Type.String(), signature: Type.String(), args: Type.Record(Type.String(), Type.Unknown()) }),
);

export const Tx = Type.Object({
  hash: Type.String(),
  blockNumber: Type.Integer(),
  txIndex: Type.Integer(),
  from: Type.String(),
  to: Nullable(Type.String()),
  value: Decimal,
  input: Type.String(),
  nonce: Type.Integer(),
  gasLimit: Decimal,
  gasPrice: Decimal,
  gasUsed: Decimal,
  status: Type.Integer({ description: "1 success, 0 reverted" }),
  contractAddress: Nullable(Type.String()),
  methodId: Nullable(Type.String()),
  error: Nullable(Type.String({ description: "the revert reason" })),
  timestamp: Type.Integer(),
});

export const Log = Type.Object({
  logIndex: Type.Integer(),
  address: Type.String(),
  topics: Type.Array(Type.String()),
  data: Type.String(),
  event: Nullable(Type.String()),
  decoded: Decoded,
});

export const Transfer = Type.Object({
  txHash: Type.String(),
  blockNumber: Type.Integer(),
  logIndex: Type.Integer(),
  batchIndex: Type.Integer(),
  token: Type.String(),
  standard: Type.String({ enum: ["erc20", "erc721", "erc1155"] }),
  from: Type.String(),
  to: Type.String(),
  tokenId: Nullable(Decimal),
  amount: Decimal,
  timestamp: Type.Integer(),
});

export const InternalCall = Type.Object({
  callIndex: Type.Integer(),
  depth: Type.Integer(),
  type: Type.String(),
  from: Type.String(),
  to: Nullable(Type.String()),
  value: Decimal,
  gasUsed: Decimal,
  input: Type.String(),
  output: Nullable(Type.String()),
  error: Nullable(Type.String()),
  decoded: Decoded,
});

export const Token = Type.Object({
  address: Type.String(),
  standard: Type.String(),
  name: Nullable(Type.String()),
  symbol: Nullable(Type.String()),
  decimals: Nullable(Type.Integer()),
});

export const Holding = Type.Object({
  token: Type.String(),
  tokenId: Type.String({ description: "empty for fungible tokens" }),
  balance: Decimal,
  tokenInfo: Nullable(Token),
});

export const Verification = Type.Object({
  match: Type.String({ enum: ["full", "partial"] }),
  contractName: Type.String(),
  compilerVersion: Type.String(),
  abi: Type.Array(Type.Unknown()),
  constructorArgs: Type.String(),
  verifiedAt: Type.Integer(),
});

export const Paging = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 25 }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});
