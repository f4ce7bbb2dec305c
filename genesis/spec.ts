import type { FeeParams } from "../runtime/fees.js";
import { AzoraError } from "../runtime/lib/errors.js";
import {
  type ChainParams,
  CONSENSUS_TIMING_KEYS,
  type ConsensusTiming,
  MIN_BLOCK_GAS_LIMIT,
  ParamsError,
  validateChainParams,
} from "../runtime/params.js";
import { hexToBytes } from "../runtime/primitives/bytes.js";
import { type Validator, validatorAddress } from "../runtime/primitives/validatorSet.js";

/** Genesis file as written on disk (JSON). Quantities are decimal or 0x-hex strings. */
export interface GenesisJSON {
  chainId: number;
  networkName: string;
  /** Unix seconds of block 0. */
  genesisTime: number;
  gasLimit: string;
  baseFeePerGas: string;
  fees: { minBaseFeePerGas: string; elasticityMultiplier: number; baseFeeChangeDenominator: number };
  consensus: ConsensusParams;
  /** `operator`: the account operating the validator in the staking module (required with `modules.staking`). */
  validators: { name: string; publicKey: string; power: number; feeRecipient: string; operator?: string }[];
  alloc: Record<string, { balance: string; nonce?: string; code?: string; storage?: Record<string, string> }>;
  /** Parameters of the native ledger modules; validated by each module. */
  modules: Record<string, unknown>;
}

/**
 * Chain-wide timing: identical on every node, so it lives in genesis rather than node config (the
 * first version; governance may change it from a height on: runtime/params.ts).
 */
export type ConsensusParams = ConsensusTiming;

export interface GenesisAccount {
  address: Uint8Array;
  balance: bigint;
  nonce: bigint;
  code?: Uint8Array;
  storage: [key: Uint8Array, value: Uint8Array][];
}

/** Genesis after validation: typed values, sorted deterministic orders. */
export interface GenesisSpec {
  chainId: bigint;
  networkName: string;
  genesisTime: bigint;
  gasLimit: bigint;
  baseFeePerGas: bigint;
  fees: FeeParams;
  consensus: ConsensusParams;
  /** Genesis `gasLimit`, `fees` and `consensus` together: the chain parameters at height 1. */
  params: ChainParams;
  validators: Validator[];
  validatorNames: string[];
  /** Operator account of each genesis validator (staking), or null. */
  validatorOperators: (Uint8Array | null)[];
  alloc: GenesisAccount[];
  modules: Record<string, unknown>;
  /** The JSON this spec came from, canonicalised; hashed into block 0. */
  source: GenesisJSON;
}

export enum GenesisErrorCode {
  INVALID = "GENESIS_ERROR_INVALID",
}

export class GenesisError extends AzoraError<{ code: GenesisErrorCode.INVALID; field: string; reason: string }> {
  constructor(field: string, reason: string) {
    super({ code: GenesisErrorCode.INVALID, field, reason }, `invalid genesis: ${field}: ${reason}`);
  }
}

export { MIN_BLOCK_GAS_LIMIT };

/** Chain ids other dev nodes already use (Hardhat, Ganache/Anvil) or that belong to Ethereum networks. */
const RESERVED_CHAIN_IDS = new Set([1, 5, 10, 56, 137, 1337, 31337, 11155111, 17000]);

function quantity(value: unknown, field: string): bigint {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value !== "string" || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value)) {
    throw new GenesisError(field, "expected a non-negative integer (decimal or 0x-hex string)");
  }
  return BigInt(value);
}

function hexBytes(value: unknown, field: string, length?: number): Uint8Array {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new GenesisError(field, "expected 0x-prefixed even-length hex");
  }
  const bytes = hexToBytes(value as `0x${string}`);
  if (length !== undefined && bytes.length !== length) throw new GenesisError(field, `expected ${length} bytes`);
  return bytes;
}

function positiveInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new GenesisError(field, "expected a positive integer");
  }
  return value;
}

function nonNegativeInt(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new GenesisError(field, "expected a non-negative integer");
  }
  return value;
}

