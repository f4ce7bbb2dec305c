import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Contract,
  Interface,
  type JsonRpcProvider,
  MaxUint256,
  parseEther,
  type TransactionReceipt,
  Wallet,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEYS, REPO_ROOT, startInProcessNode } from "../utils/devnode.js";
import {
  abiWithErrors,
  contractAt,
  expectRevert,
  feeOf,
  ledgerProvider,
  rpcCall,
  sendTx,
  WAZR_ADDRESS,
  ZERO_ADDRESS,
} from "./helpers.js";

/**
 * WAZR (0x…0A01), the native coin $AZR seen as an ERC-20, through JSON-RPC only, with the ABI the
 * build generated from contracts/interfaces/IWAZR.sol (plus OpenZeppelin's IERC20Errors, taken from
 * the compiled TestToken, to decode refusals).
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
type RpcBlock = { number: string; gasUsed: string; baseFeePerGas: string };

const FEE_RECIPIENT = "0x000000000000000000000000000000000000fee0";
const FRESH = "0x00000000000000000000000000000000c0ffee01";
/** Explicit gas for transactions meant to fail (ethers would refuse them at estimateGas). */
const FAILING_TX_GAS = 120_000n;

let node: Node;
let provider: JsonRpcProvider;
let alice: Wallet;
let bob: Wallet;
let carol: Wallet;
let wazr: Contract;
let iface: Interface;

const latest = async () => BigInt(await provider.getBlockNumber());
const balanceAt = (a: string, block: bigint) => provider.getBalance(a, block);

/** Sends a WAZR call from `w` and returns its receipt (status 0 included). */
async function send(w: Wallet, fn: string, args: unknown[], extra: { value?: bigint; gasLimit?: bigint } = {}) {
  return sendTx(w, { to: WAZR_ADDRESS, data: iface.encodeFunctionData(fn, args), ...extra });
}

/** Native balances of `addrs` in the block before `r` and in `r`'s block (one tx per block in this file). */
async function around(r: TransactionReceipt, addrs: string[]): Promise<{ before: bigint[]; after: bigint[] }> {
  const n = BigInt(r.blockNumber);
  const before = await Promise.all(addrs.map((a) => balanceAt(a, n - 1n)));
  const after = await Promise.all(addrs.map((a) => balanceAt(a, n)));
  return { before, after };
}

/** The genesis allocation, and the self-stake staking mints for each genesis validator (power p = p AZR). */
function genesisSupply(): { alloc: bigint; selfStake: bigint } {
  const spec = JSON.parse(readFileSync(join(REPO_ROOT, "genesis/devnet.json"), "utf8")) as {
    alloc: Record<string, { balance: string }>;
    validators: { power: number }[];
  };
  return {
    alloc: Object.values(spec.alloc).reduce((s, a) => s + BigInt(a.balance), 0n),
    selfStake: spec.validators.reduce((s, v) => s + BigInt(v.power) * 10n ** 18n, 0n),
  };
}

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  alice = new Wallet(DEV_KEYS[0], provider);
  bob = new Wallet(DEV_KEYS[1], provider);
  carol = new Wallet(DEV_KEYS[2], provider);
  wazr = contractAt(WAZR_ADDRESS, "IWAZR", alice, "TestToken");
  iface = new Interface(abiWithErrors("IWAZR", "TestToken"));
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

describe("WAZR metadata and views", () => {
  it("answers name, symbol and decimals", async () => {
    expect(await wazr.name()).toBe("Azora");
    expect(await wazr.symbol()).toBe("AZR");
    expect(await wazr.decimals()).toBe(18n);
  });

  it("has the genesis supply (the sum of genesis balances, the validator's self-stake included) at block 0", async () => {
    const { alloc, selfStake } = genesisSupply();
    expect(alloc).toBe(10n * parseEther("1000000"));
    expect(selfStake).toBe(parseEther("10"));
    expect(await wazr.totalSupply({ blockTag: 0 })).toBe(alloc + selfStake);
  });

  it("has marker code and nonce 1 at its address (Solidity's extcodesize check passes)", async () => {
    expect(await provider.getCode(WAZR_ADDRESS)).toBe("0xfe");
    expect(await provider.getTransactionCount(WAZR_ADDRESS)).toBe(1);
  });

  it("allowance is 0 for a pair that never approved", async () => {
    expect(await wazr.allowance(alice.address, FRESH)).toBe(0n);
  });
});

