/**
 * JSON-RPC parameter validators/converters. Pure functions, exported individually so methods can
 * reuse them; each throws `InvalidParamsError` with geth's wording (`hex string has length 38,
 * want 40 for common.Address`, `hex number with leading zero digits`, ...). `parseParams` applies
 * a method's ParamDefs to the raw `params` array and prefixes errors with
 * `invalid argument <index> (<name>): `.
 */
import { echo, InvalidParamsError } from "./errors.js";
import { hexDigit, hexToBytes } from "./hex.js";
import type {
  AccessListEntry,
  AccountOverride,
  AuthorizationEntry,
  BlockTag,
  BlockTagName,
  BlockTagOrHash,
  CallRequest,
  FilterCriteria,
  ParamDef,
  ParamType,
  ParamTypeMap,
  ParsedParams,
  StateOverride,
} from "./types.js";

/** Topic positions in a log filter (geth `maxTopics`). */
export const MAX_FILTER_TOPICS = 4;
/** Addresses in a log filter (geth `maxAddresses`). */
export const MAX_FILTER_ADDRESSES = 1000;
/** Alternatives in one topic position (geth `maxSubTopics`). */
export const MAX_FILTER_SUB_TOPICS = 1000;

const MAX_INT64 = (1n << 63n) - 1n;
const BLOCK_TAG_NAMES: ReadonlySet<string> = new Set<BlockTagName>([
  "latest",
  "earliest",
  "pending",
  "safe",
  "finalized",
]);

// --- helpers --------------------------------------------------------------------------------

function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function has0xPrefix(s: string): boolean {
  return s.length >= 2 && s[0] === "0" && (s[1] === "x" || s[1] === "X");
}

function expectString(v: unknown, goType: string): string {
  if (typeof v !== "string")
    throw new InvalidParamsError(`json: cannot unmarshal non-string into Go value of type ${goType}`);
  return v;
}

/** Runs `fn`, prefixing an InvalidParamsError's message with `<path>: `. */
function at<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    // `path` can be a client's map key (state override slots): quote it cut short.
    if (e instanceof InvalidParamsError) throw new InvalidParamsError(`${echo(path)}: ${e.message}`);
    throw e;
  }
}

/** 0x-prefixed hex of exactly `byteLength` bytes → lowercase string (geth `UnmarshalFixedJSON`). */
function parseFixedHex(v: unknown, byteLength: number, goType: string): string {
  const s = expectString(v, goType);
  if (s.length > 0 && !has0xPrefix(s)) throw new InvalidParamsError("hex string without 0x prefix");
  const digits = s.slice(2);
  if (digits.length % 2 !== 0) throw new InvalidParamsError("hex string of odd length");
  if (digits.length !== byteLength * 2) {
    throw new InvalidParamsError(`hex string has length ${digits.length}, want ${byteLength * 2} for ${goType}`);
  }
  for (let i = 0; i < digits.length; i++) {
    if (hexDigit(digits.charCodeAt(i)) < 0) throw new InvalidParamsError("invalid hex string");
  }
  return `0x${digits.toLowerCase()}`;
}

/** geth `hexutil` quantity: 0x-prefixed, no leading zeros, at most `maxBits` bits. */
function parseHexNumber(s: string, maxBits: number): bigint {
  if (s.length === 0) throw new InvalidParamsError("empty hex string");
  if (!has0xPrefix(s)) throw new InvalidParamsError("hex string without 0x prefix");
  const digits = s.slice(2);
  if (digits.length === 0) throw new InvalidParamsError('hex string "0x"');
  if (digits.length > 1 && digits[0] === "0") throw new InvalidParamsError("hex number with leading zero digits");
  if (digits.length > maxBits / 4) throw new InvalidParamsError(`hex number > ${maxBits} bits`);
  for (let i = 0; i < digits.length; i++) {
    if (hexDigit(digits.charCodeAt(i)) < 0) throw new InvalidParamsError("invalid hex string");
  }
  return BigInt(`0x${digits}`);
}

// --- scalar params --------------------------------------------------------------------------

/** Any-case 0x + 40 hex → lowercase (checksums are not enforced, as in geth). */
export function parseAddress(v: unknown): string {
  return parseFixedHex(v, 20, "common.Address");
}

/** 0x + 64 hex → lowercase. */
export function parseHash(v: unknown): string {
  return parseFixedHex(v, 32, "common.Hash");
}

