import {
  Contract,
  type InterfaceAbi,
  type JsonRpcProvider,
  type Log,
  type TransactionReceipt,
  id as topicOf,
  Wallet,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import {
  abiOf,
  abiWithErrors,
  deployContract,
  expectRevert,
  LEARN_ADDRESS,
  ledgerProvider,
  sendTx,
  ZERO_ADDRESS,
} from "./helpers.js";

/**
 * One ERC-20 conformance suite, run twice with identical expectations: against OpenZeppelin 5's
 * ERC20 deployed as a contract (TestToken) and against the native LEARN module. Same results for
 * both is the point: metadata types, transfer/approve/transferFrom semantics, events (receipts and
 * eth_getLogs), zero-address rules, infinite allowance, self and zero-amount transfers, and OZ's
 * custom errors with their arguments — each refusal also mined, with no state change.
 */

const MAX = 2n ** 256n - 1n;
const TRANSFER = topicOf("Transfer(address,address,uint256)");
const APPROVAL = topicOf("Approval(address,address,uint256)");

/** What the suite needs of a token: where it is, its ABI (with OZ's IERC20Errors), and a faucet. */
export interface TokenUnderTest {
  address: string;
  abi: InterfaceAbi;
  /** Gives `holder` `amount` tokens (mint, or a transfer from a funded account). */
  give(holder: string, amount: bigint): Promise<void>;
}

let node: Awaited<ReturnType<typeof startInProcessNode>>;
let provider: JsonRpcProvider;
let funder: Wallet;

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  funder = new Wallet(DEV_KEYS[0], provider);
});

afterAll(async () => {
  await node?.cleanup();
});

async function mined(p: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const r = await (await p).wait();
  if (r === null || r.status !== 1) throw new Error("transaction failed");
  return r;
}

/** A new account with 1 AZR for gas and no token history (so both tokens start from the same state). */
async function freshAccount(): Promise<Wallet> {
  const w = new Wallet(Wallet.createRandom().privateKey, provider);
  await mined(funder.sendTransaction({ to: w.address, value: 10n ** 18n }));
  return w;
}