describe("WAZR transfer, approve, transferFrom", () => {
  it("transfer moves exactly `amount` of native AZR; the sender also pays gasUsed × effectiveGasPrice", async () => {
    const amount = parseEther("12.5");
    const r = await send(alice, "transfer", [bob.address, amount]);
    expect(r.status).toBe(1);
    const { before, after } = await around(r, [alice.address, bob.address]);
    expect(after[0]).toBe(before[0] - amount - feeOf(r));
    expect(after[1]).toBe(before[1] + amount);
    // The eth_call return value is `true`.
    expect(await wazr.transfer.staticCall(bob.address, 1n)).toBe(true);
  });

  it("transfer to a fresh address creates its native balance", async () => {
    const r = await send(alice, "transfer", [FRESH, 777n]);
    expect(r.status).toBe(1);
    expect(await provider.getBalance(FRESH, r.blockNumber)).toBe(777n);
    expect(await wazr.balanceOf(FRESH)).toBe(777n);
  });

  it("transfer of 0 and to oneself succeed and move nothing but the gas", async () => {
    for (const [to, amount] of [
      [bob.address, 0n],
      [alice.address, parseEther("3")],
    ] as const) {
      const r = await send(alice, "transfer", [to, amount]);
      expect(r.status).toBe(1);
      const { before, after } = await around(r, [alice.address, bob.address]);
      expect(after[0]).toBe(before[0] - feeOf(r));
      expect(after[1]).toBe(before[1]);
    }
  });

  it("approve sets the allowance (overwrites, never adds)", async () => {
    let r = await send(alice, "approve", [bob.address, parseEther("5")]);
    expect(r.status).toBe(1);
    expect(await wazr.allowance(alice.address, bob.address)).toBe(parseEther("5"));
    r = await send(alice, "approve", [bob.address, parseEther("4")]);
    expect(r.status).toBe(1);
    expect(await wazr.allowance(alice.address, bob.address)).toBe(parseEther("4"));
    // approve pays only gas: no native balance moves.
    const { before, after } = await around(r, [alice.address, bob.address]);
    expect(after[0]).toBe(before[0] - feeOf(r));
    expect(after[1]).toBe(before[1]);
  });

  it("transferFrom moves the owner's native AZR, spends the allowance; the spender pays only gas", async () => {
    const amount = parseEther("1.5");
    const r = await send(bob, "transferFrom", [alice.address, carol.address, amount]);
    expect(r.status).toBe(1);
    const { before, after } = await around(r, [alice.address, bob.address, carol.address]);
    expect(after[0]).toBe(before[0] - amount);
    expect(after[1]).toBe(before[1] - feeOf(r));
    expect(after[2]).toBe(before[2] + amount);
    expect(await wazr.allowance(alice.address, bob.address)).toBe(parseEther("4") - amount);
  });

  it("an infinite allowance (2^256-1) is not decreased by transferFrom", async () => {
    expect((await send(carol, "approve", [bob.address, MaxUint256])).status).toBe(1);
    const r = await send(bob, "transferFrom", [carol.address, alice.address, parseEther("2")]);
    expect(r.status).toBe(1);
    const { before, after } = await around(r, [carol.address, alice.address]);
    expect(after[0]).toBe(before[0] - parseEther("2"));
    expect(after[1]).toBe(before[1] + parseEther("2"));
    expect(await wazr.allowance(carol.address, bob.address)).toBe(MaxUint256);
  });
});

