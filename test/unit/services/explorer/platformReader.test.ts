import { Interface } from "ethers";
import { describe, expect, it } from "vitest";
import { IGovernanceAbi } from "../../../../contracts/artifacts/IGovernance.js";
import { IStakingAbi } from "../../../../contracts/artifacts/IStaking.js";
import { ExplorerError, ExplorerErrorCode } from "../../../../services/explorer/errors.js";
import { PlatformReader } from "../../../../services/explorer/platform.js";
import { type RPCClient, RPCError } from "../../../../services/runtime/chain/rpcClient.js";

const gov = new Interface(IGovernanceAbi as never);
const staking = new Interface(IStakingAbi as never);

/** A node that answers eth_call from `answer(data, blockTag)` and records each call. */
function fakeNode(answer: (data: string, tag: string) => string) {
  const calls: [string, string][] = [];
  const rpc: RPCClient = {
    url: "fake",
    async call<T>(method: string, params: unknown[]): Promise<T> {
      expect(method).toBe("eth_call");
      const [{ data }, tag] = params as [{ data: string }, string];
      calls.push([data.slice(0, 10), tag]);
      return answer(data, tag) as T;
    },
    async batch() {
      throw new Error("not used");
    },
  };
  return { rpc, calls };
}

describe("PlatformReader", () => {
  it("reads at the indexed height and asks the node once per call per block", async () => {
    let height = 7;
    const { rpc, calls } = fakeNode(() => gov.encodeFunctionResult("proposalCount", [3n]));
    const reader = new PlatformReader(rpc, async () => height);
    expect(await reader.proposalCount()).toBe(3);
    expect(await reader.proposalCount()).toBe(3);
    expect(calls).toEqual([[gov.getFunction("proposalCount")?.selector, "0x7"]]);
    height = 8;
    await reader.proposalCount();
    expect(calls.map((c) => c[1])).toEqual(["0x7", "0x8"]);
  });

  it("turns a module's revert into EXPLORER_MODULE_REVERTED with its custom error, and does not cache it", async () => {
    let configured = false;
    const { rpc, calls } = fakeNode(() => {
      if (!configured)
        throw new RPCError("eth_call", 3, "execution reverted", gov.encodeErrorResult("GovNotConfigured", []));
      return gov.encodeFunctionResult("proposalCount", [0n]);
    });
    const reader = new PlatformReader(rpc, async () => 5);
    const e = await reader.proposalCount().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExplorerError);
    expect((e as ExplorerError).type).toEqual({
      code: ExplorerErrorCode.MODULE_REVERTED,
      module: "governance",
      call: "proposalCount",
      error: "GovNotConfigured",
    });
    configured = true;
    expect(await reader.proposalCount()).toBe(0);
    expect(calls).toHaveLength(2);
  });

  it("reads an unknown validator as null; a transport failure stays an error", async () => {
    const missing = fakeNode(() => {
      throw new RPCError(
        "eth_call",
        3,
        "execution reverted",
        staking.encodeErrorResult("ValidatorNotFound", [`0x${"11".repeat(20)}`]),
      );
    });
    expect(await new PlatformReader(missing.rpc, async () => null).validator(`0x${"11".repeat(20)}`)).toBeNull();
    expect(missing.calls[0][1]).toBe("latest");
    const down = fakeNode(() => {
      throw new RPCError("eth_call", 0, "connect ECONNREFUSED");
    });
    await expect(new PlatformReader(down.rpc, async () => 1).validator(`0x${"11".repeat(20)}`)).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});
