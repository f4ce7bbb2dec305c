import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import {
  consensusSet,
  genesisValidators,
  type HeightValidators,
  nextValidators,
} from "../../consensus/validators/updates.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { bytesToHex, readUint64BE } from "../../runtime/primitives/bytes.js";
import { CodecError } from "../../runtime/primitives/codecError.js";
import { expectBytes, expectList, expectUint, rlpDecodeList, rlpEncode } from "../../runtime/primitives/rlpCodec.js";
import { type Validator, validatorAddress } from "../../runtime/primitives/validatorSet.js";
import type { ChainDB } from "../db/chainDb.js";
import { effectsKey, validatorSetKey, validatorsKey } from "../db/keys.js";
import { decodeEffects } from "./effectsCodec.js";

/** Heights below the head loaded into memory at start (late votes, the last commit). */
const WINDOW_BELOW_HEAD = 16n;

/**
 * The validators of each height in LevelDB, written in the batch of the block that settles them (block
 * H settles H + 2): per height `V` + height → [set hash, proposer priorities], and each distinct list once
 * under `W` + its hash. Reading any height is two gets (O(1) at any chain length); nothing is rebuilt
 * from genesis — except once, for a database written before these records existed, where the heights
 * above its head are rebuilt from the nearest record (or genesis) and the blocks' stored effects.
 *
 * Size: a record is the set hash plus one priority per validator (≈ 32 + 9 × validators bytes per
 * block: ~1 KB for 100 validators, beside a commit certificate of 64 bytes per signature).
 */
export class ValidatorStore {
  private readonly lists = new Map<string, readonly Validator[]>();

  constructor(
    private readonly db: ChainDB,
    private readonly log: Logger,
  ) {}

  /** The records `heights` settles, for the block's batch (the list only when new). */
  async recordsFor(v: HeightValidators): Promise<{ key: Uint8Array; value: Uint8Array }[]> {
    const out = [{ key: validatorsKey(v.height), value: encodeHeightRecord(v) }];
    const hex = bytesToHex(v.hash);
    if (!this.lists.has(hex) && (await this.db.getRecord(validatorSetKey(v.hash))) === undefined) {
      out.push({ key: validatorSetKey(v.hash), value: encodeList(v.validators) });
    }
    return out;
  }

  /** Remembers a list the block's batch wrote (so later heights with the same set skip the read). */
  remember(v: HeightValidators): void {
    this.lists.set(bytesToHex(v.hash), v.validators);
  }

  /** The validators of `height` with their priorities, or undefined when no record exists. O(1). */
  async load(height: bigint): Promise<HeightValidators | undefined> {
    const raw = await this.db.getRecord(validatorsKey(height));
    if (raw === undefined) return undefined;
    const { hash, priorities } = decodeHeightRecord(raw);
    const validators = await this.list(hash);
    if (validators === undefined)
      throw new CodecError("validators", `set ${bytesToHex(hash)} of height ${height} is missing`);
    return { height, validators, hash, set: consensusSet(validators, priorities) };
  }

  /** The validator list with this hash (a header's `validatorsHash`), if stored. */
  async list(hash: Uint8Array): Promise<readonly Validator[] | undefined> {
    const hex = bytesToHex(hash);
    const cached = this.lists.get(hex);
    if (cached !== undefined) return cached;
    const raw = await this.db.getRecord(validatorSetKey(hash));
    if (raw === undefined) return undefined;
    const list = decodeList(raw);
    if (this.lists.size >= 64) this.lists.delete(this.lists.keys().next().value as string);
    this.lists.set(hex, list);
    return list;
  }

  /**
   * The records of heights `head` − 16 … `head` + 2 for the in-memory history. Records missing at the top
   * (a database from before validator records, or one rolled back below them) are rebuilt from the
   * nearest lower record — or from genesis — with each block's stored effects, and written.
   */
  async window(head: bigint, genesis: readonly Validator[]): Promise<HeightValidators[]> {
    const top = head + 2n;
    const from = head > WINDOW_BELOW_HEAD ? head - WINDOW_BELOW_HEAD : 1n;
    const out: HeightValidators[] = [];
    let missingFrom: bigint | null = null;
    for (let h = from; h <= top; h++) {
      const r = await this.load(h);
      if (r === undefined) {
        missingFrom ??= h;
        continue;
      }
      if (missingFrom === null) out.push(r);
    }
    if (missingFrom === null) return out;
    const rebuilt = await this.rebuild(missingFrom, top, genesis);
    return [...out.filter((r) => r.height < missingFrom), ...rebuilt].filter((r) => r.height >= from);
  }

