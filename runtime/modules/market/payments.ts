import { keccak256 } from "../../primitives/hash.js";
import { type AbiValue, encodeArgs, tupleOf, wordToBigInt } from "../abi.js";
import { isZeroAddress } from "../erc20Events.js";
import { type ModuleCall, namedSlot, storageSlot } from "../host.js";
import { learnSpendAllowance, learnTransfer } from "../learn/ledger.js";
import { recoverSigner } from "../learn/permit.js";
import { MARKET_ADDRESS, type MarketCtx } from "./context.js";
import { MarketErrors } from "./errors.js";
import { Events } from "./events.js";
import { payOut } from "./funds.js";
import { Words } from "./storage.js";
import { tokenKey } from "./views.js";

/**
 * Metered payments (`IMarketPayments`, served at the market's address): the TAP pattern. A payer deposits AZR or
 * LEARN for one payee; off chain it signs a receipt per unit of service (a query, a message, a push) and, when the
 * payee asks, one EIP-712 voucher for the running total (`valueAggregate`) of what it owes that payee. The payee
 * redeems vouchers on chain in batches: each pays `valueAggregate − redeemed` from the deposit, all or nothing
 * (a deposit short of it refuses the whole batch; a voucher is never part-paid). A payer leaves by thawing: the
 * amount stays redeemable for the thaw period (the market's `unbondingPeriod`), longer than the redemption window
 * every payee keeps, then `withdrawDeposit` pays what is left of it. Search, mail and push all use this.
 */
export const VOUCHER = tupleOf("address", "address", "address", "uint128", "uint64");
export const DEPOSIT_INFO = tupleOf("uint256", "uint256", "uint64", "uint256");
/** Vouchers per redemption call (bounds the loop and its signature checks). */
export const MAX_VOUCHERS = 64;