/** 0x-prefixed hex quantity without leading zeros (`0x0` ok) → bigint, at most `maxBits` (default 256). */
export function parseQuantity(v: unknown, maxBits = 256): bigint {
  return parseHexNumber(expectString(v, maxBits <= 64 ? "hexutil.Uint64" : "hexutil.Big"), maxBits);
}

/** A quantity that must fit in 64 bits (gas, nonce, ...). */
export function parseUint64(v: unknown): bigint {
  return parseQuantity(v, 64);
}

/** Even-length 0x hex → bytes (`0x` and, as in geth, `""` give empty bytes). */
export function parseData(v: unknown): Uint8Array {
  const s = expectString(v, "hexutil.Bytes");
  if (s.length === 0) return new Uint8Array(0);
  if (!has0xPrefix(s)) throw new InvalidParamsError("hex string without 0x prefix");
  if (s.length % 2 !== 0) throw new InvalidParamsError("hex string of odd length");
  const bytes = hexToBytes(s);
  if (bytes === undefined) throw new InvalidParamsError("invalid hex string");
  return bytes;
}

export function parseBool(v: unknown): boolean {
  if (typeof v !== "boolean")
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type bool`);
  return v;
}

export function parseString(v: unknown): string {
  if (typeof v !== "string")
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type string`);
  return v;
}

export function parseHashArray(v: unknown): string[] {
  if (!Array.isArray(v))
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type []common.Hash`);
  return v.map((h, i) => at(`[${i}]`, () => parseHash(h)));
}

// --- blocks ---------------------------------------------------------------------------------

/** `latest` | `earliest` | `pending` | `safe` | `finalized` | 0x block number (≤ int64). */
export function parseBlockTag(v: unknown): BlockTag {
  const s = expectString(v, "rpc.BlockNumber").trim();
  if (BLOCK_TAG_NAMES.has(s)) return { kind: "tag", tag: s as BlockTagName };
  const n = parseHexNumber(s, 64);
  if (n > MAX_INT64) throw new InvalidParamsError("block number larger than int64");
  return { kind: "number", number: n };
}

/**
 * EIP-1898: a block tag/number string, a 32-byte block hash string, `{blockNumber}` or
 * `{blockHash, requireCanonical?}`.
 */
export function parseBlockTagOrHash(v: unknown): BlockTagOrHash {
  if (isObject(v)) {
    const hasNumber = v.blockNumber !== undefined && v.blockNumber !== null;
    const hasHash = v.blockHash !== undefined && v.blockHash !== null;
    if (hasNumber && hasHash) {
      throw new InvalidParamsError("cannot specify both BlockHash and BlockNumber, choose one or the other");
    }
    if (hasNumber) return at("blockNumber", () => parseBlockTag(v.blockNumber));
    if (!hasHash) throw new InvalidParamsError("invalid arguments; neither block nor hash specified");
    const hash = at("blockHash", () => parseHash(v.blockHash));
    const rc = v.requireCanonical;
    if (rc === undefined || rc === null) return { kind: "hash", hash };
    return { kind: "hash", hash, requireCanonical: at("requireCanonical", () => parseBool(rc)) };
  }
  const s = expectString(v, "rpc.BlockNumberOrHash").trim();
  if (s.length === 66) return { kind: "hash", hash: parseHash(s) };
  return parseBlockTag(s);
}

// --- objects --------------------------------------------------------------------------------

/** Field present and not null. */
function present(obj: Record<string, unknown>, key: string): boolean {
  return obj[key] !== undefined && obj[key] !== null;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function parseAccessList(v: unknown): AccessListEntry[] {
  if (!Array.isArray(v))
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type types.AccessList`);
  return v.map((entry, i) =>
    at(`[${i}]`, () => {
      if (!isObject(entry))
        throw new InvalidParamsError(
          `json: cannot unmarshal ${jsonKind(entry)} into Go value of type types.AccessTuple`,
        );
      const address = at("address", () => parseAddress(entry.address));
      const keys = entry.storageKeys;
      const storageKeys = keys === undefined || keys === null ? [] : at("storageKeys", () => parseHashArray(keys));
      return { address, storageKeys };
    }),
  );
}

