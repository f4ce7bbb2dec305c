import {
  Contract,
  dataLength,
  Interface,
  type InterfaceAbi,
  id,
  type JsonRpcProvider,
  parseEther,
  type TransactionReceipt,
  Wallet,
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
  MARKET_ADDRESS,
  MODEL_REGISTRY_ADDRESS,
  NFT_REGISTRY_ADDRESS,
  sendTx,
  WAZR_ADDRESS,
  ZERO_ADDRESS,
} from "./helpers.js";

/**
 * The security rules every native module shares (runtime/modules/host.ts `toPrecompile`), each
 * checked against EVERY module — WAZR, LEARN, the NFT registry, an NFT collection, Escrow, the job
 * market and the model registry —
 * through JSON-RPC with contracts/examples/ModuleAttacker.sol:
 *   DELEGATECALL and CALLCODE refused; no state change under STATICCALL (views still answer);
 *   caller and value from the EVM frame; malformed calldata refused; value only into payable
 *   functions; a revert in the caller undoes the module's changes (journal); too little gas fails
 *   without a trace.
 * Failure is asserted through receipts (status 0) or eth_call errors, and "no state change" by
 * reading a wide snapshot of ledger state in the block before and the block of the transaction:
 * the only difference allowed is the sender's fee.
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
interface Call {
  target: string;
  data: string;
  value?: bigint;
}

/** Gas for transactions meant to fail (ethers would refuse them at estimateGas). */
const TX_GAS = 2_000_000n;
const REFUSED_FRAME = /DELEGATECALL and CALLCODE into a native module are refused/;
const STATIC_REFUSED = "state change in a static call";
const CERT_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

let node: Node;
let provider: JsonRpcProvider;
/** The transaction sender (tx.origin) in every attack. */
let alice: Wallet;
let bob: Wallet;
let carol: Wallet;
let attackerAddress: string;
let wazr: Contract;
let learn: Contract;
let registry: Contract;
let escrow: Contract;
let market: Contract;
let models: Contract;
let staking: Contract;
let gov: Contract;
/** A collection owned by alice (an EOA) and one owned by the attacker contract. */
let aliceCollection: Contract;
let attackerCollection: Contract;
/** AZR escrows: alice is payer of one, the attacker contract of the other (both Active throughout). */
let aliceEscrowId: bigint;
let attackerEscrowId: bigint;
let deadline: bigint;

/** Every error any of the contracts involved can raise, for decoding reverts. */
const errors = new Interface(
  (() => {
    const seen = new Set<string>();
    const out: object[] = [];
    for (const name of [
      "ModuleAttacker",
      "IWAZR",
      "ILearn",
      "INFTRegistry",
      "IAzoraCollection",
      "IEscrow",
      "IJobMarket",
      "IModelRegistry",
      "TestToken",
      "TestNFT",
    ]) {
      for (const f of loadArtifact(name).abi as { type: string; name: string; inputs: { type: string }[] }[]) {
        const key = `${f.name}(${f.inputs?.map((i) => i.type).join(",")})`;
        if (f.type !== "error" || seen.has(key)) continue;
        seen.add(key);
        out.push(f);
      }
    }
    return out as InterfaceAbi;
  })(),
);
const iface = (name: string) => new Interface(loadArtifact(name).abi as InterfaceAbi);
const attackerI = iface("ModuleAttacker");
const wazrI = iface("IWAZR");
const learnI = iface("ILearn");
const registryI = iface("INFTRegistry");
const collectionI = iface("IAzoraCollection");
const escrowI = iface("IEscrow");
const marketI = iface("IJobMarket");
const modelsI = iface("IModelRegistry");
const stakingI = iface("IStaking");
const govI = iface("IGovernance");
const STAKING_ADDRESS = "0x0000000000000000000000000000000000000a06";
const GOVERNANCE_ADDRESS = "0x0000000000000000000000000000000000000a07";
/** A harmless governance action (any account may propose without a deposit). */
const GOV_ACTION = [0, `0x${Buffer.from("gov.timelock").toString("hex").padEnd(64, "0")}`, 60n, ZERO_ADDRESS, ""];
const MARKET_KIND = `0x${Buffer.from("ai/onnx").toString("hex").padEnd(64, "0")}`;
const modelId = (who: string) => id(`model of ${who}`);

const at = (address: string, abi: Interface, runner: Wallet) => new Contract(address, abi, runner);

// --- state snapshots ------------------------------------------------------------------------

/** Everything an attack could try to change, read at block `n`. */
async function snapshot(n: number): Promise<Record<string, bigint | string>> {
  const blockTag = { blockTag: n };
  const out: Record<string, bigint | string> = {};
  const accounts: [string, string][] = [
    ["alice", alice.address],
    ["bob", bob.address],
    ["carol", carol.address],
    ["attacker", attackerAddress],
    ["WAZR", WAZR_ADDRESS],
    ["LEARN", LEARN_ADDRESS],
    ["registry", NFT_REGISTRY_ADDRESS],
    ["escrow", ESCROW_ADDRESS],
    ["market", MARKET_ADDRESS],
    ["models", MODEL_REGISTRY_ADDRESS],
    ["staking", STAKING_ADDRESS],
    ["governance", GOVERNANCE_ADDRESS],
    ["aliceCollection", await aliceCollection.getAddress()],
    ["attackerCollection", await attackerCollection.getAddress()],
  ];
  for (const [name, a] of accounts) {
    out[`AZR ${name}`] = await provider.getBalance(a, n);
    out[`LEARN ${name}`] = await learn.balanceOf(a, blockTag);
    out[`NFTs of ${name} (alice's collection)`] = await aliceCollection.balanceOf(a, blockTag);
    out[`NFTs of ${name} (attacker's collection)`] = await attackerCollection.balanceOf(a, blockTag);
  }
  out["LEARN totalSupply"] = await learn.totalSupply(blockTag);
  out["LEARN allowance attacker→escrow"] = await learn.allowance(attackerAddress, ESCROW_ADDRESS, blockTag);
  out["LEARN allowance alice→attacker"] = await learn.allowance(alice.address, attackerAddress, blockTag);
  out["WAZR allowance alice→attacker"] = await wazr.allowance(alice.address, attackerAddress, blockTag);
  out["WAZR allowance attacker→alice"] = await wazr.allowance(attackerAddress, alice.address, blockTag);
  out["collectionCount"] = await registry.collectionCount(blockTag);
  out["alice's collection totalSupply"] = await aliceCollection.totalSupply(blockTag);
  out["attacker's collection totalSupply"] = await attackerCollection.totalSupply(blockTag);
  out["escrowCount"] = await escrow.escrowCount(blockTag);
  out["alice's escrow status"] = (await escrow.escrows(aliceEscrowId, blockTag))[7];
  out["attacker's escrow status"] = (await escrow.escrows(attackerEscrowId, blockTag))[7];
  for (const [name, a] of [
    ["alice", alice.address],
    ["attacker", attackerAddress],
  ]) {
    const w = await market.worker(a, blockTag);
    out[`market stake of ${name}`] = w[3];
    out[`market unbonding of ${name}`] = w[5];
  }
  out["market jobCount"] = await market.jobCount(blockTag);
  out["modelCount"] = await models.modelCount(blockTag);
  // alice operates the devnet validator; the attacker contract delegates to it.
  out["validator tokens"] = (await staking.validator(alice.address, blockTag))[5];
  for (const [name, a] of [
    ["alice", alice.address],
    ["attacker", attackerAddress],
  ]) {
    const del = await staking.delegation(a, alice.address, blockTag);
    out[`staked shares of ${name}`] = del[0];
    out[`unbonding of ${name}`] = del[3];
  }
  out["proposalCount"] = await gov.proposalCount(blockTag);
  out["alice's vote"] = await gov.getVote(1n, alice.address, blockTag);
  out["attacker's vote"] = await gov.getVote(1n, attackerAddress, blockTag);
  return out;
}

