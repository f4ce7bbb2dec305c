import { rmSync } from "node:fs";
import {
  Contract,
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
import {
  deployContract,
  ESCROW_ADDRESS,
  LEARN_ADDRESS,
  ledgerProvider,
  NFT_REGISTRY_ADDRESS,
  rpcCall,
  sendTx,
} from "../ledger/helpers.js";
import { DEV_CHAIN_ID, DEV_KEYS, type NodeProcess, spawnNode, tempDir } from "../utils/devnode.js";

/**
 * The course marketplace (contracts/examples/CourseMarketplace.sol) against the real `azora dev`
 * process (built CLI; run `npm run build` first): list, buy, complete (certificate NFT to the
 * student, teacher paid in LEARN, escrow Released), and a second purchase refunded after the
 * deadline (evm_increaseTime), with exact LEARN balances and every event read through eth_getLogs.
 */

const PRICE = parseEther("40");
const DURATION = 2n * 24n * 3600n;
const URI = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const Status = { Active: 1n, Released: 3n, Refunded: 4n } as const;

const abi = (name: string) => loadArtifact(name).abi as object[];
const errors = (name: string) => abi(name).filter((f) => (f as { type: string }).type === "error");
const marketI = new Interface([...abi("CourseMarketplace"), ...errors("TestToken")] as InterfaceAbi);
const learnI = new Interface([...abi("ILearn"), ...errors("TestToken")] as InterfaceAbi);
const escrowI = new Interface(abi("IEscrow") as InterfaceAbi);
const registryI = new Interface(abi("INFTRegistry") as InterfaceAbi);
const collectionI = new Interface([...abi("IAzoraCollection"), ...errors("TestNFT")] as InterfaceAbi);
const topic = (a: string) => zeroPadValue(a, 32).toLowerCase();
const ev = (i: Interface, name: string) => i.getEvent(name)!.topicHash;

let dataDir: string;
let node: NodeProcess;
let provider: JsonRpcProvider;
let deployer: Wallet;
let teacher: Wallet;
let student: Wallet;
let student2: Wallet;
let marketAddress: string;
let learn: Contract;
let escrow: Contract;

const learnAt = (a: string, block: number) => learn.balanceOf(a, { blockTag: block }) as Promise<bigint>;
const send = (w: Wallet, to: string, i: Interface, fn: string, args: unknown[]) =>
  sendTx(w, { to, data: i.encodeFunctionData(fn, args) });

/** eth_getLogs of `r`'s block at `address`, topic0 = `event`, narrowed to `r`'s transaction. */
async function logs(r: TransactionReceipt, address: string, i: Interface, event: string): Promise<Log[]> {
  const all = await provider.getLogs({
    fromBlock: r.blockNumber,
    toBlock: r.blockNumber,
    address,
    topics: [ev(i, event)],
  });
  return all.filter((l) => l.transactionHash === r.hash);
}

async function balances(n: number) {
  return {
    teacher: await learnAt(teacher.address, n),
    student: await learnAt(student.address, n),
    student2: await learnAt(student2.address, n),
    market: await learnAt(marketAddress, n),
    escrow: await learnAt(ESCROW_ADDRESS, n),
  };
}

beforeAll(async () => {
  dataDir = tempDir("marketplace-e2e");
  node = await spawnNode(dataDir);
  provider = ledgerProvider(node.url);
  [deployer, teacher, student, student2] = DEV_KEYS.slice(0, 4).map((k) => new Wallet(k, provider));
  ({ address: marketAddress } = await deployContract(deployer, "CourseMarketplace"));
  learn = new Contract(LEARN_ADDRESS, learnI, provider);
  escrow = new Contract(ESCROW_ADDRESS, escrowI, provider);
});

afterAll(async () => {
  provider?.destroy();
  await node?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe("course marketplace on `azora dev`", () => {
  let courseId: bigint;
  let certificates: Contract;
  let certificatesAddress: string;

  it("runs the devnet with the native modules in place", async () => {
    expect((await provider.getNetwork()).chainId).toBe(DEV_CHAIN_ID);
    for (const m of [LEARN_ADDRESS, NFT_REGISTRY_ADDRESS, ESCROW_ADDRESS])
      expect(await provider.getCode(m)).toBe("0xfe");
    expect(await learn.symbol()).toBe("LEARN");
    expect(await learnAt(student.address, await provider.getBlockNumber())).toBeGreaterThanOrEqual(PRICE * 2n);
  });

  it("the teacher lists a course; its certificate collection belongs to the marketplace", async () => {
    const r = await send(teacher, marketAddress, marketI, "listCourse", ["Azora Dev Course", "ADC", PRICE, DURATION]);
    expect(r.status).toBe(1);
    const [listed] = await logs(r, marketAddress, marketI, "CourseListed");
    const a = marketI.parseLog(listed)!.args;
    courseId = a.courseId as bigint;
    certificatesAddress = (a.certificates as string).toLowerCase();
    expect([courseId, a.teacher, a.price, a.duration]).toEqual([1n, teacher.address, PRICE, DURATION]);
    const [created] = await logs(r, NFT_REGISTRY_ADDRESS, registryI, "CollectionCreated");
    expect(created.topics.slice(1)).toEqual([topic(certificatesAddress), topic(marketAddress)]);
    certificates = new Contract(certificatesAddress, collectionI, provider);
    expect((await certificates.owner()).toLowerCase()).toBe(marketAddress);
  });

  it("a student buys, the teacher completes: certificate to the student, LEARN to the teacher, escrow Released", async () => {
    const start = await balances(await provider.getBlockNumber());
    expect((await send(student, LEARN_ADDRESS, learnI, "approve", [marketAddress, PRICE])).status).toBe(1);
    const rb = await send(student, marketAddress, marketI, "buy", [courseId]);
    expect(rb.status).toBe(1);
    const bought = await balances(rb.blockNumber);
    expect(bought).toEqual({ ...start, student: start.student - PRICE, escrow: start.escrow + PRICE });
    const p = marketI.parseLog((await logs(rb, marketAddress, marketI, "CoursePurchased"))[0])!.args;
    const deadline = BigInt((await provider.getBlock(rb.blockNumber))!.timestamp) + DURATION;
    expect([p.purchaseId, p.courseId, p.student, p.amount, p.deadline]).toEqual([
      1n,
      courseId,
      student.address,
      PRICE,
      deadline,
    ]);
    const created = escrowI.parseLog((await logs(rb, ESCROW_ADDRESS, escrowI, "EscrowCreated"))[0])!.args;
    expect([created.id, created.payer.toLowerCase(), created.payee, created.amount]).toEqual([
      p.escrowId,
      marketAddress,
      teacher.address,
      PRICE,
    ]);
    expect((await escrow.escrows(p.escrowId)).status).toBe(Status.Active);

    const rc = await send(teacher, marketAddress, marketI, "complete", [p.purchaseId, URI]);
    expect(rc.status).toBe(1);
    expect(await balances(rc.blockNumber)).toEqual({
      ...bought,
      teacher: bought.teacher + PRICE,
      escrow: bought.escrow - PRICE,
    });
    expect(await certificates.ownerOf(1n)).toBe(student.address);
    expect(await certificates.tokenURI(1n)).toBe(URI);
    expect((await escrow.escrows(p.escrowId)).status).toBe(Status.Released);

    const done = marketI.parseLog((await logs(rc, marketAddress, marketI, "CourseCompleted"))[0])!.args;
    expect([...done]).toEqual([p.purchaseId, student.address, 1n]);
    const released = escrowI.parseLog((await logs(rc, ESCROW_ADDRESS, escrowI, "EscrowReleased"))[0])!.args;
    expect([...released]).toEqual([p.escrowId, teacher.address, PRICE]);
    const minted = collectionI.parseLog((await logs(rc, certificatesAddress, collectionI, "Transfer"))[0])!.args;
    expect([...minted]).toEqual([ZeroAddress, student.address, 1n]);
  });

  it("a second purchase is refunded to its student after the deadline (evm_increaseTime), exactly", async () => {
    const start = await balances(await provider.getBlockNumber());
    expect((await send(student2, LEARN_ADDRESS, learnI, "approve", [marketAddress, PRICE])).status).toBe(1);
    const rb = await send(student2, marketAddress, marketI, "buy", [courseId]);
    expect(rb.status).toBe(1);
    const p = marketI.parseLog((await logs(rb, marketAddress, marketI, "CoursePurchased"))[0])!.args;
    expect(await balances(rb.blockNumber)).toEqual({
      ...start,
      student2: start.student2 - PRICE,
      escrow: start.escrow + PRICE,
    });

    // Refused before the deadline (mined: status 0, nothing moves).
    const early = await sendTx(deployer, {
      to: marketAddress,
      data: marketI.encodeFunctionData("refund", [p.purchaseId]),
      gasLimit: 500_000n,
    });
    expect(early.status).toBe(0);
    expect(await balances(early.blockNumber)).toEqual(await balances(early.blockNumber - 1));

    await rpcCall(node.url, "evm_increaseTime", [Number(DURATION) + 1]);
    await rpcCall(node.url, "evm_mine", []);

    // Anyone (here the deployer) may trigger it; the LEARN goes to the student.
    const rr = await send(deployer, marketAddress, marketI, "refund", [p.purchaseId]);
    expect(rr.status).toBe(1);
    expect(BigInt((await provider.getBlock(rr.blockNumber))!.timestamp)).toBeGreaterThanOrEqual(p.deadline as bigint);
    const end = await balances(rr.blockNumber);
    expect(end).toEqual(start);
    expect((await escrow.escrows(p.escrowId)).status).toBe(Status.Refunded);

    const refunded = marketI.parseLog((await logs(rr, marketAddress, marketI, "PurchaseRefunded"))[0])!.args;
    expect([...refunded]).toEqual([p.purchaseId, student2.address, PRICE]);
    const escrowRefund = await logs(rr, ESCROW_ADDRESS, escrowI, "EscrowRefunded");
    expect(escrowRefund[0].topics.slice(1)).toEqual([toBeHex(p.escrowId as bigint, 32), topic(marketAddress)]);
    const moved = (await logs(rr, LEARN_ADDRESS, learnI, "Transfer")).map((l) =>
      [...learnI.parseLog(l)!.args].map((x) => (typeof x === "string" ? x.toLowerCase() : x)),
    );
    expect(moved).toEqual([
      [ESCROW_ADDRESS, marketAddress, PRICE],
      [marketAddress, student2.address.toLowerCase(), PRICE],
    ]);
  });

  it("the whole story reads back from eth_getLogs over the chain", async () => {
    const all = await provider.getLogs({ address: marketAddress, fromBlock: 0, toBlock: "latest" });
    expect(all.map((l) => marketI.parseLog(l)!.name)).toEqual([
      "CourseListed",
      "CoursePurchased",
      "CourseCompleted",
      "CoursePurchased",
      "PurchaseRefunded",
    ]);
  });
});
