import { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account } from "@ethereumjs/util";
import {
  type Contract,
  Interface,
  type JsonRpcProvider,
  type Log,
  Signature,
  type TransactionReceipt,
  TypedDataEncoder,
  id as topicOf,
  Wallet,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { learnGenesis, parseLearnParams } from "../../runtime/modules/learn/genesis.js";
import { balanceSlot, issuerSlot, LEARN_ADDRESS as LEARN, LEARN_SLOTS } from "../../runtime/modules/learn/ledger.js";
import { bytesToHex, hexToBytes } from "../../runtime/primitives/bytes.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import {
  contractAt,
  deployContract,
  expectRevert,
  LEARN_ADDRESS,
  ledgerProvider,
  rpcCall,
  sendTx,
  ZERO_ADDRESS,
} from "./helpers.js";

/**
 * LEARN (0x…0A02) through JSON-RPC with ethers v6 and the generated ILearn ABI: genesis state,
 * every function, every event (in receipts and through eth_getLogs), EIP-2612 permits signed with
 * ethers' signTypedData, and every refusal with its decoded custom error and no state change.
 * ERC-20 semantics shared with OpenZeppelin are tested once, in erc20Conformance.test.ts.
 */

const E18 = 10n ** 18n;
const GENESIS_BALANCE = 1_000_000n * E18;
const MAX = 2n ** 256n - 1n;
/** secp256k1 group order: s' = N - s is the other, "high-s" form of the same signature. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
const DOMAIN = { name: "Azora Learn", version: "1", chainId: DEV_CHAIN_ID, verifyingContract: LEARN_ADDRESS };
/** OZ's ECDSA errors (not part of ILearn; LEARN reverts with them exactly as OZ's ERC20Permit). */
const ECDSA_ERRORS = ["error ECDSAInvalidSignature()", "error ECDSAInvalidSignatureS(bytes32)"];

/**
 * Runtime code that STATICCALLs LEARN with its own calldata and returns `success ‖ returndata`:
 * CALLDATACOPY(0,0,size); STATICCALL(gas, 0x0a02, 0, size, 0, 0); MSTORE(0, success);
 * RETURNDATACOPY(32, 0, rdsize); RETURN(0, 32 + rdsize).
 */
const STATIC_PROBE = "0x365f5f375f5f365f610a025afa5f523d5f60203e3d6020015ff3";

/** Init code that deploys `runtime` (< 256 bytes) verbatim: CODECOPY the tail, RETURN it. */
function initCodeFor(runtime: string): string {
  const len = ((runtime.length - 2) / 2).toString(16).padStart(2, "0");
  return `0x60${len}600a5f3960${len}5ff3${runtime.slice(2)}`;
}

