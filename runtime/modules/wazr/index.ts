import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Address } from "@ethereumjs/util";
import { assert } from "../../lib/assert.js";
import { uintWord } from "../abi.js";
import {
  addressTopic,
  ERC20Errors,
  emitApproval,
  emitTransfer,
  isZeroAddress,
  MAX_UINT256,
  TRANSFER_TOPIC,
} from "../erc20Events.js";
import { type FunctionDef, type ModuleCall, namedSlot, storageSlot } from "../host.js";
import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";
import type { ModuleState } from "../state.js";

/**
 * WAZR (`0x…0A01`): the native coin $AZR seen as an ERC-20. Balances ARE the native account
 * balances (no wrapping, no deposit): `balanceOf(a) == eth_getBalance(a)` at every block, and
 * `transfer`/`transferFrom` move native AZR. Only allowances and the supply live in module storage.
 */
export const WAZR_ADDRESS = moduleAddress(MODULE_ADDRESS.wazr);

const SUPPLY_SLOT = namedSlot("azora.wazr.totalSupply");
/** Where `totalSupply()` lives in WAZR's storage. */
export const WAZR_SUPPLY_SLOT = SUPPLY_SLOT;
const ALLOWANCES = namedSlot("azora.wazr.allowances");
const allowanceSlot = (owner: Uint8Array, spender: Uint8Array) => storageSlot(ALLOWANCES, owner, spender);

/** Gas per function (base, before storage and log costs; see runtime/modules/README.md). */
export const WAZR_GAS = { view: 300n, transfer: 2_000n, approve: 1_000n } as const;

async function move(call: ModuleCall, from: Uint8Array, to: Uint8Array, amount: bigint): Promise<void> {
  if (isZeroAddress(to)) throw ERC20Errors.invalidReceiver(to);
  const balance = await call.balanceOf(new Address(from));
  if (balance < amount) throw ERC20Errors.insufficientBalance(from, balance, amount);
  await call.moveNative(new Address(from), new Address(to), amount);
  emitTransfer(call, from, to, amount);
}

