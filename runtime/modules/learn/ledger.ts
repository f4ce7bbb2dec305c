import { encodeArgs } from "../abi.js";
import { addressTopic, ERC20Errors, isZeroAddress, MAX_UINT256, TRANSFER_TOPIC, ZERO20 } from "../erc20Events.js";
import { customError, type ModuleCall, namedSlot, storageSlot } from "../host.js";
import { MODULE_ADDRESS, moduleAddress } from "../registry.js";

/**
 * LEARN's state and the ledger operations on it. Every function takes the `ModuleCall` of whoever
 * is running (LEARN itself, or another module such as escrow calling in-process) and addresses
 * LEARN's account explicitly, so the effects land in LEARN's storage and its logs carry LEARN's
 * address whichever module is executing.
 */
export const LEARN_ADDRESS = moduleAddress(MODULE_ADDRESS.learn);

/** Storage layout (also in README.md): scalars at named slots, mappings at `storageSlot(base, keys…)`. */
export const LEARN_SLOTS = {
  totalSupply: namedSlot("azora.learn.totalSupply"),
  admin: namedSlot("azora.learn.admin"),
  balances: namedSlot("azora.learn.balances"),
  allowances: namedSlot("azora.learn.allowances"),
  issuers: namedSlot("azora.learn.issuers"),
  nonces: namedSlot("azora.learn.nonces"),
} as const;

export const balanceSlot = (owner: Uint8Array) => storageSlot(LEARN_SLOTS.balances, owner);
export const allowanceSlot = (owner: Uint8Array, spender: Uint8Array) =>
  storageSlot(LEARN_SLOTS.allowances, owner, spender);
export const issuerSlot = (account: Uint8Array) => storageSlot(LEARN_SLOTS.issuers, account);
export const nonceSlot = (owner: Uint8Array) => storageSlot(LEARN_SLOTS.nonces, owner);

/** Transfer log at LEARN's address (erc20Events' emitter logs at the running module's address). */
export function emitLearnTransfer(call: ModuleCall, from: Uint8Array, to: Uint8Array, value: bigint): void {
  call.emit([TRANSFER_TOPIC, addressTopic(from), addressTopic(to)], encodeArgs(["uint256"], [value]), LEARN_ADDRESS);
}

export async function learnBalanceOf(call: ModuleCall, owner: Uint8Array): Promise<bigint> {
  return call.load(balanceSlot(owner), LEARN_ADDRESS);
}

/**
 * OZ 5 `_update`: moves `amount` from `from` to `to`; `from` zero mints, `to` zero burns (the supply
 * follows). Callers check the zero-address rules that apply to them before calling. LEARN-internal:
 * it mints without the issuer check; other modules move tokens with `learnTransfer`.
 */
export async function learnUpdate(call: ModuleCall, from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void> {
  if (isZeroAddress(from)) {
    const supply = await call.load(LEARN_SLOTS.totalSupply, LEARN_ADDRESS);
    // OZ's checked `_totalSupply += value` panics with 0x11 (arithmetic overflow); so does this.
    if (supply + amount > MAX_UINT256) throw customError("Panic(uint256)", ["uint256"], [0x11n]);
    await call.store(LEARN_SLOTS.totalSupply, supply + amount, LEARN_ADDRESS);
  } else {
    const fromSlot = balanceSlot(from);
    const balance = await call.load(fromSlot, LEARN_ADDRESS);
    if (balance < amount) throw ERC20Errors.insufficientBalance(from, balance, amount);
    await call.store(fromSlot, balance - amount, LEARN_ADDRESS);
  }
  if (isZeroAddress(to)) {
    const supply = await call.load(LEARN_SLOTS.totalSupply, LEARN_ADDRESS);
    await call.store(LEARN_SLOTS.totalSupply, supply - amount, LEARN_ADDRESS);
  } else {
    // Read after the debit so a self-transfer credits the debited balance (net zero, as OZ).
    const toSlot = balanceSlot(to);
    const balance = await call.load(toSlot, LEARN_ADDRESS);
    await call.store(toSlot, balance + amount, LEARN_ADDRESS);
  }
  emitLearnTransfer(call, from, to, amount);
}

/** Moves LEARN; checks balance and receiver like transfer; emits Transfer with address = LEARN. */
export async function learnTransfer(call: ModuleCall, from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void> {
  if (isZeroAddress(from)) throw ERC20Errors.invalidSender(ZERO20);
  if (isZeroAddress(to)) throw ERC20Errors.invalidReceiver(ZERO20);
  await learnUpdate(call, from, to, amount);
}

/** OZ _spendAllowance: throws ERC20InsufficientAllowance; does not decrease an infinite allowance. */
export async function learnSpendAllowance(
  call: ModuleCall,
  owner: Uint8Array,
  spender: Uint8Array,
  amount: bigint,
): Promise<void> {
  const slot = allowanceSlot(owner, spender);
  const allowed = await call.load(slot, LEARN_ADDRESS);
  if (allowed === MAX_UINT256) return;
  if (allowed < amount) throw ERC20Errors.insufficientAllowance(spender, allowed, amount);
  // OZ writes the rest through `_approve(owner, spender, rest, false)`: same zero-address checks
  // (so `transferFrom(address(0), to, 0)` fails with ERC20InvalidApprover), no Approval event.
  if (isZeroAddress(owner)) throw ERC20Errors.invalidApprover(ZERO20);
  if (isZeroAddress(spender)) throw ERC20Errors.invalidSpender(ZERO20);
  await call.store(slot, allowed - amount, LEARN_ADDRESS);
}

/**
 * Mints `amount` to `to` on behalf of module `issuer` (e.g. the job market's rewards), if `issuer`
 * holds the issuer role and the supply stays within 2^256-1; otherwise mints nothing. Returns what
 * was minted: a settlement must never fail (and lock its escrow) because the admin revoked the
 * role or the supply is full.
 */
export async function learnMintAsModule(
  call: ModuleCall,
  issuer: Uint8Array,
  to: Uint8Array,
  amount: bigint,
): Promise<bigint> {
  if (amount === 0n || isZeroAddress(to)) return 0n;
  if ((await call.load(issuerSlot(issuer), LEARN_ADDRESS)) !== 1n) return 0n;
  if ((await call.load(LEARN_SLOTS.totalSupply, LEARN_ADDRESS)) + amount > MAX_UINT256) return 0n;
  await learnUpdate(call, ZERO20, to, amount);
  return amount;
}