describe("WAZR events", () => {
  const transferTopic = () => iface.getEvent("Transfer")!.topicHash;
  const approvalTopic = () => iface.getEvent("Approval")!.topicHash;
  const topicOf = (a: string) => zeroPadValue(a, 32).toLowerCase();

  it("transfer emits Transfer(from, to, value) at the WAZR address, in the receipt and through eth_getLogs", async () => {
    const r = await send(alice, "transfer", [carol.address, 4242n]);
    expect(r.logs).toHaveLength(1);
    const log = r.logs[0];
    expect(log.address.toLowerCase()).toBe(WAZR_ADDRESS);
    expect(log.topics).toEqual([transferTopic(), topicOf(alice.address), topicOf(carol.address)]);
    const parsed = iface.parseLog(log)!;
    expect(parsed.name).toBe("Transfer");
    expect([...parsed.args]).toEqual([alice.address, carol.address, 4242n]);

    const logs = await rpcCall<{ transactionHash: string; data: string; topics: string[]; address: string }[]>(
      node.url,
      "eth_getLogs",
      [
        {
          address: WAZR_ADDRESS,
          fromBlock: `0x${r.blockNumber.toString(16)}`,
          toBlock: `0x${r.blockNumber.toString(16)}`,
          topics: [transferTopic(), topicOf(alice.address), topicOf(carol.address)],
        },
      ],
    );
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ transactionHash: r.hash, address: WAZR_ADDRESS, data: log.data });
  });

  it("approve emits Approval(owner, spender, value); transferFrom emits only Transfer (OZ 5)", async () => {
    const ra = await send(alice, "approve", [carol.address, 999n]);
    expect(ra.logs).toHaveLength(1);
    expect(ra.logs[0].topics).toEqual([approvalTopic(), topicOf(alice.address), topicOf(carol.address)]);
    expect([...iface.parseLog(ra.logs[0])!.args]).toEqual([alice.address, carol.address, 999n]);

    const rt = await send(carol, "transferFrom", [alice.address, bob.address, 333n]);
    expect(rt.logs).toHaveLength(1);
    expect(rt.logs[0].topics).toEqual([transferTopic(), topicOf(alice.address), topicOf(bob.address)]);

    // eth_getLogs over the whole chain, filtered by event and owner, as an indexer would ask.
    const approvals = await provider.getLogs({
      address: WAZR_ADDRESS,
      fromBlock: 0,
      toBlock: "latest",
      topics: [approvalTopic(), topicOf(alice.address), topicOf(carol.address)],
    });
    expect(approvals.map((l) => l.transactionHash)).toEqual([ra.hash]);
    const transfersToBob = await provider.getLogs({
      address: WAZR_ADDRESS,
      fromBlock: ra.blockNumber,
      toBlock: rt.blockNumber,
      topics: [transferTopic(), null, topicOf(bob.address)],
    });
    expect(transfersToBob.map((l) => l.transactionHash)).toEqual([rt.hash]);
    expect(iface.parseLog(transfersToBob[0])!.args[2]).toBe(333n);
  });

  it("eth_getLogs over the whole chain returns each WAZR Transfer exactly as its receipt holds it", async () => {
    const logs = await provider.getLogs({
      address: WAZR_ADDRESS,
      fromBlock: 0,
      toBlock: "latest",
      topics: [transferTopic()],
    });
    expect(logs.length).toBeGreaterThanOrEqual(8);
    for (const l of logs) {
      const receipt = (await provider.getTransactionReceipt(l.transactionHash))!;
      expect(receipt.status).toBe(1);
      const same = receipt.logs.find((x) => x.index === l.index)!;
      expect({ address: same.address, topics: same.topics, data: same.data, block: same.blockNumber }).toEqual({
        address: l.address,
        topics: l.topics,
        data: l.data,
        block: l.blockNumber,
      });
      expect(iface.parseLog(l)!.args[1]).not.toBe(ZERO_ADDRESS); // WAZR never mints or burns through transfers
    }
  });
});

