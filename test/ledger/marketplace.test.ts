import {
  Contract,
  getAddress,
  Interface,
  type InterfaceAbi,
  type JsonRpcProvider,
  type Log,
  parseEther,
  type TransactionReceipt,
  toBeHex,
  Wallet,
  ZeroAddress,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import {
  deployContract,
  ESCROW_ADDRESS,
  expectRevert,
  feeOf,
  LEARN_ADDRESS,
  ledgerProvider,
  NFT_REGISTRY_ADDRESS,
  rpcCall,
  sendTx,
} from "./helpers.js";

/**
 * The example dApp (contracts/examples/CourseMarketplace.sol) end to end on an in-process node,
 * through JSON-RPC: a teacher lists a course (the marketplace creates its certificate collection),
 * students buy with LEARN (into native escrow), the teacher completes one purchase (certificate
 * NFT to the student, LEARN released to the teacher) and another is refunded after the deadline.
 * Every LEARN balance is checked exactly, every event through eth_getLogs.
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const PRICE = parseEther("150");
const DURATION = 7n * 24n * 3600n; // a week to complete the course
const URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/certificate-1.json";
const TX_GAS = 1_500_000n;
const Status = { Active: 1n, Disputed: 2n, Released: 3n, Refunded: 4n, Resolved: 5n } as const;
const Purchase = { Paid: 1n, Completed: 2n, Refunded: 3n } as const;

const abi = (name: string) => loadArtifact(name).abi as InterfaceAbi;
const errorsOf = (...names: string[]) =>
  names.flatMap((n) => (abi(n) as { type: string }[]).filter((f) => f.type === "error"));
const marketI = new Interface([...(abi("CourseMarketplace") as object[]), ...errorsOf("TestToken")] as InterfaceAbi);
const learnI = new Interface([...(abi("ILearn") as object[]), ...errorsOf("TestToken")] as InterfaceAbi);
const escrowI = new Interface(abi("IEscrow"));
const registryI = new Interface(abi("INFTRegistry"));
const collectionI = new Interface([...(abi("IAzoraCollection") as object[]), ...errorsOf("TestNFT")] as InterfaceAbi);
const allErrors = new Interface(
  [...errorsOf("CourseMarketplace", "IEscrow", "IAzoraCollection", "TestToken")].filter(
    (f, i, all) => all.findIndex((g) => JSON.stringify(g) === JSON.stringify(f)) === i,
  ) as InterfaceAbi,
);

let node: Node;
let provider: JsonRpcProvider;
let deployer: Wallet;
let teacher: Wallet;
let student: Wallet;
let student2: Wallet;
let stranger: Wallet;
let market: Contract;
let marketAddress: string;
let learn: Contract;
let escrow: Contract;
let registry: Contract;

const learnAt = (a: string, block: number) => learn.balanceOf(a, { blockTag: block }) as Promise<bigint>;
const topic = (a: string) => zeroPadValue(a, 32).toLowerCase();

/** Sends a marketplace call from `w` (receipt whatever its status). */
function call(w: Wallet, fn: string, args: unknown[], gasLimit?: bigint): Promise<TransactionReceipt> {
  return sendTx(w, { to: marketAddress, data: marketI.encodeFunctionData(fn, args), gasLimit });
}
function learnCall(w: Wallet, fn: string, args: unknown[]): Promise<TransactionReceipt> {
  return sendTx(w, { to: LEARN_ADDRESS, data: learnI.encodeFunctionData(fn, args) });
}
/** eth_call of a marketplace function from `w`. */
function simulate(w: Wallet, fn: string, args: unknown[]) {
  return provider.call({ from: w.address, to: marketAddress, data: marketI.encodeFunctionData(fn, args) });
}

/** eth_getLogs of one block, optionally for one address and topic0. */
async function logsOf(r: TransactionReceipt, address?: string, topic0?: string): Promise<Log[]> {
  const logs = await provider.getLogs({
    fromBlock: r.blockNumber,
    toBlock: r.blockNumber,
    address,
    topics: topic0 === undefined ? undefined : [topic0],
  });
  return logs.filter((l) => l.transactionHash === r.hash);
}
const ev = (i: Interface, name: string) => i.getEvent(name)!.topicHash;

/** Every LEARN balance that matters, at block `n`. */
async function learnBalances(n: number) {
  return {
    teacher: await learnAt(teacher.address, n),
    student: await learnAt(student.address, n),
    student2: await learnAt(student2.address, n),
    market: await learnAt(marketAddress, n),
    escrow: await learnAt(ESCROW_ADDRESS, n),
    stranger: await learnAt(stranger.address, n),
  };
}

async function increaseTime(seconds: bigint): Promise<void> {
  await rpcCall(node.url, "evm_increaseTime", [Number(seconds)]);
  await rpcCall(node.url, "evm_mine", []);
}

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  [deployer, teacher, student, student2, stranger] = DEV_KEYS.slice(0, 5).map((k) => new Wallet(k, provider));
  ({ contract: market, address: marketAddress } = await deployContract(deployer, "CourseMarketplace"));
  market = new Contract(marketAddress, marketI, provider);
  learn = new Contract(LEARN_ADDRESS, learnI, provider);
  escrow = new Contract(ESCROW_ADDRESS, escrowI, provider);
  registry = new Contract(NFT_REGISTRY_ADDRESS, registryI, provider);
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

describe("CourseMarketplace end to end", () => {
  let courseId: bigint;
  let certificates: Contract;
  let certificatesAddress: string;
  let purchaseId: bigint;
  let escrowId: bigint;

  it("the teacher lists a course; the marketplace creates and owns its certificate collection", async () => {
    expect(
      [await market.LEARN(), await market.NFT_REGISTRY(), await market.ESCROW()].map((a) => a.toLowerCase()),
    ).toEqual([LEARN_ADDRESS, NFT_REGISTRY_ADDRESS, ESCROW_ADDRESS]);
    const collectionsBefore = (await registry.collectionCount()) as bigint;
    const r = await call(teacher, "listCourse", ["Solidity 101 Certificates", "SOL101", PRICE, DURATION]);
    expect(r.status).toBe(1);

    const listed = await logsOf(r, marketAddress, ev(marketI, "CourseListed"));
    expect(listed).toHaveLength(1);
    const args = marketI.parseLog(listed[0])!.args;
    courseId = args.courseId as bigint;
    certificatesAddress = (args.certificates as string).toLowerCase();
    expect(courseId).toBe(1n);
    expect(args.teacher).toBe(teacher.address);
    expect([args.price, args.duration]).toEqual([PRICE, DURATION]);

    // The registry's own event names the marketplace as owner; the collection is the next number.
    const created = await logsOf(r, NFT_REGISTRY_ADDRESS, ev(registryI, "CollectionCreated"));
    expect(created).toHaveLength(1);
    expect(created[0].topics).toEqual([
      ev(registryI, "CollectionCreated"),
      topic(certificatesAddress),
      topic(marketAddress),
    ]);
    expect(await registry.collectionCount()).toBe(collectionsBefore + 1n);
    expect((await registry.collectionAt(collectionsBefore + 1n)).toLowerCase()).toBe(certificatesAddress);

    certificates = new Contract(certificatesAddress, collectionI, provider);
    expect((await certificates.owner()).toLowerCase()).toBe(marketAddress);
    expect(await certificates.name()).toBe("Solidity 101 Certificates");
    expect(await certificates.symbol()).toBe("SOL101");
    expect([...(await certificates.royaltyInfo(1n, parseEther("100")))]).toEqual([teacher.address, 0n]);
    const course = await market.courses(courseId);
    expect([course.teacher, course.certificates.toLowerCase(), course.price, course.duration, course.active]).toEqual([
      teacher.address,
      certificatesAddress,
      PRICE,
      DURATION,
      true,
    ]);
  });

  it("buying without approving the marketplace reverts with LEARN's ERC20InsufficientAllowance; nothing moves", async () => {
    const e = await expectRevert(() => simulate(student, "buy", [courseId]), allErrors);
    expect(e).toMatchObject({ name: "ERC20InsufficientAllowance", args: [getAddress(marketAddress), 0n, PRICE] });
    const r = await call(student, "buy", [courseId], TX_GAS);
    expect(r.status).toBe(0);
    expect(await learnBalances(r.blockNumber)).toEqual(await learnBalances(r.blockNumber - 1));
    expect(await market.purchaseCount()).toBe(0n);
  });

  it("a student buys: the price moves student → marketplace → escrow (payer marketplace, payee teacher)", async () => {
    expect((await learnCall(student, "approve", [marketAddress, PRICE])).status).toBe(1);
    const r = await call(student, "buy", [courseId]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    const after = await learnBalances(r.blockNumber);
    expect(after).toEqual({ ...before, student: before.student - PRICE, escrow: before.escrow + PRICE });
    expect(await learn.allowance(student.address, marketAddress)).toBe(0n);
    expect(await learn.allowance(marketAddress, ESCROW_ADDRESS)).toBe(0n);

    const block = await provider.getBlock(r.blockNumber);
    const deadline = BigInt(block!.timestamp) + DURATION;
    const bought = await logsOf(r, marketAddress, ev(marketI, "CoursePurchased"));
    expect(bought).toHaveLength(1);
    const a = marketI.parseLog(bought[0])!.args;
    purchaseId = a.purchaseId as bigint;
    escrowId = a.escrowId as bigint;
    expect([a.courseId, a.student, a.amount, a.deadline]).toEqual([courseId, student.address, PRICE, deadline]);

    const created = await logsOf(r, ESCROW_ADDRESS, ev(escrowI, "EscrowCreated"));
    expect(created).toHaveLength(1);
    const c = escrowI.parseLog(created[0])!.args;
    expect(c.id).toBe(escrowId);
    expect([
      c.payer.toLowerCase(),
      c.payee,
      c.arbiter.toLowerCase(),
      c.token.toLowerCase(),
      c.amount,
      c.deadline,
    ]).toEqual([marketAddress, teacher.address, marketAddress, LEARN_ADDRESS, PRICE, deadline]);
    const e = await escrow.escrows(escrowId);
    expect(e.status).toBe(Status.Active);
    expect(e.payer.toLowerCase()).toBe(marketAddress);

    // LEARN's own logs of the purchase: student → marketplace, approval to the escrow, marketplace → escrow.
    const transfers = (await logsOf(r, LEARN_ADDRESS, ev(learnI, "Transfer"))).map((l) => [
      ...learnI.parseLog(l)!.args,
    ]);
    expect(transfers.map(([from, to, v]) => [String(from).toLowerCase(), String(to).toLowerCase(), v])).toEqual([
      [student.address.toLowerCase(), marketAddress, PRICE],
      [marketAddress, ESCROW_ADDRESS, PRICE],
    ]);
    const approvals = await logsOf(r, LEARN_ADDRESS, ev(learnI, "Approval"));
    expect(approvals.map((l) => learnI.parseLog(l)!.args[2])).toContain(PRICE);

    const p = await market.purchases(purchaseId);
    expect([p.courseId, p.student, p.amount, p.escrowId, p.deadline, p.status, p.certificateId]).toEqual([
      courseId,
      student.address,
      PRICE,
      escrowId,
      deadline,
      Purchase.Paid,
      0n,
    ]);
  });

  it("before the deadline nobody can refund, and only the teacher can complete, with an ipfs:// URI", async () => {
    const notYet = await expectRevert(() => simulate(stranger, "refund", [purchaseId]), allErrors);
    expect(notYet.name).toBe("DeadlineNotReached");
    const stranger1 = await expectRevert(() => simulate(stranger, "complete", [purchaseId, URI]), allErrors);
    expect(stranger1).toMatchObject({ name: "NotTeacher", args: [stranger.address] });
    const badUri = await expectRevert(() => simulate(teacher, "complete", [purchaseId, "https://x.y/z"]), allErrors);
    expect(badUri).toMatchObject({ name: "InvalidCertificateURI", args: ["https://x.y/z"] });
    // Mined refusals change nothing.
    for (const r of [
      await call(stranger, "refund", [purchaseId], TX_GAS),
      await call(stranger, "complete", [purchaseId, URI], TX_GAS),
    ]) {
      expect(r.status).toBe(0);
      expect(await learnBalances(r.blockNumber)).toEqual(await learnBalances(r.blockNumber - 1));
    }
    expect((await escrow.escrows(escrowId)).status).toBe(Status.Active);
  });

  it("the teacher completes: certificate NFT to the student, LEARN released to the teacher, escrow Released", async () => {
    const r = await call(teacher, "complete", [purchaseId, URI]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    const after = await learnBalances(r.blockNumber);
    expect(after).toEqual({ ...before, teacher: before.teacher + PRICE, escrow: before.escrow - PRICE });
    expect(after.market).toBe(0n);

    expect((await escrow.escrows(escrowId)).status).toBe(Status.Released);
    expect(await certificates.ownerOf(1n)).toBe(student.address);
    expect(await certificates.tokenURI(1n)).toBe(URI);
    expect(await certificates.balanceOf(student.address)).toBe(1n);
    expect(await certificates.totalSupply()).toBe(1n);
    const p = await market.purchases(purchaseId);
    expect([p.status, p.certificateId]).toEqual([Purchase.Completed, 1n]);

    const done = await logsOf(r, marketAddress, ev(marketI, "CourseCompleted"));
    expect(done).toHaveLength(1);
    expect([...marketI.parseLog(done[0])!.args]).toEqual([purchaseId, student.address, 1n]);
    const released = await logsOf(r, ESCROW_ADDRESS, ev(escrowI, "EscrowReleased"));
    expect([...escrowI.parseLog(released[0])!.args]).toEqual([escrowId, teacher.address, PRICE]);
    const minted = await logsOf(r, certificatesAddress, ev(collectionI, "Transfer"));
    expect(minted).toHaveLength(1);
    expect([...collectionI.parseLog(minted[0])!.args]).toEqual([ZeroAddress, student.address, 1n]);
    const paid = await logsOf(r, LEARN_ADDRESS, ev(learnI, "Transfer"));
    expect(
      paid.map((l) => [...learnI.parseLog(l)!.args].map((x) => (typeof x === "string" ? x.toLowerCase() : x))),
    ).toEqual([[ESCROW_ADDRESS, teacher.address.toLowerCase(), PRICE]]);
    expect(await logsOf(r, marketAddress, ev(marketI, "CertificateMintFailed"))).toHaveLength(0);
  });

  it("a completed purchase can be neither completed again nor refunded", async () => {
    for (const [w, fn, args] of [
      [teacher, "complete", [purchaseId, URI]],
      [stranger, "refund", [purchaseId]],
    ] as const) {
      const e = await expectRevert(() => simulate(w, fn, [...args]), allErrors);
      expect(e).toMatchObject({ name: "InvalidPurchaseStatus", args: [purchaseId, Purchase.Completed] });
    }
  });

  it("a second purchase not completed by the deadline is refunded to the student (by anyone), exactly", async () => {
    const start = await learnAt(student2.address, await provider.getBlockNumber());
    expect((await learnCall(student2, "approve", [marketAddress, PRICE])).status).toBe(1);
    const rb = await call(student2, "buy", [courseId]);
    expect(rb.status).toBe(1);
    const a = marketI.parseLog((await logsOf(rb, marketAddress, ev(marketI, "CoursePurchased")))[0])!.args;
    const id2 = a.purchaseId as bigint;
    const escrow2 = a.escrowId as bigint;
    expect(id2).toBe(2n);
    expect(await learnAt(student2.address, rb.blockNumber)).toBe(start - PRICE);

    // Just before the deadline the refund is still refused.
    await increaseTime(DURATION - 60n);
    expect((await expectRevert(() => simulate(stranger, "refund", [id2]), allErrors)).name).toBe("DeadlineNotReached");
    // Past the deadline: the teacher can no longer complete; anyone can trigger the refund.
    await increaseTime(120n);
    expect((await expectRevert(() => simulate(teacher, "complete", [id2, URI]), allErrors)).name).toBe(
      "DeadlinePassed",
    );

    const r = await call(stranger, "refund", [id2]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    const after = await learnBalances(r.blockNumber);
    expect(after).toEqual({ ...before, student2: before.student2 + PRICE, escrow: before.escrow - PRICE });
    expect(after.student2).toBe(start); // every LEARN back (the student paid only AZR gas)
    expect(after.market).toBe(0n);
    expect(after.teacher).toBe(before.teacher);
    expect((await escrow.escrows(escrow2)).status).toBe(Status.Refunded);
    expect((await market.purchases(id2)).status).toBe(Purchase.Refunded);
    expect(await certificates.totalSupply()).toBe(1n);

    const refunded = await logsOf(r, marketAddress, ev(marketI, "PurchaseRefunded"));
    expect([...marketI.parseLog(refunded[0])!.args]).toEqual([id2, student2.address, PRICE]);
    const escrowRefund = await logsOf(r, ESCROW_ADDRESS, ev(escrowI, "EscrowRefunded"));
    expect(escrowRefund[0].topics).toEqual([ev(escrowI, "EscrowRefunded"), toBeHex(escrow2, 32), topic(marketAddress)]);
    const moved = (await logsOf(r, LEARN_ADDRESS, ev(learnI, "Transfer"))).map((l) => [...learnI.parseLog(l)!.args]);
    expect(moved.map(([f, t, v]) => [String(f).toLowerCase(), String(t).toLowerCase(), v])).toEqual([
      [ESCROW_ADDRESS, marketAddress, PRICE],
      [marketAddress, student2.address.toLowerCase(), PRICE],
    ]);
    // The refund paid only the stranger's gas in AZR.
    expect(await provider.getBalance(stranger.address, r.blockNumber)).toBe(
      (await provider.getBalance(stranger.address, r.blockNumber - 1)) - feeOf(r),
    );

    // Settled once: a second refund is refused.
    const again = await expectRevert(() => simulate(stranger, "refund", [id2]), allErrors);
    expect(again).toMatchObject({ name: "InvalidPurchaseStatus", args: [id2, Purchase.Refunded] });
  });

  it("the marketplace's events, read back with eth_getLogs over the whole chain as an indexer would", async () => {
    const all = await provider.getLogs({ address: marketAddress, fromBlock: 0, toBlock: "latest" });
    const names = all.map((l) => marketI.parseLog(l)!.name);
    expect(names).toEqual([
      "CourseListed",
      "CoursePurchased",
      "CourseCompleted",
      "CoursePurchased",
      "PurchaseRefunded",
    ]);
    // Purchases of student2 only, by the indexed student topic.
    const mine = await provider.getLogs({
      address: marketAddress,
      fromBlock: 0,
      toBlock: "latest",
      topics: [ev(marketI, "CoursePurchased"), null, null, topic(student2.address)],
    });
    expect(mine.map((l) => marketI.parseLog(l)!.args.purchaseId)).toEqual([2n]);
  });
});

describe("CourseMarketplace edge paths", () => {
  let courseId: bigint;

  /** Lists a fresh course (short window) and buys it as `buyer`; returns ids. */
  async function buyFresh(buyer: Wallet, duration = 3_600n): Promise<{ purchaseId: bigint; escrowId: bigint }> {
    const rl = await call(teacher, "listCourse", ["Edge Cases", "EDGE", PRICE, duration]);
    courseId = marketI.parseLog((await logsOf(rl, marketAddress, ev(marketI, "CourseListed")))[0])!.args
      .courseId as bigint;
    expect((await learnCall(buyer, "approve", [marketAddress, PRICE])).status).toBe(1);
    const rb = await call(buyer, "buy", [courseId]);
    expect(rb.status).toBe(1);
    const a = marketI.parseLog((await logsOf(rb, marketAddress, ev(marketI, "CoursePurchased")))[0])!.args;
    return { purchaseId: a.purchaseId as bigint, escrowId: a.escrowId as bigint };
  }

  it("a teacher who disputes the escrow to stall cannot block the refund: the marketplace resolves it (arbiter)", async () => {
    const { purchaseId, escrowId } = await buyFresh(student);
    const rd = await sendTx(teacher, { to: ESCROW_ADDRESS, data: escrowI.encodeFunctionData("dispute", [escrowId]) });
    expect(rd.status).toBe(1);
    expect((await escrow.escrows(escrowId)).status).toBe(Status.Disputed);
    await increaseTime(3_700n);
    const r = await call(stranger, "refund", [purchaseId]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    expect(await learnBalances(r.blockNumber)).toEqual({
      ...before,
      student: before.student + PRICE,
      escrow: before.escrow - PRICE,
    });
    expect((await escrow.escrows(escrowId)).status).toBe(Status.Resolved);
    const resolved = await logsOf(r, ESCROW_ADDRESS, ev(escrowI, "EscrowResolved"));
    expect([...escrowI.parseLog(resolved[0])!.args]).toEqual([escrowId, 0n, PRICE]);
  });

  it("a teacher who refunds at the escrow directly: the marketplace forwards the LEARN at once, before the deadline", async () => {
    const { purchaseId, escrowId } = await buyFresh(student2);
    const rr = await sendTx(teacher, { to: ESCROW_ADDRESS, data: escrowI.encodeFunctionData("refund", [escrowId]) });
    expect(rr.status).toBe(1);
    expect(await learnAt(marketAddress, rr.blockNumber)).toBe(PRICE); // the escrow's payer is the marketplace
    // The teacher cannot complete an escrow that is gone.
    expect((await expectRevert(() => simulate(teacher, "complete", [purchaseId, URI]), allErrors)).name).toBe(
      "EscrowInvalidState",
    );
    const r = await call(student2, "refund", [purchaseId]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    expect(await learnBalances(r.blockNumber)).toEqual({ ...before, student2: before.student2 + PRICE, market: 0n });
  });

  it("a student contract that refuses the certificate cannot block the teacher's payment", async () => {
    // ModuleAttacker has no onERC721Received: the native mint (a safe mint) reverts for it.
    const { address: kid } = await deployContract(deployer, "ModuleAttacker");
    const attackerI = new Interface(abi("ModuleAttacker"));
    const via = (target: string, data: string) =>
      sendTx(deployer, { to: kid, data: attackerI.encodeFunctionData("callModule", [target, data, 0n, 0n, true]) });
    expect((await learnCall(deployer, "transfer", [kid, PRICE])).status).toBe(1);
    const rl = await call(teacher, "listCourse", ["Contracts Course", "CC", PRICE, 3_600n]);
    const cid = marketI.parseLog((await logsOf(rl, marketAddress, ev(marketI, "CourseListed")))[0])!.args.courseId;
    expect((await via(LEARN_ADDRESS, learnI.encodeFunctionData("approve", [marketAddress, PRICE]))).status).toBe(1);
    const rb = await via(marketAddress, marketI.encodeFunctionData("buy", [cid]));
    expect(rb.status).toBe(1);
    const pid = marketI.parseLog((await logsOf(rb, marketAddress, ev(marketI, "CoursePurchased")))[0])!.args.purchaseId;

    const r = await call(teacher, "complete", [pid, URI]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    expect(await learnBalances(r.blockNumber)).toEqual({
      ...before,
      teacher: before.teacher + PRICE,
      escrow: before.escrow - PRICE,
    });
    const failed = await logsOf(r, marketAddress, ev(marketI, "CertificateMintFailed"));
    expect(failed).toHaveLength(1);
    const reason = marketI.parseLog(failed[0])!.args.reason as string;
    expect(collectionI.parseError(reason)?.name).toBe("ERC721InvalidReceiver");
    const p = await market.purchases(pid);
    expect([p.status, p.certificateId]).toEqual([Purchase.Completed, 0n]);
  });

  it("a student contract that re-enters refund() from onERC721Received gets its certificate but no refund", async () => {
    const { address: kid } = await deployContract(deployer, "ReentrantStudent", [marketAddress]);
    const studentI = new Interface(abi("ReentrantStudent"));
    const kidC = new Contract(kid, studentI, provider);
    expect((await learnCall(deployer, "transfer", [kid, PRICE])).status).toBe(1);
    const rl = await call(teacher, "listCourse", ["Reentrancy 101", "RE", PRICE, 3_600n]);
    const cid = marketI.parseLog((await logsOf(rl, marketAddress, ev(marketI, "CourseListed")))[0])!.args.courseId;
    const certs = marketI.parseLog((await logsOf(rl, marketAddress, ev(marketI, "CourseListed")))[0])!.args
      .certificates;
    expect((await sendTx(deployer, { to: kid, data: studentI.encodeFunctionData("buy", [cid, PRICE]) })).status).toBe(
      1,
    );
    const pid = (await kidC.purchaseId()) as bigint;

    const r = await call(teacher, "complete", [pid, URI]);
    expect(r.status).toBe(1);
    const before = await learnBalances(r.blockNumber - 1);
    expect(await learnBalances(r.blockNumber)).toEqual({
      ...before,
      teacher: before.teacher + PRICE,
      escrow: before.escrow - PRICE,
    });
    expect(await learnAt(kid, r.blockNumber)).toBe(0n); // no refund slipped through
    expect(await kidC.reentered()).toBe(true);
    expect(await kidC.reentrySucceeded()).toBe(false);
    expect(marketI.parseError(await kidC.reentryError())?.name).toBe("ReentrancyGuardReentrantCall");
    const certificates = new Contract(certs, collectionI, provider);
    expect((await certificates.ownerOf(1n)).toLowerCase()).toBe(kid);
    const p = await market.purchases(pid);
    expect([p.status, p.certificateId]).toEqual([Purchase.Completed, 1n]);
    expect(await logsOf(r, marketAddress, ev(marketI, "PurchaseRefunded"))).toHaveLength(0);
  });

  it("listing and buying refusals: zero price, zero/oversize duration, unknown or closed course", async () => {
    expect((await expectRevert(() => simulate(teacher, "listCourse", ["A", "A", 0n, 10n]), allErrors)).name).toBe(
      "InvalidPrice",
    );
    expect(await expectRevert(() => simulate(teacher, "listCourse", ["A", "A", 1n, 0n]), allErrors)).toMatchObject({
      name: "InvalidDuration",
      args: [0n],
    });
    const tooLong = 3651n * 86_400n;
    expect((await expectRevert(() => simulate(teacher, "listCourse", ["A", "A", 1n, tooLong]), allErrors)).name).toBe(
      "InvalidDuration",
    );
    expect(await expectRevert(() => simulate(student, "buy", [999n]), allErrors)).toMatchObject({
      name: "CourseNotFound",
      args: [999n],
    });
    expect((await expectRevert(() => simulate(student, "setCourseActive", [courseId, false]), allErrors)).name).toBe(
      "NotTeacher",
    );
    const r = await call(teacher, "setCourseActive", [courseId, false]);
    expect(r.status).toBe(1);
    expect([...marketI.parseLog((await logsOf(r, marketAddress, ev(marketI, "CourseActiveSet")))[0])!.args]).toEqual([
      courseId,
      false,
    ]);
    expect(await expectRevert(() => simulate(student, "buy", [courseId]), allErrors)).toMatchObject({
      name: "CourseInactive",
      args: [courseId],
    });
  });

  it("certificates can only come from complete(): nobody else can mint in a course collection", async () => {
    const course = await market.courses(1n);
    const e = await expectRevert(
      () =>
        provider.call({
          from: teacher.address,
          to: course.certificates,
          data: collectionI.encodeFunctionData("mint", [teacher.address, URI]),
        }),
      allErrors,
    );
    expect(e).toMatchObject({ name: "CollectionUnauthorized", args: [teacher.address] });
  });
});
