import { bytesToHex } from "../../primitives/bytes.js";
import { GOVERNANCE_ADDRESS, MODULE_ADDRESS, moduleAddress } from "../registry.js";
import { activeSet, D, DelegationRecord, delegationsOf, V, ValidatorRecord } from "../staking/storage.js";
import { atAccount, type ModuleState } from "../state.js";
import { GOV, recordedSlot, VoteOption, voteOfSlot, voteSharesSlot, votingIds } from "./storage.js";

/**
 * Vote weights with inheritance and bounded work. A validator's vote carries its whole bonded
 * stake except the shares of delegators who voted themselves; those shares are kept per
 * (proposal, option, validator) and updated when the delegator votes again or its shares change
 * (at most MAX_VOTING proposals × MAX_DELEGATIONS validators). The tally then reads, per validator
 * of the active set, its stake and five words: O(set size), whoever voted. Counting in shares keeps
 * the weights right after a slash (a share's value falls for everyone at once).
 */
const STAKING = moduleAddress(MODULE_ADDRESS.staking);

/** Called by staking whenever `delegator`'s shares with `validator` change by `delta`. */
export async function sharesChanged(
  s: ModuleState,
  delegator: Uint8Array,
  validator: Uint8Array,
  delta: bigint,
): Promise<void> {
  if (bytesToHex(delegator) === bytesToHex(validator)) return; // carried by the validator's own vote
  const g = atAccount(s, GOVERNANCE_ADDRESS);
  for (const id of await votingIds(g)) {
    const option = Number(await g.load(voteOfSlot(id, delegator)));
    if (option === VoteOption.None) continue;
    await g.store(voteSharesSlot(id, option, validator), (await g.load(voteSharesSlot(id, option, validator))) + delta);
    await g.store(
      recordedSlot(id, delegator, validator),
      (await g.load(recordedSlot(id, delegator, validator))) + delta,
    );
  }
}

/** Records (or replaces) `voter`'s vote on `id`: as a validator for its own stake, as a delegator for the rest. */
export async function castVote(s: ModuleState, id: bigint, voter: Uint8Array, option: VoteOption): Promise<void> {
  const g = atAccount(s, GOVERNANCE_ADDRESS);
  const st = atAccount(s, STAKING);
  const previous = Number(await g.load(voteOfSlot(id, voter)));
  for (const validator of await delegationsOf(st, voter).all()) {
    if (bytesToHex(validator) === bytesToHex(voter)) continue;
    const old = await g.load(recordedSlot(id, voter, validator));
    if (previous !== VoteOption.None && old > 0n) {
      const slot = voteSharesSlot(id, previous, validator);
      await g.store(slot, (await g.load(slot)) - old);
    }
    const shares = await new DelegationRecord(st, voter, validator).get(D.Shares);
    const slot = voteSharesSlot(id, option, validator);
    await g.store(slot, (await g.load(slot)) + shares);
    await g.store(recordedSlot(id, voter, validator), shares);
  }
  await g.store(voteOfSlot(id, voter), BigInt(option));
}

export interface Tally {
  yes: bigint;
  no: bigint;
  veto: bigint;
  abstain: bigint;
  /** Bonded stake of the active set. */
  bonded: bigint;
}

/** The tally of `id` now: the active set's stake, split by the votes of validators and of their delegators. */
export async function tally(s: ModuleState, id: bigint): Promise<Tally> {
  const g = atAccount(s, GOVERNANCE_ADDRESS);
  const st = atAccount(s, STAKING);
  const sums = [0n, 0n, 0n, 0n, 0n];
  let bonded = 0n;
  for (const op of await activeSet(st)) {
    const v = new ValidatorRecord(st, op);
    const tokens = await v.get(V.Tokens);
    const shares = await v.get(V.Shares);
    bonded += tokens;
    if (shares === 0n) continue;
    let overridden = 0n;
    for (let o = VoteOption.Yes; o <= VoteOption.Abstain; o++) {
      const sh = await g.load(voteSharesSlot(id, o, op));
      if (sh === 0n) continue;
      sums[o] += (sh * tokens) / shares;
      overridden += sh;
    }
    const own = Number(await g.load(voteOfSlot(id, op)));
    if (own !== VoteOption.None && shares > overridden) sums[own] += ((shares - overridden) * tokens) / shares;
  }
  return { yes: sums[1], no: sums[2], veto: sums[3], abstain: sums[4], bonded };
}

export { GOV };
