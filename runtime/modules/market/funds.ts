import { Address } from "@ethereumjs/util";
import { bytesToHex } from "../../primitives/bytes.js";
import { learnMintAsModule, learnTransfer } from "../learn/ledger.js";
import { burnNative } from "../wazr/index.js";
import { MARKET_ADDRESS, type MarketCtx } from "./context.js";
import { credits } from "./storage.js";

/**
 * What a settlement owes, gathered before anything is written: credits per (account, token) and the
 * AZR to burn. `apply` writes the credits (state; paid later by `withdraw`, so no party's code runs
 * and nobody can block a settlement by refusing a payment), then burns, the only funds that leave
 * the module during a settlement.
 */
export class Payouts {
  private readonly owed = new Map<string, { account: Uint8Array; learn: boolean; amount: bigint }>();
  burned = 0n;

  credit(account: Uint8Array, learn: boolean, amount: bigint): void {
    if (amount === 0n) return;
    const key = `${bytesToHex(account)}:${learn ? 1 : 0}`;
    const entry = this.owed.get(key);
    if (entry === undefined) this.owed.set(key, { account, learn, amount });
    else entry.amount += amount;
  }

  burn(amount: bigint): void {
    this.burned += amount;
  }

  async apply(ctx: MarketCtx): Promise<void> {
    for (const { account, learn, amount } of this.owed.values()) {
      await credits.set(ctx.call, account, learn, (await credits.get(ctx.call, account, learn)) + amount);
    }
    await burnNative(ctx.call, MARKET_ADDRESS, this.burned);
  }
}

/** Pays `amount` of the market's AZR or LEARN to `to` (withdrawals only): a balance move, no code runs. */
export async function payOut(ctx: MarketCtx, to: Uint8Array, learn: boolean, amount: bigint): Promise<void> {
  if (learn) await learnTransfer(ctx.call, MARKET_ADDRESS.bytes, to, amount);
  else await ctx.call.moveNative(MARKET_ADDRESS, new Address(to), amount);
}

/** LEARN minted to a paid worker: what was actually minted (0 without the issuer role). */
export function mintReward(ctx: MarketCtx, to: Uint8Array, amount: bigint): Promise<bigint> {
  return learnMintAsModule(ctx.call, MARKET_ADDRESS.bytes, to, amount);
}