/** EIP-7702 authorizations as geth's TransactionArgs reads them (`v` accepted for `yParity`, as viem may send). */
export function parseAuthorizationList(v: unknown): AuthorizationEntry[] {
  if (!Array.isArray(v))
    throw new InvalidParamsError(
      `json: cannot unmarshal ${jsonKind(v)} into Go value of type []types.SetCodeAuthorization`,
    );
  return v.map((entry, i) =>
    at(`[${i}]`, () => {
      if (!isObject(entry))
        throw new InvalidParamsError(
          `json: cannot unmarshal ${jsonKind(entry)} into Go value of type types.SetCodeAuthorization`,
        );
      const yParity = entry.yParity ?? entry.v;
      return {
        chainId: at("chainId", () => parseQuantity(entry.chainId)),
        address: at("address", () => parseAddress(entry.address)),
        nonce: at("nonce", () => parseUint64(entry.nonce)),
        yParity: at("yParity", () => parseQuantity(yParity)),
        r: at("r", () => parseQuantity(entry.r)),
        s: at("s", () => parseQuantity(entry.s)),
      };
    }),
  );
}

const CALL_QUANTITY_FIELDS = ["gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "value", "chainId"] as const;
const CALL_UINT64_FIELDS = ["gas", "nonce", "type"] as const;

/**
 * geth TransactionArgs subset for eth_call / eth_estimateGas / eth_sendTransaction. Unknown field
 * names are ignored (as geth does), known fields with a wrong type are rejected, null = absent
 * (except `to: null`, kept as contract creation).
 */
export function parseCallRequest(v: unknown): CallRequest {
  if (!isObject(v))
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type TransactionArgs`);
  const out: CallRequest = {};
  if (present(v, "from")) out.from = at("from", () => parseAddress(v.from));
  if (v.to === null) out.to = null;
  else if (v.to !== undefined) out.to = at("to", () => parseAddress(v.to));
  for (const key of CALL_UINT64_FIELDS) {
    if (present(v, key)) out[key] = at(key, () => parseUint64(v[key]));
  }
  for (const key of CALL_QUANTITY_FIELDS) {
    if (present(v, key)) out[key] = at(key, () => parseQuantity(v[key]));
  }
  const data = present(v, "data") ? at("data", () => parseData(v.data)) : undefined;
  const input = present(v, "input") ? at("input", () => parseData(v.input)) : undefined;
  if (data !== undefined && input !== undefined && !bytesEqual(data, input)) {
    throw new InvalidParamsError('both "data" and "input" are set and not equal');
  }
  const callData = input ?? data;
  if (callData !== undefined) out.data = callData;
  if (present(v, "accessList")) out.accessList = at("accessList", () => parseAccessList(v.accessList));
  if (present(v, "authorizationList"))
    out.authorizationList = at("authorizationList", () => parseAuthorizationList(v.authorizationList));
  return out;
}

function parseTopic(v: unknown): string | string[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) return parseHash(v);
  if (v.length > MAX_FILTER_SUB_TOPICS) throw new InvalidParamsError("exceed max sub topics");
  const hashes: string[] = [];
  for (let i = 0; i < v.length; i++) {
    // A null alternative matches anything, making the whole position a wildcard (geth).
    if (v[i] === null) return null;
    hashes.push(at(`[${i}]`, () => parseHash(v[i])));
  }
  return hashes;
}

/** eth_getLogs / eth_newFilter criteria. */
export function parseFilter(v: unknown): FilterCriteria {
  if (!isObject(v))
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type filters.FilterCriteria`);
  const out: FilterCriteria = {};
  if (present(v, "blockHash")) {
    if (present(v, "fromBlock") || present(v, "toBlock")) {
      throw new InvalidParamsError("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other");
    }
    out.blockHash = at("blockHash", () => parseHash(v.blockHash));
  }
  if (present(v, "fromBlock")) out.fromBlock = at("fromBlock", () => parseBlockTag(v.fromBlock));
  if (present(v, "toBlock")) out.toBlock = at("toBlock", () => parseBlockTag(v.toBlock));
  if (present(v, "address")) {
    const raw = v.address;
    if (Array.isArray(raw)) {
      if (raw.length > MAX_FILTER_ADDRESSES) throw new InvalidParamsError("exceed max addresses");
      out.address = raw.map((a, i) => at(`address[${i}]`, () => parseAddress(a)));
    } else {
      out.address = [at("address", () => parseAddress(raw))];
    }
  }
  if (present(v, "topics")) {
    const raw = v.topics;
    if (!Array.isArray(raw))
      throw new InvalidParamsError(
        `topics: json: cannot unmarshal ${jsonKind(raw)} into Go value of type []interface {}`,
      );
    if (raw.length > MAX_FILTER_TOPICS) throw new InvalidParamsError("exceed max topics");
    out.topics = raw.map((t, i) => at(`topics[${i}]`, () => parseTopic(t)));
  }
  return out;
}

