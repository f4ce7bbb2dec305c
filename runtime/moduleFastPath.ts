import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, type Address, equalsBytes } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { type AzoraEVM, type CallBlock, directModuleAt, ModuleCall, NeedsEVM, runModuleCall } from "./modules/index.js";
import { KECCAK256_EMPTY } from "./primitives/hash.js";
import type { Log } from "./primitives/receipt.js";
import { credit, purchaseTerms } from "./transferFastPath.js";
import { callGas, type TxFields } from "./txFields.js";

export type ModuleCallOutcome =
  | { included: true; status: 0 | 1; gasUsed: bigint; logs: Log[] }
  | { included: false; reason: string }
  /** Not for this path after all (another target, a sender with code, a call needing the EVM): use the VM. */
  | undefined;

/**
 * Cheap structural test: a call with a selector and no value, without access list or authorizations
 * (value goes to payable functions of modules that stay on the VM anyway; an access list only warms
 * addresses, which module gas ignores, but keeping it out keeps this path's rules small).
 */
export function looksLikeModuleCall(tx: TxFields): boolean {
  if (tx.to === undefined || tx.data.length < 4 || tx.value !== 0n || tx.type > 2) return false;
  return tx.accessListLength === 0 && directModuleAt(tx.to.bytes) !== undefined;
}

/**
 * A top-level call into a native module without ethereumjs's transaction machinery (journal, warm
 * sets, message frame, interpreter set-up): the module's function runs through the same dispatcher
 * as its precompile (`runModuleCall`: same gas, return data, logs, custom-error reverts), inside a
 * state checkpoint that its failure reverts, and around it the same steps as `runTx` under Prague:
 * intrinsic gas and the EIP-7623 calldata floor, fee cap, balance and nonce checks, the nonce
 * bumped and the gas used bought at the effective price (the floor if above), the tip to the
 * miner (an empty miner removed, EIP-161). The modules `directModuleAt` lists never touch accounts;
 * whatever needs the EVM after all (a nested contract call) throws `NeedsEVM` before any account
 * was written, and the transaction goes to the VM. A differential test
 * (test/unit/runtime/moduleFastPath.test.ts) runs random call sequences through both paths and
 * requires identical inclusions, receipts and roots.
 */
export async function applyModuleCall(
  vm: VM,
  state: MerkleStateManager,
  tx: TxFields,
  sender: Address,
  env: { baseFeePerGas: bigint; miner: Address; block: CallBlock },
): Promise<ModuleCallOutcome> {
  const to = tx.to as Address;
  const module = directModuleAt(to.bytes);
  if (module === undefined) return undefined;
  // The target must exist and not be empty: the VM's call would write it (a zero-value credit) and
  // EIP-161 would delete an empty one again; an existing module account makes that write a no-op.
  const target = await state.getAccount(to);
  if (target === undefined || target.nonce === 0n) return undefined;
  const from = (await state.getAccount(sender)) ?? new Account();
  if (!equalsBytes(from.codeHash, KECCAK256_EMPTY)) return undefined; // EIP-3607 / EIP-7702: the VM decides
  const { intrinsic, floor } = callGas(tx.data);
  if (tx.gasLimit < intrinsic || tx.gasLimit < floor) return undefined; // the VM words the intrinsic-gas error

  const terms = purchaseTerms(tx, env.baseFeePerGas);
  if ("reason" in terms) return { included: false, reason: terms.reason };
  if (from.balance < terms.maxCost) return { included: false, reason: "insufficient funds for gas * price + value" };
  if (from.nonce !== tx.nonce) return { included: false, reason: "the tx doesn't have the correct nonce" };

  const gasLimit = tx.gasLimit - intrinsic;
  const frame = { to, caller: sender, value: 0n, isStatic: false, depth: 0 };
  const call = new ModuleCall(vm.evm as AzoraEVM, frame, gasLimit, env.block);
  await state.checkpoint();
  let result: Awaited<ReturnType<typeof runModuleCall>>;
  try {
    result = await runModuleCall(module.name, module.table, call, tx.data, gasLimit, false);
  } catch (e) {
    await state.revert();
    if (e instanceof NeedsEVM) return undefined;
    throw e;
  }
  const ok = result.exceptionError === undefined;
  if (ok) await state.commit();
  else await state.revert();

  let gasUsed = intrinsic + result.executionGasUsed;
  if (gasUsed < floor) gasUsed = floor; // EIP-7623: calldata-heavy calls pay at least the floor
  // The module wrote storage only (`NeedsEVM` guards the rest): `from` is still the sender's account.
  from.nonce += 1n;
  from.balance -= gasUsed * terms.gasPrice;
  await state.putAccount(sender, from);
  await credit(state, env.miner, gasUsed * terms.tipPerGas);
  return { included: true, status: ok ? 1 : 0, gasUsed, logs: ok ? (result.logs as Log[]) : [] };
}