  private async rebuild(missingFrom: bigint, top: bigint, genesis: readonly Validator[]): Promise<HeightValidators[]> {
    // The nearest record below `missingFrom` (or genesis), then forward with each block's effects.
    const below = await this.db.entries({
      gte: validatorsKey(0n),
      lt: validatorsKey(missingFrom),
      reverse: true,
      limit: 1,
    });
    let cur: HeightValidators;
    if (below.length > 0) {
      const h = readUint64BE(below[0][0], 1);
      cur = (await this.load(h)) as HeightValidators;
    } else {
      cur = genesisValidators(genesis);
    }
    this.log.info("rebuilding validator records", { from: cur.height.toString(), to: top.toString() });
    const out: HeightValidators[] = [cur];
    const records: { key: Uint8Array; value: Uint8Array }[] = [];
    if (cur.height >= missingFrom) records.push(...(await this.recordsFor(cur)));
    while (cur.height < top) {
      // Height h + 2 comes from h + 1 and the effects of block h (h ≥ 1); height 2 from height 1 as is.
      const settledBy = cur.height - 1n;
      const rawEffects = settledBy >= 1n ? await this.db.getRecord(effectsKey(settledBy)) : undefined;
      const updates = rawEffects === undefined ? [] : decodeEffects(rawEffects).validatorUpdates;
      cur = nextValidators(cur, updates);
      out.push(cur);
      if (cur.height >= missingFrom) {
        records.push(...(await this.recordsFor(cur)));
        this.remember(cur);
      }
    }
    await this.db.putRecords(records);
    return out;
  }
}

function encodeHeightRecord(v: HeightValidators): Uint8Array {
  return rlpEncode([v.hash, v.set.proposerPriorities.map(encodeSigned)]);
}

function decodeHeightRecord(raw: Uint8Array): { hash: Uint8Array; priorities: bigint[] } {
  const v = rlpDecodeList(raw, "validators record");
  if (v.length !== 2) throw new CodecError("validators record", "expected 2 fields");
  return { hash: expectBytes(v[0], "hash", 32), priorities: expectList(v[1], "priorities").map(decodeSigned) };
}

/** A signed integer as RLP bytes: [sign byte (0 | 1), magnitude]. */
function encodeSigned(x: bigint) {
  return [Uint8Array.of(x < 0n ? 1 : 0), bigIntToUnpaddedBytes(x < 0n ? -x : x)];
}

function decodeSigned(x: unknown): bigint {
  const pair = expectList(x as never, "priority");
  if (pair.length !== 2) throw new CodecError("priority", "expected 2 fields");
  const sign = expectBytes(pair[0], "priority.sign", 1)[0];
  const magnitude = expectUint(pair[1], "priority.magnitude");
  if (sign > 1) throw new CodecError("priority", "bad sign");
  return sign === 1 ? -magnitude : magnitude;
}

export function encodeList(list: readonly Validator[]): Uint8Array {
  return rlpEncode(list.map((v) => [v.publicKey, bigIntToUnpaddedBytes(v.votingPower), v.feeRecipient]));
}

export function decodeList(raw: Uint8Array): Validator[] {
  const list = rlpDecodeList(raw, "validator list").map((x, i) => {
    const v = expectList(x, `validators[${i}]`);
    if (v.length !== 3) throw new CodecError(`validators[${i}]`, "expected 3 fields");
    const publicKey = expectBytes(v[0], "publicKey", 32);
    return {
      publicKey,
      address: validatorAddress(publicKey),
      votingPower: expectUint(v[1], "power"),
      feeRecipient: expectBytes(v[2], "feeRecipient", 20),
    };
  });
  return list;
}