/** Asserts `r` (alone in its block) changed nothing but its sender's AZR, by exactly the fee. */
async function expectOnlyFee(r: TransactionReceipt, sender: Wallet = alice): Promise<void> {
  const block = await provider.getBlock(r.blockNumber);
  expect(block?.transactions, "one tx per block").toEqual([r.hash]);
  const before = await snapshot(r.blockNumber - 1);
  const after = await snapshot(r.blockNumber);
  const senderName = sender === alice ? "alice" : sender === bob ? "bob" : "carol";
  expect(after[`AZR ${senderName}`]).toBe((before[`AZR ${senderName}`] as bigint) - feeOf(r));
  after[`AZR ${senderName}`] = before[`AZR ${senderName}`];
  expect(after).toEqual(before);
}

// --- calls ----------------------------------------------------------------------------------

const enc = (i: Interface, fn: string, args: unknown[]) => i.encodeFunctionData(fn, args);
/** eth_call from alice. */
const ethCall = (c: Call, from = alice.address) =>
  provider.call({ from, to: c.target, data: c.data, value: c.value ?? 0n });
const attackerCall = (fn: string, args: unknown[], value = 0n): Call => ({
  target: attackerAddress,
  data: enc(attackerI, fn, args),
  value,
});
const send = (c: Call, gasLimit = TX_GAS, from: Wallet = alice) =>
  sendTx(from, { to: c.target, data: c.data, value: c.value ?? 0n, gasLimit });
/** The attacker's `Result(kind, ok, ret)` event of a receipt. */
function resultOf(r: TransactionReceipt): { ok: boolean; ret: string } {
  const log = r.logs.find((l) => l.address.toLowerCase() === attackerAddress);
  expect(log, "Result event").toBeDefined();
  const parsed = attackerI.parseLog(log!)!;
  return { ok: parsed.args.ok as boolean, ret: parsed.args.ret as string };
}
function reasonOf(ret: string): string {
  if (!ret.startsWith("0x08c379a0")) return ret;
  return new Interface(["error Error(string)"]).decodeErrorResult("Error", ret)[0] as string;
}

// --- the five modules -------------------------------------------------------------------------

interface ModuleCase {
  name: string;
  /** A state-changing call the attacker contract is entitled to make (it succeeds as a plain CALL from it). */
  byAttacker(): Call;
  /** A state-changing call alice is entitled to make directly: a DELEGATECALL/CALLCODE would run it as alice. */
  bySender(): Call;
  /** A view. */
  view(): Call;
}

const cases: ModuleCase[] = [
  {
    name: "WAZR",
    byAttacker: () => ({ target: WAZR_ADDRESS, data: enc(wazrI, "transfer", [bob.address, parseEther("1")]) }),
    bySender: () => ({ target: WAZR_ADDRESS, data: enc(wazrI, "transfer", [bob.address, parseEther("1")]) }),
    view: () => ({ target: WAZR_ADDRESS, data: enc(wazrI, "balanceOf", [alice.address]) }),
  },
  {
    name: "LEARN",
    byAttacker: () => ({ target: LEARN_ADDRESS, data: enc(learnI, "transfer", [bob.address, parseEther("1")]) }),
    bySender: () => ({ target: LEARN_ADDRESS, data: enc(learnI, "transfer", [bob.address, parseEther("1")]) }),
    view: () => ({ target: LEARN_ADDRESS, data: enc(learnI, "balanceOf", [alice.address]) }),
  },
  {
    name: "NFT registry",
    byAttacker: () => ({
      target: NFT_REGISTRY_ADDRESS,
      data: enc(registryI, "createCollection", ["Spoof", "SPF", bob.address, 100n]),
    }),
    bySender: () => ({
      target: NFT_REGISTRY_ADDRESS,
      data: enc(registryI, "createCollection", ["Spoof", "SPF", bob.address, 100n]),
    }),
    view: () => ({ target: NFT_REGISTRY_ADDRESS, data: enc(registryI, "collectionCount", []) }),
  },
  {
    name: "NFT collection",
    byAttacker: () => ({
      target: attackerCollectionAddress(),
      data: enc(collectionI, "mint", [bob.address, CERT_URI]),
    }),
    bySender: () => ({ target: aliceCollectionAddress(), data: enc(collectionI, "mint", [bob.address, CERT_URI]) }),
    view: () => ({ target: aliceCollectionAddress(), data: enc(collectionI, "name", []) }),
  },
  {
    name: "Escrow",
    byAttacker: () => ({ target: ESCROW_ADDRESS, data: enc(escrowI, "release", [attackerEscrowId]) }),
    bySender: () => ({ target: ESCROW_ADDRESS, data: enc(escrowI, "release", [aliceEscrowId]) }),
    view: () => ({ target: ESCROW_ADDRESS, data: enc(escrowI, "escrows", [aliceEscrowId]) }),
  },
  {
    // alice and the attacker contract are both registered workers: each may start unbonding its own stake.
    name: "Job market",
    byAttacker: () => ({ target: MARKET_ADDRESS, data: enc(marketI, "beginUnbond", [1n]) }),
    bySender: () => ({ target: MARKET_ADDRESS, data: enc(marketI, "beginUnbond", [1n]) }),
    view: () => ({ target: MARKET_ADDRESS, data: enc(marketI, "worker", [alice.address]) }),
  },
  {
    // alice operates the devnet validator (self-stake) and the attacker contract delegated to it.
    name: "Staking",
    byAttacker: () => ({ target: STAKING_ADDRESS, data: enc(stakingI, "undelegate", [alice.address, 1n]) }),
    bySender: () => ({ target: STAKING_ADDRESS, data: enc(stakingI, "undelegate", [alice.address, 1n]) }),
    view: () => ({ target: STAKING_ADDRESS, data: enc(stakingI, "validator", [alice.address]) }),
  },
  {
    name: "Governance",
    // A proposal is in its voting period (devnet: 10 minutes): anyone may vote, again and again.
    byAttacker: () => ({ target: GOVERNANCE_ADDRESS, data: enc(govI, "vote", [1n, 2n]) }),
    bySender: () => ({ target: GOVERNANCE_ADDRESS, data: enc(govI, "vote", [1n, 2n]) }),
    view: () => ({ target: GOVERNANCE_ADDRESS, data: enc(govI, "proposalCount", []) }),
  },
  {
    name: "Model registry",
    byAttacker: () => ({
      target: MODEL_REGISTRY_ADDRESS,
      data: enc(modelsI, "registerModel", [modelId(attackerAddress), "ipfs://model", "{}"]),
    }),
    bySender: () => ({
      target: MODEL_REGISTRY_ADDRESS,
      data: enc(modelsI, "registerModel", [modelId(alice.address), "ipfs://model", "{}"]),
    }),
    view: () => ({ target: MODEL_REGISTRY_ADDRESS, data: enc(modelsI, "modelCount", []) }),
  },
];
let aliceCollectionAddr = "";
let attackerCollectionAddr = "";
const aliceCollectionAddress = () => aliceCollectionAddr;
const attackerCollectionAddress = () => attackerCollectionAddr;

