import { bytesToHex } from "../../runtime/primitives/bytes.js";
import {
  hashValidatorSet,
  type Validator,
  type ValidatorUpdate,
  validatorAddress,
} from "../../runtime/primitives/validatorSet.js";
import { ValidatorSet } from "../core/validatorSet.js";
import { ValidatorUpdateError, ValidatorUpdateErrorCode } from "./errors.js";

/**
 * Most validators a set may hold: votes and commit certificates carry a 16-bit validator index, and
 * every vote of a height is kept; the staking module's `maxValidators` is far below this.
 */
export const MAX_VALIDATORS = 10_000;
/** CometBFT's MaxTotalVotingPower (2^60 / 8): priorities stay far from overflow even in 64-bit Go. */
export const MAX_TOTAL_VOTING_POWER = 2n ** 60n / 8n;

/** The validators of one height: the list (index = validator id in votes and commits), its hash and proposer priorities. */
export interface HeightValidators {
  height: bigint;
  /** In set order; `hashValidatorSet(validators)` is the header's `validatorsHash`. */
  validators: readonly Validator[];
  hash: Uint8Array;
  /** The consensus view (powers, priorities at the start of the height). */
  set: ValidatorSet;
}

/** The consensus view of a validator list with the given priorities (0 for all when left out). */
export function consensusSet(list: readonly Validator[], priorities?: readonly bigint[]): ValidatorSet {
  return new ValidatorSet(
    list.map((v) => ({ address: bytesToHex(v.address), votingPower: v.votingPower })),
    priorities,
  );
}

/** The validators of height 1 from genesis: genesis order, priorities advanced once (CometBFT `MakeGenesisState`). */
export function genesisValidators(list: readonly Validator[]): HeightValidators {
  return { height: 1n, validators: list, hash: hashValidatorSet(list), set: consensusSet(list).next() };
}

/**
 * The validators of `height + 1` from those of `height`, with `updates` applied (CometBFT's
 * `updateState`: `NextValidators.Copy()`, `UpdateWithChangeSet(updates)`, `IncrementProposerPriority(1)`).
 *
 * Priorities are kept at the start of each height (before the height's own increment), so the
 * increment CometBFT applies after the updates is the one `proposer(0)` of the new height makes;
 * here the outgoing height's increment comes first and the updates after it — the same numbers.
 * Without updates this is `set.next()`: the same validators, priorities advanced once.
 *
 * Updates (CometBFT `UpdateWithChangeSet`): power 0 removes a validator, a known key gets its new
 * power and fee recipient and keeps its priority, a new key joins with priority −1.125 × the total
 * power after the updates (before removals), so it does not propose at once and cannot game its
 * entry by leaving and rejoining; then priorities are rescaled into a window of 2 × total power and
 * centred on zero, and the list is sorted by power (descending), then address. Throws
 * `ValidatorUpdateError` for updates that cannot apply (every node hits it at the same height).
 */