describe("WAZR balances and supply through history", () => {
  it("balanceOf(a) == eth_getBalance(a) at several explicit block numbers", async () => {
    // A few more blocks: a plain native transfer (not through WAZR) must show in balanceOf too.
    const r = await sendTx(alice, { to: FRESH, value: 1234n });
    expect(r.status).toBe(1);
    const head = await latest();
    const blocks = [0n, 1n, 2n, head / 2n, BigInt(r.blockNumber) - 1n, BigInt(r.blockNumber), head];
    const accounts = [alice.address, bob.address, carol.address, FRESH, FEE_RECIPIENT, WAZR_ADDRESS, ZERO_ADDRESS];
    for (const b of blocks) {
      for (const a of accounts) {
        const viaWazr = (await wazr.balanceOf(a, { blockTag: b })) as bigint;
        expect(viaWazr, `balanceOf(${a}) at block ${b}`).toBe(await balanceAt(a, b));
      }
    }
    // The native transfer shows in WAZR's view exactly.
    expect(await wazr.balanceOf(FRESH, { blockTag: r.blockNumber })).toBe(
      (await wazr.balanceOf(FRESH, { blockTag: r.blockNumber - 1 })) + 1234n,
    );
  });

  // The devnet's inflation is 0 and nothing is slashed here (staking's own property test covers those).
  it("totalSupply() == genesis supply − Σ gasUsed × baseFeePerGas (the EIP-1559 burn), at every block", async () => {
    const { alloc, selfStake } = genesisSupply();
    const genesis = alloc + selfStake;
    const head = await latest();
    let burned = 0n;
    for (let n = 0n; n <= head; n++) {
      const block = await rpcCall<RpcBlock>(node.url, "eth_getBlockByNumber", [`0x${n.toString(16)}`, false]);
      if (n > 0n) burned += BigInt(block.gasUsed) * BigInt(block.baseFeePerGas);
      expect(await wazr.totalSupply({ blockTag: n }), `totalSupply at block ${n}`).toBe(genesis - burned);
    }
    expect(burned).toBeGreaterThan(0n);
  });
});