/** The control: `c` succeeds as a plain CALL from the attacker (so any refusal below is the frame's doing). */
async function expectAttackerCallWorks(c: Call): Promise<void> {
  const ret = attackerI.decodeFunctionResult(
    "callModule",
    await ethCall(attackerCall("callModule", [c.target, c.data, c.value ?? 0n, 0n, true])),
  );
  expect(ret[0]).toBe(true);
}

// --- setup ----------------------------------------------------------------------------------

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  alice = new Wallet(DEV_KEYS[0], provider);
  bob = new Wallet(DEV_KEYS[1], provider);
  carol = new Wallet(DEV_KEYS[2], provider);
  wazr = at(WAZR_ADDRESS, wazrI, alice);
  learn = at(LEARN_ADDRESS, learnI, alice);
  registry = at(NFT_REGISTRY_ADDRESS, registryI, alice);
  escrow = at(ESCROW_ADDRESS, escrowI, alice);
  market = at(MARKET_ADDRESS, marketI, alice);
  models = at(MODEL_REGISTRY_ADDRESS, modelsI, alice);
  staking = at(STAKING_ADDRESS, stakingI, alice);
  gov = at(GOVERNANCE_ADDRESS, govI, alice);

  ({ address: attackerAddress } = await deployContract(alice, "ModuleAttacker"));
  // The attacker holds AZR and LEARN of its own.
  expect((await sendTx(alice, { to: attackerAddress, value: parseEther("100") })).status).toBe(1);
  expect(
    (await sendTx(alice, { to: LEARN_ADDRESS, data: enc(learnI, "transfer", [attackerAddress, parseEther("1000")]) }))
      .status,
  ).toBe(1);

  // Alice's collection (owner: alice) and the attacker's (owner: the attacker contract).
  const created = async (r: TransactionReceipt) => {
    expect(r.status).toBe(1);
    const log = r.logs.find((l) => l.address.toLowerCase() === NFT_REGISTRY_ADDRESS)!;
    return (registryI.parseLog(log)!.args.collection as string).toLowerCase();
  };
  aliceCollectionAddr = await created(
    await sendTx(alice, {
      to: NFT_REGISTRY_ADDRESS,
      data: enc(registryI, "createCollection", ["Alice", "ALC", alice.address, 500n]),
    }),
  );
  attackerCollectionAddr = await created(
    await send(
      attackerCall("callModule", [
        NFT_REGISTRY_ADDRESS,
        enc(registryI, "createCollection", ["Attacker", "ATK", bob.address, 0n]),
        0n,
        0n,
        true,
      ]),
    ),
  );
  aliceCollection = at(aliceCollectionAddr, collectionI, alice);
  attackerCollection = at(attackerCollectionAddr, collectionI, alice);
  // One certificate each, so balances and owners exist.
  expect(
    (await sendTx(alice, { to: aliceCollectionAddr, data: enc(collectionI, "mint", [carol.address, CERT_URI]) }))
      .status,
  ).toBe(1);

  // AZR escrows, payee bob, arbiter carol: one paid by alice, one by the attacker contract.
  const head = await provider.getBlock("latest");
  deadline = BigInt(head!.timestamp) + 86_400n;
  const createData = enc(escrowI, "create", [
    bob.address,
    carol.address,
    ZERO_ADDRESS,
    parseEther("2"),
    deadline,
    `0x${"11".repeat(32)}`,
  ]);
  let r = await sendTx(alice, { to: ESCROW_ADDRESS, data: createData, value: parseEther("2") });
  expect(r.status).toBe(1);
  aliceEscrowId = escrowI.parseLog(r.logs[0])!.args.id as bigint;
  r = await send(attackerCall("callModule", [ESCROW_ADDRESS, createData, parseEther("2"), 0n, true]));
  expect(r.status).toBe(1);
  attackerEscrowId = escrowI.parseLog(r.logs.find((l) => l.address.toLowerCase() === ESCROW_ADDRESS)!)!.args
    .id as bigint;

  // Both alice and the attacker contract are job market workers with 10 AZR of stake.
  const register = enc(marketI, "registerWorker", [[MARKET_KIND], "https://worker.example"]);
  expect((await sendTx(alice, { to: MARKET_ADDRESS, data: register, value: parseEther("10") })).status).toBe(1);
  expect((await send(attackerCall("callModule", [MARKET_ADDRESS, register, parseEther("10"), 0n, true]))).status).toBe(
    1,
  );
  expect((await escrow.escrows(attackerEscrowId))[0].toLowerCase()).toBe(attackerAddress);

  // Proposal 1, deposit paid: in its voting period for the whole test.
  expect(
    (
      await sendTx(alice, {
        to: GOVERNANCE_ADDRESS,
        data: enc(govI, "propose", [[GOV_ACTION], "ipfs://x"]),
        value: parseEther("10"),
      })
    ).status,
  ).toBe(1);
  // The attacker contract delegates 5 AZR to alice's validator.
  const delegate = enc(stakingI, "delegate", [alice.address]);
  expect((await send(attackerCall("callModule", [STAKING_ADDRESS, delegate, parseEther("5"), 0n, true]))).status).toBe(
    1,
  );
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