export function nextValidators(current: HeightValidators, updates: readonly ValidatorUpdate[]): HeightValidators {
  const advanced = current.set.next();
  if (updates.length === 0) {
    return { height: current.height + 1n, validators: current.validators, hash: current.hash, set: advanced };
  }
  const byKey = new Map<string, { v: Validator; priority: bigint }>();
  current.validators.forEach((v, i) => {
    byKey.set(bytesToHex(v.publicKey), { v, priority: advanced.proposerPriorities[i] });
  });
  const seen = new Set<string>();
  for (const u of updates) validateUpdate(u, seen);

  // Total power after the updates, before the removals (CometBFT's tvpAfterUpdatesBeforeRemovals).
  let total = 0n;
  const powers = new Map<string, bigint>();
  for (const [k, e] of byKey) powers.set(k, e.v.votingPower);
  for (const u of updates) {
    const key = bytesToHex(u.publicKey);
    if (u.power === 0n) {
      if (!byKey.has(key)) {
        throw new ValidatorUpdateError(
          { code: ValidatorUpdateErrorCode.UNKNOWN_REMOVAL, publicKey: key },
          `validator update removes ${key}, which is not in the set`,
        );
      }
      continue;
    }
    powers.set(key, u.power);
  }
  for (const p of powers.values()) total += p;
  if (total > MAX_TOTAL_VOTING_POWER) {
    throw new ValidatorUpdateError(
      { code: ValidatorUpdateErrorCode.TOO_LARGE, reason: `total voting power ${total}` },
      `validator updates make the total voting power ${total}, above ${MAX_TOTAL_VOTING_POWER}`,
    );
  }
  const newcomerPriority = -(total + (total >> 3n));

  for (const u of updates) {
    const key = bytesToHex(u.publicKey);
    if (u.power === 0n) {
      byKey.delete(key);
      continue;
    }
    const v: Validator = {
      publicKey: u.publicKey.slice(),
      address: validatorAddress(u.publicKey),
      votingPower: u.power,
      feeRecipient: u.feeRecipient.slice(),
    };
    const existing = byKey.get(key);
    byKey.set(key, { v, priority: existing?.priority ?? newcomerPriority });
  }
  if (byKey.size === 0) {
    throw new ValidatorUpdateError(
      { code: ValidatorUpdateErrorCode.EMPTY_SET },
      "validator updates remove every validator",
    );
  }
  if (byKey.size > MAX_VALIDATORS) {
    throw new ValidatorUpdateError(
      { code: ValidatorUpdateErrorCode.TOO_LARGE, reason: `${byKey.size} validators` },
      `validator updates make ${byKey.size} validators, above ${MAX_VALIDATORS}`,
    );
  }
  const entries = [...byKey.values()].sort((a, b) => {
    if (a.v.votingPower !== b.v.votingPower) return a.v.votingPower > b.v.votingPower ? -1 : 1;
    return Buffer.compare(a.v.address, b.v.address);
  });
  const list = entries.map((e) => e.v);
  const set = consensusSet(
    list,
    recentre(
      entries.map((e) => e.priority),
      list.reduce((s, v) => s + v.votingPower, 0n),
    ),
  );
  return { height: current.height + 1n, validators: list, hash: hashValidatorSet(list), set };
}

function validateUpdate(u: ValidatorUpdate, seen: Set<string>): void {
  const malformed = (reason: string) =>
    new ValidatorUpdateError(
      { code: ValidatorUpdateErrorCode.MALFORMED, reason },
      `malformed validator update: ${reason}`,
    );
  if (u.publicKey.length !== 32) throw malformed("public key is not 32 bytes");
  if (u.feeRecipient.length !== 20) throw malformed("fee recipient is not 20 bytes");
  if (u.power < 0n) throw malformed("negative power");
  if (u.power > MAX_TOTAL_VOTING_POWER) throw malformed("power above the total bound");
  const key = bytesToHex(u.publicKey);
  if (seen.has(key)) {
    throw new ValidatorUpdateError(
      { code: ValidatorUpdateErrorCode.DUPLICATE, publicKey: key },
      `validator ${key} updated twice in one block`,
    );
  }
  seen.add(key);
}

/**
 * CometBFT's `RescalePriorities(2 × total)` then `shiftByAvgProposerPriority`: keeps the spread of
 * priorities within twice the total power (a newcomer's −1.125 × total may exceed it) and centres
 * them on zero (rounding the average toward negative infinity, as Go's big.Int Div).
 */
function recentre(priorities: bigint[], total: bigint): bigint[] {
  const p = [...priorities];
  const max = p.reduce((a, b) => (b > a ? b : a));
  const min = p.reduce((a, b) => (b < a ? b : a));
  const diff = max - min;
  const window = 2n * total;
  if (diff > window) {
    const ratio = (diff + window - 1n) / window;
    for (let i = 0; i < p.length; i++) p[i] /= ratio; // Go's Quo: truncated toward zero, as BigInt division
  }
  const sum = p.reduce((a, b) => a + b, 0n);
  const n = BigInt(p.length);
  const avg = sum >= 0n ? sum / n : -((-sum + n - 1n) / n);
  return p.map((x) => x - avg);
}