export const PAYMENTS_EIP712_NAME = "Azora Payments";
export const PAYMENTS_EIP712_VERSION = "1";
const utf8 = (s: string) => new TextEncoder().encode(s);
const DOMAIN_TYPEHASH = keccak256(
  utf8("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);
export const VOUCHER_TYPEHASH = keccak256(
  utf8("Voucher(address payer,address payee,address token,uint128 valueAggregate,uint64 timestampMs)"),
);

export function paymentsDomainSeparator(chainId: bigint): Uint8Array {
  return keccak256(
    encodeArgs(
      ["bytes32", "bytes32", "bytes32", "uint256", "address"],
      [
        DOMAIN_TYPEHASH,
        keccak256(utf8(PAYMENTS_EIP712_NAME)),
        keccak256(utf8(PAYMENTS_EIP712_VERSION)),
        chainId,
        MARKET_ADDRESS.bytes,
      ],
    ),
  ).slice();
}

export function voucherDigest(chainId: bigint, v: AbiValue[]): Uint8Array {
  const structHash = keccak256(
    encodeArgs(["bytes32", "address", "address", "address", "uint128", "uint64"], [VOUCHER_TYPEHASH, ...v]),
  );
  const out = new Uint8Array(66);
  out.set([0x19, 0x01]);
  out.set(paymentsDomainSeparator(chainId), 2);
  out.set(structHash, 34);
  return keccak256(out).slice();
}

const DEPOSITS = namedSlot("azora.market.deposits");

/** Words of the deposit (payer → payee, token): balance, thawing, thawEnds, redeemed. */
enum D {
  Balance = 0,
  Thawing = 1,
  ThawEnds = 2,
  Redeemed = 3,
}

export function depositWords(call: ModuleCall, payer: Uint8Array, payee: Uint8Array, learn: boolean): Words {
  return new Words(call, wordToBigInt(storageSlot(DEPOSITS, payer, payee, learn ? 1n : 0n)));
}

/** The storage slot of a deposit's balance (tests read it directly for the accounting invariant). */
export function depositBalanceSlot(payer: Uint8Array, payee: Uint8Array, learn: boolean): Uint8Array {
  return storageSlot(DEPOSITS, payer, payee, learn ? 1n : 0n);
}

export async function deposit(ctx: MarketCtx, payee: Uint8Array, token: Uint8Array, amount: bigint): Promise<bigint> {
  const learn = tokenKey(token);
  const payer = ctx.caller;
  if (isZeroAddress(payee) || equal(payee, payer)) throw MarketErrors.paymentInvalid("payee");
  if (amount === 0n || amount >= 2n ** 128n) throw MarketErrors.paymentInvalid("amount");
  const expected = learn ? 0n : amount;
  if (ctx.call.value !== expected) throw MarketErrors.invalidPayment(expected, ctx.call.value);
  const d = depositWords(ctx.call, payer, payee, learn);
  const balance = (await d.get(D.Balance)) + amount;
  if (balance >= 2n ** 128n) throw MarketErrors.paymentInvalid("amount");
  await d.set(D.Balance, balance);
  if (learn) {
    await learnSpendAllowance(ctx.call, payer, MARKET_ADDRESS.bytes, amount);
    await learnTransfer(ctx.call, payer, MARKET_ADDRESS.bytes, amount);
  }
  Events.DepositAdded(ctx.call, [payer, payee], [token, amount, balance]);
  return balance;
}

/** Starts (or restarts, or with 0 cancels) thawing `amount` of the deposit; returns when it can be withdrawn. */
export async function thaw(ctx: MarketCtx, payee: Uint8Array, token: Uint8Array, amount: bigint): Promise<bigint> {
  const learn = tokenKey(token);
  const payer = ctx.caller;
  const d = depositWords(ctx.call, payer, payee, learn);
  const balance = await d.get(D.Balance);
  if (amount > balance) throw MarketErrors.paymentInvalid("amount");
  const ends = amount === 0n ? 0n : ctx.now() + (await ctx.params.unbondingPeriod());
  await d.set(D.Thawing, amount);
  await d.set(D.ThawEnds, ends);
  Events.ThawStarted(ctx.call, [payer, payee], [token, amount, ends]);
  return ends;
}

/** Pays the thawed amount (what is left of it after redemptions) once the thaw period is over. */
export async function withdrawDeposit(ctx: MarketCtx, payee: Uint8Array, token: Uint8Array): Promise<bigint> {
  const learn = tokenKey(token);
  const payer = ctx.caller;
  const d = depositWords(ctx.call, payer, payee, learn);
  const thawing = await d.get(D.Thawing);
  const ends = await d.get(D.ThawEnds);
  if (thawing === 0n) throw MarketErrors.nothingToWithdraw(payer, token);
  if (ctx.now() < ends) throw MarketErrors.thawing(ends);
  const balance = await d.get(D.Balance);
  const amount = thawing < balance ? thawing : balance;
  await d.set(D.Balance, balance - amount);
  await d.set(D.Thawing, 0n);
  await d.set(D.ThawEnds, 0n);
  if (amount > 0n) await payOut(ctx, payer, learn, amount);
  Events.DepositWithdrawn(ctx.call, [payer, payee], [token, amount]);
  return amount;
}

/**
 * Redeems the caller's vouchers, all or nothing: every voucher must name the caller as payee, carry its payer's
 * signature and a total above what was redeemed, and its deposit must cover the difference. Pays the payee at once
 * (a balance move: no code runs) and returns the total paid per token as AZR + LEARN.
 */
export async function redeemVouchers(
  ctx: MarketCtx,
  vouchers: AbiValue[][],
  signatures: Uint8Array[],
): Promise<bigint> {
  if (vouchers.length === 0 || vouchers.length > MAX_VOUCHERS) throw MarketErrors.paymentInvalid("vouchers");
  if (signatures.length !== vouchers.length) throw MarketErrors.paymentInvalid("signatures");
  const payee = ctx.caller;
  const chainId = ctx.call.evm.common.chainId();
  const paid = [0n, 0n];
  for (let i = 0; i < vouchers.length; i++) {
    const v = vouchers[i];
    const [payer, to, token, valueAggregate] = v as [Uint8Array, Uint8Array, Uint8Array, bigint, bigint];
    if (!equal(to, payee)) throw MarketErrors.paymentInvalid("payee");
    const learn = tokenKey(token);
    const sig = signatures[i];
    if (sig.length !== 65) throw MarketErrors.paymentInvalid("signature");
    ctx.call.charge(3_000n); // ecrecover, as the EVM prices it
    const signer = recoverSigner(voucherDigest(chainId, v), BigInt(sig[64]), sig.subarray(0, 32), sig.subarray(32, 64));
    if (!equal(signer, payer)) throw MarketErrors.voucherInvalidSigner(signer, payer);
    const d = depositWords(ctx.call, payer, payee, learn);
    const redeemed = await d.get(D.Redeemed);
    if (valueAggregate <= redeemed) throw MarketErrors.voucherAlreadyRedeemed(payer, valueAggregate, redeemed);
    const owed = valueAggregate - redeemed;
    const balance = await d.get(D.Balance);
    if (owed > balance) throw MarketErrors.voucherUnderfunded(payer, owed, balance);
    await d.set(D.Balance, balance - owed);
    await d.set(D.Redeemed, valueAggregate);
    const thawing = await d.get(D.Thawing);
    if (thawing > balance - owed) await d.set(D.Thawing, balance - owed);
    paid[learn ? 1 : 0] += owed;
    Events.VoucherRedeemed(ctx.call, [payer, payee], [token, owed, valueAggregate]);
  }
  if (paid[0] > 0n) await payOut(ctx, payee, false, paid[0]);
  if (paid[1] > 0n) await payOut(ctx, payee, true, paid[1]);
  return paid[0] + paid[1];
}

export async function depositView(
  ctx: MarketCtx,
  payer: Uint8Array,
  payee: Uint8Array,
  token: Uint8Array,
): Promise<AbiValue[]> {
  const d = depositWords(ctx.call, payer, payee, tokenKey(token));
  return [await d.get(D.Balance), await d.get(D.Thawing), await d.get(D.ThawEnds), await d.get(D.Redeemed)];
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
