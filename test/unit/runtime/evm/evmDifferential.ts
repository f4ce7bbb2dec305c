import type { ExecResult } from "@ethereumjs/evm";
import { createFeeMarket1559Tx } from "@ethereumjs/tx";
import { Address, hexToBytes, privateToAddress } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { Interface } from "ethers";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import { DEV_KEYS, devnetGenesis } from "../../../../genesis/devnet.js";
import { memoryGenesisWorld } from "../../../../genesis/memoryWorld.js";
import { createChainCommon } from "../../../../runtime/evm/common.js";
import type { BlockEnv } from "../../../../runtime/evm/vm.js";
import { BlockExecution } from "../../../../runtime/executor.js";
import { bytesToHex } from "../../../../runtime/primitives/bytes.js";

/**
 * What the EVM differential tests (an Azora VM with a shortcut against one without) share: three funded senders, the
 * test ERC-20, a genesis world, a block run to everything it leaves observable, and an eth_call whose state is
 * thrown away.
 */
export const spec = devnetGenesis();
export const KEYS = DEV_KEYS.slice(0, 3).map((k) => hexToBytes(k as `0x${string}`));
export const SENDERS = KEYS.map((k) => bytesToHex(privateToAddress(k)));
export const token = loadArtifact("TestToken");
export const erc20 = new Interface(token.abi as string[]);

export interface World {
  vm: VM;
  state: Awaited<ReturnType<typeof memoryGenesisWorld>>["state"];
  env: BlockEnv;
}

/** A fresh genesis world; `tweak` turns the shortcut under test on or off on its VM. */
export async function world(tweak: (vm: VM) => void): Promise<World> {
  const { state, vm, env } = await memoryGenesisWorld(spec, createChainCommon(spec.chainId));
  tweak(vm);
  return { vm, state, env };
}

/** Signed EIP-1559 transactions from the three senders, nonces counted from 0. */
export function txMaker(w: World) {
  const nonces = KEYS.map(() => 0n);
  return (sender: number, to: string | undefined, data: Uint8Array, gasLimit = 2_000_000n) =>
    createFeeMarket1559Tx(
      {
        chainId: spec.chainId,
        nonce: nonces[sender]++,
        to: to as `0x${string}` | undefined,
        data,
        gasLimit,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
      },
      { common: w.vm.common },
    ).sign(KEYS[sender]);
}

/** The test token's deployment (sender 0 holds the supply). */
export function deployToken(tx: ReturnType<typeof txMaker>) {
  return tx(
    0,
    undefined,
    hexToBytes(`${token.bytecode}${erc20.encodeDeploy([10n ** 30n]).slice(2)}` as `0x${string}`),
    5_000_000n,
  );
}

/** Everything a block leaves observable: roots, per-receipt status, gas and logs. */
export async function runBlock(w: World, txs: ReturnType<ReturnType<typeof txMaker>>[]) {
  w.env = { ...w.env, number: w.env.number + 1n, timestamp: w.env.timestamp + 1n };
  const exec = await BlockExecution.begin(w.vm, w.state, w.vm.common, w.env);
  const receipts: string[] = [];
  for (const tx of txs) {
    const r = await exec.apply(tx, tx.getSenderAddress(), tx.serialize());
    if (!r.included) throw new Error(r.reason);
    const { status, gasUsed, cumulativeGasUsed, logs, contractAddress } = r.receipt;
    receipts.push(
      JSON.stringify({
        status,
        gasUsed: `${gasUsed}`,
        cumulativeGasUsed: `${cumulativeGasUsed}`,
        contractAddress: contractAddress && bytesToHex(contractAddress),
        logs: logs.map((l) => l.map((x) => (Array.isArray(x) ? x.map(bytesToHex) : bytesToHex(x)))),
      }),
    );
  }
  const sealed = await exec.seal();
  await exec.commit();
  return { receipts, stateRoot: bytesToHex(sealed.stateRoot), receiptsRoot: bytesToHex(sealed.receiptsRoot) };
}

/** An eth_call from sender 0 (state thrown away): return data, gas, error, and what `extra` adds. */
export function ethCall(w: World, to: string, data: Uint8Array, extra: (x: ExecResult) => string = () => "") {
  return callOf(w, { to, data }, extra);
}

/**
 * An eth_call of `to` (state thrown away) from `SENDERS[sender]` (default 0) with `gasLimit` (default 1,000,000):
 * return data, gas, error, and what `extra` adds.
 */
export async function callOf(
  w: World,
  o: { to: string; data?: Uint8Array; gasLimit?: bigint; sender?: number },
  extra: (x: ExecResult) => string = () => "",
) {
  await w.vm.stateManager.checkpoint();
  try {
    const r = await w.vm.evm.runCall({
      caller: new Address(hexToBytes(SENDERS[o.sender ?? 0] as `0x${string}`)),
      to: new Address(hexToBytes(o.to as `0x${string}`)),
      data: o.data,
      gasLimit: o.gasLimit ?? 1_000_000n,
      skipBalance: true,
    });
    const x = r.execResult;
    return `${bytesToHex(x.returnValue)} ${x.executionGasUsed} ${x.exceptionError?.error ?? ""}${extra(x)}`;
  } finally {
    await w.vm.stateManager.revert();
  }
}

/** `callOf`'s `extra` for tests of storage: the call's gas refund. */
export const withRefund = (x: ExecResult) => ` refund ${x.gasRefund}`;
