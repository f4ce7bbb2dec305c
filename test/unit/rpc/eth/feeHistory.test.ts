import { Interface } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  batchResults,
  deploy,
  devWallet,
  type Json,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpcError,
  send,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  waitReceipt,
} from "./helpers.js";

const GWEI = 1_000_000_000n;
/** The devnet's base-fee floor and gas limit. */
const MIN_BASE_FEE = GWEI;
const GAS_LIMIT = 60_000_000n;

/** EIP-1559 with Azora's floor (runtime/fees.ts), recomputed independently. */
function nextBaseFee(parent: Json): bigint {
  const base = BigInt(parent.baseFeePerGas);
  const used = BigInt(parent.gasUsed);
  const target = BigInt(parent.gasLimit) / 2n;
  let next = base;
  if (used > target) {
    const delta = (base * (used - target)) / target / 8n;
    next = base + (delta > 0n ? delta : 1n);
  } else if (used < target) {
    next = base - (base * (target - used)) / target / 8n;
  }
  return next < MIN_BASE_FEE ? MIN_BASE_FEE : next;
}

describe("eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory (manual mining)", () => {
  let node: TestNode;
  /** Two transfers: tips of 1 and 3 gwei. */
  let tipsBlock: Json;
  /** One huge tx above the gas target: the next base fee rises. */
  let fullBlock: Json;
  let emptyBlock: Json;

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    const probe = await deploy(devWallet(node.url, 0), "Probe", [], { manualMining: true });
    for (const [i, tip] of [
      [1, GWEI],
      [2, 3n * GWEI],
    ] as const) {
      await send(node.url, devWallet(node.url, i), {
        to: UNUSED_ADDRESS,
        value: 1n,
        maxPriorityFeePerGas: tip,
        maxFeePerGas: 10n * GWEI,
      });
    }
    tipsBlock = await mine(node.url);
    const burn = await send(node.url, devWallet(node.url, 3), {
      to: probe.address,
      data: new Interface(probe.abi).encodeFunctionData("burnGas", [1500n]),
      gasLimit: 40_000_000n,
      maxPriorityFeePerGas: 2n * GWEI,
      maxFeePerGas: 10n * GWEI,
    });
    fullBlock = await mine(node.url);
    expect((await waitReceipt(node.url, burn)).status).toBe("0x1");
    expect(BigInt(fullBlock.gasUsed)).toBeGreaterThan(GAS_LIMIT / 2n);
    emptyBlock = await mine(node.url);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("eth_maxPriorityFeePerGas is the suggested tip (1 gwei)", async () => {
    expect(await result(node.url, "eth_maxPriorityFeePerGas", [])).toBe("0x3b9aca00");
  });

  it("eth_gasPrice = the next block's base fee + the suggested tip", async () => {
    const [price, tip, head] = await batchResults(node.url, [
      ["eth_gasPrice", []],
      ["eth_maxPriorityFeePerGas", []],
      ["eth_getBlockByNumber", ["latest", false]],
    ]);
    expect(BigInt(price)).toBe(nextBaseFee(head) + BigInt(tip));
  });

  it("base fees follow EIP-1559 (with the floor) from block to block", async () => {
    expect(BigInt(fullBlock.baseFeePerGas)).toBe(nextBaseFee(tipsBlock));
    expect(BigInt(emptyBlock.baseFeePerGas)).toBe(nextBaseFee(fullBlock));
    expect(BigInt(emptyBlock.baseFeePerGas)).toBeGreaterThan(MIN_BASE_FEE);
  });

  it("feeHistory: base fees (one more, the next block's), gas-used ratios, weighted tip percentiles", async () => {
    const h = await result(node.url, "eth_feeHistory", ["0x3", emptyBlock.number, [0, 25, 50, 75, 100]]);
    expect(Object.keys(h).sort()).toEqual(["baseFeePerGas", "gasUsedRatio", "oldestBlock", "reward"]);
    expect(h.oldestBlock).toBe(tipsBlock.number);
    const blocks = [tipsBlock, fullBlock, emptyBlock];
    expect(h.baseFeePerGas).toEqual([...blocks.map((b) => b.baseFeePerGas), q(nextBaseFee(emptyBlock))]);
    expect(h.gasUsedRatio).toEqual(blocks.map((b) => Number(BigInt(b.gasUsed)) / Number(GAS_LIMIT)));
    for (const r of h.gasUsedRatio) expect(typeof r).toBe("number");
    const gwei = (n: bigint) => q(n * GWEI);
    expect(h.reward).toEqual([
      // two 21000-gas txs tipping 1 and 3 gwei: the lower half of the gas paid 1 gwei
      [gwei(1n), gwei(1n), gwei(1n), gwei(3n), gwei(3n)],
      [gwei(2n), gwei(2n), gwei(2n), gwei(2n), gwei(2n)],
      ["0x0", "0x0", "0x0", "0x0", "0x0"],
    ]);
  });

  it("blockCount as a number or hex, capped at the chain; reward omitted without percentiles", async () => {
    const head = BigInt(emptyBlock.number);
    const byNumber = await result(node.url, "eth_feeHistory", [2, emptyBlock.number, []]);
    const byHex = await result(node.url, "eth_feeHistory", ["0x2", emptyBlock.number, []]);
    expect(byNumber).toEqual(byHex);
    expect(byHex.oldestBlock).toBe(q(head - 1n));
    expect(byHex.reward).toEqual([[], []]);
    const noRewards = await result(node.url, "eth_feeHistory", ["0x2", "latest"]);
    expect(noRewards).not.toHaveProperty("reward");
    const whole = await result(node.url, "eth_feeHistory", ["0x400", "latest", [50]]);
    expect(whole.oldestBlock).toBe("0x0");
    expect(whole.baseFeePerGas).toHaveLength(Number(head) + 2);
    expect(whole.gasUsedRatio).toHaveLength(Number(head) + 1);
    const oneOld = await result(node.url, "eth_feeHistory", ["0x1", tipsBlock.number, [50]]);
    expect(oneOld).toEqual({
      oldestBlock: tipsBlock.number,
      baseFeePerGas: [tipsBlock.baseFeePerGas, fullBlock.baseFeePerGas],
      gasUsedRatio: [Number(BigInt(tipsBlock.gasUsed)) / Number(GAS_LIMIT)],
      reward: [[q(GWEI)]],
    });
  });

  it("errors: unknown newest block -32000; bad counts and percentiles -32602", async () => {
    expect(await rpcError(node.url, "eth_feeHistory", ["0x1", "0xffffff", []])).toMatchObject({ code: -32000 });
    const bad: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [["0x1"], "missing value for required argument 1"],
      [["0x01", "latest"], "invalid argument 0 (blockCount): hex number with leading zero digits"],
      [
        [true, "latest"],
        "invalid argument 0 (blockCount): json: cannot unmarshal non-string into Go value of type hexutil.Uint64",
      ],
      [
        [-1, "latest"],
        "invalid argument 0 (blockCount): json: cannot unmarshal non-string into Go value of type hexutil.Uint64",
      ],
      [
        ["0x1", "latest", [75, 25]],
        "invalid argument 2 (rewardPercentiles): percentiles must be ascending numbers in [0, 100]",
      ],
      [
        ["0x1", "latest", [101]],
        "invalid argument 2 (rewardPercentiles): percentiles must be ascending numbers in [0, 100]",
      ],
      [
        ["0x1", "latest", ["50"]],
        "invalid argument 2 (rewardPercentiles): percentiles must be ascending numbers in [0, 100]",
      ],
      [["0x1", "latest", 50], "invalid argument 2 (rewardPercentiles): expected an array of at most 100 numbers"],
      [["0x1", "latest", [], 1], "too many arguments, want at most 3"],
    ];
    for (const [params, message] of bad) {
      expect(await rpcError(node.url, "eth_feeHistory", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