// --- the rules ------------------------------------------------------------------------------

describe("DELEGATECALL into a module is refused, with no state change", () => {
  for (const c of cases) {
    it(`${c.name}: a delegatecall that would act as the tx sender fails; nothing moves`, async () => {
      const call = c.bySender();
      // Control: alice may make this call herself.
      await ethCall(call);
      // Through DELEGATECALL the module would see alice as caller: refused.
      const e = await expectRevert(
        () => ethCall(attackerCall("delegateCallModule", [call.target, call.data, true])),
        errors,
      );
      expect(e.name).toBe("Error");
      expect(e.args[0]).toMatch(REFUSED_FRAME);
      // Mined, bubbling: status 0 and no state change.
      let r = await send(attackerCall("delegateCallModule", [call.target, call.data, true]));
      expect(r.status).toBe(0);
      await expectOnlyFee(r);
      // Mined, not bubbling: the attacker's tx succeeds, the inner delegatecall failed, still nothing moved.
      r = await send(attackerCall("delegateCallModule", [call.target, call.data, false]));
      expect(r.status).toBe(1);
      const res = resultOf(r);
      expect(res.ok).toBe(false);
      expect(reasonOf(res.ret)).toMatch(REFUSED_FRAME);
      await expectOnlyFee(r);
    });
  }

  it("every module refuses DELEGATECALL even for a view", async () => {
    for (const c of cases) {
      const v = c.view();
      const [ok, ret] = attackerI.decodeFunctionResult(
        "delegateCallModule",
        await ethCall(attackerCall("delegateCallModule", [v.target, v.data, false])),
      );
      expect(ok, c.name).toBe(false);
      expect(reasonOf(ret), c.name).toMatch(REFUSED_FRAME);
    }
  });
});

describe("CALLCODE into a module is refused, with no state change", () => {
  for (const c of cases) {
    it(`${c.name}: callcode fails; nothing moves`, async () => {
      const call = c.bySender();
      const e = await expectRevert(
        () => ethCall(attackerCall("callCodeModule", [call.target, call.data, 0n, true])),
        errors,
      );
      expect(e.args[0]).toMatch(REFUSED_FRAME);
      let r = await send(attackerCall("callCodeModule", [call.target, call.data, 0n, true]));
      expect(r.status).toBe(0);
      await expectOnlyFee(r);
      // Also the attacker's own entitled call: CALLCODE runs it with the attacker as caller, still refused.
      const own = c.byAttacker();
      r = await send(attackerCall("callCodeModule", [own.target, own.data, 0n, false]));
      expect(r.status).toBe(1);
      const res = resultOf(r);
      expect(res.ok).toBe(false);
      expect(reasonOf(res.ret)).toMatch(REFUSED_FRAME);
      await expectOnlyFee(r);
    });
  }
});

describe("STATICCALL: state changes refused, views answer", () => {
  for (const c of cases) {
    it(`${c.name}: a state-changing call fails under STATICCALL; a view returns what eth_call returns`, async () => {
      const call = c.byAttacker();
      await expectAttackerCallWorks(call);
      const [ok, ret] = attackerI.decodeFunctionResult(
        "staticCallModule",
        await ethCall(attackerCall("staticCallModule", [call.target, call.data, false])),
      );
      expect(ok).toBe(false);
      expect(reasonOf(ret)).toBe(STATIC_REFUSED);
      const e = await expectRevert(
        () => ethCall(attackerCall("staticCallModule", [call.target, call.data, true])),
        errors,
      );
      expect(e).toMatchObject({ name: "Error", args: [STATIC_REFUSED] });

      const v = c.view();
      const [vok, vret] = attackerI.decodeFunctionResult(
        "staticCallModule",
        await ethCall(attackerCall("staticCallModule", [v.target, v.data, true])),
      );
      expect(vok).toBe(true);
      expect(vret).toBe(await ethCall(v));
    });
  }

  it("Escrow: the payable create is refused under STATICCALL too (value 0)", async () => {
    const data = enc(escrowI, "create", [
      bob.address,
      carol.address,
      LEARN_ADDRESS,
      1n,
      deadline,
      `0x${"00".repeat(32)}`,
    ]);
    const [ok, ret] = attackerI.decodeFunctionResult(
      "staticCallModule",
      await ethCall(attackerCall("staticCallModule", [ESCROW_ADDRESS, data, false])),
    );
    expect(ok).toBe(false);
    expect(reasonOf(ret)).toBe(STATIC_REFUSED);
  });
});

describe("Job market: payable functions under STATICCALL", () => {
  it("post, registerWorker, addStake and challenge are refused under STATICCALL (value 0)", async () => {
    const spec = [
      MARKET_KIND,
      "ipfs://s",
      `0x${"00".repeat(32)}`,
      LEARN_ADDRESS,
      1n,
      1n,
      60n,
      60n,
      60n,
      0n,
      ZERO_ADDRESS,
    ];
    for (const data of [
      enc(marketI, "post", [spec]),
      enc(marketI, "registerWorker", [[MARKET_KIND], "https://x"]),
      enc(marketI, "addStake", []),
      enc(marketI, "challenge", [1n, ""]),
    ]) {
      const [ok, ret] = attackerI.decodeFunctionResult(
        "staticCallModule",
        await ethCall(attackerCall("staticCallModule", [MARKET_ADDRESS, data, false])),
      );
      expect(ok).toBe(false);
      expect(reasonOf(ret)).toBe(STATIC_REFUSED);
    }
  });
});

