/**
 * The method-table API between the JSON-RPC transport (`rpc/server.ts`, `rpc/jsonrpc.ts`) and the
 * method implementations (`rpc/methods/*`). A handler receives args already validated and
 * converted by `rpc/params.ts` (see `ParamTypeMap` for what each `ParamType` becomes).
 */

export type ParamType =
  | "address"
  | "hash"
  | "quantity"
  | "blockTag"
  | "blockTagOrHash"
  | "data"
  | "bool"
  | "callRequest"
  | "filter"
  | "stateOverride"
  | "string"
  | "hashArray"
  | "any";

export interface ParamDef {
  name: string;
  type: ParamType;
  optional?: boolean;
}

/** A WebSocket connection as seen by handlers (eth_subscribe pushes notifications through it). */
export interface WSConnectionHandle {
  /** Server-unique connection number. */
  readonly id: number;
  readonly remoteAddress?: string;
  /** False once the socket is closing/closed or was cut off for back-pressure. */
  isOpen(): boolean;
  /**
   * Serialises (bigint/Uint8Array → hex) and sends one JSON-RPC message as a text frame. Returns
   * false when the message was dropped: the connection is closed, or its send buffer is over the
   * back-pressure bound (the connection is then closed with an error).
   */
  send(message: unknown): boolean;
  /** Runs `fn` once when the connection closes (immediately if already closed). Returns an unregister fn. */
  onClose(fn: () => void): () => void;
  close(code?: number, reason?: string): void;
}

export interface CallContext {
  transport: "http" | "ws";
  /** Present on ws: lets eth_subscribe push notifications. */
  connection?: WSConnectionHandle;
  remoteAddress?: string;
  /**
   * Runs `fn` right after the response containing this call has been handed to the transport (or
   * was dropped, for notifications). eth_subscribe uses it so that no notification overtakes the
   * subscription id. Absent on transports without server push.
   */
  afterResponse?: (fn: () => void) => void;
}

export interface MethodDef {
  params: readonly ParamDef[];
  // biome-ignore lint/suspicious/noExplicitAny: args are typed per method by `defineMethod`.
  handler: (args: any[], ctx: CallContext) => unknown | Promise<unknown>;
}

export type MethodTable = Record<string, MethodDef>;

/** Per-call metrics sink (the node wires a prom-client histogram). */
export interface RPCMetrics {
  observe(method: string, seconds: number, ok: boolean): void;
}

// --- converted parameter values ---------------------------------------------------------------

export type BlockTagName = "latest" | "earliest" | "pending" | "safe" | "finalized";

export type BlockTag = { kind: "tag"; tag: BlockTagName } | { kind: "number"; number: bigint };

/** EIP-1898 block selector. `hash` is lowercase 0x + 64 hex. */
export type BlockTagOrHash = BlockTag | { kind: "hash"; hash: string; requireCanonical?: boolean };

export interface AccessListEntry {
  address: string;
  storageKeys: string[];
}

/** geth's TransactionArgs subset. Addresses lowercase; `to: null` = contract creation. */
export interface CallRequest {
  from?: string;
  to?: string | null;
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value?: bigint;
  /** From `data` or `input` (they must be equal when both are set). */
  data?: Uint8Array;
  nonce?: bigint;
  accessList?: AccessListEntry[];
  type?: bigint;
  chainId?: bigint;
}

export interface FilterCriteria {
  fromBlock?: BlockTag;
  toBlock?: BlockTag;
  blockHash?: string;
  /** Always an array (a single address is wrapped). Lowercase. */
  address?: string[];
  /** At most 4 positions: null = wildcard, a hash, or an array of hashes (OR). */
  topics?: (string | string[] | null)[];
}

export interface AccountOverride {
  balance?: bigint;
  nonce?: bigint;
  code?: Uint8Array;
  /** Replaces the whole storage. Keys and values: lowercase 32-byte hex. */
  state?: Record<string, string>;
  /** Patches individual slots. */
  stateDiff?: Record<string, string>;
}

/** Keyed by lowercase address. */
export type StateOverride = Record<string, AccountOverride>;

/** What `parseParams` turns each ParamType into. */
export interface ParamTypeMap {
  address: string;
  hash: string;
  quantity: bigint;
  blockTag: BlockTag;
  blockTagOrHash: BlockTagOrHash;
  data: Uint8Array;
  bool: boolean;
  callRequest: CallRequest;
  filter: FilterCriteria;
  stateOverride: StateOverride;
  string: string;
  hashArray: string[];
  any: unknown;
}

/** Tuple of converted args for a tuple of ParamDefs (optional ones may be undefined). */
export type ParsedParams<D extends readonly ParamDef[]> = {
  -readonly [K in keyof D]: D[K] extends { type: infer T extends ParamType; optional: true }
    ? ParamTypeMap[T] | undefined
    : D[K] extends { type: infer T extends ParamType }
      ? ParamTypeMap[T]
      : never;
};

/**
 * Typed MethodDef builder: `defineMethod([{name: "address", type: "address"}, {name: "block",
 * type: "blockTagOrHash", optional: true}], ([address, block], ctx) => ...)` types `address` as
 * string and `block` as `BlockTagOrHash | undefined`.
 */
export function defineMethod<const D extends readonly ParamDef[]>(
  params: D,
  handler: (args: ParsedParams<D>, ctx: CallContext) => unknown | Promise<unknown>,
): MethodDef {
  return { params, handler: handler as MethodDef["handler"] };
}
