import type { Address } from "@ethereumjs/util";
import { keccak256 } from "../primitives/hash.js";
import { recurringBloomInput } from "../primitives/receipt.js";
import { encodeArgs, selector } from "./abi.js";
import type { ModuleCall } from "./host.js";
import { customError } from "./host.js";

/** ERC-20 events and OpenZeppelin 5's custom errors (IERC20Errors), shared by WAZR and LEARN. */
/** Every log of these events carries its topic: registered so the receipts' blooms hash it once. */
export const TRANSFER_TOPIC = recurringBloomInput(
  keccak256(new TextEncoder().encode("Transfer(address,address,uint256)")),
);
export const APPROVAL_TOPIC = recurringBloomInput(
  keccak256(new TextEncoder().encode("Approval(address,address,uint256)")),
);

/** The zero address as a topic (the `from` of every mint, the `to` of every burn): one shared array. */
const ZERO_ADDRESS_TOPIC = recurringBloomInput(new Uint8Array(32));

export function addressTopic(a: Address | Uint8Array): Uint8Array {
  const bytes = a instanceof Uint8Array ? a : a.bytes;
  if (isZeroAddress(bytes)) return ZERO_ADDRESS_TOPIC;
  const t = new Uint8Array(32);
  t.set(bytes, 12);
  return t;
}

export function emitTransfer(call: ModuleCall, from: Uint8Array, to: Uint8Array, value: bigint): void {
  call.emit([TRANSFER_TOPIC, addressTopic(from), addressTopic(to)], encodeArgs(["uint256"], [value]));
}

export function emitApproval(call: ModuleCall, owner: Uint8Array, spender: Uint8Array, value: bigint): void {
  call.emit([APPROVAL_TOPIC, addressTopic(owner), addressTopic(spender)], encodeArgs(["uint256"], [value]));
}

export const ERC20Errors = {
  insufficientBalance: (sender: Uint8Array, balance: bigint, needed: bigint) =>
    customError(
      "ERC20InsufficientBalance(address,uint256,uint256)",
      ["address", "uint256", "uint256"],
      [sender, balance, needed],
    ),
  invalidSender: (sender: Uint8Array) => customError("ERC20InvalidSender(address)", ["address"], [sender]),
  invalidReceiver: (receiver: Uint8Array) => customError("ERC20InvalidReceiver(address)", ["address"], [receiver]),
  insufficientAllowance: (spender: Uint8Array, allowance: bigint, needed: bigint) =>
    customError(
      "ERC20InsufficientAllowance(address,uint256,uint256)",
      ["address", "uint256", "uint256"],
      [spender, allowance, needed],
    ),
  invalidApprover: (approver: Uint8Array) => customError("ERC20InvalidApprover(address)", ["address"], [approver]),
  invalidSpender: (spender: Uint8Array) => customError("ERC20InvalidSpender(address)", ["address"], [spender]),
};

export const ZERO20 = new Uint8Array(20);
export const MAX_UINT256 = 2n ** 256n - 1n;

export function isZeroAddress(a: Uint8Array): boolean {
  for (const b of a) if (b !== 0) return false;
  return true;
}

export { selector };