function erc20Conformance(label: string, setup: () => Promise<TokenUnderTest>): void {
  describe(`ERC-20 conformance: ${label}`, () => {
    let token: TokenUnderTest;
    let t: Contract;
    let a: Wallet;
    let b: Wallet;
    let c: Wallet;

    const as = (w: Wallet) => t.connect(w) as Contract;
    const bal = (x: string) => t.balanceOf(x) as Promise<bigint>;
    const allowance = (o: string, s: string) => t.allowance(o, s) as Promise<bigint>;

    /** Balances of a, b, c and address(0), every allowance among a, b, c, and the supply. */
    async function snapshot(): Promise<bigint[]> {
      const ws = [a.address, b.address, c.address];
      const out = [await t.totalSupply(), await bal(ZERO_ADDRESS)];
      for (const x of ws) {
        out.push(await bal(x));
        for (const y of ws) out.push(await allowance(x, y));
      }
      return out;
    }

    /** eth_call reverts with `name(args)`; mined, the same call fails without logs or state change. */
    async function expectRefused(from: Wallet, method: string, args: unknown[], name: string, expected: unknown[]) {
      const before = await snapshot();
      const d = await expectRevert(
        () =>
          as(from)
            .getFunction(method)
            .staticCall(...args),
        t.interface,
      );
      expect({ name: d.name, args: d.args }).toEqual({ name, args: expected });
      const data = t.interface.encodeFunctionData(method, args);
      const r = await sendTx(from, { to: token.address, data, gasLimit: 200_000n });
      expect(r.status).toBe(0);
      expect(r.logs).toHaveLength(0);
      expect(await snapshot()).toEqual(before);
    }

    /** Raw eth_call / transaction that must revert with empty data and change nothing. */
    async function expectEmptyRevert(from: Wallet, data: string) {
      const before = await snapshot();
      const d = await expectRevert(() => provider.call({ from: from.address, to: token.address, data }), t.interface);
      expect(d.data).toBe("0x");
      const r = await sendTx(from, { to: token.address, data, gasLimit: 200_000n });
      expect(r.status).toBe(0);
      expect(await snapshot()).toEqual(before);
    }

    /** The receipt's events, checked against what eth_getLogs returns for the same block. */
    async function events(r: TransactionReceipt): Promise<{ name: string; args: unknown[] }[]> {
      const decode = (l: Log) => {
        const p = t.interface.parseLog(l);
        if (p === null) throw new Error(`unknown event ${l.topics[0]}`);
        expect(l.address.toLowerCase()).toBe(token.address);
        return { name: p.name, args: [...p.args] };
      };
      const fromReceipt = r.logs.map(decode);
      const queried = await provider.getLogs({
        address: token.address,
        fromBlock: r.blockNumber,
        toBlock: r.blockNumber,
      });
      expect(queried.filter((l) => l.transactionHash === r.hash).map(decode)).toEqual(fromReceipt);
      return fromReceipt;
    }

    beforeAll(async () => {
      token = await setup();
      token.address = token.address.toLowerCase();
      t = new Contract(token.address, token.abi, provider);
    });

    beforeEach(async () => {
      [a, b, c] = [await freshAccount(), await freshAccount(), await freshAccount()];
      await token.give(a.address, 1_000n);
    });

    it("metadata: name and symbol are strings, decimals a uint8 of 18, totalSupply a uint256", async () => {
      expect(typeof (await t.name())).toBe("string");
      expect((await t.name()).length).toBeGreaterThan(0);
      expect(typeof (await t.symbol())).toBe("string");
      expect(await t.decimals()).toBe(18n);
      const supply = (await t.totalSupply()) as bigint;
      expect(supply).toBeGreaterThanOrEqual(1_000n);
      // The raw answers: one 32-byte word for decimals, an ABI string (offset, length, data) for name.
      const raw = await provider.call({ to: token.address, data: t.interface.encodeFunctionData("decimals") });
      expect(raw).toBe(zeroPadValue("0x12", 32));
      const rawName = await provider.call({ to: token.address, data: t.interface.encodeFunctionData("name") });
      expect(rawName.slice(0, 66)).toBe(zeroPadValue("0x20", 32));
    });

    it("a fresh account holds nothing and has granted nothing", async () => {
      expect(await bal(b.address)).toBe(0n);
      expect(await allowance(b.address, a.address)).toBe(0n);
      expect(await bal(a.address)).toBe(1_000n);
    });

    it("transfer: returns true, moves exactly the amount, logs Transfer(from, to, value); supply unchanged", async () => {
      const supply = await t.totalSupply();
      const data = t.interface.encodeFunctionData("transfer", [b.address, 300n]);
      expect(await provider.call({ from: a.address, to: token.address, data })).toBe(zeroPadValue("0x01", 32));
      const r = await mined(as(a).transfer(b.address, 300n));
      expect(await events(r)).toEqual([{ name: "Transfer", args: [a.address, b.address, 300n] }]);
      expect(r.logs[0].topics).toEqual([TRANSFER, zeroPadValue(a.address, 32), zeroPadValue(b.address, 32)]);
      expect(r.logs[0].data).toBe(zeroPadValue("0x012c", 32));
      expect([await bal(a.address), await bal(b.address)]).toEqual([700n, 300n]);
      expect(await t.totalSupply()).toBe(supply);
    });

    it("transfer of the whole balance leaves zero", async () => {
      await mined(as(a).transfer(b.address, 1_000n));
      expect([await bal(a.address), await bal(b.address)]).toEqual([0n, 1_000n]);
    });

    it("eth_getLogs finds Transfer by indexed sender and by indexed receiver", async () => {
      const r = await mined(as(a).transfer(c.address, 5n));
      const bySender = await provider.getLogs({
        address: token.address,
        topics: [TRANSFER, zeroPadValue(a.address, 32)],
        fromBlock: r.blockNumber,
      });
      const byReceiver = await provider.getLogs({
        address: token.address,
        topics: [TRANSFER, null, zeroPadValue(c.address, 32)],
        fromBlock: r.blockNumber,
      });
      expect(bySender.map((l) => l.transactionHash)).toEqual([r.hash]);
      expect(byReceiver.map((l) => l.transactionHash)).toEqual([r.hash]);
    });

    it("transfer over the balance: ERC20InsufficientBalance(sender, balance, needed)", async () => {
      await expectRefused(a, "transfer", [b.address, 1_001n], "ERC20InsufficientBalance", [a.address, 1_000n, 1_001n]);
      await expectRefused(b, "transfer", [a.address, 1n], "ERC20InsufficientBalance", [b.address, 0n, 1n]);
      await expectRefused(a, "transfer", [b.address, MAX], "ERC20InsufficientBalance", [a.address, 1_000n, MAX]);
    });

    it("transfer to address(0): ERC20InvalidReceiver(address(0)), checked before the balance", async () => {
      await expectRefused(a, "transfer", [ZERO_ADDRESS, 1n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
      await expectRefused(a, "transfer", [ZERO_ADDRESS, 0n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
      await expectRefused(a, "transfer", [ZERO_ADDRESS, 5_000n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
    });

    it("zero-amount transfers succeed and log Transfer(…, 0), even from an empty account", async () => {
      const before = await snapshot();
      const r1 = await mined(as(a).transfer(b.address, 0n));
      expect(await events(r1)).toEqual([{ name: "Transfer", args: [a.address, b.address, 0n] }]);
      const r2 = await mined(as(b).transfer(c.address, 0n));
      expect(await events(r2)).toEqual([{ name: "Transfer", args: [b.address, c.address, 0n] }]);
      expect(await snapshot()).toEqual(before);
    });

    it("self-transfer keeps the balance and logs Transfer(a, a, value); over the balance it is refused", async () => {
      const r = await mined(as(a).transfer(a.address, 400n));
      expect(await events(r)).toEqual([{ name: "Transfer", args: [a.address, a.address, 400n] }]);
      expect(await bal(a.address)).toBe(1_000n);
      await expectRefused(a, "transfer", [a.address, 1_001n], "ERC20InsufficientBalance", [a.address, 1_000n, 1_001n]);
    });

    it("approve: returns true, sets (and overwrites) the allowance, logs Approval; needs no balance", async () => {
      const data = t.interface.encodeFunctionData("approve", [b.address, 5n]);
      expect(await provider.call({ from: c.address, to: token.address, data })).toBe(zeroPadValue("0x01", 32));
      const r1 = await mined(as(a).approve(b.address, 5_000n));
      expect(await events(r1)).toEqual([{ name: "Approval", args: [a.address, b.address, 5_000n] }]);
      expect(r1.logs[0].topics).toEqual([APPROVAL, zeroPadValue(a.address, 32), zeroPadValue(b.address, 32)]);
      expect(await allowance(a.address, b.address)).toBe(5_000n);
      const r2 = await mined(as(a).approve(b.address, 7n));
      expect(await events(r2)).toEqual([{ name: "Approval", args: [a.address, b.address, 7n] }]);
      expect(await allowance(a.address, b.address)).toBe(7n);
      await mined(as(a).approve(b.address, 0n));
      expect(await allowance(a.address, b.address)).toBe(0n);
      await mined(as(a).approve(a.address, 9n));
      expect(await allowance(a.address, a.address)).toBe(9n);
      expect(await allowance(b.address, a.address)).toBe(0n);
    });

    it("approve to address(0): ERC20InvalidSpender(address(0))", async () => {
      await expectRefused(a, "approve", [ZERO_ADDRESS, 1n], "ERC20InvalidSpender", [ZERO_ADDRESS]);
    });

    it("transferFrom: returns true, moves the balance, spends the allowance, logs only Transfer", async () => {
      await mined(as(a).approve(b.address, 600n));
      const data = t.interface.encodeFunctionData("transferFrom", [a.address, c.address, 100n]);
      expect(await provider.call({ from: b.address, to: token.address, data })).toBe(zeroPadValue("0x01", 32));
      const r = await mined(as(b).transferFrom(a.address, c.address, 100n));
      expect(await events(r)).toEqual([{ name: "Transfer", args: [a.address, c.address, 100n] }]);
      expect(await allowance(a.address, b.address)).toBe(500n);
      expect([await bal(a.address), await bal(b.address), await bal(c.address)]).toEqual([900n, 0n, 100n]);
      await mined(as(b).transferFrom(a.address, b.address, 500n));
      expect(await allowance(a.address, b.address)).toBe(0n);
      expect(await bal(b.address)).toBe(500n);
    });

    it("transferFrom over the allowance: ERC20InsufficientAllowance(spender, allowance, needed)", async () => {
      await mined(as(a).approve(b.address, 10n));
      await expectRefused(b, "transferFrom", [a.address, c.address, 11n], "ERC20InsufficientAllowance", [
        b.address,
        10n,
        11n,
      ]);
      await expectRefused(c, "transferFrom", [a.address, c.address, 1n], "ERC20InsufficientAllowance", [
        c.address,
        0n,
        1n,
      ]);
      // Even the owner needs an allowance to use transferFrom on itself.
      await expectRefused(a, "transferFrom", [a.address, c.address, 1n], "ERC20InsufficientAllowance", [
        a.address,
        0n,
        1n,
      ]);
    });

    it("transferFrom within the allowance but over the balance: ERC20InsufficientBalance(from, …)", async () => {
      await mined(as(a).approve(b.address, 5_000n));
      await expectRefused(b, "transferFrom", [a.address, c.address, 1_001n], "ERC20InsufficientBalance", [
        a.address,
        1_000n,
        1_001n,
      ]);
    });

    it("transferFrom to address(0): the allowance is checked first, then ERC20InvalidReceiver", async () => {
      await expectRefused(b, "transferFrom", [a.address, ZERO_ADDRESS, 1n], "ERC20InsufficientAllowance", [
        b.address,
        0n,
        1n,
      ]);
      await mined(as(a).approve(b.address, 10n));
      await expectRefused(b, "transferFrom", [a.address, ZERO_ADDRESS, 1n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
    });

    it("transferFrom from address(0): no allowance, and a zero amount fails as ERC20InvalidApprover", async () => {
      await expectRefused(b, "transferFrom", [ZERO_ADDRESS, c.address, 1n], "ERC20InsufficientAllowance", [
        b.address,
        0n,
        1n,
      ]);
      await expectRefused(b, "transferFrom", [ZERO_ADDRESS, c.address, 0n], "ERC20InvalidApprover", [ZERO_ADDRESS]);
    });

    it("transferFrom of zero with no allowance succeeds and logs Transfer(…, 0)", async () => {
      const r = await mined(as(b).transferFrom(a.address, c.address, 0n));
      expect(await events(r)).toEqual([{ name: "Transfer", args: [a.address, c.address, 0n] }]);
      expect(await allowance(a.address, b.address)).toBe(0n);
    });

    it("an infinite allowance (type(uint256).max) is never decreased; max - 1 is", async () => {
      await mined(as(a).approve(b.address, MAX));
      const r = await mined(as(b).transferFrom(a.address, c.address, 250n));
      expect(await events(r)).toEqual([{ name: "Transfer", args: [a.address, c.address, 250n] }]);
      expect(await allowance(a.address, b.address)).toBe(MAX);
      await mined(as(a).approve(b.address, MAX - 1n));
      await mined(as(b).transferFrom(a.address, c.address, 250n));
      expect(await allowance(a.address, b.address)).toBe(MAX - 251n);
      expect(await bal(c.address)).toBe(500n);
    });

    it("malformed calldata and unknown selectors revert without data", async () => {
      const transfer = t.interface.encodeFunctionData("transfer", [b.address, 1n]);
      await expectEmptyRevert(a, "0xdeadbeef");
      await expectEmptyRevert(a, transfer.slice(0, -2)); // one byte short
      await expectEmptyRevert(a, `${transfer.slice(0, 10)}ff${transfer.slice(12)}`); // dirty address bits
    });

    it("refuses AZR sent with transfer: the call reverts and the value stays with the sender", async () => {
      const data = t.interface.encodeFunctionData("transfer", [b.address, 1n]);
      const before = await snapshot();
      const azr = await provider.getBalance(a.address);
      await expect(provider.call({ from: a.address, to: token.address, data, value: 1n })).rejects.toThrow();
      const r = await sendTx(a, { to: token.address, data, value: 1n, gasLimit: 200_000n });
      expect(r.status).toBe(0);
      expect(await provider.getBalance(a.address)).toBe(azr - r.gasUsed * r.gasPrice);
      expect(await snapshot()).toEqual(before);
    });
  });
}

erc20Conformance("OpenZeppelin ERC20 contract (TestToken)", async () => {
  const { contract, address } = await deployContract(funder, "TestToken", [0n]);
  return {
    address,
    abi: abiOf("TestToken"),
    give: async (holder, amount) => {
      await mined(contract.mint(holder, amount));
    },
  };
});

erc20Conformance("LEARN native module (0x…0A02)", async () => {
  // The ILearn ABI plus OZ's IERC20Errors (ILearn inherits the interfaces, not the error list).
  const abi = abiWithErrors("ILearn", "TestToken");
  const learn = new Contract(LEARN_ADDRESS, abi, funder);
  return {
    address: LEARN_ADDRESS,
    abi,
    give: async (holder, amount) => {
      await mined(learn.mint(holder, amount)); // dev account 0 is an issuer at genesis
    },
  };
});