const functions: FunctionDef[] = [
  { sig: "name()", inputs: [], outputs: ["string"], mutates: false, gas: WAZR_GAS.view, run: () => ["Azora"] },
  { sig: "symbol()", inputs: [], outputs: ["string"], mutates: false, gas: WAZR_GAS.view, run: () => ["AZR"] },
  { sig: "decimals()", inputs: [], outputs: ["uint8"], mutates: false, gas: WAZR_GAS.view, run: () => [18n] },
  {
    sig: "totalSupply()",
    inputs: [],
    outputs: ["uint256"],
    mutates: false,
    gas: WAZR_GAS.view,
    run: async (call) => [await call.load(SUPPLY_SLOT)],
  },
  {
    sig: "balanceOf(address)",
    inputs: ["address"],
    outputs: ["uint256"],
    mutates: false,
    gas: WAZR_GAS.view,
    run: async (call, [a]) => [await call.balanceOf(new Address(a as Uint8Array))],
  },
  {
    sig: "allowance(address,address)",
    inputs: ["address", "address"],
    outputs: ["uint256"],
    mutates: false,
    gas: WAZR_GAS.view,
    run: async (call, [owner, spender]) => [await call.load(allowanceSlot(owner as Uint8Array, spender as Uint8Array))],
  },
  {
    sig: "transfer(address,uint256)",
    inputs: ["address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: WAZR_GAS.transfer,
    run: async (call, [to, amount]) => {
      await move(call, call.caller.bytes, to as Uint8Array, amount as bigint);
      return [true];
    },
  },
  {
    sig: "approve(address,uint256)",
    inputs: ["address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: WAZR_GAS.approve,
    run: async (call, [spender, amount]) => {
      if (isZeroAddress(spender as Uint8Array)) throw ERC20Errors.invalidSpender(spender as Uint8Array);
      await call.store(allowanceSlot(call.caller.bytes, spender as Uint8Array), amount as bigint);
      emitApproval(call, call.caller.bytes, spender as Uint8Array, amount as bigint);
      return [true];
    },
  },
  {
    sig: "transferFrom(address,address,uint256)",
    inputs: ["address", "address", "uint256"],
    outputs: ["bool"],
    mutates: true,
    gas: WAZR_GAS.transfer,
    run: async (call, [from, to, amount]) => {
      const slot = allowanceSlot(from as Uint8Array, call.caller.bytes);
      const allowed = await call.load(slot);
      if (allowed < (amount as bigint))
        throw ERC20Errors.insufficientAllowance(call.caller.bytes, allowed, amount as bigint);
      // State first, then funds: the allowance is spent before any balance moves.
      if (allowed !== MAX_UINT256) await call.store(slot, allowed - (amount as bigint));
      await move(call, from as Uint8Array, to as Uint8Array, amount as bigint);
      return [true];
    },
  },
];

/**
 * Destroys `amount` of `from`'s AZR inside a module call (a slashed bond's burned share): debits the
 * account through the journal, takes the amount off `totalSupply()` and logs `Transfer(from, 0)` at
 * WAZR's address, so the ERC-20 view stays the sum of all balances.
 */
export async function burnNative(call: ModuleCall, from: Address, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  call.requireWritable();
  call.charge(GAS_BURN);
  const sm = call.evm.stateManager;
  const account = await sm.getAccount(from);
  // Modules burn only what they hold for the purpose: a shortfall is a broken invariant, not an input error.
  assert(account !== undefined && account.balance >= amount, "burn exceeds the module's balance");
  account.balance -= amount;
  await call.evm.journal.putAccount(from, account);
  const supply = await call.load(SUPPLY_SLOT, WAZR_ADDRESS);
  await call.store(SUPPLY_SLOT, supply - amount, WAZR_ADDRESS);
  call.emit(
    [TRANSFER_TOPIC, addressTopic(from.bytes), addressTopic(new Uint8Array(20))],
    uintWord(amount),
    WAZR_ADDRESS,
  );
}

/**
 * Creates `amount` AZR in `to` (staking's inflation) or destroys it from `from` (a slash), keeping
 * `totalSupply()` the sum of all balances; logs `Transfer` from/to the zero address at WAZR's address.
 * Works in a transaction and in a block hook alike.
 */
export async function mintNativeSupply(s: ModuleState, to: Address, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  await s.adjustNative(to, amount);
  await s.store(SUPPLY_SLOT, (await s.load(SUPPLY_SLOT, WAZR_ADDRESS)) + amount, WAZR_ADDRESS);
  s.emit([TRANSFER_TOPIC, addressTopic(new Uint8Array(20)), addressTopic(to.bytes)], uintWord(amount), WAZR_ADDRESS);
}

export async function burnNativeSupply(s: ModuleState, from: Address, amount: bigint): Promise<void> {
  if (amount === 0n) return;
  await s.adjustNative(from, -amount);
  await s.store(SUPPLY_SLOT, (await s.load(SUPPLY_SLOT, WAZR_ADDRESS)) - amount, WAZR_ADDRESS);
  s.emit([TRANSFER_TOPIC, addressTopic(from.bytes), addressTopic(new Uint8Array(20))], uintWord(amount), WAZR_ADDRESS);
}

/** The account write of a burn (as one side of `moveNative`). */
const GAS_BURN = 5_000n;

export const wazrModule: NativeModule = {
  address: WAZR_ADDRESS,
  def: { name: "WAZR", functions },
  async genesis(state: MerkleStateManager, _params, context) {
    await state.putStorage(WAZR_ADDRESS, SUPPLY_SLOT, stripZeros(uintWord(context.totalNativeSupply)));
  },
};

/**
 * Keeps `totalSupply()` equal to the sum of all balances: EIP-1559 burns the base fee of every
 * transaction, so the block's burn is taken off the supply when the block is sealed.
 */
export async function burnFromSupply(state: MerkleStateManager, burned: bigint): Promise<void> {
  if (burned === 0n) return;
  const raw = await state.getStorage(WAZR_ADDRESS, SUPPLY_SLOT);
  let supply = 0n;
  for (const b of raw) supply = (supply << 8n) | BigInt(b);
  await state.putStorage(WAZR_ADDRESS, SUPPLY_SLOT, stripZeros(uintWord(supply - burned)));
}

function stripZeros(w: Uint8Array): Uint8Array {
  let i = 0;
  while (i < w.length && w[i] === 0) i++;
  return w.subarray(i);
}
