import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { isValidChecksumAddress } from "@ethereumjs/util";
import { hexToBytes } from "../../primitives/bytes.js";
import { uintWord } from "../abi.js";
import { isZeroAddress, MAX_UINT256 } from "../erc20Events.js";
import { balanceSlot, issuerSlot, LEARN_ADDRESS, LEARN_SLOTS } from "./ledger.js";

/**
 * Genesis parameters (`genesis.modules.learn`):
 * `{ "admin": "0x…", "issuers": ["0x…"], "allocations": { "0x…": "<decimal amount>" } }`.
 * `admin` is required; `issuers` and `allocations` default to empty. Without `modules.learn` LEARN
 * starts with no supply, no issuers and the zero address as admin (nobody can add issuers).
 * Genesis allocations emit no Transfer logs (there is no transaction): read balances at block 0.
 */
export interface LearnGenesisParams {
  admin: Uint8Array;
  issuers: Uint8Array[];
  allocations: [Uint8Array, bigint][];
}

const FIELD = "modules.learn";

function fail(field: string, reason: string): never {
  throw new Error(`invalid genesis: ${field}: ${reason}`);
}

/** A 0x-prefixed 20-byte hex address; mixed case must be a valid EIP-55 checksum (typos caught). */
function address(value: unknown, field: string): Uint8Array {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail(field, "expected a 0x-prefixed address");
  const body = value.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && !isValidChecksumAddress(value)) {
    fail(field, "bad EIP-55 checksum");
  }
  return hexToBytes(value.toLowerCase() as `0x${string}`);
}

/** Validates `modules.learn` strictly (unknown keys, duplicates, zero addresses, overflow refused). */
export function parseLearnParams(params: unknown): LearnGenesisParams {
  if (typeof params !== "object" || params === null || Array.isArray(params)) fail(FIELD, "expected an object");
  const p = params as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (k !== "admin" && k !== "issuers" && k !== "allocations") fail(`${FIELD}.${k}`, "unknown parameter");
  }
  const admin = address(p.admin, `${FIELD}.admin`);

  const rawIssuers = p.issuers ?? [];
  if (!Array.isArray(rawIssuers)) fail(`${FIELD}.issuers`, "expected an array of addresses");
  const seen = new Set<string>();
  const issuers = rawIssuers.map((v, i) => {
    const field = `${FIELD}.issuers[${i}]`;
    const a = address(v, field);
    if (isZeroAddress(a)) fail(field, "the zero address cannot be an issuer");
    if (seen.has(String(v).toLowerCase())) fail(field, "duplicate");
    seen.add(String(v).toLowerCase());
    return a;
  });

  const rawAlloc = p.allocations ?? {};
  if (typeof rawAlloc !== "object" || rawAlloc === null || Array.isArray(rawAlloc)) {
    fail(`${FIELD}.allocations`, "expected an object of address → decimal amount");
  }
  seen.clear();
  let total = 0n;
  const allocations = Object.entries(rawAlloc).map(([k, v]): [Uint8Array, bigint] => {
    const field = `${FIELD}.allocations.${k}`;
    const a = address(k, field);
    if (isZeroAddress(a)) fail(field, "the zero address cannot hold LEARN");
    if (seen.has(k.toLowerCase())) fail(field, "duplicate address");
    seen.add(k.toLowerCase());
    // Decimal strings only: JSON numbers lose precision above 2^53, and 18-decimal amounts are far above it.
    if (typeof v !== "string" || !/^(0|[1-9][0-9]*)$/.test(v)) fail(field, "expected a decimal integer string");
    const amount = BigInt(v);
    total += amount;
    if (total > MAX_UINT256) fail(`${FIELD}.allocations`, "total supply exceeds 2^256-1");
    return [a, amount];
  });
  return { admin, issuers, allocations };
}

/** Writes LEARN's initial state: admin, issuers, balances and their sum as totalSupply. */
export async function learnGenesis(state: MerkleStateManager, params: unknown): Promise<void> {
  if (params === undefined) return;
  const { admin, issuers, allocations } = parseLearnParams(params);
  const put = (slot: Uint8Array, value: bigint) => state.putStorage(LEARN_ADDRESS, slot, stripZeros(uintWord(value)));
  await state.putStorage(LEARN_ADDRESS, LEARN_SLOTS.admin, stripZeros(leftPad32(admin)));
  for (const a of issuers) await put(issuerSlot(a), 1n);
  let total = 0n;
  for (const [a, amount] of allocations) {
    await put(balanceSlot(a), amount);
    total += amount;
  }
  await put(LEARN_SLOTS.totalSupply, total);
}

function leftPad32(b: Uint8Array): Uint8Array {
  const w = new Uint8Array(32);
  w.set(b, 12);
  return w;
}

// Storage tries hold no leading zeros (an empty value deletes the slot), as SSTORE writes them.
function stripZeros(w: Uint8Array): Uint8Array {
  let i = 0;
  while (i < w.length && w[i] === 0) i++;
  return w.subarray(i);
}
