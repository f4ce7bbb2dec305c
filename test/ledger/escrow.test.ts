import {
  type BaseContract,
  Contract,
  ContractFactory,
  getAddress,
  Interface,
  JsonRpcProvider,
  type Log,
  parseEther,
  type TransactionReceipt,
  toBeHex,
  toQuantity,
  Wallet,
  ZeroAddress,
  ZeroHash,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";

/**
 * The native escrow (0x…0A04, IEscrow) through JSON-RPC with ethers against a real dev node: every
 * function and path for AZR and LEARN, events from receipts and eth_getLogs, and every refusal with
 * its decoded custom error and no state change (escrow, module and party balances re-read; the
 * only difference a refused, mined transaction leaves is its sender's fee).
 */

// Checksummed, as ethers returns addresses.
const ESCROW = getAddress("0x0000000000000000000000000000000000000a04");
const LEARN = getAddress("0x0000000000000000000000000000000000000a02");
const WAZR = getAddress("0x0000000000000000000000000000000000000a01");
const Status = { None: 0n, Active: 1n, Disputed: 2n, Released: 3n, Refunded: 4n, Resolved: 5n } as const;
const TERMS = zeroPadValue("0xc0ffee", 32);
/** Gas limit for transactions sent to be refused: skips estimation, so the refusal is mined (status 0). */
const REFUSED_GAS = 300_000n;

const escrowAbi = loadArtifact("IEscrow").abi as never[];
const learnAbi = [
  ...(loadArtifact("ILearn").abi as never[]),
  // OpenZeppelin 5's IERC20Errors, which LEARN reverts with (ILearn does not redeclare them).
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
];
/** Decodes escrow and LEARN errors and events, whichever contract they surface through. */
const decoder = new Interface([...escrowAbi, ...learnAbi]);

let node: Awaited<ReturnType<typeof startInProcessNode>>;
let provider: JsonRpcProvider;
let payer: Wallet;
let payee: Wallet;
let arbiter: Wallet;
let stranger: Wallet;
let escrow: Contract;
let learn: Contract;

beforeAll(async () => {
  node = await startInProcessNode();
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
  // Genesis carries a fixed timestamp in the past; a fresh block brings chain time to the wall clock,
  // so deadlines computed from the latest block are in the future for the next one too.
  await provider.send("evm_mine", []);
  [payer, payee, arbiter, stranger] = [1, 2, 3, 4].map((i) => new Wallet(DEV_KEYS[i], provider));
  escrow = new Contract(ESCROW, escrowAbi, provider);
  learn = new Contract(LEARN, learnAbi, provider);
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

// ---------------------------------------------------------------------------------------------
// helpers

const as = (c: Contract, w: Wallet) => c.connect(w) as Contract;
const addr = (x: Wallet | BaseContract | string) =>
  typeof x === "string" ? x : x instanceof Wallet ? x.address : (x.target as string);

async function latestTs(): Promise<bigint> {
  return BigInt((await provider.getBlock("latest"))!.timestamp);
}

/**
 * Moves chain time to at least `ts` with evm_increaseTime and mines a block there. Repeated because
 * blocks mined at explicit timestamps (evm_mine(ts)) can leave the chain ahead of clock + offset.
 */
async function passDeadline(ts: bigint): Promise<void> {
  for (let i = 0; i < 10 && (await latestTs()) < ts; i++) {
    await provider.send("evm_increaseTime", [Number(ts - (await latestTs()))]);
    await provider.send("evm_mine", []);
  }
  expect(await latestTs()).toBeGreaterThanOrEqual(ts);
}

/**
 * The receipt of `tx`, whatever its status. Polled directly: ethers' waitForTransaction can miss a
 * block mined between its first receipt check and its block subscription, then wait for the next
 * (empty) block, seconds later.
 */
async function mined(tx: { hash: string } | Promise<{ hash: string }>): Promise<TransactionReceipt> {
  const { hash } = await tx;
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt !== null) return receipt;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A transaction that must succeed: its receipt (status 1). */
async function ok(tx: { hash: string } | Promise<{ hash: string }>): Promise<TransactionReceipt> {
  const receipt = await mined(tx);
  expect(receipt.status).toBe(1);
  return receipt;
}

/** The decoded revert of a failing call: [error name, args]. */
async function revertOf(p: Promise<unknown>): Promise<[string, unknown[]]> {
  try {
    await p;
  } catch (e) {
    const data = (e as { data?: string }).data;
    if (data === undefined || data === null || data === "0x") throw e;
    const parsed = decoder.parseError(data);
    if (parsed === null) throw e;
    return [parsed.name, [...parsed.args]];
  }
  throw new Error("expected the call to revert");
}

interface Balances {
  azr: bigint;
  learn: bigint;
}

/** Everything a refused call must leave alone: the escrows' tuples, the count, and balances. */
async function snapshot(ids: bigint[], parties: string[]) {
  const balances: Record<string, Balances> = {};
  for (const p of new Set([ESCROW, ...parties])) {
    balances[p] = { azr: await provider.getBalance(p), learn: await learn.balanceOf(p) };
  }
  const escrows: unknown[][] = [];
  for (const id of ids) escrows.push([...(await escrow.escrows(id))]);
  return { count: (await escrow.escrowCount()) as bigint, escrows, balances };
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

const defaultParties = () => [payer.address, payee.address, arbiter.address, stranger.address];

/**
 * `method(...args)` by `from` must be refused with `expected`: decoded from eth_call, then sent as a
 * transaction with a fixed gas limit, mined with status 0, and nothing changed but its sender's fee.
 */
async function expectRefused(
  from: Wallet,
  method: string,
  args: unknown[],
  expected: [string, unknown[]],
  opts: { value?: bigint; ids?: bigint[]; contract?: Contract; parties?: string[] } = {},
): Promise<void> {
  const c = as(opts.contract ?? escrow, from);
  const value = opts.value ?? 0n;
  const ids = opts.ids ?? [];
  const parties = [...defaultParties(), ...(opts.parties ?? [])];
  const before = await snapshot(ids, parties);
  expect(await revertOf(c.getFunction(method).staticCall(...args, { value }))).toEqual(expected);
  const receipt = await mined(c.getFunction(method).send(...args, { value, gasLimit: REFUSED_GAS }));
  expect(receipt.status).toBe(0);
  const after = await snapshot(ids, parties);
  expect(after).toEqual(withFee(before, from.address, receipt.fee));
}

function withFee(s: Snapshot, who: string, fee: bigint): Snapshot {
  const copy = structuredClone(s);
  copy.balances[who].azr -= fee;
  return copy;
}

/** Events of a receipt, decoded, with the emitting address: [address, name, args]. */
function eventsOf(receipt: TransactionReceipt): [string, string, unknown[]][] {
  return receipt.logs.map((l: Log) => {
    const parsed = decoder.parseLog(l);
    if (parsed === null) throw new Error(`unknown log ${l.topics[0]}`);
    return [l.address, parsed.name, [...parsed.args]];
  });
}

async function logsOf(event: string, id: bigint, receipt: TransactionReceipt): Promise<unknown[][]> {
  const logs = await provider.getLogs({
    address: ESCROW,
    topics: [decoder.getEvent(event)!.topicHash, toBeHex(id, 32)],
    fromBlock: receipt.blockNumber,
    toBlock: receipt.blockNumber,
  });
  return logs.map((l) => [...decoder.parseLog(l)!.args]);
}

interface Created {
  id: bigint;
  deadline: bigint;
  amount: bigint;
  receipt: TransactionReceipt;
  /** LEARN only: the payer's approve(escrow, amount). */
  approval?: TransactionReceipt;
}

/** Creates an escrow from `from` (default payer); LEARN escrows approve the amount first. */
async function createEscrow(
  token: "AZR" | "LEARN",
  opts: {
    amount?: bigint;
    from?: Wallet;
    payee?: string;
    arbiter?: string;
    deadlineIn?: bigint;
    terms?: string;
  } = {},
): Promise<Created> {
  const from = opts.from ?? payer;
  const amount = opts.amount ?? parseEther(token === "AZR" ? "3" : "70");
  const deadline = (await latestTs()) + (opts.deadlineIn ?? 3_600n);
  const approval = token === "LEARN" ? await ok(as(learn, from).approve(ESCROW, amount)) : undefined;
  const args = [
    opts.payee ?? payee.address,
    opts.arbiter ?? arbiter.address,
    token === "AZR" ? ZeroAddress : LEARN,
    amount,
    deadline,
    opts.terms ?? TERMS,
  ];
  const value = token === "AZR" ? amount : 0n;
  const id = await as(escrow, from).create.staticCall(...args, { value });
  const receipt = await ok(as(escrow, from).create(...args, { value }));
  return { id, deadline, amount, receipt, approval };
}

async function deploy(name: string, from: Wallet = payer): Promise<Contract> {
  const a = loadArtifact(name);
  const c = await new ContractFactory(a.abi as never[], a.bytecode, from).deploy();
  await ok(c.deploymentTransaction()!);
  return c as Contract;
}

// ---------------------------------------------------------------------------------------------

describe("escrow views", () => {
  it("reads an unknown id as the all-zero tuple with status None", async () => {
    expect([...(await escrow.escrows(987_654n))]).toEqual([
      ZeroAddress,
      ZeroAddress,
      ZeroAddress,
      ZeroAddress,
      0n,
      0n,
      ZeroHash,
      Status.None,
    ]);
    expect(await escrow.escrowCount()).toBe(0n);
  });
});

for (const token of ["AZR", "LEARN"] as const) {
  const tokenAddress = () => (token === "AZR" ? ZeroAddress : LEARN);
  /** The balance of `who` in the escrowed token. */
  const bal = async (who: string) =>
    token === "AZR" ? await provider.getBalance(who) : ((await learn.balanceOf(who)) as bigint);
  /** The fee `r` cost its sender, in the escrowed token (LEARN transfers cost AZR only). */
  const feeIn = (r: TransactionReceipt) => (token === "AZR" ? r.fee : 0n);

  describe(`escrow in ${token}`, () => {
    it("create: id from 1, funds held by the module, tuple, count and EscrowCreated", async () => {
      const countBefore = (await escrow.escrowCount()) as bigint;
      const payerBefore = await bal(payer.address);
      const moduleBefore = await bal(ESCROW);
      const azrBefore = await provider.getBalance(payer.address);
      const { id, deadline, amount, receipt, approval } = await createEscrow(token);
      expect(id).toBe(countBefore + 1n);
      if (countBefore === 0n) expect(id).toBe(1n);
      expect(await escrow.escrowCount()).toBe(id);
      expect(await bal(ESCROW)).toBe(moduleBefore + amount);
      expect(await bal(payer.address)).toBe(payerBefore - amount - feeIn(receipt));
      if (token === "LEARN") {
        // LEARN escrows cost AZR only the fees; the approved allowance is spent exactly.
        expect(await provider.getBalance(payer.address)).toBe(azrBefore - approval!.fee - receipt.fee);
        expect(await learn.allowance(payer.address, ESCROW)).toBe(0n);
      }
      expect([...(await escrow.escrows(id))]).toEqual([
        payer.address,
        payee.address,
        arbiter.address,
        tokenAddress(),
        amount,
        deadline,
        TERMS,
        Status.Active,
      ]);
      const created = [id, payer.address, payee.address, arbiter.address, tokenAddress(), amount, deadline, TERMS];
      const transfer = [LEARN, "Transfer", [payer.address, ESCROW, amount]];
      expect(eventsOf(receipt)).toEqual([...(token === "LEARN" ? [transfer] : []), [ESCROW, "EscrowCreated", created]]);
      expect(await logsOf("EscrowCreated", id, receipt)).toEqual([created]);
      // Indexed payer and payee filter as indexers use them.
      const byParties = await provider.getLogs({
        address: ESCROW,
        topics: [null, null, zeroPadValue(payer.address, 32), zeroPadValue(payee.address, 32)],
        fromBlock: receipt.blockNumber,
        toBlock: receipt.blockNumber,
      });
      expect(byParties).toHaveLength(1);
    });

    it("create with empty terms and a contract as payer (msg.sender is the calling contract)", async () => {
      const { id } = await createEscrow(token, { terms: ZeroHash });
      expect((await escrow.escrows(id)).terms).toBe(ZeroHash);
      if (token === "AZR") {
        const user = await deploy("EscrowUser");
        const deadline = (await latestTs()) + 3_600n;
        const amount = parseEther("1");
        const r = await ok(
          as(user, stranger).create(payee.address, arbiter.address, deadline, TERMS, { value: amount }),
        );
        const [[, name, args]] = eventsOf(r);
        expect(name).toBe("EscrowCreated");
        const newId = args[0] as bigint;
        // The payer is the contract that called, never the EOA behind it nor anything in calldata.
        expect((await escrow.escrows(newId)).payer).toBe(addr(user));
        expect(await user.statusOf(newId)).toBe(Status.Active);
        await ok(as(user, stranger).release(newId));
        expect(await user.statusOf(newId)).toBe(Status.Released);
      }
    });

    it("release by the payer: everything to the payee, once", async () => {
      const { id, amount } = await createEscrow(token);
      const [payeeBefore, moduleBefore, payerAzr] = [
        await bal(payee.address),
        await bal(ESCROW),
        await provider.getBalance(payer.address),
      ];
      const r = await ok(as(escrow, payer).release(id));
      expect(await bal(payee.address)).toBe(payeeBefore + amount);
      expect(await bal(ESCROW)).toBe(moduleBefore - amount);
      expect(await provider.getBalance(payer.address)).toBe(payerAzr - r.fee);
      expect((await escrow.escrows(id)).status).toBe(Status.Released);
      const released = [id, payee.address, amount];
      const transfer = [LEARN, "Transfer", [ESCROW, payee.address, amount]];
      expect(eventsOf(r)).toEqual([...(token === "LEARN" ? [transfer] : []), [ESCROW, "EscrowReleased", released]]);
      expect(await logsOf("EscrowReleased", id, r)).toEqual([released]);

      // An id settles once.
      await expectRefused(payer, "release", [id], ["EscrowInvalidState", [id, Status.Released]], { ids: [id] });
      await expectRefused(arbiter, "release", [id], ["EscrowInvalidState", [id, Status.Released]], { ids: [id] });
      await expectRefused(payee, "refund", [id], ["EscrowInvalidState", [id, Status.Released]], { ids: [id] });
      await expectRefused(payer, "dispute", [id], ["EscrowInvalidState", [id, Status.Released]], { ids: [id] });
    });

    it("release by the arbiter, while Active", async () => {
      const { id, amount } = await createEscrow(token);
      const payeeBefore = await bal(payee.address);
      const r = await ok(as(escrow, arbiter).release(id));
      expect(await bal(payee.address)).toBe(payeeBefore + amount);
      expect(eventsOf(r).at(-1)).toEqual([ESCROW, "EscrowReleased", [id, payee.address, amount]]);
    });

    it("release is refused to the payee and to strangers", async () => {
      const { id } = await createEscrow(token);
      await expectRefused(payee, "release", [id], ["EscrowUnauthorized", [payee.address]], { ids: [id] });
      await expectRefused(stranger, "release", [id], ["EscrowUnauthorized", [stranger.address]], { ids: [id] });
    });

    it("refund by the payee before the deadline: everything back to the payer", async () => {
      const { id, amount } = await createEscrow(token);
      const [payerBefore, moduleBefore, payeeAzr] = [
        await bal(payer.address),
        await bal(ESCROW),
        await provider.getBalance(payee.address),
      ];
      const r = await ok(as(escrow, payee).refund(id));
      expect(await bal(payer.address)).toBe(payerBefore + amount);
      expect(await bal(ESCROW)).toBe(moduleBefore - amount);
      expect(await provider.getBalance(payee.address)).toBe(payeeAzr - r.fee);
      expect((await escrow.escrows(id)).status).toBe(Status.Refunded);
      const refunded = [id, payer.address, amount];
      expect(eventsOf(r).at(-1)).toEqual([ESCROW, "EscrowRefunded", refunded]);
      expect(await logsOf("EscrowRefunded", id, r)).toEqual([refunded]);
      await expectRefused(payee, "refund", [id], ["EscrowInvalidState", [id, Status.Refunded]], { ids: [id] });
      await expectRefused(payer, "release", [id], ["EscrowInvalidState", [id, Status.Refunded]], { ids: [id] });
    });

    it("refund by a stranger: refused before the deadline, paid to the payer after it", async () => {
      const { id, amount, deadline } = await createEscrow(token, { deadlineIn: 120n });
      await expectRefused(stranger, "refund", [id], ["EscrowDeadlineNotReached", [id, deadline]], { ids: [id] });
      await expectRefused(payer, "refund", [id], ["EscrowDeadlineNotReached", [id, deadline]], { ids: [id] });
      await passDeadline(deadline);
      const [payerBefore, moduleBefore, strangerAzr] = [
        await bal(payer.address),
        await bal(ESCROW),
        await provider.getBalance(stranger.address),
      ];
      const r = await ok(as(escrow, stranger).refund(id));
      expect(await bal(payer.address)).toBe(payerBefore + amount);
      expect(await bal(ESCROW)).toBe(moduleBefore - amount);
      expect(await provider.getBalance(stranger.address)).toBe(strangerAzr - r.fee);
      expect(eventsOf(r).at(-1)).toEqual([ESCROW, "EscrowRefunded", [id, payer.address, amount]]);
      await expectRefused(stranger, "refund", [id], ["EscrowInvalidState", [id, Status.Refunded]], { ids: [id] });
    });

    it("dispute by the payer, resolve split by the arbiter: exact balances, gas from receipts", async () => {
      const { id, amount } = await createEscrow(token);
      const d = await ok(as(escrow, payer).dispute(id));
      expect(eventsOf(d)).toEqual([[ESCROW, "EscrowDisputed", [id, payer.address]]]);
      expect(await logsOf("EscrowDisputed", id, d)).toEqual([[id, payer.address]]);
      expect((await escrow.escrows(id)).status).toBe(Status.Disputed);
      await expectRefused(payee, "dispute", [id], ["EscrowInvalidState", [id, Status.Disputed]], { ids: [id] });

      const toPayee = (amount * 3n) / 10n;
      const toPayer = amount - toPayee;
      const before = await snapshot([], defaultParties());
      const r = await ok(as(escrow, arbiter).resolve(id, toPayee));
      const after = await snapshot([], defaultParties());
      const key = token === "AZR" ? "azr" : "learn";
      expect(after.balances[payee.address][key]).toBe(before.balances[payee.address][key] + toPayee);
      expect(after.balances[payer.address][key]).toBe(before.balances[payer.address][key] + toPayer);
      expect(after.balances[ESCROW][key]).toBe(before.balances[ESCROW][key] - amount);
      expect(after.balances[arbiter.address].azr).toBe(before.balances[arbiter.address].azr - r.fee);
      expect(after.balances[arbiter.address].learn).toBe(before.balances[arbiter.address].learn);
      expect((await escrow.escrows(id)).status).toBe(Status.Resolved);
      const transfers =
        token === "LEARN"
          ? [
              [LEARN, "Transfer", [ESCROW, payee.address, toPayee]],
              [LEARN, "Transfer", [ESCROW, payer.address, toPayer]],
            ]
          : [];
      expect(eventsOf(r)).toEqual([...transfers, [ESCROW, "EscrowResolved", [id, toPayee, toPayer]]]);
      expect(await logsOf("EscrowResolved", id, r)).toEqual([[id, toPayee, toPayer]]);

      await expectRefused(arbiter, "resolve", [id, 0n], ["EscrowInvalidState", [id, Status.Resolved]], { ids: [id] });
      await expectRefused(payer, "release", [id], ["EscrowInvalidState", [id, Status.Resolved]], { ids: [id] });
    });

    it("dispute by the payee; resolve all to one side; toPayee above the amount refused", async () => {
      for (const toPayee of ["all", "none"] as const) {
        const { id, amount } = await createEscrow(token);
        const d = await ok(as(escrow, payee).dispute(id));
        expect(eventsOf(d)).toEqual([[ESCROW, "EscrowDisputed", [id, payee.address]]]);
        await expectRefused(arbiter, "resolve", [id, amount + 1n], ["EscrowInvalidAmount", [amount + 1n, amount]], {
          ids: [id],
        });
        const split = toPayee === "all" ? amount : 0n;
        const [payeeBefore, payerBefore] = [await bal(payee.address), await bal(payer.address)];
        const r = await ok(as(escrow, arbiter).resolve(id, split));
        expect(await bal(payee.address)).toBe(payeeBefore + split);
        expect(await bal(payer.address)).toBe(payerBefore + amount - split);
        // A zero share moves nothing (no zero-value Transfer).
        const transfers = eventsOf(r).filter(([, name]) => name === "Transfer");
        expect(transfers).toHaveLength(token === "LEARN" ? 1 : 0);
        expect(eventsOf(r).at(-1)).toEqual([ESCROW, "EscrowResolved", [id, split, amount - split]]);
      }
    });

    it("while Disputed: payer and arbiter may release, the payee may refund, nobody else may refund", async () => {
      const a = await createEscrow(token, { deadlineIn: 200n });
      const b = await createEscrow(token, { deadlineIn: 200n });
      const c = await createEscrow(token, { deadlineIn: 200n });
      const d = await createEscrow(token, { deadlineIn: 200n });
      for (const e of [a, b, c, d]) await ok(as(escrow, payer).dispute(e.id));
      await passDeadline(c.deadline);
      // After the deadline a disputed escrow is the arbiter's to settle: no refund by anyone but the payee.
      for (const w of [stranger, payer, arbiter]) {
        await expectRefused(w, "refund", [c.id], ["EscrowInvalidState", [c.id, Status.Disputed]], { ids: [c.id] });
      }
      await expectRefused(payer, "resolve", [c.id, 0n], ["EscrowUnauthorized", [payer.address]], { ids: [c.id] });
      await expectRefused(payee, "resolve", [c.id, 0n], ["EscrowUnauthorized", [payee.address]], { ids: [c.id] });

      const payeeBefore = await bal(payee.address);
      await ok(as(escrow, arbiter).release(a.id));
      expect(await bal(payee.address)).toBe(payeeBefore + a.amount);
      expect((await escrow.escrows(a.id)).status).toBe(Status.Released);

      const payerBefore = await bal(payer.address);
      const r2 = await ok(as(escrow, payee).refund(b.id));
      expect(await bal(payer.address)).toBe(payerBefore + b.amount);
      expect(eventsOf(r2).at(-1)).toEqual([ESCROW, "EscrowRefunded", [b.id, payer.address, b.amount]]);
      expect((await escrow.escrows(b.id)).status).toBe(Status.Refunded);
      await expectRefused(arbiter, "resolve", [b.id, 0n], ["EscrowInvalidState", [b.id, Status.Refunded]], {
        ids: [b.id],
      });

      // The payer may give up its dispute and pay; the arbiter may still resolve after the deadline.
      const payeeBeforeD = await bal(payee.address);
      await ok(as(escrow, payer).release(d.id));
      expect(await bal(payee.address)).toBe(payeeBeforeD + d.amount);
      const [payeeBeforeC, payerBeforeC] = [await bal(payee.address), await bal(payer.address)];
      await ok(as(escrow, arbiter).resolve(c.id, 1n));
      expect(await bal(payee.address)).toBe(payeeBeforeC + 1n);
      expect(await bal(payer.address)).toBe(payerBeforeC + c.amount - 1n);
      expect((await escrow.escrows(c.id)).status).toBe(Status.Resolved);
    });

    it("dispute refusals: a stranger, the arbiter, after the deadline; resolve while Active", async () => {
      const { id, deadline } = await createEscrow(token, { deadlineIn: 100n });
      await expectRefused(stranger, "dispute", [id], ["EscrowUnauthorized", [stranger.address]], { ids: [id] });
      await expectRefused(arbiter, "dispute", [id], ["EscrowUnauthorized", [arbiter.address]], { ids: [id] });
      await expectRefused(arbiter, "resolve", [id, 0n], ["EscrowInvalidState", [id, Status.Active]], { ids: [id] });
      await passDeadline(deadline);
      await expectRefused(payer, "dispute", [id], ["EscrowDeadlinePassed", [id, deadline]], { ids: [id] });
      await expectRefused(payee, "dispute", [id], ["EscrowDeadlinePassed", [id, deadline]], { ids: [id] });
    });

    it("the deadline is the first second of expiry: dispute until deadline-1, stranger refund from deadline", async () => {
      const { id, deadline } = await createEscrow(token, { deadlineIn: 20n });
      await provider.send("evm_mine", [Number(deadline - 1n)]);
      expect(await latestTs()).toBe(deadline - 1n);
      await as(escrow, payer).dispute.staticCall(id); // eth_call at the latest block
      expect(await revertOf(as(escrow, stranger).refund.staticCall(id))).toEqual([
        "EscrowDeadlineNotReached",
        [id, deadline],
      ]);
      await provider.send("evm_mine", [Number(deadline)]);
      expect(await latestTs()).toBe(deadline);
      expect(await revertOf(as(escrow, payer).dispute.staticCall(id))).toEqual([
        "EscrowDeadlinePassed",
        [id, deadline],
      ]);
      await as(escrow, stranger).refund.staticCall(id);
    });
  });
}

describe("escrow: unknown ids and create refusals", () => {
  it("every function refuses an unknown id with EscrowNotFound", async () => {
    const id = 424_242n;
    for (const [w, method, args] of [
      [payer, "release", [id]],
      [payee, "refund", [id]],
      [payer, "dispute", [id]],
      [arbiter, "resolve", [id, 0n]],
    ] as const) {
      await expectRefused(w, method, [...args], ["EscrowNotFound", [id]]);
    }
  });

  it("refuses wrong msg.value, zero amounts, unknown tokens, bad parties and past deadlines", async () => {
    const now = await latestTs();
    const deadline = now + 3_600n;
    const amount = parseEther("2");
    const base = [payee.address, arbiter.address, ZeroAddress, amount, deadline, TERMS];
    const withArgs = (i: number, v: unknown) => base.map((x, j) => (j === i ? v : x));
    const cases: [unknown[], bigint, [string, unknown[]]][] = [
      // AZR: msg.value must equal amount, both ways.
      [base, amount - 1n, ["EscrowInvalidAmount", [amount, amount - 1n]]],
      [base, amount + 1n, ["EscrowInvalidAmount", [amount, amount + 1n]]],
      [base, 0n, ["EscrowInvalidAmount", [amount, 0n]]],
      [withArgs(3, 0n), 0n, ["EscrowInvalidAmount", [0n, 0n]]],
      // LEARN: no msg.value at all, and a non-zero amount.
      [withArgs(2, LEARN), amount, ["EscrowInvalidAmount", [amount, amount]]],
      [[payee.address, arbiter.address, LEARN, 0n, deadline, TERMS], 0n, ["EscrowInvalidAmount", [0n, 0n]]],
      // Only AZR (address(0)) and LEARN are escrowable; WAZR is not a token the escrow pulls.
      [withArgs(2, WAZR), amount, ["EscrowInvalidToken", [WAZR]]],
      [withArgs(2, stranger.address), amount, ["EscrowInvalidToken", [stranger.address]]],
      [withArgs(0, ZeroAddress), amount, ["EscrowInvalidParty", [ZeroAddress]]],
      [withArgs(0, payer.address), amount, ["EscrowInvalidParty", [payer.address]]],
      [withArgs(1, ZeroAddress), amount, ["EscrowInvalidParty", [ZeroAddress]]],
      [withArgs(4, now - 10n), amount, ["EscrowInvalidDeadline", [now - 10n]]],
      [withArgs(4, 0n), amount, ["EscrowInvalidDeadline", [0n]]],
    ];
    for (const [args, value, expected] of cases) await expectRefused(payer, "create", args, expected, { value });
  });

  it("a deadline equal to the block timestamp is not in the future", async () => {
    const ts = (await latestTs()) + 30n;
    await provider.send("evm_mine", [Number(ts)]);
    const args = [payee.address, arbiter.address, ZeroAddress, 1n, ts, TERMS];
    expect(await revertOf(as(escrow, payer).create.staticCall(...args, { value: 1n }))).toEqual([
      "EscrowInvalidDeadline",
      [ts],
    ]);
    await as(escrow, payer).create.staticCall(...args.map((a, i) => (i === 4 ? ts + 1n : a)), { value: 1n });
  });

  it("LEARN without allowance, or beyond the payer's balance, is refused by LEARN's own errors", async () => {
    const deadline = (await latestTs()) + 3_600n;
    const amount = parseEther("5");
    await ok(as(learn, payer).approve(ESCROW, 0n));
    const args = [payee.address, arbiter.address, LEARN, amount, deadline, TERMS];
    await expectRefused(payer, "create", args, ["ERC20InsufficientAllowance", [ESCROW, 0n, amount]]);
    await ok(as(learn, payer).approve(ESCROW, amount - 1n));
    await expectRefused(payer, "create", args, ["ERC20InsufficientAllowance", [ESCROW, amount - 1n, amount]]);
    expect(await learn.allowance(payer.address, ESCROW)).toBe(amount - 1n);

    const balance = (await learn.balanceOf(payer.address)) as bigint;
    await ok(as(learn, payer).approve(ESCROW, balance + 1n));
    const tooMuch = [payee.address, arbiter.address, LEARN, balance + 1n, deadline, TERMS];
    await expectRefused(payer, "create", tooMuch, ["ERC20InsufficientBalance", [payer.address, balance, balance + 1n]]);
    expect(await learn.allowance(payer.address, ESCROW)).toBe(balance + 1n);
    await ok(as(learn, payer).approve(ESCROW, 0n));
  });
});

describe("escrow safety", () => {
  for (const token of ["AZR", "LEARN"] as const) {
    it(`a reentrant contract payee is paid exactly once and none of its code runs (${token})`, async () => {
      const attacker = await deploy("ReentrantPayee", stranger);
      const target = addr(attacker);
      const tokenBal = async (who: string) =>
        token === "AZR" ? await provider.getBalance(who) : ((await learn.balanceOf(who)) as bigint);

      // Its receive() is live: a plain payment runs it (and its re-entry attempt fails).
      await ok(stranger.sendTransaction({ to: target, value: 1n }));
      expect(await attacker.receiveCalls()).toBe(1n);
      expect(await attacker.reentered()).toBe(false);

      // The attacker is payee and arbiter: releasing pays itself, and its receive() would release again.
      const { id, amount } = await createEscrow(token, { payee: target, arbiter: target });
      const [targetBefore, moduleBefore] = [await tokenBal(target), await tokenBal(ESCROW)];
      const r = await ok(as(attacker, stranger).releaseAsArbiter(id));
      expect(await tokenBal(target)).toBe(targetBefore + amount);
      expect(await tokenBal(ESCROW)).toBe(moduleBefore - amount);
      expect(await attacker.receiveCalls()).toBe(1n); // the escrow's payment ran no code
      expect(await attacker.reentered()).toBe(false);
      expect(eventsOf(r).filter(([, n]) => n.startsWith("Escrow"))).toEqual([
        [ESCROW, "EscrowReleased", [id, target, amount]],
      ]);
      // Calling again directly: the status is final, nothing more to take.
      await expectRefused(stranger, "releaseAsArbiter", [id], ["EscrowInvalidState", [id, Status.Released]], {
        contract: attacker,
        ids: [id],
        parties: [target],
      });

      // The dispute path: resolve pays the attacker its share once, and resolving again is refused.
      const e2 = await createEscrow(token, { payee: target, arbiter: target });
      await ok(as(attacker, stranger).disputeAsPayee(e2.id));
      const half = e2.amount / 2n;
      const [t2, p2] = [await tokenBal(target), await tokenBal(payer.address)];
      await ok(as(attacker, stranger).resolveAsArbiter(e2.id, half));
      expect(await tokenBal(target)).toBe(t2 + half);
      expect(await tokenBal(payer.address)).toBe(p2 + e2.amount - half);
      expect(await attacker.receiveCalls()).toBe(1n);
      await expectRefused(
        stranger,
        "resolveAsArbiter",
        [e2.id, half],
        ["EscrowInvalidState", [e2.id, Status.Resolved]],
        { contract: attacker, ids: [e2.id], parties: [target] },
      );
    });
  }

  it("a payment that fails midway undoes the whole call (eth_call with the module's balance overridden)", async () => {
    const user = await deploy("EscrowUser");
    const { id, amount } = await createEscrow("AZR", { arbiter: addr(user) });
    await ok(as(escrow, payer).dispute(id));
    const half = amount / 2n;
    const payeeBalance = await provider.getBalance(payee.address);
    const data = user.interface.encodeFunctionData("tryResolve", [id, half, payee.address]);
    const result = async (overrides?: object) => {
      const raw = await provider.send("eth_call", [
        { from: stranger.address, to: addr(user), data },
        "latest",
        ...(overrides === undefined ? [] : [overrides]),
      ]);
      return user.interface.decodeFunctionResult("tryResolve", raw);
    };
    // With the real balance the split goes through: the payee's half is visible right after.
    const fine = await result();
    expect(fine.ok).toBe(true);
    expect(fine.payeeBalance).toBe(payeeBalance + half);
    // The module holds only the payee's half: paying the payee succeeds, paying the payer fails, and
    // the payee's half is taken back with everything else: the call pays all or nothing.
    const broken = await result({ [ESCROW]: { balance: toQuantity(half) } });
    expect(broken.ok).toBe(false);
    expect(decoder.parseError(broken.ret)?.args[0]).toBe("insufficient native balance");
    expect(broken.payeeBalance).toBe(payeeBalance);
    expect((await escrow.escrows(id)).status).toBe(Status.Disputed);
  });

  it("caller comes from the EVM frame: calldata naming the payer changes nothing", async () => {
    const { id } = await createEscrow("AZR");
    const data = escrow.interface.encodeFunctionData("release", [id]) + zeroPadValue(payer.address, 32).slice(2);
    const before = await snapshot([id], defaultParties());
    expect(await revertOf(provider.call({ from: stranger.address, to: ESCROW, data }))).toEqual([
      "EscrowUnauthorized",
      [stranger.address],
    ]);
    const r = await mined(stranger.sendTransaction({ to: ESCROW, data, gasLimit: REFUSED_GAS }));
    expect(r.status).toBe(0);
    expect(await snapshot([id], defaultParties())).toEqual(withFee(before, stranger.address, r.fee));
  });

  it("STATICCALL may read the escrow but not release it", async () => {
    const user = await deploy("EscrowUser");
    const deadline = (await latestTs()) + 3_600n;
    const r = await ok(as(user, payer).create(payee.address, arbiter.address, deadline, TERMS, { value: 5n }));
    const id = eventsOf(r)[0][2][0] as bigint;
    expect(await user.statusOf(id)).toBe(Status.Active); // a view: STATICCALL into escrows()
    await expectRefused(payer, "staticRelease", [id], ["Error", ["state change in a static call"]], {
      contract: user,
      ids: [id],
      parties: [addr(user)],
    });
    expect(await user.statusOf(id)).toBe(Status.Active);
  });

  it("DELEGATECALL is refused: a contract cannot act as its caller (the payer) towards the escrow", async () => {
    const user = await deploy("EscrowUser", stranger);
    const { id } = await createEscrow("AZR");
    // The payer, tricked into calling the contract: under DELEGATECALL the escrow's frame would show
    // the payer as msg.sender. Refused before anything is read.
    await expectRefused(
      payer,
      "delegateRelease",
      [id],
      ["Error", ["Escrow: DELEGATECALL and CALLCODE into a native module are refused"]],
      { contract: user, ids: [id], parties: [addr(user)] },
    );
    expect((await escrow.escrows(id)).status).toBe(Status.Active);
  });

  it("refuses value on non-payable functions and unknown selectors", async () => {
    const { id } = await createEscrow("AZR");
    await expectRefused(payer, "release", [id], ["Error", ["Escrow: release is not payable"]], {
      value: 1n,
      ids: [id],
    });
    const before = await snapshot([id], defaultParties());
    await expect(provider.call({ from: payer.address, to: ESCROW, data: "0xdeadbeef" })).rejects.toThrow();
    // Plain AZR sent to the escrow is refused too (no fallback): escrowed AZR only arrives through create.
    const r = await mined(payer.sendTransaction({ to: ESCROW, value: 1n, gasLimit: REFUSED_GAS }));
    expect(r.status).toBe(0);
    expect(await snapshot([id], defaultParties())).toEqual(withFee(before, payer.address, r.fee));
  });
});

describe("escrow gas (the table in runtime/modules/escrow/README.md)", () => {
  /** Prague intrinsic gas of a call with `data` (no access list): what the module's own gas is added to. */
  const intrinsic = (data: string) => {
    const bytes = Buffer.from(data.slice(2), "hex");
    const zeros = BigInt(bytes.filter((b) => b === 0).length);
    const nonZeros = BigInt(bytes.length) - zeros;
    return 21_000n + zeros * 4n + nonZeros * 16n;
  };
  const moduleGas = async (r: TransactionReceipt) =>
    r.gasUsed - intrinsic((await provider.getTransaction(r.hash))!.data);

  for (const token of ["AZR", "LEARN"] as const) {
    it(`charges the documented gas per path (${token})`, async () => {
      const learnTransfer = 2n * 2_100n + 2n * 5_000n + 1_756n; // LEARN's balance reads/writes and Transfer log
      const pay = token === "AZR" ? 10_000n : learnTransfer; // moveNative: two account writes
      const created = await createEscrow(token);
      // create: 700 + 3,000, count read, 6 writes (count, head, payee, arbiter, amount, terms), log, 1 word back;
      // LEARN adds the token word, the allowance read/write and the pull.
      const createGas = 700n + 3_000n + 2_100n + 6n * 5_000n + 3_155n + 200n;
      expect(await moduleGas(created.receipt)).toBe(
        token === "AZR" ? createGas : createGas + 5_000n + 2_100n + 5_000n + learnTransfer,
      );
      // release: 700 + 2,000, 5 reads, the status write, the payment, the event.
      const r = await ok(as(escrow, payer).release(created.id));
      expect(await moduleGas(r)).toBe(700n + 2_000n + 5n * 2_100n + 5_000n + pay + 1_756n);

      const e = await createEscrow(token);
      const d = await ok(as(escrow, payee).dispute(e.id));
      expect(await moduleGas(d)).toBe(700n + 1_000n + 5n * 2_100n + 5_000n + 1_500n);
      const s = await ok(as(escrow, arbiter).resolve(e.id, e.amount / 4n));
      expect(await moduleGas(s)).toBe(700n + 2_000n + 5n * 2_100n + 5_000n + 2n * pay + 1_637n);
    });
  }
});