function parseStorageMap(v: unknown): Record<string, string> {
  if (!isObject(v))
    throw new InvalidParamsError(
      `json: cannot unmarshal ${jsonKind(v)} into Go value of type map[common.Hash]common.Hash`,
    );
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    const slot = at(k, () => parseHash(k));
    out[slot] = at(slot, () => parseHash(val));
  }
  return out;
}

/** eth_call / eth_estimateGas state override set, keyed by lowercase address. */
export function parseStateOverride(v: unknown): StateOverride {
  if (!isObject(v))
    throw new InvalidParamsError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type override.StateOverride`);
  const out: StateOverride = {};
  for (const [key, raw] of Object.entries(v)) {
    const address = at(key, () => parseAddress(key));
    if (Object.hasOwn(out, address)) throw new InvalidParamsError(`duplicate override for account ${address}`);
    out[address] = at(address, () => parseAccountOverride(raw));
  }
  return out;
}

function parseAccountOverride(v: unknown): AccountOverride {
  if (!isObject(v))
    throw new InvalidParamsError(
      `json: cannot unmarshal ${jsonKind(v)} into Go value of type override.OverrideAccount`,
    );
  const out: AccountOverride = {};
  if (present(v, "balance")) out.balance = at("balance", () => parseQuantity(v.balance));
  if (present(v, "nonce")) out.nonce = at("nonce", () => parseUint64(v.nonce));
  if (present(v, "code")) out.code = at("code", () => parseData(v.code));
  if (present(v, "state") && present(v, "stateDiff")) throw new InvalidParamsError("has both 'state' and 'stateDiff'");
  if (present(v, "state")) out.state = at("state", () => parseStorageMap(v.state));
  if (present(v, "stateDiff")) out.stateDiff = at("stateDiff", () => parseStorageMap(v.stateDiff));
  return out;
}

// --- dispatch -------------------------------------------------------------------------------

/** The converter for each ParamType (null handling is done by `parseParams`). */
export const PARAM_PARSERS: { readonly [K in ParamType]: (v: unknown) => ParamTypeMap[K] } = {
  address: parseAddress,
  hash: parseHash,
  quantity: (v) => parseQuantity(v),
  blockTag: parseBlockTag,
  blockTagOrHash: parseBlockTagOrHash,
  data: parseData,
  bool: parseBool,
  callRequest: parseCallRequest,
  filter: parseFilter,
  stateOverride: parseStateOverride,
  string: parseString,
  hashArray: parseHashArray,
  any: (v) => v,
};

/**
 * Validates and converts positional params. `rawParams` may be omitted/null/`[]`; an object
 * (by-name params) is rejected with `non-array args`. A missing or null optional param becomes
 * undefined; a missing or null required one is an error (type `any` passes null through).
 */
export function parseParams<const D extends readonly ParamDef[]>(defs: D, rawParams: unknown): ParsedParams<D> {
  const raw = rawParams === undefined || rawParams === null ? [] : rawParams;
  if (!Array.isArray(raw)) throw new InvalidParamsError("non-array args");
  if (raw.length > defs.length) throw new InvalidParamsError(`too many arguments, want at most ${defs.length}`);
  const args: unknown[] = new Array(defs.length);
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i];
    const value: unknown = raw[i];
    if (value === undefined || (value === null && def.type !== "any")) {
      if (def.optional === true) {
        args[i] = undefined;
        continue;
      }
      throw new InvalidParamsError(`missing value for required argument ${i}`);
    }
    try {
      args[i] = PARAM_PARSERS[def.type](value);
    } catch (e) {
      if (e instanceof InvalidParamsError)
        throw new InvalidParamsError(`invalid argument ${i} (${def.name}): ${e.message}`);
      throw e;
    }
  }
  return args as ParsedParams<D>;
}