describe("caller and value come from the EVM frame, never from the tx sender", () => {
  it("WAZR: a contract calling transfer moves its own AZR; the tx sender pays only gas", async () => {
    const r = await send(
      attackerCall("callModule", [WAZR_ADDRESS, enc(wazrI, "transfer", [bob.address, parseEther("3")]), 0n, 0n, true]),
    );
    expect(r.status).toBe(1);
    const n = r.blockNumber;
    expect(await provider.getBalance(attackerAddress, n)).toBe(
      (await provider.getBalance(attackerAddress, n - 1)) - parseEther("3"),
    );
    expect(await provider.getBalance(bob.address, n)).toBe(
      (await provider.getBalance(bob.address, n - 1)) + parseEther("3"),
    );
    expect(await provider.getBalance(alice.address, n)).toBe(
      (await provider.getBalance(alice.address, n - 1)) - feeOf(r),
    );
    const t = wazrI.parseLog(r.logs.find((l) => l.address.toLowerCase() === WAZR_ADDRESS)!)!;
    expect(t.args.from.toLowerCase()).toBe(attackerAddress);
    // transferFrom of alice's AZR by the contract needs alice's allowance to the contract, not tx.origin == alice.
    const e = await expectRevert(
      () =>
        ethCall(
          attackerCall("callModule", [
            WAZR_ADDRESS,
            enc(wazrI, "transferFrom", [alice.address, bob.address, 1n]),
            0n,
            0n,
            true,
          ]),
        ),
      errors,
    );
    expect(e.name).toBe("ERC20InsufficientAllowance");
    expect((e.args[0] as string).toLowerCase()).toBe(attackerAddress);
  });

  it("LEARN: a contract calling transfer moves its own LEARN; the tx sender's LEARN is untouched", async () => {
    const r = await send(
      attackerCall("callModule", [
        LEARN_ADDRESS,
        enc(learnI, "transfer", [bob.address, parseEther("7")]),
        0n,
        0n,
        true,
      ]),
    );
    expect(r.status).toBe(1);
    const n = r.blockNumber;
    const bal = (a: string, b: number) => learn.balanceOf(a, { blockTag: b }) as Promise<bigint>;
    expect(await bal(attackerAddress, n)).toBe((await bal(attackerAddress, n - 1)) - parseEther("7"));
    expect(await bal(bob.address, n)).toBe((await bal(bob.address, n - 1)) + parseEther("7"));
    expect(await bal(alice.address, n)).toBe(await bal(alice.address, n - 1));
    const t = learnI.parseLog(r.logs.find((l) => l.address.toLowerCase() === LEARN_ADDRESS)!)!;
    expect(t.args.from.toLowerCase()).toBe(attackerAddress);
    const e = await expectRevert(
      () =>
        ethCall(
          attackerCall("callModule", [
            LEARN_ADDRESS,
            enc(learnI, "transferFrom", [alice.address, bob.address, 1n]),
            0n,
            0n,
            true,
          ]),
        ),
      errors,
    );
    expect(e.name).toBe("ERC20InsufficientAllowance");
    expect((e.args[0] as string).toLowerCase()).toBe(attackerAddress);
  });

  it("NFT registry: a collection created by a contract is owned by the contract, not the tx sender", async () => {
    const r = await send(
      attackerCall("callModule", [
        NFT_REGISTRY_ADDRESS,
        enc(registryI, "createCollection", ["Frame", "FRM", bob.address, 0n]),
        0n,
        0n,
        true,
      ]),
    );
    expect(r.status).toBe(1);
    const ev = registryI.parseLog(r.logs.find((l) => l.address.toLowerCase() === NFT_REGISTRY_ADDRESS)!)!;
    expect(ev.args.owner.toLowerCase()).toBe(attackerAddress);
    const created = at(ev.args.collection as string, collectionI, alice);
    expect((await created.owner()).toLowerCase()).toBe(attackerAddress);
  });

  it("NFT collection: a contract cannot mint in alice's collection even when alice (the owner) sends the tx", async () => {
    const mint = enc(collectionI, "mint", [bob.address, CERT_URI]);
    const e = await expectRevert(
      () => ethCall(attackerCall("callModule", [aliceCollectionAddr, mint, 0n, 0n, true])),
      errors,
    );
    expect(e.name).toBe("CollectionUnauthorized");
    expect((e.args[0] as string).toLowerCase()).toBe(attackerAddress);
    const r = await send(attackerCall("callModule", [aliceCollectionAddr, mint, 0n, 0n, true]));
    expect(r.status).toBe(0);
    await expectOnlyFee(r);
    // Moving alice's token (owned by carol) is refused for the contract too.
    const move = enc(collectionI, "transferFrom", [carol.address, attackerAddress, 1n]);
    const e2 = await expectRevert(
      () => ethCall(attackerCall("callModule", [aliceCollectionAddr, move, 0n, 0n, true])),
      errors,
    );
    expect(e2.name).toBe("ERC721InsufficientApproval");
    // The attacker's own collection: it is the owner, so its mint works and the token goes to bob.
    const r2 = await send(attackerCall("callModule", [attackerCollectionAddr, mint, 0n, 0n, true]));
    expect(r2.status).toBe(1);
    const id = collectionI.parseLog(r2.logs.find((l) => l.address.toLowerCase() === attackerCollectionAddr)!)!.args
      .tokenId as bigint;
    expect(await attackerCollection.ownerOf(id)).toBe(bob.address);
  });

  it("Escrow: the payer is the calling contract and the value is the frame's; releasing alice's escrow is refused", async () => {
    const create = enc(escrowI, "create", [
      bob.address,
      carol.address,
      ZERO_ADDRESS,
      parseEther("1"),
      deadline,
      `0x${"22".repeat(32)}`,
    ]);
    const r = await send(attackerCall("callModule", [ESCROW_ADDRESS, create, parseEther("1"), 0n, true]));
    expect(r.status).toBe(1);
    const n = r.blockNumber;
    const id = escrowI.parseLog(r.logs.find((l) => l.address.toLowerCase() === ESCROW_ADDRESS)!)!.args.id as bigint;
    const e = await escrow.escrows(id);
    expect(e[0].toLowerCase()).toBe(attackerAddress);
    expect(await provider.getBalance(attackerAddress, n)).toBe(
      (await provider.getBalance(attackerAddress, n - 1)) - parseEther("1"),
    );
    expect(await provider.getBalance(ESCROW_ADDRESS, n)).toBe(
      (await provider.getBalance(ESCROW_ADDRESS, n - 1)) + parseEther("1"),
    );
    expect(await provider.getBalance(alice.address, n)).toBe(
      (await provider.getBalance(alice.address, n - 1)) - feeOf(r),
    );
    // An amount in calldata is not value: claiming 1 AZR with no value sent is refused.
    const noValue = await expectRevert(
      () => ethCall(attackerCall("callModule", [ESCROW_ADDRESS, create, 0n, 0n, true])),
      errors,
    );
    expect(noValue).toMatchObject({ name: "EscrowInvalidAmount", args: [parseEther("1"), 0n] });
    // alice is payer of aliceEscrowId; the contract alice calls is not.
    const release = enc(escrowI, "release", [aliceEscrowId]);
    const unauthorized = await expectRevert(
      () => ethCall(attackerCall("callModule", [ESCROW_ADDRESS, release, 0n, 0n, true])),
      errors,
    );
    expect(unauthorized.name).toBe("EscrowUnauthorized");
    expect((unauthorized.args[0] as string).toLowerCase()).toBe(attackerAddress);
  });
});

