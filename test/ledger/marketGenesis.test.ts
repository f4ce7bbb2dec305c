import { Interface, type InterfaceAbi } from "ethers";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import devnetJSON from "../../genesis/devnet.json" with { type: "json" };
import { MARKET_PRESETS } from "../../genesis/network.js";
import { parseMarketParams } from "../../runtime/modules/market/index.js";
import { LocalChain } from "./localChain.js";
import { KIND, MARKET } from "./marketFixture.js";

/**
 * `modules.market` in genesis: strict validation naming the field, the two presets `azora init`
 * writes, the LEARN issuer role the reward needs, and a chain without market parameters, where the
 * market refuses every state change with MarketNotConfigured.
 */
const market = new Interface(loadArtifact("IJobMarket").abi as InterfaceAbi);
const base = devnetJSON.modules.market;

describe("modules.market validation", () => {
  it("accepts both presets; production windows run to a week with 30 days of unbonding", () => {
    expect(parseMarketParams(MARKET_PRESETS.devnet).maxWindow).toBe(3600n);
    const p = parseMarketParams(MARKET_PRESETS.production);
    expect([p.minWindow, p.maxWindow, p.disputeWindow, p.unbondingPeriod]).toEqual([
      60n,
      604_800n,
      86_400n,
      2_592_000n,
    ]);
  });

  it.each([
    [{ ...base, extra: 1 }, "modules.market.extra: unknown parameter"],
    [{ ...base, feeBps: undefined }, "modules.market.feeBps: required"],
    [{ ...base, minWorkerStake: 10 }, "modules.market.minWorkerStake: expected a decimal integer string"],
    [{ ...base, minWorkerStake: "0" }, "modules.market.minWorkerStake: must be at least 1"],
    [{ ...base, challengeBond: (2n ** 128n).toString() }, "modules.market.challengeBond: must be below 2^128"],
    [{ ...base, claimBondBps: 10_001 }, "modules.market.claimBondBps: must be between 0 and 10000"],
    [{ ...base, slashBurnBps: -1 }, "modules.market.slashBurnBps: must be between 0 and 10000"],
    [{ ...base, feeBps: 1.5 }, "modules.market.feeBps: expected an integer"],
    [{ ...base, maxRedundancy: 9 }, "modules.market.maxRedundancy: must be between 1 and 8"],
    [{ ...base, maxRedundancy: 0 }, "modules.market.maxRedundancy: must be between 1 and 8"],
    [{ ...base, minWindow: 0 }, "modules.market.minWindow: must be between 1"],
    [{ ...base, minWindow: 4000 }, "modules.market.minWindow: must not exceed maxWindow"],
    [{ ...base, unbondingPeriod: 14_520 }, "modules.market.unbondingPeriod: must exceed 4 × maxWindow + disputeWindow"],
    [{ ...base, feeRecipient: "0x0000000000000000000000000000000000000000" }, "must not be the zero address"],
    [{ ...base, feeRecipient: "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266" }, "bad EIP-55 checksum"],
  ])("%# refuses %j", (params, message) => {
    expect(() => parseMarketParams(params)).toThrow(message);
  });

  it("a reward without the market among LEARN's issuers is refused at genesis (it would never be minted)", async () => {
    const learn = { ...devnetJSON.modules.learn, issuers: [devnetJSON.modules.learn.issuers[0]] };
    await expect(LocalChain.start({ modules: { learn } })).rejects.toThrow(
      "modules.market.learnRewardPerJob: 0x0000000000000000000000000000000000000a05 must be listed in modules.learn.issuers",
    );
    // Without a reward the role is not needed.
    await LocalChain.start({ modules: { learn, market: { ...base, learnRewardPerJob: "0" } } });
  });

  it("without modules.market the market is off: registering and posting (the only ways in) refuse with MarketNotConfigured", async () => {
    const chain = await LocalChain.start({ modules: { market: undefined } });
    const [a] = chain.accounts;
    const register = market.encodeFunctionData("registerWorker", [[KIND], "https://w"]);
    const r = await chain.call(a.address, MARKET, register, 10n ** 18n);
    expect(r.ok).toBe(false);
    expect(market.parseError(r.data)?.name).toBe("MarketNotConfigured");
    const spec = [
      KIND,
      "ipfs://s",
      `0x${"00".repeat(32)}`,
      "0x0000000000000000000000000000000000000000",
      1n,
      1n,
      60n,
      60n,
      60n,
      0n,
      "0x0000000000000000000000000000000000000000",
    ];
    const post = await chain.call(a.address, MARKET, market.encodeFunctionData("post", [spec]), 1n);
    expect(market.parseError(post.data)?.name).toBe("MarketNotConfigured");
  });
});
