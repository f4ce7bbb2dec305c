import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, type Address, equalsBytes } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { unprefixedHex } from "./primitives/bytes.js";
import { KECCAK256_EMPTY } from "./primitives/hash.js";
import type { TxFields } from "./txFields.js";

/** Gas of a plain value transfer: the intrinsic cost, and all it ever uses. */
export const TRANSFER_GAS = 21_000n;

export type TransferOutcome =
  | { included: true; gasUsed: bigint; effectiveGasPrice: bigint }
  | { included: false; reason: string }
  /** Not a plain transfer after all (a recipient with code, a precompile, a contract sender): use the VM. */
  | undefined;

/** Cheap structural test; the account checks happen in `applyPlainTransfer`. */
export function looksLikePlainTransfer(tx: TxFields): boolean {
  return tx.to !== undefined && tx.data.length === 0 && tx.accessListLength === 0 && tx.type <= 2;
}

function isEmpty(a: Account): boolean {
  return a.nonce === 0n && a.balance === 0n && equalsBytes(a.codeHash, KECCAK256_EMPTY);
}

/** EIP-161: an account touched by a transaction and left empty is removed, never created. */
export async function credit(state: MerkleStateManager, address: Address, amount: bigint): Promise<void> {
  const account = (await state.getAccount(address)) ?? new Account();
  account.balance += amount;
  if (isEmpty(account)) await state.deleteAccount(address);
  else await state.putAccount(address, account);
}

/** What a transaction pays per gas, and the most it may cost its sender (gas limit at the max fee, plus value). */
export type PurchaseTerms = { gasPrice: bigint; tipPerGas: bigint; maxCost: bigint } | { reason: string };

/**
 * ethereumjs `runTx`'s fee rules under London+: a fee cap below the base fee is refused; the price
 * is the base fee plus the tip the cap leaves room for (legacy: the gas price); the sender must
 * afford the whole gas limit at the cap plus the value.
 */
export function purchaseTerms(tx: TxFields, baseFeePerGas: bigint): PurchaseTerms {
  if (tx.feeMarket) {
    if (tx.maxFeePerGas < baseFeePerGas) return { reason: "max fee per gas less than block base fee" };
    const tipPerGas =
      tx.maxPriorityFeePerGas < tx.maxFeePerGas - baseFeePerGas
        ? tx.maxPriorityFeePerGas
        : tx.maxFeePerGas - baseFeePerGas;
    return { gasPrice: baseFeePerGas + tipPerGas, tipPerGas, maxCost: tx.gasLimit * tx.maxFeePerGas + tx.value };
  }
  const legacyPrice = tx.maxFeePerGas;
  if (legacyPrice < baseFeePerGas) return { reason: "gas price less than block base fee" };
  return {
    gasPrice: legacyPrice,
    tipPerGas: legacyPrice - baseFeePerGas,
    maxCost: tx.gasLimit * legacyPrice + tx.value,
  };
}

/**
 * A value transfer between externally owned accounts without going through the VM's transaction
 * machinery (journal, warm sets, message frames, refund accounting): the same checks, in the same
 * order and with the same effects as ethereumjs `runTx` under Prague — nonce and balance checks,
 * gas bought at the effective price, value moved, the tip to the miner, the base fee burned,
 * empty touched accounts removed (EIP-161). A differential test runs random transfer sequences
 * through both paths and requires identical state roots.
 */
export async function applyPlainTransfer(
  vm: VM,
  state: MerkleStateManager,
  tx: TxFields,
  sender: Address,
  env: { baseFeePerGas: bigint; miner: Address },
): Promise<TransferOutcome> {
  const to = tx.to as Address;
  // Fixed precompiles and address ranges alike (native NFT collections): those calls belong to the VM.
  const evm = vm.evm as typeof vm.evm & { getPrecompile?: (a: Address) => unknown };
  if (evm.getPrecompile?.(to) !== undefined || evm.precompiles.has(unprefixedHex(to.bytes))) {
    return undefined;
  }
  const recipient = await state.getAccount(to);
  if (recipient !== undefined && !equalsBytes(recipient.codeHash, KECCAK256_EMPTY)) return undefined;
  const from = (await state.getAccount(sender)) ?? new Account();
  if (!equalsBytes(from.codeHash, KECCAK256_EMPTY)) return undefined; // EIP-3607 / EIP-7702: the VM decides
  if (tx.gasLimit < TRANSFER_GAS) return undefined; // the VM words the intrinsic-gas error

  const terms = purchaseTerms(tx, env.baseFeePerGas);
  if ("reason" in terms) return { included: false, reason: terms.reason };
  const { gasPrice, tipPerGas } = terms;
  if (from.balance < terms.maxCost) return { included: false, reason: "insufficient funds for gas * price + value" };
  if (from.nonce !== tx.nonce) return { included: false, reason: "the tx doesn't have the correct nonce" };

  // Sender pays for the gas used (the unused part of the limit is never kept) plus the value.
  from.nonce += 1n;
  from.balance -= TRANSFER_GAS * gasPrice + tx.value;
  await state.putAccount(sender, from);
  await credit(state, to, tx.value);
  await credit(state, env.miner, TRANSFER_GAS * tipPerGas);
  return { included: true, gasUsed: TRANSFER_GAS, effectiveGasPrice: gasPrice };
}
