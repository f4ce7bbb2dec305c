import { equalsBytes } from "../../primitives/bytes.js";
import type { AbiValue } from "../abi.js";
import { OutOfGas, Revert } from "../host.js";
import { LEARN_ADDRESS } from "../learn/index.js";
import { MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { Events } from "./events.js";
import { accept, claim, feeOf, post, submit } from "./jobs.js";

/**
 * Batched job calls: one transaction for many jobs, so a busy worker pays one transaction's overhead (signature,
 * nonce, receipt, block space) per block instead of one per job. Each item runs the single-job function with its
 * rules unchanged and pays that function's base gas before its work.
 *
 * - `postMany` is all-or-nothing (its payment is the exact sum of the escrows, like `post`'s).
 * - `claimMany`, `submitMany` and `acceptMany` are best-effort: an item the single function would refuse (a
 *   claim that lost a race, a job settled meanwhile) has its state changes and events undone, is reported
 *   `false` and logged as `BatchItemSkipped` with the custom error it reverted with; the other items stand.
 *   Out of gas still aborts the whole call.
 */
export const MAX_BATCH = 64;

function checkLength(n: number, ...others: number[]): void {
  if (n === 0 || n > MAX_BATCH) throw MarketErrors.batchSize(BigInt(n), BigInt(MAX_BATCH));
  for (const m of others) if (m !== n) throw MarketErrors.batchSize(BigInt(m), BigInt(n));
}

/**
 * Runs one item in its own journal checkpoint with a fresh MarketCtx (its record caches must not outlive a
 * revert): a Revert undoes the item's writes and logs and reports it; anything else propagates.
 */
async function attempt(outer: MarketCtx, id: bigint, gas: bigint, run: (ctx: MarketCtx) => Promise<void>) {
  const call = outer.call;
  call.charge(gas);
  const logs = call.logs.length;
  const journal = call.evm.journal;
  await journal.checkpoint();
  try {
    await run(new MarketCtx(call, outer.params));
    await journal.commit();
    return true;
  } catch (e) {
    await journal.revert();
    call.logs.length = logs;
    if (e instanceof OutOfGas || !(e instanceof Revert)) throw e;
    Events.BatchItemSkipped(call, [id, call.caller.bytes], [e.data]);
    return false;
  }
}

export async function postMany(ctx: MarketCtx, specs: AbiValue[][], gasPerItem: bigint): Promise<bigint[]> {
  checkLength(specs.length);
  await ctx.requireConfigured();
  const cfg = await ctx.params.config();
  // Each AZR job's share of the value, checked in total before any job is written.
  const shares = specs.map((s) => {
    const [token, price, redundancy] = [s[3] as Uint8Array, s[4] as bigint, s[5] as bigint];
    return equalsBytes(token, LEARN_ADDRESS.bytes) ? 0n : price * redundancy + feeOf(price, redundancy, cfg.feeBps);
  });
  const total = shares.reduce((a, b) => a + b, 0n);
  if (total !== ctx.call.value) throw MarketErrors.invalidPayment(total, ctx.call.value);
  const ids: bigint[] = [];
  for (let i = 0; i < specs.length; i++) {
    ctx.call.charge(gasPerItem);
    ids.push(await post(new MarketCtx(ctx.call, ctx.params), specs[i], shares[i]));
  }
  return ids;
}

export async function claimMany(ctx: MarketCtx, ids: bigint[], gasPerItem: bigint): Promise<boolean[]> {
  checkLength(ids.length);
  const out: boolean[] = [];
  for (const id of ids) out.push(await attempt(ctx, id, gasPerItem, (c) => claim(c, id).then(() => undefined)));
  return out;
}

export async function submitMany(
  ctx: MarketCtx,
  ids: bigint[],
  hashes: Uint8Array[],
  uris: string[],
  gasPerItem: bigint,
): Promise<boolean[]> {
  checkLength(ids.length, hashes.length, uris.length);
  const out: boolean[] = [];
  for (let i = 0; i < ids.length; i++)
    out.push(await attempt(ctx, ids[i], gasPerItem, (c) => submit(c, ids[i], hashes[i], uris[i])));
  return out;
}

export async function acceptMany(ctx: MarketCtx, ids: bigint[], gasPerItem: bigint): Promise<boolean[]> {
  checkLength(ids.length);
  const out: boolean[] = [];
  for (const id of ids) out.push(await attempt(ctx, id, gasPerItem, (c) => accept(c, id)));
  return out;
}