describe("Job market: a contract is a worker in its own right", () => {
  it("the worker registered by the attacker contract is the contract, staked from the contract's AZR", async () => {
    const w = await market.worker(attackerAddress);
    expect([w[0], w[3]]).toEqual([true, parseEther("10")]);
    // alice cannot act on the contract's stake through it: beginUnbond by the contract unbonds the contract's.
    const before = (await market.worker(alice.address))[5] as bigint;
    const r = await send(attackerCall("callModule", [MARKET_ADDRESS, enc(marketI, "beginUnbond", [7n]), 0n, 0n, true]));
    expect(r.status).toBe(1);
    expect((await market.worker(attackerAddress))[5]).toBe(7n);
    expect((await market.worker(alice.address))[5]).toBe(before);
  });
});

describe("malformed calldata is refused (dirty address bits, truncated arguments, oversize data)", () => {
  /** Sets the top byte of argument word `i` (0-based, after the selector). */
  const dirtyWord = (data: string, i: number) => {
    const at = 2 + 8 + 64 * i;
    return `${data.slice(0, at)}ff${data.slice(at + 2)}`;
  };
  const marketPost = () => {
    const spec = [
      MARKET_KIND,
      "ipfs://spec",
      `0x${"00".repeat(32)}`,
      ZERO_ADDRESS,
      100n,
      1n,
      60n,
      60n,
      60n,
      0n,
      ZERO_ADDRESS,
    ];
    return { target: MARKET_ADDRESS, data: enc(marketI, "post", [spec]), value: 101n };
  };
  const escrowCreate = () => ({
    target: ESCROW_ADDRESS,
    data: enc(escrowI, "create", [bob.address, carol.address, ZERO_ADDRESS, 5n, deadline, `0x${"33".repeat(32)}`]),
    value: 5n,
  });
  /** Per module: a call alice may make, and the argument words holding an address or a narrow integer. */
  const shapes: { name: string; call: () => Call; narrowWords: number[]; trailingString?: boolean }[] = [
    { name: "WAZR", call: () => cases[0].bySender(), narrowWords: [0] },
    { name: "LEARN", call: () => cases[1].bySender(), narrowWords: [0] },
    // createCollection(string,string,address,uint96): receiver and royaltyBps.
    { name: "NFT registry", call: () => cases[2].bySender(), narrowWords: [2, 3], trailingString: true },
    { name: "NFT collection", call: () => cases[3].bySender(), narrowWords: [0], trailingString: true },
    // create(address,address,address,uint256,uint64,bytes32): three addresses and the uint64 deadline.
    { name: "Escrow", call: escrowCreate, narrowWords: [0, 1, 2, 4] },
    // post(JobSpec): word 0 is the tuple's offset; in the tuple, token (4), redundancy (6), the three windows
    // (7–9), verification (10) and arbiter (11) are narrow; the spec URI string comes last.
    { name: "Job market", call: marketPost, narrowWords: [4, 6, 7, 8, 9, 10, 11], trailingString: true },
  ];

  for (const s of shapes) {
    it(`${s.name}: dirty high bits in an address/uint<256 argument and truncated calldata revert; the clean call works`, async () => {
      const clean = s.call();
      await ethCall(clean); // control
      for (const w of s.narrowWords) {
        const e = await expectRevert(() => ethCall({ ...clean, data: dirtyWord(clean.data, w) }), errors);
        expect(e.data, `word ${w}`).toBe("0x");
      }
      // The padding after a trailing string may be missing (as in Solidity's decoder): cut into real bytes then.
      const cuts = s.trailingString ? [32, 33, dataLength(clean.data) - 4] : [1, 32, dataLength(clean.data) - 4];
      for (const cut of cuts) {
        const e = await expectRevert(
          () => ethCall({ ...clean, data: clean.data.slice(0, clean.data.length - 2 * cut) }),
          errors,
        );
        expect(e.data, `cut ${cut}`).toBe("0x");
      }
      // Selector only / less than a selector.
      expect((await expectRevert(() => ethCall({ ...clean, data: clean.data.slice(0, 8) }), errors)).data).toBe("0x");
      // Mined: status 0, nothing changes.
      const r = await send({ ...clean, data: dirtyWord(clean.data, s.narrowWords[0]) });
      expect(r.status).toBe(0);
      await expectOnlyFee(r);
    });

    it(`${s.name}: calldata over 64 KiB is refused before decoding`, async () => {
      const clean = s.call();
      const huge = `${clean.data}${"00".repeat(64 * 1024)}`;
      const e = await expectRevert(() => ethCall({ ...clean, data: huge }), errors);
      expect(e.name).toBe("Error");
      expect(e.args[0]).toMatch(/calldata too large/);
    });
  }

  it("NFT registry: a name over the 4 KiB ABI cap reverts; over the registry's own limit, RegistryInvalidName", async () => {
    const data = (name: string) => enc(registryI, "createCollection", [name, "SYM", bob.address, 0n]);
    expect(
      (await expectRevert(() => ethCall({ target: NFT_REGISTRY_ADDRESS, data: data("n".repeat(4097)) }), errors)).data,
    ).toBe("0x");
    expect(
      await expectRevert(() => ethCall({ target: NFT_REGISTRY_ADDRESS, data: data("n".repeat(65)) }), errors),
    ).toMatchObject({
      name: "RegistryInvalidName",
    });
    await ethCall({ target: NFT_REGISTRY_ADDRESS, data: data("n".repeat(64)) });
  });

  it("NFT collection: a URI over the 4 KiB ABI cap reverts; over the collection's own limit, CollectionInvalidURI", async () => {
    const data = (uri: string) => enc(collectionI, "mint", [bob.address, uri]);
    const over = `ipfs://${"b".repeat(4097 - 7)}`;
    expect((await expectRevert(() => ethCall({ target: aliceCollectionAddr, data: data(over) }), errors)).data).toBe(
      "0x",
    );
    const long = `ipfs://${"b".repeat(300)}`;
    expect(await expectRevert(() => ethCall({ target: aliceCollectionAddr, data: data(long) }), errors)).toMatchObject({
      name: "CollectionInvalidURI",
    });
    // A string whose declared length runs past the calldata is refused as well.
    const good = data(CERT_URI);
    const lengthWord = 2 + 8 + 64 * 2;
    const lying = `${good.slice(0, lengthWord)}${(4000).toString(16).padStart(64, "0")}${good.slice(lengthWord + 64)}`;
    expect((await expectRevert(() => ethCall({ target: aliceCollectionAddr, data: lying }), errors)).data).toBe("0x");
  });
});