/** Validates a parsed genesis JSON document; throws `GenesisError` naming the first bad field. */
export function parseGenesis(json: unknown): GenesisSpec {
  if (typeof json !== "object" || json === null) throw new GenesisError("(root)", "expected an object");
  const g = json as GenesisJSON;
  const chainId = positiveInt(g.chainId, "chainId");
  if (RESERVED_CHAIN_IDS.has(chainId)) throw new GenesisError("chainId", `${chainId} is used by other networks`);
  if (typeof g.networkName !== "string" || g.networkName.length === 0) {
    throw new GenesisError("networkName", "expected a non-empty string");
  }
  const gasLimit = quantity(g.gasLimit, "gasLimit");
  if (gasLimit < MIN_BLOCK_GAS_LIMIT) throw new GenesisError("gasLimit", `must be at least ${MIN_BLOCK_GAS_LIMIT}`);
  if (typeof g.fees !== "object" || g.fees === null) throw new GenesisError("fees", "expected an object");
  const fees: FeeParams = {
    minBaseFeePerGas: quantity(g.fees.minBaseFeePerGas, "fees.minBaseFeePerGas"),
    elasticityMultiplier: BigInt(positiveInt(g.fees.elasticityMultiplier, "fees.elasticityMultiplier")),
    baseFeeChangeDenominator: BigInt(positiveInt(g.fees.baseFeeChangeDenominator, "fees.baseFeeChangeDenominator")),
  };
  const baseFeePerGas = quantity(g.baseFeePerGas, "baseFeePerGas");
  if (baseFeePerGas < fees.minBaseFeePerGas) throw new GenesisError("baseFeePerGas", "below fees.minBaseFeePerGas");
  if (typeof g.consensus !== "object" || g.consensus === null)
    throw new GenesisError("consensus", "expected an object");
  const consensus = {} as ConsensusParams;
  for (const k of CONSENSUS_TIMING_KEYS) consensus[k] = nonNegativeInt(g.consensus[k], `consensus.${k}`);
  positiveInt(consensus.emptyBlockIntervalMs, "consensus.emptyBlockIntervalMs");
  const params: ChainParams = { gasLimit, fees, consensus };
  try {
    validateChainParams(params);
  } catch (e) {
    if (e instanceof ParamsError) throw new GenesisError(e.type.field, e.type.reason);
    throw e;
  }

  if (!Array.isArray(g.validators) || g.validators.length === 0) {
    throw new GenesisError("validators", "expected a non-empty array");
  }
  const seen = new Set<string>();
  const validators: Validator[] = g.validators.map((v, i) => {
    const publicKey = hexBytes(v.publicKey, `validators[${i}].publicKey`, 32);
    if (seen.has(v.publicKey.toLowerCase())) throw new GenesisError(`validators[${i}].publicKey`, "duplicate");
    seen.add(v.publicKey.toLowerCase());
    return {
      publicKey,
      address: validatorAddress(publicKey),
      votingPower: BigInt(positiveInt(v.power, `validators[${i}].power`)),
      feeRecipient: hexBytes(v.feeRecipient, `validators[${i}].feeRecipient`, 20),
    };
  });

  if (typeof g.alloc !== "object" || g.alloc === null) throw new GenesisError("alloc", "expected an object");
  const alloc: GenesisAccount[] = Object.entries(g.alloc)
    .map(([addr, a]) => {
      const field = `alloc.${addr}`;
      return {
        address: hexBytes(addr, field, 20),
        balance: quantity(a.balance, `${field}.balance`),
        nonce: a.nonce === undefined ? 0n : quantity(a.nonce, `${field}.nonce`),
        code: a.code === undefined ? undefined : hexBytes(a.code, `${field}.code`),
        storage: Object.entries(a.storage ?? {}).map(
          ([k, v]) =>
            [hexBytes(k, `${field}.storage`, 32), hexBytes(v, `${field}.storage.${k}`, 32)] as [Uint8Array, Uint8Array],
        ),
      };
    })
    .sort((x, y) => Buffer.compare(x.address, y.address));

  return {
    chainId: BigInt(chainId),
    networkName: g.networkName,
    genesisTime: quantity(g.genesisTime, "genesisTime"),
    gasLimit,
    baseFeePerGas,
    fees,
    consensus,
    params,
    validators,
    validatorNames: g.validators.map((v) => String(v.name ?? "")),
    validatorOperators: g.validators.map((v, i) =>
      v.operator === undefined ? null : hexBytes(v.operator, `validators[${i}].operator`, 20),
    ),
    alloc,
    modules: g.modules ?? {},
    source: g,
  };
}

/** JSON with object keys sorted at every level: the byte-exact form that is hashed into block 0. */
export function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
