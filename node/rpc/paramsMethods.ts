import type { Interface } from "ethers";
import { IGovernanceAbi } from "../../contracts/artifacts/IGovernance.js";
import { IStakingAbi } from "../../contracts/artifacts/IStaking.js";
import type { BlockRef, EthBackend } from "../../rpc/backend.js";
import { ResourceNotFoundError } from "../../rpc/errors.js";
import { hexToBytes, toHexQuantity } from "../../rpc/hex.js";
import { type BlockTagOrHash, defineMethod, type MethodTable } from "../../rpc/types.js";
import type { ChainParams } from "../../runtime/params.js";

const STAKING = "0x0000000000000000000000000000000000000a06";
const GOVERNANCE = "0x0000000000000000000000000000000000000a07";
/**
 * The modules' ABIs, with ethers imported on the first params request: a node that is never asked for its
 * chain params does not load ethers (~25 MB of RSS).
 */
let interfaces: Promise<{ stakingI: Interface; govI: Interface }> | undefined;
const moduleInterfaces = () =>
  (interfaces ??= import("ethers").then(({ Interface }) => ({
    stakingI: new Interface(IStakingAbi),
    govI: new Interface(IGovernanceAbi),
  })));

/** Parameters in force at a height, as the node applies them (genesis, then executed changes at their heights). */
export type ChainParamsAt = (height: bigint) => ChainParams;

/** A module view at `ref`, decoded (the modules' own ABI; views never revert on a configured chain). */
async function view(backend: EthBackend, ref: BlockRef, to: string, iface: Interface, fn: string) {
  const out = await backend.call(ref, { to, data: hexToBytes(iface.encodeFunctionData(fn, [])) as Uint8Array });
  if (out.reverted || out.error !== undefined) return null;
  return iface.decodeFunctionResult(fn, `0x${Buffer.from(out.returnValue).toString("hex")}`);
}

const quantities = (o: Record<string, bigint | number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, toHexQuantity(BigInt(v))]));

function decodeKey(b: string): string {
  const bytes = Buffer.from(b.slice(2), "hex");
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
}

/**
 * `azora_getChainParams(block?)` — the parameters in force at a block: the chain's (block gas limit,
 * EIP-1559 fee rules, consensus timing) and the staking and governance modules' (read from their
 * state). `azora_getPendingChanges(block?)` — executed governance changes of chain parameters waiting
 * for their height, and the scheduled software upgrade. Numbers are hex quantities, as in `eth_`.
 */
export function createParamsMethods(backend: EthBackend, paramsAt: ChainParamsAt): MethodTable {
  const resolve = async (block: BlockTagOrHash | undefined) => {
    const ref = await backend.resolveBlock(block ?? { kind: "tag", tag: "latest" });
    if (ref === undefined) throw new ResourceNotFoundError("header not found");
    return ref;
  };
  return {
    azora_getChainParams: defineMethod([{ name: "block", type: "blockTagOrHash", optional: true }], async ([block]) => {
      const ref = await resolve(block);
      const p = paramsAt(ref.header.number);
      const { stakingI, govI } = await moduleInterfaces();
      const staking = await view(backend, ref, STAKING, stakingI, "params");
      const gov = await view(backend, ref, GOVERNANCE, govI, "params");
      const struct = (r: Awaited<ReturnType<typeof view>>) =>
        r === null ? null : quantities((r[0] as { toObject(): Record<string, bigint> }).toObject());
      return {
        blockNumber: toHexQuantity(ref.header.number),
        chain: {
          gasLimit: toHexQuantity(p.gasLimit),
          fees: quantities({ ...p.fees }),
          consensus: quantities({ ...p.consensus }),
        },
        staking: struct(staking),
        governance: struct(gov),
      };
    }),
    azora_getPendingChanges: defineMethod(
      [{ name: "block", type: "blockTagOrHash", optional: true }],
      async ([block]) => {
        const ref = await resolve(block);
        const { govI } = await moduleInterfaces();
        const pending = await view(backend, ref, GOVERNANCE, govI, "pendingChanges");
        const plan = await view(backend, ref, GOVERNANCE, govI, "upgradePlan");
        const [keys, values, heights] = (pending ?? [[], [], []]) as unknown as [string[], bigint[], bigint[]];
        return {
          blockNumber: toHexQuantity(ref.header.number),
          paramChanges: keys.map((k, i) => ({
            key: decodeKey(k),
            value: toHexQuantity(values[i]),
            height: toHexQuantity(heights[i]),
          })),
          upgradePlan:
            plan === null || plan[0] === ""
              ? null
              : { name: plan[0] as string, height: toHexQuantity(plan[1] as bigint), version: plan[2] as string },
        };
      },
    ),
  };
}