describe("LEARN native module over JSON-RPC", () => {
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  let provider: JsonRpcProvider;
  let dev: Wallet[];
  let learn: Contract;
  let iface: Interface;
  let errors: Interface;

  const at = (w: Wallet) => learn.connect(w) as Contract;
  const balance = (a: string) => learn.balanceOf(a) as Promise<bigint>;

  /** Everything a refused call could have touched: supply, balances, allowances, nonces, issuers. */
  async function snapshot(): Promise<unknown[]> {
    const out: unknown[] = [await learn.totalSupply(), await provider.getBalance(LEARN_ADDRESS)];
    for (const a of dev.slice(0, 5)) {
      out.push(await balance(a.address), await learn.nonces(a.address), await learn.isIssuer(a.address));
      for (const b of dev.slice(0, 5)) out.push(await learn.allowance(a.address, b.address));
    }
    return out;
  }

  /**
   * `from` calls `method(args)`: eth_call must revert with custom error `name(expected)`; the same
   * call mined as a transaction must fail (status 0, no logs) and leave the state as it was.
   */
  async function expectRefused(from: Wallet, method: string, args: unknown[], name: string, expected: unknown[]) {
    const before = await snapshot();
    const decoded = await expectRevert(
      () =>
        at(from)
          .getFunction(method)
          .staticCall(...args),
      errors,
    );
    expect({ name: decoded.name, args: decoded.args }).toEqual({ name, args: expected });
    const r = await sendTx(from, {
      to: LEARN_ADDRESS,
      data: iface.encodeFunctionData(method, args),
      gasLimit: 300_000n,
    });
    expect(r.status).toBe(0);
    expect(r.logs).toHaveLength(0);
    expect(await snapshot()).toEqual(before);
  }

  /** The receipt's logs decoded with ILearn, and the same logs as eth_getLogs returns them. */
  async function eventsOf(r: TransactionReceipt): Promise<{ name: string; args: unknown[] }[]> {
    const fromReceipt = r.logs.map((l) => decode(l));
    const queried = await provider.getLogs({
      address: LEARN_ADDRESS,
      fromBlock: r.blockNumber,
      toBlock: r.blockNumber,
    });
    const fromQuery = queried.filter((l) => l.transactionHash === r.hash).map((l) => decode(l));
    expect(fromQuery).toEqual(fromReceipt);
    for (const l of r.logs) expect(l.address.toLowerCase()).toBe(LEARN_ADDRESS);
    return fromReceipt;
  }

  function decode(l: Log): { name: string; args: unknown[] } {
    const parsed = iface.parseLog(l);
    if (parsed === null) throw new Error(`not a LEARN event: ${l.topics[0]}`);
    return { name: parsed.name, args: [...parsed.args] };
  }

  async function mined(p: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
    const r = await (await p).wait();
    if (r === null || r.status !== 1) throw new Error("transaction failed");
    return r;
  }

  async function signPermit(owner: Wallet, spender: string, value: bigint, deadline: bigint, nonce?: bigint) {
    const n = nonce ?? ((await learn.nonces(owner.address)) as bigint);
    const message = { owner: owner.address, spender, value, nonce: n, deadline };
    return Signature.from(await owner.signTypedData(DOMAIN, PERMIT_TYPES, message));
  }

  async function headTimestamp(): Promise<bigint> {
    const b = await provider.getBlock("latest");
    return BigInt(b?.timestamp ?? 0);
  }

  /** A deadline `seconds` from now: the next block's timestamp is the wall clock (or the head's, if later). */
  async function deadlineIn(seconds: bigint): Promise<bigint> {
    const head = await headTimestamp();
    const clock = BigInt(Math.floor(Date.now() / 1000));
    return (head > clock ? head : clock) + seconds;
  }

  beforeAll(async () => {
    node = await startInProcessNode();
    provider = ledgerProvider(node.url);
    dev = DEV_KEYS.map((k) => new Wallet(k, provider));
    learn = contractAt(LEARN_ADDRESS, "ILearn", provider, "TestToken");
    iface = learn.interface;
    errors = new Interface([...iface.fragments, ...ECDSA_ERRORS]);
  });

  afterAll(async () => {
    await node?.cleanup();
  });

  describe("genesis", () => {
    it("has marker code and nonce 1 at its fixed address", async () => {
      expect(await provider.getCode(LEARN_ADDRESS)).toBe("0xfe");
      expect(await provider.getTransactionCount(LEARN_ADDRESS)).toBe(1);
    });

    it("answers the metadata of the interface", async () => {
      expect(await learn.name()).toBe("Azora Learn");
      expect(await learn.symbol()).toBe("LEARN");
      expect(await learn.decimals()).toBe(18n);
    });

    it("allocates 1,000,000 LEARN to each dev account; the supply is their sum", async () => {
      const at0 = { blockTag: 0 };
      for (const w of dev) expect(await learn.balanceOf(w.address, at0)).toBe(GENESIS_BALANCE);
      expect(await learn.totalSupply(at0)).toBe(10n * GENESIS_BALANCE);
      expect(await learn.balanceOf(ZERO_ADDRESS, at0)).toBe(0n);
    });

    it("makes dev account 0 the admin and the only issuer", async () => {
      expect((await learn.admin()).toLowerCase()).toBe(dev[0].address.toLowerCase());
      expect(await learn.isIssuer(dev[0].address)).toBe(true);
      for (const w of dev.slice(1)) expect(await learn.isIssuer(w.address)).toBe(false);
    });
  });

  describe("ERC-20", () => {
    it("transfer moves tokens, returns true and logs Transfer", async () => {
      const [a, b] = [dev[1], dev[2]];
      const [ba, bb] = [await balance(a.address), await balance(b.address)];
      expect(await at(a).transfer.staticCall(b.address, 5n * E18)).toBe(true);
      const r = await mined(at(a).transfer(b.address, 5n * E18));
      expect(await balance(a.address)).toBe(ba - 5n * E18);
      expect(await balance(b.address)).toBe(bb + 5n * E18);
      expect(await eventsOf(r)).toEqual([{ name: "Transfer", args: [a.address, b.address, 5n * E18] }]);
    });

    it("approve sets the allowance and logs Approval; transferFrom spends it", async () => {
      const [owner, spender, to] = [dev[3], dev[4], dev[2]];
      const r1 = await mined(at(owner).approve(spender.address, 10n * E18));
      expect(await eventsOf(r1)).toEqual([{ name: "Approval", args: [owner.address, spender.address, 10n * E18] }]);
      expect(await learn.allowance(owner.address, spender.address)).toBe(10n * E18);
      const bt = await balance(to.address);
      const r2 = await mined(at(spender).transferFrom(owner.address, to.address, 4n * E18));
      expect(await eventsOf(r2)).toEqual([{ name: "Transfer", args: [owner.address, to.address, 4n * E18] }]);
      expect(await learn.allowance(owner.address, spender.address)).toBe(6n * E18);
      expect(await balance(to.address)).toBe(bt + 4n * E18);
      await mined(at(owner).approve(spender.address, 0n));
    });

    it("eth_getLogs filters LEARN's Transfer logs by indexed sender and receiver", async () => {
      const [a, b] = [dev[5], dev[6]];
      const r = await mined(at(a).transfer(b.address, 7n));
      const logs = await provider.getLogs({
        address: LEARN_ADDRESS,
        topics: [
          topicOf("Transfer(address,address,uint256)"),
          zeroPadValue(a.address, 32),
          zeroPadValue(b.address, 32),
        ],
        fromBlock: 0,
        toBlock: "latest",
      });
      expect(logs.map((l) => l.transactionHash)).toEqual([r.hash]);
      expect(decode(logs[0])).toEqual({ name: "Transfer", args: [a.address, b.address, 7n] });
    });
  });

  describe("mint, burn and issuers", () => {
    it("an issuer mints: Transfer from address(0), supply and balance grow", async () => {
      const to = dev[7].address;
      const [supply, bal] = [await learn.totalSupply(), await balance(to)];
      const r = await mined(at(dev[0]).mint(to, 123n * E18));
      expect(await eventsOf(r)).toEqual([{ name: "Transfer", args: [ZERO_ADDRESS, to, 123n * E18] }]);
      expect(await learn.totalSupply()).toBe(supply + 123n * E18);
      expect(await balance(to)).toBe(bal + 123n * E18);
    });

    it("a holder burns: Transfer to address(0), supply and balance shrink", async () => {
      const holder = dev[7];
      const [supply, bal] = [await learn.totalSupply(), await balance(holder.address)];
      const r = await mined(at(holder).burn(23n * E18));
      expect(await eventsOf(r)).toEqual([{ name: "Transfer", args: [holder.address, ZERO_ADDRESS, 23n * E18] }]);
      expect(await learn.totalSupply()).toBe(supply - 23n * E18);
      expect(await balance(holder.address)).toBe(bal - 23n * E18);
    });

    it("the admin grants and revokes the issuer role (IssuerSet); the role decides who mints", async () => {
      const issuer = dev[8];
      const r1 = await mined(at(dev[0]).setIssuer(issuer.address, true));
      expect(await eventsOf(r1)).toEqual([{ name: "IssuerSet", args: [issuer.address, true] }]);
      expect(await learn.isIssuer(issuer.address)).toBe(true);
      await mined(at(issuer).mint(issuer.address, 1n));

      const r2 = await mined(at(dev[0]).setIssuer(issuer.address, false));
      expect(await eventsOf(r2)).toEqual([{ name: "IssuerSet", args: [issuer.address, false] }]);
      expect(await learn.isIssuer(issuer.address)).toBe(false);
      await expectRefused(issuer, "mint", [issuer.address, 1n], "LearnUnauthorizedIssuer", [issuer.address]);

      const logs = await provider.getLogs({
        address: LEARN_ADDRESS,
        topics: [topicOf("IssuerSet(address,bool)"), zeroPadValue(issuer.address, 32)],
        fromBlock: 0,
      });
      expect(logs.map((l) => decode(l).args)).toEqual([
        [issuer.address, true],
        [issuer.address, false],
      ]);
    });
  });

  describe("EIP-2612 permit", () => {
    it("DOMAIN_SEPARATOR is the EIP-712 domain ethers computes (name, version 1, chain id, LEARN)", async () => {
      expect(await learn.DOMAIN_SEPARATOR()).toBe(TypedDataEncoder.hashDomain(DOMAIN));
    });

    it("a relayer submits a permit signed with signTypedData: Approval, allowance, nonce + 1", async () => {
      const [owner, spender, relayer] = [dev[1], dev[2], dev[3]];
      const nonce = (await learn.nonces(owner.address)) as bigint;
      const deadline = await deadlineIn(3600n);
      const sig = await signPermit(owner, spender.address, 50n * E18, deadline);
      const r = await mined(
        at(relayer).permit(owner.address, spender.address, 50n * E18, deadline, sig.v, sig.r, sig.s),
      );
      expect(await eventsOf(r)).toEqual([{ name: "Approval", args: [owner.address, spender.address, 50n * E18] }]);
      expect(await learn.allowance(owner.address, spender.address)).toBe(50n * E18);
      expect(await learn.nonces(owner.address)).toBe(nonce + 1n);
      // The spender uses it like any allowance.
      await mined(at(spender).transferFrom(owner.address, spender.address, 20n * E18));
      expect(await learn.allowance(owner.address, spender.address)).toBe(30n * E18);
    });

    it("accepts a permit in the block whose timestamp equals its deadline", async () => {
      const [owner, spender] = [dev[4], dev[5]];
      const deadline = (await headTimestamp()) + 1000n;
      await rpcCall(node.url, "evm_setNextBlockTimestamp", [Number(deadline)]);
      const sig = await signPermit(owner, spender.address, 9n, deadline);
      const r = await mined(
        at(owner).permit(owner.address, spender.address, 9n, deadline, sig.v, sig.r, sig.s, { gasLimit: 200_000n }),
      );
      expect(BigInt((await provider.getBlock(r.blockNumber))?.timestamp ?? 0)).toBe(deadline);
      expect(await learn.allowance(owner.address, spender.address)).toBe(9n);
    });

    it("refuses an expired permit: ERC2612ExpiredSignature(deadline)", async () => {
      const [owner, spender] = [dev[1], dev[2]];
      const deadline = (await headTimestamp()) - 1n;
      const sig = await signPermit(owner, spender.address, 1n, deadline);
      const args = [owner.address, spender.address, 1n, deadline, sig.v, sig.r, sig.s];
      await expectRefused(dev[3], "permit", args, "ERC2612ExpiredSignature", [deadline]);
    });

    it("refuses a permit signed by someone else: ERC2612InvalidSigner(signer, owner)", async () => {
      const [owner, spender, forger] = [dev[1], dev[2], dev[4]];
      const deadline = await deadlineIn(3600n);
      const nonce = (await learn.nonces(owner.address)) as bigint;
      const message = { owner: owner.address, spender: spender.address, value: 1n, nonce, deadline };
      const sig = Signature.from(await forger.signTypedData(DOMAIN, PERMIT_TYPES, message));
      const args = [owner.address, spender.address, 1n, deadline, sig.v, sig.r, sig.s];
      await expectRefused(dev[3], "permit", args, "ERC2612InvalidSigner", [forger.address, owner.address]);
    });

    it("refuses a replayed permit (the nonce moved on): ERC2612InvalidSigner", async () => {
      const [owner, spender] = [dev[2], dev[3]];
      const deadline = await deadlineIn(3600n);
      const sig = await signPermit(owner, spender.address, 77n, deadline);
      const args = [owner.address, spender.address, 77n, deadline, sig.v, sig.r, sig.s] as const;
      await mined(at(dev[4]).permit(...args));
      const before = await snapshot();
      const d = await expectRevert(() => at(dev[4]).permit.staticCall(...args), errors);
      expect(d.name).toBe("ERC2612InvalidSigner");
      expect(d.args[0]).not.toBe(owner.address); // the digest with nonce + 1 recovers some other key
      expect(d.args[1]).toBe(owner.address);
      const r = await sendTx(dev[4], {
        to: LEARN_ADDRESS,
        data: iface.encodeFunctionData("permit", args),
        gasLimit: 300_000n,
      });
      expect(r.status).toBe(0);
      expect(await snapshot()).toEqual(before);
    });

    it("refuses malleable (high-s) and malformed signatures as OZ's ECDSA does", async () => {
      const [owner, spender] = [dev[1], dev[2]];
      const deadline = await deadlineIn(3600n);
      const sig = await signPermit(owner, spender.address, 1n, deadline);
      const highS = zeroPadValue(`0x${(N - BigInt(sig.s)).toString(16)}`, 32);
      const flippedV = sig.v === 27 ? 28 : 27;
      const base = [owner.address, spender.address, 1n, deadline];
      await expectRefused(dev[3], "permit", [...base, flippedV, sig.r, highS], "ECDSAInvalidSignatureS", [highS]);
      await expectRefused(dev[3], "permit", [...base, 29, sig.r, sig.s], "ECDSAInvalidSignature", []);
      await expectRefused(
        dev[3],
        "permit",
        [...base, sig.v, zeroPadValue("0x", 32), sig.s],
        "ECDSAInvalidSignature",
        [],
      );
    });

    it("refuses a valid permit for the zero spender: ERC20InvalidSpender(address(0))", async () => {
      const owner = dev[1];
      const deadline = await deadlineIn(3600n);
      const sig = await signPermit(owner, ZERO_ADDRESS, 1n, deadline);
      const args = [owner.address, ZERO_ADDRESS, 1n, deadline, sig.v, sig.r, sig.s];
      await expectRefused(dev[3], "permit", args, "ERC20InvalidSpender", [ZERO_ADDRESS]);
    });
  });

  describe("refusals (decoded custom error, no state change)", () => {
    it("transfer over the balance: ERC20InsufficientBalance(sender, balance, needed)", async () => {
      const a = dev[1];
      const bal = await balance(a.address);
      await expectRefused(a, "transfer", [dev[2].address, bal + 1n], "ERC20InsufficientBalance", [
        a.address,
        bal,
        bal + 1n,
      ]);
    });

    it("transfer to address(0): ERC20InvalidReceiver(address(0))", async () => {
      await expectRefused(dev[1], "transfer", [ZERO_ADDRESS, 1n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
    });

    it("mint by a non-issuer: LearnUnauthorizedIssuer(caller)", async () => {
      await expectRefused(dev[2], "mint", [dev[2].address, E18], "LearnUnauthorizedIssuer", [dev[2].address]);
    });

    it("mint to address(0) by an issuer: ERC20InvalidReceiver(address(0))", async () => {
      await expectRefused(dev[0], "mint", [ZERO_ADDRESS, 1n], "ERC20InvalidReceiver", [ZERO_ADDRESS]);
    });

    it("mint past 2^256 - 1 total supply: Panic(0x11), as OZ's checked addition", async () => {
      const supply = (await learn.totalSupply()) as bigint;
      await expectRefused(dev[0], "mint", [dev[1].address, MAX - supply + 1n], "Panic", [0x11n]);
    });

    it("setIssuer by a non-admin: LearnUnauthorizedAdmin(caller)", async () => {
      await expectRefused(dev[1], "setIssuer", [dev[1].address, true], "LearnUnauthorizedAdmin", [dev[1].address]);
    });

    it("burn over the balance: ERC20InsufficientBalance(holder, balance, needed)", async () => {
      const h = dev[3];
      const bal = await balance(h.address);
      await expectRefused(h, "burn", [bal + 1n], "ERC20InsufficientBalance", [h.address, bal, bal + 1n]);
    });

    it("transferFrom over the allowance: ERC20InsufficientAllowance(spender, allowance, needed)", async () => {
      const [owner, spender] = [dev[2], dev[4]];
      await mined(at(owner).approve(spender.address, 5n));
      await expectRefused(spender, "transferFrom", [owner.address, spender.address, 6n], "ERC20InsufficientAllowance", [
        spender.address,
        5n,
        6n,
      ]);
    });

    it("value sent to a non-payable function: Error(string), the value stays with the sender", async () => {
      const a = dev[1];
      const data = iface.encodeFunctionData("transfer", [dev[2].address, 1n]);
      const d = await expectRevert(
        () => provider.call({ from: a.address, to: LEARN_ADDRESS, data, value: 1n }),
        errors,
      );
      expect(d).toMatchObject({ name: "Error", args: ["LEARN: transfer is not payable"] });
      const before = await snapshot();
      const azr = await provider.getBalance(a.address);
      const r = await sendTx(a, { to: LEARN_ADDRESS, data, value: 1n, gasLimit: 100_000n });
      expect(r.status).toBe(0);
      expect(await provider.getBalance(a.address)).toBe(azr - r.gasUsed * r.gasPrice);
      expect(await snapshot()).toEqual(before);
    });

    it("an unknown selector and malformed calldata revert without data, like a Solidity contract", async () => {
      const a = dev[1].address;
      const unknown = await expectRevert(
        () => provider.call({ from: a, to: LEARN_ADDRESS, data: "0x12345678" }),
        errors,
      );
      expect(unknown.data).toBe("0x");
      const short = iface.encodeFunctionData("transfer", [dev[2].address, 1n]).slice(0, -2);
      expect((await expectRevert(() => provider.call({ from: a, to: LEARN_ADDRESS, data: short }), errors)).data).toBe(
        "0x",
      );
    });

    it("under STATICCALL: views answer, transfer is refused (framework rule) and nothing moves", async () => {
      const { address: probe } = await deployRaw(dev[0], initCodeFor(STATIC_PROBE));
      const view = await provider.call({ to: probe, data: iface.encodeFunctionData("balanceOf", [dev[1].address]) });
      expect(BigInt(view.slice(0, 66))).toBe(1n);
      expect(BigInt(`0x${view.slice(66)}`)).toBe(await balance(dev[1].address));

      const transfer = iface.encodeFunctionData("transfer", [dev[2].address, 0n]);
      const out = await provider.call({ from: dev[1].address, to: probe, data: transfer });
      expect(BigInt(out.slice(0, 66))).toBe(0n);
      const [reason] = new Interface(["error Error(string)"]).decodeErrorResult("Error", `0x${out.slice(66)}`);
      expect(reason).toBe("state change in a static call");

      const before = await snapshot();
      const r = await sendTx(dev[1], { to: probe, data: transfer, gasLimit: 200_000n });
      expect(r.status).toBe(1); // the probe swallows the failed STATICCALL
      expect(r.logs).toHaveLength(0);
      expect(await snapshot()).toEqual(before);
    });
  });

  describe("gas", () => {
    /** Intrinsic gas of a call tx (Prague): 21,000 + 4 per zero and 16 per non-zero calldata byte. */
    const intrinsic = (data: string) =>
      21_000n + [...Buffer.from(data.slice(2), "hex")].reduce((g, b) => g + (b === 0 ? 4n : 16n), 0n);

    /**
     * Execution gas (receipt gasUsed minus intrinsic) of each function: the totals in
     * runtime/modules/learn/README.md. 700 call + base + 2,100 per read + 5,000 per write + logs
     * (375 + 375/topic + 8/byte) + 200 per returned word.
     */
    it("charges exactly the documented gas per function", async () => {
      const [owner, spender] = [dev[6], dev[7]];
      const used = async (from: Wallet, method: string, args: unknown[]) => {
        const data = iface.encodeFunctionData(method, args);
        const r = await sendTx(from, { to: LEARN_ADDRESS, data, gasLimit: 200_000n });
        expect(r.status, method).toBe(1);
        return r.gasUsed - intrinsic(data);
      };
      // Views too are measured from mined transactions (eth_estimateGas rounds its search up).
      const viewGas = (method: string, args: unknown[]) => used(owner, method, args);
      const deadline = await deadlineIn(3600n);
      const sig = await signPermit(owner, spender.address, 5n, deadline);
      const table = {
        name: await viewGas("name", []),
        decimals: await viewGas("decimals", []),
        balanceOf: await viewGas("balanceOf", [owner.address]),
        DOMAIN_SEPARATOR: await viewGas("DOMAIN_SEPARATOR", []),
        transfer: await used(owner, "transfer", [spender.address, 1n]),
        approve: await used(owner, "approve", [spender.address, 10n]),
        transferFrom: await used(spender, "transferFrom", [owner.address, spender.address, 1n]),
        transferFromInfinite: 0n,
        permit: await used(dev[0], "permit", [owner.address, spender.address, 5n, deadline, sig.v, sig.r, sig.s]),
        mint: await used(dev[0], "mint", [owner.address, 1n]),
        burn: await used(owner, "burn", [1n]),
        setIssuer: await used(dev[0], "setIssuer", [dev[9].address, false]),
      };
      await mined(at(owner).approve(spender.address, MAX));
      table.transferFromInfinite = await used(spender, "transferFrom", [owner.address, spender.address, 1n]);
      expect(table).toEqual({
        name: 1_600n,
        decimals: 1_200n,
        balanceOf: 3_300n,
        DOMAIN_SEPARATOR: 1_200n,
        transfer: 18_856n,
        approve: 8_656n,
        transferFrom: 25_956n,
        transferFromInfinite: 20_956n,
        permit: 18_556n,
        mint: 20_756n,
        burn: 18_656n,
        setIssuer: 10_181n,
      });
    });

    it("a transfer to a new holder costs less than with the OpenZeppelin ERC-20", async () => {
      const { contract: oz } = await deployContract(dev[0], "TestToken", [10n ** 30n]);
      const ozAddress = await oz.getAddress();
      const existing = dev[9].address;
      await mined(oz.transfer(existing, 1n));
      const gasOf = async (to: string, recipient: string) => {
        const data = iface.encodeFunctionData("transfer", [recipient, E18]);
        return (await sendTx(dev[0], { to, data, gasLimit: 200_000n })).gasUsed;
      };
      const recipient = Wallet.createRandom().address;
      const [learnNew, ozNew] = [await gasOf(LEARN_ADDRESS, recipient), await gasOf(ozAddress, recipient)];
      const [learnOld, ozOld] = [await gasOf(LEARN_ADDRESS, existing), await gasOf(ozAddress, existing)];
      // Reported, not asserted: with the framework's flat 5,000 per storage write, a transfer between
      // existing holders costs LEARN more than OZ (whose warm non-zero SSTOREs cost 2,900).
      console.log("transfer gas, tx total:", { learnNew, ozNew, learnOld, ozOld });
      expect(learnNew).toBeLessThan(ozNew);
    });
  });

  async function deployRaw(w: Wallet, data: string): Promise<{ address: string }> {
    const r = await sendTx(w, { data });
    if (r.status !== 1 || r.contractAddress === null) throw new Error("deploy failed");
    return { address: r.contractAddress };
  }
});

describe("LEARN genesis parameters (modules.learn)", () => {
  const A = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  const B = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
  const ok = { admin: A, issuers: [A], allocations: { [A]: "5", [B]: "7" } };
  const word = async (sm: MerkleStateManager, slot: Uint8Array) => bytesToHex(await sm.getStorage(LEARN, slot));
  /** A state with LEARN's account, as installModules leaves it before calling the module's genesis. */
  const withAccount = async () => {
    const sm = new MerkleStateManager();
    await sm.putAccount(LEARN, new Account(1n));
    return sm;
  };

  it("writes admin, issuers, balances and their sum as the supply", async () => {
    const sm = await withAccount();
    await learnGenesis(sm, ok);
    expect(await word(sm, LEARN_SLOTS.admin)).toBe(A.toLowerCase());
    expect(await word(sm, issuerSlot(hexToBytes(A)))).toBe("0x01");
    expect(await word(sm, issuerSlot(hexToBytes(B)))).toBe("0x");
    expect(await word(sm, balanceSlot(hexToBytes(A)))).toBe("0x05");
    expect(await word(sm, balanceSlot(hexToBytes(B)))).toBe("0x07");
    expect(await word(sm, LEARN_SLOTS.totalSupply)).toBe("0x0c");
  });

  it("without modules.learn: no supply, no issuers, the zero address as admin", async () => {
    const sm = await withAccount();
    const empty = await sm.getStateRoot();
    await learnGenesis(sm, undefined);
    expect(await word(sm, LEARN_SLOTS.admin)).toBe("0x");
    expect(await word(sm, LEARN_SLOTS.totalSupply)).toBe("0x");
    expect(bytesToHex(await sm.getStateRoot())).toBe(bytesToHex(empty));
  });

  it.each([
    ["modules.learn", null],
    ["modules.learn", []],
    ["modules.learn.admins", { ...ok, admins: [A] }],
    ["modules.learn.admin", { ...ok, admin: undefined }],
    ["modules.learn.admin", { ...ok, admin: "0x1234" }],
    ["modules.learn.admin", { ...ok, admin: "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266" }], // bad checksum
    ["modules.learn.issuers", { ...ok, issuers: A }],
    ["modules.learn.issuers[1]", { ...ok, issuers: [A, "0x0000000000000000000000000000000000000000"] }],
    ["modules.learn.issuers[1]", { ...ok, issuers: [A, A.toLowerCase()] }],
    ["modules.learn.allocations", { ...ok, allocations: [] }],
    [`modules.learn.allocations.${A.toLowerCase()}`, { ...ok, allocations: { [A]: "1", [A.toLowerCase()]: "1" } }],
    [
      "modules.learn.allocations.0x0000000000000000000000000000000000000000",
      {
        ...ok,
        allocations: { "0x0000000000000000000000000000000000000000": "1" },
      },
    ],
    [`modules.learn.allocations.${B}`, { ...ok, allocations: { [B]: 1e24 } }],
    [`modules.learn.allocations.${B}`, { ...ok, allocations: { [B]: "01" } }],
    [`modules.learn.allocations.${B}`, { ...ok, allocations: { [B]: "-1" } }],
    [`modules.learn.allocations.${B}`, { ...ok, allocations: { [B]: "0x10" } }],
    [
      "modules.learn.allocations",
      { ...ok, allocations: { [A]: (2n ** 255n).toString(), [B]: (2n ** 255n).toString() } },
    ],
  ])("refuses a bad %s with an error naming the field", (field, params) => {
    expect(() => parseLearnParams(params)).toThrow(`invalid genesis: ${field}: `);
  });
});
