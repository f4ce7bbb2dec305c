import { bigIntToUnpaddedBytes, bytesToUtf8, utf8ToBytes } from "@ethereumjs/util";
import type { BlockEffects, ParamChange, UpgradePlan } from "../../runtime/effects.js";
import { type ChainParamsPatch, CONSENSUS_TIMING_KEYS, type ConsensusTiming } from "../../runtime/params.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import {
  expectBytes,
  expectList,
  expectUint,
  type RLPInput,
  rlpDecodeList,
  rlpEncode,
} from "../../runtime/primitives/rlpCodec.js";
import type { ValidatorUpdate } from "../../runtime/primitives/validatorSet.js";

/**
 * The stored form of a block's effects (key space `E`, only for blocks that reported any):
 *
 *   [version = 1, updates, paramChanges, plan]
 *   updates      = [[publicKey, power, feeRecipient], …]
 *   paramChanges = [[height, [[name, value], …]], …]   name = "gasLimit" | "fees.<key>" | "consensus.<key>"
 *   plan         = [] | [name, height, version]
 *
 * A local format (never hashed or sent): what the node reloads parameter changes and upgrade plans from
 * at start, and rebuilds validator records from.
 */
const VERSION = 1n;
const FEE_KEYS = ["minBaseFeePerGas", "elasticityMultiplier", "baseFeeChangeDenominator"] as const;

export function encodeEffects(e: BlockEffects): Uint8Array {
  return rlpEncode([
    bigIntToUnpaddedBytes(VERSION),
    e.validatorUpdates.map((u) => [u.publicKey, bigIntToUnpaddedBytes(u.power), u.feeRecipient]),
    e.paramChanges.map((c) => [bigIntToUnpaddedBytes(c.height), patchPairs(c.changes)]),
    e.upgradePlan === null
      ? []
      : [
          utf8ToBytes(e.upgradePlan.name),
          bigIntToUnpaddedBytes(e.upgradePlan.height),
          utf8ToBytes(e.upgradePlan.version),
        ],
  ]);
}

export function decodeEffects(bytes: Uint8Array): BlockEffects {
  const v = rlpDecodeList(bytes, "effects");
  if (v.length !== 4 || expectUint(v[0], "effects.version") !== VERSION) {
    throw new CodecError("effects", "unknown format");
  }
  const validatorUpdates: ValidatorUpdate[] = expectList(v[1], "effects.updates").map((x, i) => {
    const u = expectList(x, `effects.updates[${i}]`);
    if (u.length !== 3) throw new CodecError(`effects.updates[${i}]`, "expected 3 fields");
    return {
      publicKey: expectBytes(u[0], "publicKey", 32),
      power: expectUint(u[1], "power"),
      feeRecipient: expectBytes(u[2], "feeRecipient", 20),
    };
  });
  const paramChanges: ParamChange[] = expectList(v[2], "effects.paramChanges").map((x, i) => {
    const c = expectList(x, `effects.paramChanges[${i}]`);
    if (c.length !== 2) throw new CodecError(`effects.paramChanges[${i}]`, "expected 2 fields");
    return { height: expectUint(c[0], "height"), changes: patchFromPairs(expectList(c[1], "changes")) };
  });
  const p = expectList(v[3], "effects.plan");
  let upgradePlan: UpgradePlan | null = null;
  if (p.length === 3) {
    upgradePlan = {
      name: bytesToUtf8(expectBytes(p[0], "plan.name")),
      height: expectUint(p[1], "plan.height"),
      version: bytesToUtf8(expectBytes(p[2], "plan.version")),
    };
  } else if (p.length !== 0) {
    throw new CodecError("effects.plan", "expected 0 or 3 fields");
  }
  return { validatorUpdates, paramChanges, upgradePlan };
}

function patchPairs(p: ChainParamsPatch): RLPInput[] {
  const out: RLPInput[] = [];
  const add = (name: string, value: bigint | number | undefined) => {
    if (value !== undefined) out.push([utf8ToBytes(name), bigIntToUnpaddedBytes(BigInt(value))]);
  };
  add("gasLimit", p.gasLimit);
  for (const k of FEE_KEYS) add(`fees.${k}`, p.fees?.[k]);
  for (const k of CONSENSUS_TIMING_KEYS) add(`consensus.${k}`, p.consensus?.[k]);
  return out;
}

function patchFromPairs(pairs: unknown[]): ChainParamsPatch {
  const patch: ChainParamsPatch = {};
  for (const [i, x] of pairs.entries()) {
    const pair = expectList(x as never, `changes[${i}]`);
    if (pair.length !== 2) throw new CodecError(`changes[${i}]`, "expected 2 fields");
    const name = bytesToUtf8(expectBytes(pair[0], "name"));
    const value = expectUint(pair[1], "value");
    const key = name.slice(name.indexOf(".") + 1);
    if (name === "gasLimit") patch.gasLimit = value;
    else if (name.startsWith("fees.") && (FEE_KEYS as readonly string[]).includes(key)) {
      patch.fees = { ...patch.fees, [key]: value };
    } else if (name.startsWith("consensus.") && (CONSENSUS_TIMING_KEYS as readonly string[]).includes(key)) {
      patch.consensus = { ...patch.consensus, [key as keyof ConsensusTiming]: Number(value) };
    } else {
      throw new CodecError(`changes[${i}]`, `unknown parameter ${name}`);
    }
  }
  return patch;
}