describe("value sent to a non-payable function is refused and stays with the sender", () => {
  for (const c of cases) {
    it(`${c.name}: from an EOA and from a contract`, async () => {
      const call = { ...c.bySender(), value: parseEther("1") };
      const e = await expectRevert(() => ethCall(call), errors);
      expect(e.name).toBe("Error");
      expect(e.args[0]).toMatch(/is not payable$/);
      // A view is not payable either.
      const v = await expectRevert(() => ethCall({ ...c.view(), value: 1n }), errors);
      expect(v.args[0]).toMatch(/is not payable$/);
      // From alice: status 0; alice loses only the fee, the module gains nothing.
      let r = await send(call);
      expect(r.status).toBe(0);
      await expectOnlyFee(r);
      // From the attacker contract (value from its own balance): the inner call fails, the AZR stays with it.
      const own = c.byAttacker();
      r = await send(attackerCall("callModule", [own.target, own.data, parseEther("1"), 0n, false]));
      expect(r.status).toBe(1);
      const res = resultOf(r);
      expect(res.ok).toBe(false);
      expect(reasonOf(res.ret)).toMatch(/is not payable$/);
      await expectOnlyFee(r);
    });
  }

  it("a plain AZR transfer (no calldata) to any module address is refused", async () => {
    for (const target of [
      WAZR_ADDRESS,
      LEARN_ADDRESS,
      NFT_REGISTRY_ADDRESS,
      aliceCollectionAddr,
      ESCROW_ADDRESS,
      MARKET_ADDRESS,
      MODEL_REGISTRY_ADDRESS,
    ]) {
      const r = await send({ target, data: "0x", value: parseEther("1") }, 100_000n);
      expect(r.status, target).toBe(0);
      await expectOnlyFee(r);
    }
  });

  it("Escrow.create is payable, but only with value == amount for AZR and no value for LEARN", async () => {
    const azr = enc(escrowI, "create", [
      bob.address,
      carol.address,
      ZERO_ADDRESS,
      5n,
      deadline,
      `0x${"44".repeat(32)}`,
    ]);
    expect(await expectRevert(() => ethCall({ target: ESCROW_ADDRESS, data: azr, value: 4n }), errors)).toMatchObject({
      name: "EscrowInvalidAmount",
      args: [5n, 4n],
    });
    const lrn = enc(escrowI, "create", [
      bob.address,
      carol.address,
      LEARN_ADDRESS,
      5n,
      deadline,
      `0x${"44".repeat(32)}`,
    ]);
    expect(await expectRevert(() => ethCall({ target: ESCROW_ADDRESS, data: lrn, value: 5n }), errors)).toMatchObject({
      name: "EscrowInvalidAmount",
      args: [5n, 5n],
    });
    const r = await send({ target: ESCROW_ADDRESS, data: lrn, value: 5n });
    expect(r.status).toBe(0);
    await expectOnlyFee(r);
  });
});

describe("a revert in the calling contract reverts the module's changes too (the journal)", () => {
  /** Calls the attacker's callThenRevert: the module call succeeds inside, then the frame reverts. */
  async function expectRolledBack(call: Call): Promise<void> {
    const e = await expectRevert(
      () => ethCall(attackerCall("callThenRevert", [call.target, call.data, call.value ?? 0n])),
      errors,
    );
    expect(e.name).toBe("AfterCall");
    expect(e.args[0], `inner call succeeded: ${reasonOf(e.args[1] as string)}`).toBe(true);
    const r = await send(attackerCall("callThenRevert", [call.target, call.data, call.value ?? 0n]));
    expect(r.status).toBe(0);
    expect(r.logs).toHaveLength(0);
    await expectOnlyFee(r);
  }

  it("WAZR: transfer then revert → AZR balances unchanged", async () => {
    await expectRolledBack({ target: WAZR_ADDRESS, data: enc(wazrI, "transfer", [bob.address, parseEther("5")]) });
  });

  it("WAZR: approve then revert → allowance unchanged", async () => {
    await expectRolledBack({ target: WAZR_ADDRESS, data: enc(wazrI, "approve", [alice.address, 77n]) });
  });

  it("LEARN: transfer then revert → LEARN balances unchanged", async () => {
    await expectRolledBack({ target: LEARN_ADDRESS, data: enc(learnI, "transfer", [bob.address, parseEther("5")]) });
  });

  it("LEARN: approve then revert → allowance unchanged", async () => {
    await expectRolledBack({ target: LEARN_ADDRESS, data: enc(learnI, "approve", [ESCROW_ADDRESS, parseEther("5")]) });
  });

  it("NFT registry: createCollection then revert → no collection, the address stays free", async () => {
    const next = (await registry.collectionCount()) + 1n;
    await expectRolledBack(cases[2].byAttacker());
    expect(await registry.collectionCount()).toBe(next - 1n);
    expect(await registry.isCollection(`0x000000000000000000000a03${next.toString(16).padStart(16, "0")}`)).toBe(false);
  });

  it("NFT collection: mint then revert → no token, supply unchanged", async () => {
    const supply = (await attackerCollection.totalSupply()) as bigint;
    await expectRolledBack(cases[3].byAttacker());
    expect(await attackerCollection.totalSupply()).toBe(supply);
    await expectRevert(() => attackerCollection.ownerOf(supply + 1n), errors);
  });

  it("Escrow: create (AZR) then revert → no escrow, the AZR stays with the contract", async () => {
    const create = enc(escrowI, "create", [
      bob.address,
      carol.address,
      ZERO_ADDRESS,
      parseEther("3"),
      deadline,
      `0x${"55".repeat(32)}`,
    ]);
    await expectRolledBack({ target: ESCROW_ADDRESS, data: create, value: parseEther("3") });
  });

  it("Escrow: release then revert → still Active, nobody paid", async () => {
    await expectRolledBack(cases[4].byAttacker());
    expect((await escrow.escrows(attackerEscrowId))[7]).toBe(1n);
  });

  it("Escrow: create (LEARN, pulled by allowance) then revert → LEARN and the allowance unchanged", async () => {
    const approve = enc(learnI, "approve", [ESCROW_ADDRESS, parseEther("10")]);
    expect((await send(attackerCall("callModule", [LEARN_ADDRESS, approve, 0n, 0n, true]))).status).toBe(1);
    const create = enc(escrowI, "create", [
      bob.address,
      carol.address,
      LEARN_ADDRESS,
      parseEther("10"),
      deadline,
      `0x${"66".repeat(32)}`,
    ]);
    await expectRolledBack({ target: ESCROW_ADDRESS, data: create });
    expect(await learn.allowance(attackerAddress, ESCROW_ADDRESS)).toBe(parseEther("10"));
  });
});

