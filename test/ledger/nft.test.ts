import {
  type Contract,
  ContractFactory,
  getAddress,
  getBytes,
  Interface,
  type InterfaceAbi,
  type JsonRpcProvider,
  type TransactionReceipt,
  Wallet,
  ZeroAddress,
  zeroPadValue,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import {
  abiWithErrors,
  collectionAddress,
  contractAt,
  deployContract,
  expectRevert,
  ledgerProvider,
  NFT_REGISTRY_ADDRESS,
  rpcCall,
  sendTx,
} from "./helpers.js";

/**
 * The NFT registry (0x…0A03) and native collections through JSON-RPC with ethers v6, using the
 * ABIs the build generated from contracts/interfaces/INFTRegistry.sol and IAzoraCollection.sol
 * (plus OpenZeppelin's IERC721Errors, taken from the compiled TestNFT, to decode refusals). The
 * ERC-721 behaviour itself is checked against OpenZeppelin in erc721Conformance.test.ts; this file
 * covers the registry, addresses, events as indexers read them, the native-only rules and gas.
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

const CID = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
/** Explicit gas for transactions meant to fail (ethers would refuse them at estimateGas). */
const FAILING_TX_GAS = 1_000_000n;
const NOT_A_COLLECTION = "NFTCollection: no collection at this address";

let node: Node;
let provider: JsonRpcProvider;
let alice: Wallet;
let bob: Wallet;
let carol: Wallet;
let royalty: string;
let registry: Contract;
let regIface: Interface;
let colIface: Interface;
let first: string; // collection 1: alice's, 250 bps
let second: string; // collection 2: bob's, no royalty

const topicOf = (a: string) => zeroPadValue(a, 32).toLowerCase();
const lower = (a: string) => a.toLowerCase();
const collection = (address: string, w: Wallet = alice) => contractAt(address, "IAzoraCollection", w, "TestNFT");

/** Sends `fn(args)` to `to` with an explicit gas limit, so failures are mined (status 0) rather than refused. */
function send(w: Wallet, to: string, iface: Interface, fn: string, args: unknown[], value = 0n) {
  return sendTx(w, { to, data: iface.encodeFunctionData(fn, args), gasLimit: FAILING_TX_GAS, value });
}

/** eth_call of `fn(args)` from `from` that must revert; its decoded error. */
function callRevert(to: string, iface: Interface, fn: string, args: unknown[], from?: string) {
  return expectRevert(() => provider.call({ from, to, data: iface.encodeFunctionData(fn, args) }), iface);
}

/** What a refusal in collection `c` must leave unchanged. */
async function collectionState(c: string) {
  const token = collection(c);
  const ids = [1n, 2n, 3n, 4n, 5n];
  return Promise.all([
    token.totalSupply(),
    Promise.all(ids.map((id) => token.ownerOf(id).catch(() => "none"))),
    Promise.all(ids.map((id) => token.getApproved(id).catch(() => "none"))),
    Promise.all([alice, bob, carol].map((w) => token.balanceOf(w.address))),
  ]);
}

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  [alice, bob, carol] = DEV_KEYS.slice(0, 3).map((k) => new Wallet(k, provider));
  royalty = new Wallet(DEV_KEYS[5]).address;
  registry = contractAt(NFT_REGISTRY_ADDRESS, "INFTRegistry", alice);
  regIface = new Interface(abiWithErrors("INFTRegistry"));
  colIface = new Interface(abiWithErrors("IAzoraCollection", "TestNFT"));
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

describe("NFT registry (0x…0A03)", () => {
  it("starts empty, with marker code and nonce 1 at its address", async () => {
    expect(await provider.getCode(NFT_REGISTRY_ADDRESS)).toBe("0xfe");
    expect(await provider.getTransactionCount(NFT_REGISTRY_ADDRESS)).toBe(1);
    expect(await registry.collectionCount()).toBe(0n);
    expect(await registry.collectionAt(0n)).toBe(ZeroAddress);
    expect(await registry.collectionAt(1n)).toBe(ZeroAddress);
    expect(await registry.isCollection(collectionAddress(1))).toBe(false);
    expect(await provider.getCode(collectionAddress(1))).toBe("0x");
  });

  it("creates collection 1 at 0x…0a03 0000000000000001, owned by its creator, with CollectionCreated", async () => {
    expect(collectionAddress(1)).toBe("0x000000000000000000000a030000000000000001");
    expect(lower(await registry.createCollection.staticCall("Azora Courses", "AZC", royalty, 250n))).toBe(
      collectionAddress(1),
    );
    const r = (await (
      await registry.createCollection("Azora Courses", "AZC", royalty, 250n)
    ).wait()) as TransactionReceipt;
    first = collectionAddress(1);
    expect(r.logs).toHaveLength(1);
    const log = r.logs[0];
    expect(lower(log.address)).toBe(NFT_REGISTRY_ADDRESS);
    const created = regIface.getEvent("CollectionCreated")!;
    expect(log.topics).toEqual([created.topicHash, topicOf(first), topicOf(alice.address)]);
    const parsed = regIface.parseLog(log)!;
    expect([...parsed.args]).toEqual([getAddress(first), alice.address, "Azora Courses", "AZC"]);

    expect(await registry.collectionCount()).toBe(1n);
    expect(lower(await registry.collectionAt(1n))).toBe(first);
    expect(await registry.isCollection(first)).toBe(true);
    // Solidity's extcodesize check passes; the nonce keeps the account from ever looking empty.
    expect(await provider.getCode(first)).toBe("0xfe");
    expect(await provider.getTransactionCount(first)).toBe(1);
    const c = collection(first);
    expect(await c.owner()).toBe(alice.address);
    expect(await c.name()).toBe("Azora Courses");
    expect(await c.symbol()).toBe("AZC");
    expect(await c.totalSupply()).toBe(0n);
  });

  it("numbers collections sequentially; each belongs to its own creator", async () => {
    const r = await send(bob, NFT_REGISTRY_ADDRESS, regIface, "createCollection", [
      "Bob's Lab",
      "LAB",
      ZeroAddress,
      0n,
    ]);
    expect(r.status).toBe(1);
    second = collectionAddress(2);
    expect(await registry.collectionCount()).toBe(2n);
    expect(lower(await registry.collectionAt(2n))).toBe(second);
    expect(await registry.collectionAt(3n)).toBe(ZeroAddress);
    expect(await registry.collectionAt(2n ** 64n + 1n)).toBe(ZeroAddress);
    expect(await collection(second).owner()).toBe(bob.address);
    // Only addresses the registry assigned are collections.
    for (const a of [collectionAddress(0), collectionAddress(3), NFT_REGISTRY_ADDRESS, alice.address]) {
      expect(await registry.isCollection(a), a).toBe(false);
    }
  });

  it("CollectionCreated is found with eth_getLogs by registry address and indexed owner", async () => {
    const created = regIface.getEvent("CollectionCreated")!.topicHash;
    const logs = await rpcCall<{ address: string; topics: string[] }[]>(node.url, "eth_getLogs", [
      {
        address: NFT_REGISTRY_ADDRESS,
        fromBlock: "0x0",
        toBlock: "latest",
        topics: [created, null, topicOf(bob.address)],
      },
    ]);
    expect(logs).toHaveLength(1);
    expect(logs[0].topics[1]).toBe(topicOf(second));
    const all = await provider.getLogs({ address: NFT_REGISTRY_ADDRESS, fromBlock: 0, topics: [created] });
    expect(all.map((l) => regIface.parseLog(l)!.args.symbol)).toEqual(["AZC", "LAB"]);
  });

  it("refuses empty or over-long names and symbols, and royalties over 100 % or without a receiver", async () => {
    const cases: [unknown[], { name: string; args: unknown[] }][] = [
      [["", "SYM", royalty, 0n], { name: "RegistryInvalidName", args: [] }],
      [["x".repeat(65), "SYM", royalty, 0n], { name: "RegistryInvalidName", args: [] }],
      // Bounds are UTF-8 bytes: 33 two-byte characters are 66 bytes.
      [["é".repeat(33), "SYM", royalty, 0n], { name: "RegistryInvalidName", args: [] }],
      [["Name", "", royalty, 0n], { name: "RegistryInvalidName", args: [] }],
      [["Name", "S".repeat(33), royalty, 0n], { name: "RegistryInvalidName", args: [] }],
      [["Name", "SYM", royalty, 10_001n], { name: "RegistryInvalidRoyalty", args: [10_001n] }],
      [["Name", "SYM", ZeroAddress, 1n], { name: "RegistryInvalidRoyalty", args: [1n] }],
    ];
    for (const [args, expected] of cases) {
      expect(await callRevert(NFT_REGISTRY_ADDRESS, regIface, "createCollection", args, alice.address)).toMatchObject(
        expected,
      );
      const r = await send(alice, NFT_REGISTRY_ADDRESS, regIface, "createCollection", args);
      expect(r.status).toBe(0);
      expect(await registry.collectionCount()).toBe(2n);
      expect(await provider.getCode(collectionAddress(3))).toBe("0x");
    }
    // The bounds themselves are accepted: 64-byte name, 32-byte symbol, 100 % royalty.
    expect(lower(await registry.createCollection.staticCall("é".repeat(32), "S".repeat(32), royalty, 10_000n))).toBe(
      collectionAddress(3),
    );
  });

  it("createCollection is not payable", async () => {
    const r = await send(alice, NFT_REGISTRY_ADDRESS, regIface, "createCollection", ["N", "S", royalty, 0n], 1n);
    expect(r.status).toBe(0);
    expect(await registry.collectionCount()).toBe(2n);
  });

  it("a createCollection that runs out of gas half-way leaves no account, code or count behind", async () => {
    const args = ["Half Way", "HALF", royalty, 100n];
    const estimate = await registry.createCollection.estimateGas(...args);
    // Short by a few thousand: the account is created early, the final event can no longer be paid.
    const r = await sendTx(alice, {
      to: NFT_REGISTRY_ADDRESS,
      data: regIface.encodeFunctionData("createCollection", args),
      gasLimit: estimate - 3_000n,
    });
    expect(r.status).toBe(0);
    expect(await registry.collectionCount()).toBe(2n);
    expect(await provider.getCode(collectionAddress(3))).toBe("0x");
    expect(await provider.getTransactionCount(collectionAddress(3))).toBe(0);
    expect(await registry.isCollection(collectionAddress(3))).toBe(false);
  });
});

describe("native collections", () => {
  it("answer ERC-165 for ERC-165, ERC-721, ERC-721 Metadata and ERC-2981, and not for 0xffffffff", async () => {
    const c = collection(first);
    for (const id of ["0x01ffc9a7", "0x80ac58cd", "0x5b5e139f", "0x2a55205a"])
      expect(await c.supportsInterface(id)).toBe(true);
    for (const id of ["0xffffffff", "0x00000000", "0x49064906"]) expect(await c.supportsInterface(id)).toBe(false);
  });

  it("mint: ids from 1 per collection, Transfer from the collection address in the receipt", async () => {
    const c = collection(first);
    expect(await c.mint.staticCall(bob.address, `${CID}/1.json`)).toBe(1n);
    const r = (await (await c.mint(bob.address, `${CID}/1.json`)).wait()) as TransactionReceipt;
    expect(r.logs).toHaveLength(1);
    expect(lower(r.logs[0].address)).toBe(first);
    const transfer = colIface.getEvent("Transfer")!.topicHash;
    expect(r.logs[0].topics).toEqual([transfer, topicOf(ZeroAddress), topicOf(bob.address), zeroPadValue("0x01", 32)]);
    expect(r.logs[0].data).toBe("0x");
    await (await c.mint(carol.address, `${CID}/2.json`)).wait();
    // Collection 2 numbers its own tokens from 1.
    await (await collection(second, bob).mint(bob.address, `${CID}/b1.json`)).wait();
    expect(await c.ownerOf(1n)).toBe(bob.address);
    expect(await c.ownerOf(2n)).toBe(carol.address);
    expect(await collection(second).ownerOf(1n)).toBe(bob.address);
    expect(await c.balanceOf(bob.address)).toBe(1n);
    expect(await c.totalSupply()).toBe(2n);
    expect(await collection(second).totalSupply()).toBe(1n);
    expect(await c.tokenURI(2n)).toBe(`${CID}/2.json`);
  });

  it("eth_getLogs by collection address returns that collection's events only", async () => {
    const transfer = colIface.getEvent("Transfer")!.topicHash;
    const ofFirst = await provider.getLogs({ address: first, fromBlock: 0, topics: [transfer] });
    expect(ofFirst.map((l) => colIface.parseLog(l)!.args.tokenId)).toEqual([1n, 2n]);
    const toBob = await rpcCall<unknown[]>(node.url, "eth_getLogs", [
      { address: [first, second], fromBlock: "0x0", toBlock: "latest", topics: [transfer, null, topicOf(bob.address)] },
    ]);
    expect(toBob).toHaveLength(2);
    expect(await provider.getLogs({ address: collectionAddress(9), fromBlock: 0 })).toHaveLength(0);
  });

  it("approve, setApprovalForAll, getApproved, isApprovedForAll, transferFrom and both safeTransferFroms", async () => {
    const asBob = collection(first, bob);
    let r = (await (await asBob.approve(carol.address, 1n)).wait()) as TransactionReceipt;
    expect(colIface.parseLog(r.logs[0])!.name).toBe("Approval");
    expect(lower(r.logs[0].address)).toBe(first);
    expect(await asBob.getApproved(1n)).toBe(carol.address);
    r = (await (await asBob.setApprovalForAll(alice.address, true)).wait()) as TransactionReceipt;
    expect([...colIface.parseLog(r.logs[0])!.args]).toEqual([bob.address, alice.address, true]);
    expect(await asBob.isApprovedForAll(bob.address, alice.address)).toBe(true);
    // carol (approved) moves token 1 to herself; the approval is cleared.
    await (await collection(first, carol).transferFrom(bob.address, carol.address, 1n)).wait();
    expect(await asBob.ownerOf(1n)).toBe(carol.address);
    expect(await asBob.getApproved(1n)).toBe(ZeroAddress);
    const asCarol = collection(first, carol);
    await (await asCarol["safeTransferFrom(address,address,uint256)"](carol.address, bob.address, 1n)).wait();
    await (
      await asCarol["safeTransferFrom(address,address,uint256,bytes)"](carol.address, bob.address, 2n, "0x1234")
    ).wait();
    expect(await asCarol.balanceOf(bob.address)).toBe(2n);
    expect(await asCarol.balanceOf(carol.address)).toBe(0n);
  });

  it("refuses an unauthorised mint, a transfer and a burn by a stranger, missing tokens; nothing changes", async () => {
    // owners: 1 bob, 2 bob; alice is bob's operator.
    const before = await collectionState(first);
    const cases: [Wallet, string, unknown[], { name: string; args: unknown[] }][] = [
      [bob, "mint", [bob.address, `${CID}/x.json`], { name: "CollectionUnauthorized", args: [bob.address] }],
      [
        alice,
        "mint",
        [bob.address, "https://example.com/x.json"],
        { name: "CollectionInvalidURI", args: ["https://example.com/x.json"] },
      ],
      [
        carol,
        "transferFrom",
        [bob.address, carol.address, 1n],
        { name: "ERC721InsufficientApproval", args: [carol.address, 1n] },
      ],
      [carol, "burn", [2n], { name: "ERC721InsufficientApproval", args: [carol.address, 2n] }],
      [bob, "burn", [7n], { name: "ERC721NonexistentToken", args: [7n] }],
      [bob, "transferFrom", [bob.address, carol.address, 7n], { name: "ERC721NonexistentToken", args: [7n] }],
      [bob, "approve", [carol.address, 7n], { name: "ERC721NonexistentToken", args: [7n] }],
    ];
    for (const [w, fn, args, expected] of cases) {
      expect(await callRevert(first, colIface, fn, args, w.address), fn).toEqual({
        ...expected,
        data: expect.any(String),
      });
      expect((await send(w, first, colIface, fn, args)).status, fn).toBe(0);
    }
    expect(await collectionState(first)).toEqual(before);
    for (const fn of ["ownerOf", "tokenURI", "getApproved"]) {
      expect(await callRevert(first, colIface, fn, [7n])).toMatchObject({ name: "ERC721NonexistentToken", args: [7n] });
    }
    // Value is refused: no function of a collection is payable.
    expect((await send(alice, first, colIface, "mint", [bob.address, `${CID}/v.json`], 1n)).status).toBe(0);
    expect(await collection(first).totalSupply()).toBe(before[0]);
  });

  it("safeTransferFrom: a refusing Receiver reverts with ERC721InvalidReceiver and changes nothing; an accepting one gets the call", async () => {
    const refusing = (await deployContract(alice, "Receiver", [false])).address;
    const accepting = (await deployContract(alice, "Receiver", [true])).address;
    const before = await collectionState(first);
    const args = [bob.address, refusing, 1n, "0xbeef"];
    const fn = "safeTransferFrom(address,address,uint256,bytes)";
    expect(await callRevert(first, colIface, fn, args, bob.address)).toMatchObject({
      name: "ERC721InvalidReceiver",
      args: [getAddress(refusing)],
    });
    expect((await send(bob, first, colIface, fn, args)).status).toBe(0);
    expect(await collectionState(first)).toEqual(before);

    const r = await send(bob, first, colIface, fn, [bob.address, accepting, 1n, "0xbeef"]);
    expect(r.status).toBe(1);
    const receiverIface = new Interface(abiWithErrors("Receiver"));
    expect(r.logs.map((l) => lower(l.address))).toEqual([first, accepting]);
    // The receiver was called by the collection (its msg.sender) with operator, from, id and data.
    expect([...receiverIface.parseLog(r.logs[1])!.args]).toEqual([bob.address, bob.address, 1n, "0xbeef"]);
    expect(lower(await collection(first).ownerOf(1n))).toBe(accepting);
    // A mint into the refusing receiver is refused too, and uses no id.
    expect(await callRevert(first, colIface, "mint", [refusing, `${CID}/3.json`], alice.address)).toMatchObject({
      name: "ERC721InvalidReceiver",
    });
    expect(await collection(first).mint.staticCall(bob.address, `${CID}/3.json`)).toBe(3n);
  });

  it("burn by the owner: Transfer to 0, supply and balance down, the token gone", async () => {
    const asBob = collection(first, bob);
    const r = (await (await asBob.burn(2n)).wait()) as TransactionReceipt;
    expect([...colIface.parseLog(r.logs[0])!.args]).toEqual([bob.address, ZeroAddress, 2n]);
    expect(await asBob.totalSupply()).toBe(1n);
    expect(await asBob.balanceOf(bob.address)).toBe(0n);
    expect(await callRevert(first, colIface, "ownerOf", [2n])).toMatchObject({ name: "ERC721NonexistentToken" });
  });

  it("royaltyInfo pays the collection's receiver salePrice × bps / 10000 (none for a 0-bps collection)", async () => {
    const [receiver, amount] = await collection(first).royaltyInfo(1n, 1_000_000n);
    expect([receiver, amount]).toEqual([royalty, 25_000n]);
    expect([...(await collection(second).royaltyInfo(1n, 1_000_000n))]).toEqual([ZeroAddress, 0n]);
  });

  it("an address of the range the registry never assigned reverts on every call, and stays empty", async () => {
    for (const unassigned of [collectionAddress(0), collectionAddress(3), collectionAddress(2n ** 64n - 1n)]) {
      for (const [fn, args] of [
        ["balanceOf", [bob.address]],
        ["name", []],
        ["owner", []],
        ["totalSupply", []],
        ["supportsInterface", ["0x80ac58cd"]],
        ["isApprovedForAll", [bob.address, alice.address]],
        ["royaltyInfo", [1n, 100n]],
      ] as [string, unknown[]][]) {
        expect(await callRevert(unassigned, colIface, fn, args), `${fn} at ${unassigned}`).toMatchObject({
          name: "Error",
          args: [NOT_A_COLLECTION],
        });
      }
      // Functions naming a token find none.
      expect(await callRevert(unassigned, colIface, "ownerOf", [1n])).toMatchObject({ name: "ERC721NonexistentToken" });
      for (const [fn, args] of [
        ["mint", [alice.address, `${CID}/1.json`]],
        ["setApprovalForAll", [bob.address, true]],
        ["transferFrom", [alice.address, bob.address, 1n]],
      ] as [string, unknown[]][]) {
        expect((await send(alice, unassigned, colIface, fn, args)).status, fn).toBe(0);
      }
      expect(await provider.getCode(unassigned)).toBe("0x");
      expect(await provider.getTransactionCount(unassigned)).toBe(0);
    }
    // Outside the range (here 0x…0b03<n>) an address is an ordinary empty account.
    const outside = "0x000000000000000000000b030000000000000001";
    expect(await provider.call({ to: outside, data: colIface.encodeFunctionData("name", []) })).toBe("0x");
  });
});

describe("gas: native collection vs OpenZeppelin ERC721 (ConformanceNFT) in the same node", () => {
  it("charges the README's gas table, and less than OZ to create, mint, approve and transfer to a new holder", async () => {
    const artifact = loadArtifact("ConformanceNFT");
    const factory = new ContractFactory(artifact.abi as InterfaceAbi, artifact.bytecode, alice);
    const deployed = await factory.deploy("Course Certificates", "CERT", royalty, 250n);
    const deployment = (await deployed.deploymentTransaction()?.wait()) as TransactionReceipt;
    const oz = lower(await deployed.getAddress());
    const native = collectionAddress(3);
    const created = await send(alice, NFT_REGISTRY_ADDRESS, regIface, "createCollection", [
      "Course Certificates",
      "CERT",
      royalty,
      250n,
    ]);
    expect([deployment.status, created.status]).toEqual([1, 1]);
    const uri = `${CID}/gas.json`; // 75 bytes, 68 after `ipfs://`: 3 words
    // [step, sender, function, args, native execution gas as runtime/modules/nft/README.md computes it]
    const steps: [string, Wallet, string, unknown[], bigint][] = [
      ["mint (first token of an owner)", alice, "mint", [bob.address, uri], 28_175n + 3n * 5_200n],
      ["mint (owner already holds one)", alice, "mint", [bob.address, uri], 28_175n + 3n * 5_200n],
      ["approve", bob, "approve", [carol.address, 1n], 10_675n],
      ["setApprovalForAll", bob, "setApprovalForAll", [carol.address, true], 10_556n],
      [
        "transferFrom by the approved, to a new holder",
        carol,
        "transferFrom",
        [bob.address, carol.address, 1n],
        27_975n + 5_000n,
      ],
      ["transferFrom by the owner, to a holder", bob, "transferFrom", [bob.address, carol.address, 2n], 27_975n],
      [
        "safeTransferFrom to an account without code",
        carol,
        "safeTransferFrom(address,address,uint256)",
        [carol.address, bob.address, 1n],
        27_975n + 2_100n,
      ],
      ["burn", bob, "burn", [1n], 27_975n],
    ];
    // Execution gas: what the receipt says minus the transaction's intrinsic 21,000 and calldata.
    const execution = (gasUsed: bigint, data: string) =>
      gasUsed - 21_000n - getBytes(data).reduce((g, b) => g + (b === 0 ? 4n : 16n), 0n);
    const createData = regIface.encodeFunctionData("createCollection", ["Course Certificates", "CERT", royalty, 250n]);
    // 25,700 + count 7,100 + header and royalty 10,000 + name and symbol 2 × 10,200 + log 1,500 + 8 × 192 + 200
    expect(execution(created.gasUsed, createData)).toBe(66_436n);
    const rows = [{ step: "deploy / createCollection", oz: deployment.gasUsed, native: created.gasUsed }];
    for (const [step, w, fn, args, expected] of steps) {
      const data = colIface.encodeFunctionData(fn, args);
      const ozR = await sendTx(w, { to: oz, data });
      const nativeR = await sendTx(w, { to: native, data });
      expect([ozR.status, nativeR.status], step).toEqual([1, 1]);
      expect(execution(nativeR.gasUsed, data), step).toBe(expected);
      rows.push({ step, oz: ozR.gasUsed, native: nativeR.gasUsed });
    }
    console.info(
      rows
        .map((r) => `${r.step}: OZ ${r.oz}, native ${r.native} (${(Number(r.oz) / Number(r.native)).toFixed(2)}x)`)
        .join("\n"),
    );
    const gas = Object.fromEntries(rows.map((r) => [r.step, r]));
    expect(gas["deploy / createCollection"].native * 10n).toBeLessThan(gas["deploy / createCollection"].oz);
    expect(gas["mint (first token of an owner)"].native * 2n).toBeLessThan(gas["mint (first token of an owner)"].oz);
    for (const step of ["approve", "setApprovalForAll", "transferFrom by the approved, to a new holder"]) {
      expect(gas[step].native, step).toBeLessThan(gas[step].oz);
    }
  });
});
