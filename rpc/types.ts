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
  /** Sends an already serialised JSON-RPC message; same contract as `send`. */
  sendText(text: string): boolean;
  /** Runs `fn` once when the connection closes (immediately if already closed). Returns an unregister fn. */
  onClose(fn: () => void): () => void;
  close(code?: number, reason?: string): void;
}

/**
 * What one request (or one whole batch) may still spend. The transport creates it; methods that
 * build large answers (eth_getLogs) charge it as they go, so an oversized answer is refused before
 * it is built rather than after.
 */
export interface RequestBudget {
  /** `performance.now()` time after which the request answers -32002 `request timed out`. */
  readonly deadlineMs: number;
  /** Who the work is for (the client's remote address): shared resources serve clients in turn. */
  readonly client: string;
  /** Counts `bytes` of response about to be built; throws ResponseTooLargeError (-32003) past the limit. */
  chargeBytes(bytes: number): void;
  /** Throws RequestTimeoutError (-32002) once the deadline has passed. */
  checkTime(): void;
}

export interface CallContext {
  transport: "http" | "ws";
  /** Present on ws: lets eth_subscribe push notifications. */
  connection?: WSConnectionHandle;
  /** The client's address: the key of per-client quotas (filters, subscriptions, connections). */
  remoteAddress?: string;
  /** Set by the transport for every call; absent only when a handler is called directly. */
  budget?: RequestBudget;
  /**
   * Runs `fn` right after the response containing this call has been handed to the transport (or
   * was dropped, for notifications). eth_subscribe uses it so that no notification overtakes the
   * subscription id. Absent on transports without server push.
   */
  afterResponse?: (fn: () => void) => void;
}

export interface MethodDef {
  params: readonly ParamDef[];
  /**
   * Units of a batch's cost budget one call of this method uses (default 1). Methods whose work
   * grows with the chain or the EVM (logs, simulations) cost more, so one batch cannot queue
   * unbounded work.
   */
  cost?: number;
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
  /** EIP-7702 set-code authorizations (a type-4 transaction). */
  authorizationList?: AuthorizationEntry[];
  type?: bigint;
  chainId?: bigint;
}

/** A signed EIP-7702 authorization tuple; `address` lowercase. */
export interface AuthorizationEntry {
  chainId: bigint;
  address: string;
  nonce: bigint;
  yParity: bigint;
  r: bigint;
  s: bigint;
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
  opts: { cost?: number } = {},
): MethodDef {
  return { params, handler: handler as MethodDef["handler"], cost: opts.cost };
}