describe("a revert in the calling contract reverts the market's and the registry's changes too", () => {
  async function expectRolledBack(call: Call): Promise<void> {
    const e = await expectRevert(
      () => ethCall(attackerCall("callThenRevert", [call.target, call.data, call.value ?? 0n])),
      errors,
    );
    expect(e.name).toBe("AfterCall");
    expect(e.args[0], `inner call succeeded: ${reasonOf(e.args[1] as string)}`).toBe(true);
    const r = await send(attackerCall("callThenRevert", [call.target, call.data, call.value ?? 0n]));
    expect(r.status).toBe(0);
    expect(r.logs).toHaveLength(0);
    await expectOnlyFee(r);
  }

  it("Job market: addStake then revert → the stake and the contract's AZR unchanged", async () => {
    await expectRolledBack({ target: MARKET_ADDRESS, data: enc(marketI, "addStake", []), value: parseEther("2") });
  });

  it("Job market: post (AZR) then revert → no job, the escrow stays with the contract", async () => {
    const spec = [
      MARKET_KIND,
      "ipfs://s",
      `0x${"00".repeat(32)}`,
      ZERO_ADDRESS,
      100n,
      1n,
      60n,
      60n,
      60n,
      0n,
      ZERO_ADDRESS,
    ];
    await expectRolledBack({ target: MARKET_ADDRESS, data: enc(marketI, "post", [spec]), value: 101n });
  });

  it("Model registry: registerModel then revert → not registered", async () => {
    await expectRolledBack(cases[6].byAttacker());
    expect(await models.isRegistered(modelId(attackerAddress))).toBe(false);
  });
});

describe("too little gas fails without a state change", () => {
  /** The least gas the attacker must forward for `call` to succeed (eth_call binary search). */
  async function minimalGas(call: Call): Promise<bigint> {
    const works = async (g: bigint) => {
      try {
        await ethCall(attackerCall("callModule", [call.target, call.data, call.value ?? 0n, g, true]));
        return true;
      } catch {
        return false;
      }
    };
    let lo = 1n;
    let hi = 3_000_000n;
    expect(await works(hi)).toBe(true);
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      if (await works(mid)) hi = mid;
      else lo = mid + 1n;
    }
    return lo;
  }

  for (const c of cases) {
    it(`${c.name}: one gas short of the need (the module runs out after its writes) and a tiny budget both fail cleanly`, async () => {
      const call = c.byAttacker();
      const need = await minimalGas(call);
      expect(need).toBeGreaterThan(700n);
      for (const g of [need - 1n, 800n]) {
        const r = await send(attackerCall("callModule", [call.target, call.data, call.value ?? 0n, g, false]));
        expect(r.status, `gas ${g}`).toBe(1);
        expect(resultOf(r).ok, `gas ${g}`).toBe(false);
        expect(r.logs.filter((l) => l.address.toLowerCase() !== attackerAddress)).toHaveLength(0);
        await expectOnlyFee(r);
      }
    });

    it(`${c.name}: a transaction whose gas limit covers little more than its intrinsic cost fails (status 0)`, async () => {
      const call = c.bySender();
      await ethCall(call); // control
      const bytes = Buffer.from(call.data.slice(2), "hex");
      const zeros = bytes.filter((b) => b === 0).length;
      const nonZeros = bytes.length - zeros;
      const standard = 21_000n + 4n * BigInt(zeros) + 16n * BigInt(nonZeros);
      const floor = 21_000n + 10n * BigInt(zeros + 4 * nonZeros); // EIP-7623
      const gas = standard + 1_500n > floor ? standard + 1_500n : floor;
      const r = await send(call, gas);
      expect(r.status).toBe(0);
      expect(r.gasUsed).toBe(gas);
      await expectOnlyFee(r);
    });
  }

  it("Escrow: an AZR create one gas short fails and the value goes back to the calling contract", async () => {
    const create = enc(escrowI, "create", [
      bob.address,
      carol.address,
      ZERO_ADDRESS,
      parseEther("4"),
      deadline,
      `0x${"77".repeat(32)}`,
    ]);
    const call = { target: ESCROW_ADDRESS, data: create, value: parseEther("4") };
    const need = await minimalGas(call);
    const r = await send(attackerCall("callModule", [call.target, call.data, call.value, need - 1n, false]));
    expect(r.status).toBe(1);
    expect(resultOf(r).ok).toBe(false);
    await expectOnlyFee(r);
  });
});

describe("the NFT collection address range", () => {
  const unassigned = async () => {
    const count = (await registry.collectionCount()) as bigint;
    const a = `0x000000000000000000000a03${(count + 1000n).toString(16).padStart(16, "0")}`;
    expect(await registry.isCollection(a)).toBe(false);
    return a;
  };

  it("an address in the range that no collection holds yet refuses every call, with or without value", async () => {
    const target = await unassigned();
    for (const data of [enc(collectionI, "name", []), enc(collectionI, "mint", [bob.address, CERT_URI]), "0x"]) {
      await expectRevert(() => ethCall({ target, data }), errors);
      await expectRevert(() => ethCall({ target, data, value: 1n }), errors);
    }
    const r = await send({ target, data: enc(collectionI, "name", []), value: parseEther("1") }, 100_000n);
    expect(r.status).toBe(0);
    await expectOnlyFee(r);
  });

  it("a plain AZR transfer (no calldata) to an unassigned collection address is refused, as eth_call predicts", async () => {
    const target = await unassigned();
    // The VM (eth_call, eth_estimateGas) runs the collection precompile, which reverts.
    await expectRevert(() => ethCall({ target, data: "0x", value: parseEther("1") }), errors);
    await expectRevert(() => provider.estimateGas({ from: alice.address, to: target, value: parseEther("1") }), errors);
    // Mined, the transaction must fail the same way and the AZR stay with the sender.
    const r = await send({ target, data: "0x", value: parseEther("1") }, 100_000n);
    expect(r.status, "mined as a plain transfer: the AZR is stranded at a collection address").toBe(0);
    await expectOnlyFee(r);
    expect(await provider.getBalance(target)).toBe(0n);
  });
});