describe("WAZR refusals: decoded OpenZeppelin errors, no state change", () => {
  /** Sends a failing WAZR tx and checks the only native change is the sender's fee. */
  async function expectFailedTx(w: Wallet, fn: string, args: unknown[], watch: string[], value = 0n) {
    const r = await send(w, fn, args, { gasLimit: FAILING_TX_GAS, value });
    expect(r.status).toBe(0);
    expect(r.logs).toHaveLength(0);
    const { before, after } = await around(r, [w.address, ...watch]);
    expect(after[0]).toBe(before[0] - feeOf(r));
    for (let i = 1; i < after.length; i++) expect(after[i], watch[i - 1]).toBe(before[i]);
    return r;
  }

  it("transfer over the balance: ERC20InsufficientBalance(sender, balance, needed)", async () => {
    const balance = await provider.getBalance(bob.address);
    const needed = balance + 1n;
    const e = await expectRevert(
      () => wazr.connect(bob).getFunction("transfer").staticCall(carol.address, needed),
      iface,
    );
    expect(e).toMatchObject({ name: "ERC20InsufficientBalance", args: [bob.address, balance, needed] });
    await expectFailedTx(bob, "transfer", [carol.address, needed], [carol.address]);
  });

  it("transfer to the zero address: ERC20InvalidReceiver(0x0)", async () => {
    const e = await expectRevert(() => wazr.transfer.staticCall(ZERO_ADDRESS, 1n), iface);
    expect(e).toMatchObject({ name: "ERC20InvalidReceiver", args: [ZERO_ADDRESS] });
    await expectFailedTx(alice, "transfer", [ZERO_ADDRESS, 1n], [ZERO_ADDRESS]);
  });

  it("approve of the zero address: ERC20InvalidSpender(0x0)", async () => {
    const e = await expectRevert(() => wazr.approve.staticCall(ZERO_ADDRESS, 1n), iface);
    expect(e).toMatchObject({ name: "ERC20InvalidSpender", args: [ZERO_ADDRESS] });
    await expectFailedTx(alice, "approve", [ZERO_ADDRESS, 1n], []);
    expect(await wazr.allowance(alice.address, ZERO_ADDRESS)).toBe(0n);
  });

  it("transferFrom beyond the allowance: ERC20InsufficientAllowance(spender, allowance, needed)", async () => {
    const allowance = (await wazr.allowance(alice.address, bob.address)) as bigint;
    expect(allowance).toBeGreaterThan(0n);
    const e = await expectRevert(
      () =>
        wazr
          .connect(bob)
          .getFunction("transferFrom")
          .staticCall(alice.address, carol.address, allowance + 1n),
      iface,
    );
    expect(e).toMatchObject({ name: "ERC20InsufficientAllowance", args: [bob.address, allowance, allowance + 1n] });
    await expectFailedTx(
      bob,
      "transferFrom",
      [alice.address, carol.address, allowance + 1n],
      [alice.address, carol.address],
    );
    expect(await wazr.allowance(alice.address, bob.address)).toBe(allowance);
  });

  it("transferFrom without any allowance: ERC20InsufficientAllowance(spender, 0, needed)", async () => {
    const e = await expectRevert(
      () => wazr.connect(carol).getFunction("transferFrom").staticCall(bob.address, carol.address, 1n),
      iface,
    );
    expect(e).toMatchObject({ name: "ERC20InsufficientAllowance", args: [carol.address, 0n, 1n] });
  });

  it("transferFrom within the allowance but over the owner's balance: ERC20InsufficientBalance, allowance kept", async () => {
    // FRESH has no key: give bob an allowance from an account holding less than it approves.
    const poor = new Wallet(Wallet.createRandom().privateKey, provider);
    expect((await sendTx(alice, { to: poor.address, value: parseEther("1") })).status).toBe(1);
    expect((await send(poor, "approve", [bob.address, parseEther("100")])).status).toBe(1);
    const balance = await provider.getBalance(poor.address);
    const e = await expectRevert(
      () => wazr.connect(bob).getFunction("transferFrom").staticCall(poor.address, carol.address, parseEther("50")),
      iface,
    );
    expect(e).toMatchObject({ name: "ERC20InsufficientBalance", args: [poor.address, balance, parseEther("50")] });
    await expectFailedTx(
      bob,
      "transferFrom",
      [poor.address, carol.address, parseEther("50")],
      [poor.address, carol.address],
    );
    expect(await wazr.allowance(poor.address, bob.address)).toBe(parseEther("100"));
  });

  it("AZR sent with a call (no WAZR function is payable) is refused and stays with the sender", async () => {
    const e = await expectRevert(() => wazr.transfer.staticCall(bob.address, 1n, { value: 5n }), iface);
    expect(e).toMatchObject({ name: "Error", args: ["WAZR: transfer is not payable"] });
    const r = await expectFailedTx(alice, "transfer", [bob.address, 1n], [bob.address, WAZR_ADDRESS], parseEther("1"));
    expect(r.status).toBe(0);
  });

  it("an unknown selector reverts with empty data, like a contract without a fallback", async () => {
    const e = await expectRevert(() => provider.call({ to: WAZR_ADDRESS, data: "0xdeadbeef" }), iface);
    expect(e).toEqual({ name: "", args: [], data: "0x" });
    const r = await sendTx(alice, { to: WAZR_ADDRESS, data: "0xdeadbeef", gasLimit: FAILING_TX_GAS });
    expect(r.status).toBe(0);
  });
});
