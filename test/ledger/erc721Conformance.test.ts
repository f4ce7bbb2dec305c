import {
  Contract,
  Interface,
  type InterfaceAbi,
  type JsonRpcProvider,
  type Log,
  type TransactionReceipt,
  Wallet,
  ZeroAddress,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import {
  abiOf,
  abiWithErrors,
  contractAt,
  deployContract,
  expectRevert,
  ledgerProvider,
  NFT_REGISTRY_ADDRESS,
  sendTx,
} from "./helpers.js";

/**
 * One ERC-721 conformance suite, run twice with identical expectations: against OpenZeppelin 5's
 * ERC721 + ERC2981 deployed as a contract (contracts/examples/ConformanceNFT.sol) and against a
 * native collection created by the registry (runtime/modules/nft). Both are driven through the
 * IAzoraCollection ABI over JSON-RPC with ethers. Every step's events and revert are recorded with
 * addresses replaced by names, and the two transcripts must be equal at the end: whatever the
 * individual assertions do not pin down must match too.
 */

type Node = Awaited<ReturnType<typeof startInProcessNode>>;

/** What the suite needs of a token: where it is, its ABI, and how its owner mints. */
interface Subject {
  address: string;
  abi: InterfaceAbi;
  mint(to: string, uri: string): Promise<TransactionReceipt>;
}

/** One step as seen from outside: events (emitter, name, args) or the revert (name, args). */
type Step = { step: string; events?: unknown[][]; revert?: { name: string; args: unknown } };

const NAME = "Course Certificates";
const SYMBOL = "CERT";
const ROYALTY_BPS = 500n;
const uri = (n: number) => `ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/${n}.json`;
/** Explicit gas for transactions meant to fail (ethers would refuse them at estimateGas). */
const FAILING_TX_GAS = 1_000_000n;
/** ConformanceReceiver.Mode */
const Mode = {
  Accept: 0,
  WrongValue: 1,
  RevertEmpty: 2,
  RevertReason: 3,
  RevertCustom: 4,
  ShortAnswer: 5,
  DirtyAnswer: 6,
  Forward: 7,
} as const;

let node: Node;
let provider: JsonRpcProvider;
let alice: Wallet; // owner of both collections, the minter
let bob: Wallet;
let carol: Wallet;
let dave: Wallet;
let eve: Wallet;
let royalty: string;
let accepting: string; // Receiver(true)
let refusing: string; // Receiver(false)
let noHook: string; // Probe: no onERC721Received, no fallback
let probe: Contract; // ConformanceReceiver
let probeAddress: string;
const names = new Map<string, string>();
const transcripts = new Map<string, Step[]>();

const eventIfaces = () => [new Interface(abiOf("Receiver")), new Interface(abiOf("ConformanceReceiver"))];

/** Addresses → names (so two subjects' transcripts compare); recursive over arrays. */
function named(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(named);
  if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return names.get(v.toLowerCase()) ?? v;
  return v;
}

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  [alice, bob, carol, dave, eve] = DEV_KEYS.slice(0, 5).map((k) => new Wallet(k, provider));
  royalty = new Wallet(DEV_KEYS[5]).address;
  accepting = (await deployContract(alice, "Receiver", [true])).address;
  refusing = (await deployContract(alice, "Receiver", [false])).address;
  noHook = (await deployContract(alice, "Probe")).address;
  ({ contract: probe, address: probeAddress } = await deployContract(alice, "ConformanceReceiver"));
  const entries: [string, string][] = [
    [ZeroAddress, "zero"],
    [alice.address, "alice"],
    [bob.address, "bob"],
    [carol.address, "carol"],
    [dave.address, "dave"],
    [eve.address, "eve"],
    [royalty, "royalty"],
    [accepting, "accepting"],
    [refusing, "refusing"],
    [noHook, "noHook"],
    [probeAddress, "probe"],
  ];
  for (const [a, n] of entries) names.set(a.toLowerCase(), n);
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

function erc721Conformance(label: string, setup: () => Promise<Subject>): void {
  describe(label, () => {
    let s: Subject;
    let iface: Interface;
    let token: Contract;
    const transcript: Step[] = [];
    transcripts.set(label, transcript);

    beforeAll(async () => {
      s = await setup();
      names.set(s.address.toLowerCase(), "token");
      iface = new Interface(s.abi);
      token = new Contract(s.address, iface, provider);
    });

    function eventsOf(r: TransactionReceipt): unknown[][] {
      return r.logs.map((log: Log) => {
        const emitter = log.address.toLowerCase();
        const parsers = emitter === s.address.toLowerCase() ? [iface] : eventIfaces();
        for (const p of parsers) {
          const parsed = p.parseLog(log);
          if (parsed !== null) return [named(emitter), parsed.name, named([...parsed.args])];
        }
        return [named(emitter), "unknown", log.topics, log.data];
      });
    }

    /** Sends `fn(args)` from `w` (gas estimated by the node, as a wallet would); must succeed. Returns its events. */
    async function ok(step: string, w: Wallet, fn: string, args: unknown[]): Promise<unknown[][]> {
      const tx = await (token.connect(w) as Contract)[fn](...args);
      const r = (await tx.wait()) as TransactionReceipt;
      expect(r.status, step).toBe(1);
      const events = eventsOf(r);
      transcript.push({ step, events });
      return events;
    }

    /** Everything a refusal must leave as it was. */
    async function snapshot(): Promise<unknown> {
      const lastId = 12n;
      const ids = Array.from({ length: Number(lastId) }, (_, i) => BigInt(i + 1));
      const holders = [alice, bob, carol, dave, eve].map((w) => w.address).concat([accepting, refusing, probeAddress]);
      const orNone = (p: Promise<unknown>) => p.catch(() => "none");
      return Promise.all([
        token.totalSupply(),
        Promise.all(ids.map((id) => orNone(token.ownerOf(id)))),
        Promise.all(ids.map((id) => orNone(token.getApproved(id)))),
        Promise.all(holders.map((h) => token.balanceOf(h))),
        token.isApprovedForAll(bob.address, carol.address),
        token.isApprovedForAll(eve.address, dave.address),
      ]);
    }

    /**
     * `fn(args)` from `w` must revert: decoded from eth_call, then sent as a transaction that must
     * be mined with status 0 and leave every owner, approval, balance and the supply unchanged.
     */
    async function refused(step: string, w: Wallet, fn: string, args: unknown[]) {
      const data = iface.encodeFunctionData(fn, args);
      const { name, args: errArgs } = await expectRevert(
        () => provider.call({ from: w.address, to: s.address, data }),
        iface,
      );
      const before = await snapshot();
      const r = await sendTx(w, { to: s.address, data, gasLimit: FAILING_TX_GAS });
      expect(r.status, step).toBe(0);
      expect(await snapshot(), step).toEqual(before);
      const revert = { name, args: named(errArgs) };
      transcript.push({ step, revert });
      return revert;
    }

    const configureProbe = async (mode: number, forwardTo: string = ZeroAddress) =>
      (await (probe.connect(alice) as Contract).configure(mode, forwardTo)).wait();

    it("supports exactly ERC-165, ERC-721, ERC-721 Metadata and ERC-2981 (ERC-165)", async () => {
      // An interface id is the XOR of its functions' selectors.
      const interfaceId = (fns: string[]) => {
        const x = fns.reduce((acc, f) => acc ^ Number.parseInt(iface.getFunction(f)!.selector.slice(2), 16), 0);
        return `0x${(x >>> 0).toString(16).padStart(8, "0")}`;
      };
      const erc721 = interfaceId([
        "balanceOf",
        "ownerOf",
        "safeTransferFrom(address,address,uint256,bytes)",
        "safeTransferFrom(address,address,uint256)",
        "transferFrom",
        "approve",
        "setApprovalForAll",
        "getApproved",
        "isApprovedForAll",
      ]);
      const metadata = interfaceId(["name", "symbol", "tokenURI"]);
      expect([erc721, metadata]).toEqual(["0x80ac58cd", "0x5b5e139f"]);
      for (const id of ["0x01ffc9a7", erc721, metadata, "0x2a55205a"])
        expect(await token.supportsInterface(id)).toBe(true);
      // 0xffffffff must be false (ERC-165); ERC-4906, Enumerable and nothing else are claimed.
      for (const id of ["0xffffffff", "0x00000000", "0x49064906", "0x780e9d63", "0x12345678"]) {
        expect(await token.supportsInterface(id), id).toBe(false);
      }
    });

    it("has its name, symbol and owner, and no tokens yet", async () => {
      expect(await token.name()).toBe(NAME);
      expect(await token.symbol()).toBe(SYMBOL);
      expect(await token.owner()).toBe(alice.address);
      expect(await token.totalSupply()).toBe(0n);
      expect(await token.balanceOf(bob.address)).toBe(0n);
    });

    it("mints ids from 1 with Transfer(0, to, id): owner, balance, URI and supply follow", async () => {
      expect(await (token.connect(alice) as Contract).mint.staticCall(bob.address, uri(1))).toBe(1n);
      const r = await s.mint(bob.address, uri(1));
      expect(eventsOf(r)).toEqual([["token", "Transfer", ["zero", "bob", 1n]]]);
      transcript.push({ step: "mint 1", events: eventsOf(r) });
      expect(await ok("mint 2", alice, "mint", [bob.address, uri(2)])).toEqual([
        ["token", "Transfer", ["zero", "bob", 2n]],
      ]);
      expect(await ok("mint 3", alice, "mint", [carol.address, uri(3)])).toEqual([
        ["token", "Transfer", ["zero", "carol", 3n]],
      ]);
      expect(await token.ownerOf(1n)).toBe(bob.address);
      expect(await token.ownerOf(3n)).toBe(carol.address);
      expect(await token.balanceOf(bob.address)).toBe(2n);
      expect(await token.balanceOf(carol.address)).toBe(1n);
      expect(await token.tokenURI(2n)).toBe(uri(2));
      expect(await token.totalSupply()).toBe(3n);
    });

    it("refuses mints by others, URIs that are not bounded ipfs:// URIs and the zero address", async () => {
      expect(await refused("mint by a stranger", dave, "mint", [dave.address, uri(9)])).toEqual({
        name: "CollectionUnauthorized",
        args: ["dave"],
      });
      // Authorisation is checked first.
      expect((await refused("stranger, bad uri", dave, "mint", [ZeroAddress, "x"])).name).toBe(
        "CollectionUnauthorized",
      );
      for (const bad of ["https://example.com/1.json", "ipfs://", "IPFS://bafy", `ipfs://${"a".repeat(250)}`]) {
        expect(await refused(`mint uri ${bad.length}`, alice, "mint", [bob.address, bad])).toEqual({
          name: "CollectionInvalidURI",
          args: [bad],
        });
      }
      expect(await refused("mint to zero", alice, "mint", [ZeroAddress, uri(9)])).toEqual({
        name: "ERC721InvalidReceiver",
        args: ["zero"],
      });
      // 256 bytes is the bound, inclusive.
      const longest = `ipfs://${"a".repeat(249)}`;
      expect(await (token.connect(alice) as Contract).mint.staticCall(bob.address, longest)).toBe(4n);
    });

    it("reverts reads of missing tokens and of the zero owner with OZ's errors", async () => {
      const err = (fn: string, args: unknown[]) =>
        expectRevert(() => provider.call({ to: s.address, data: iface.encodeFunctionData(fn, args) }), iface);
      for (const fn of ["ownerOf", "getApproved", "tokenURI"]) {
        for (const id of [0n, 99n]) {
          expect(await err(fn, [id])).toMatchObject({ name: "ERC721NonexistentToken", args: [id] });
        }
      }
      expect(await err("balanceOf", [ZeroAddress])).toMatchObject({ name: "ERC721InvalidOwner", args: [ZeroAddress] });
    });

    it("approve: Approval(owner, approved, id); only the owner or its operator may approve", async () => {
      expect(await ok("approve eve 1", bob, "approve", [eve.address, 1n])).toEqual([
        ["token", "Approval", ["bob", "eve", 1n]],
      ]);
      expect(await token.getApproved(1n)).toBe(eve.address);
      expect(await refused("approve by a stranger", dave, "approve", [dave.address, 1n])).toEqual({
        name: "ERC721InvalidApprover",
        args: ["dave"],
      });
      // An approved account may move the token but not approve others.
      expect(await refused("approve by the approved", eve, "approve", [dave.address, 1n])).toEqual({
        name: "ERC721InvalidApprover",
        args: ["eve"],
      });
      expect(await refused("approve a missing token", bob, "approve", [eve.address, 99n])).toEqual({
        name: "ERC721NonexistentToken",
        args: [99n],
      });
      await ok("approve dave 2", bob, "approve", [dave.address, 2n]);
      expect(await ok("approve zero 2", bob, "approve", [ZeroAddress, 2n])).toEqual([
        ["token", "Approval", ["bob", "zero", 2n]],
      ]);
      expect(await token.getApproved(2n)).toBe(ZeroAddress);
    });

    it("setApprovalForAll: ApprovalForAll event; operators approve on the owner's behalf", async () => {
      expect(await ok("operator carol", bob, "setApprovalForAll", [carol.address, true])).toEqual([
        ["token", "ApprovalForAll", ["bob", "carol", true]],
      ]);
      expect(await token.isApprovedForAll(bob.address, carol.address)).toBe(true);
      expect(await token.isApprovedForAll(carol.address, bob.address)).toBe(false);
      expect(await refused("operator zero", bob, "setApprovalForAll", [ZeroAddress, true])).toEqual({
        name: "ERC721InvalidOperator",
        args: ["zero"],
      });
      // The operator approves; the event names the owner.
      expect(await ok("operator approves", carol, "approve", [dave.address, 2n])).toEqual([
        ["token", "Approval", ["bob", "dave", 2n]],
      ]);
      expect(await token.getApproved(2n)).toBe(dave.address);
    });

    it("transferFrom refuses strangers, a wrong `from`, the zero receiver and missing tokens", async () => {
      expect(await refused("stranger moves", dave, "transferFrom", [bob.address, dave.address, 1n])).toEqual({
        name: "ERC721InsufficientApproval",
        args: ["dave", 1n],
      });
      // Authorisation is checked before `from`.
      expect(await refused("stranger, wrong from", dave, "transferFrom", [carol.address, dave.address, 1n])).toEqual({
        name: "ERC721InsufficientApproval",
        args: ["dave", 1n],
      });
      expect(await refused("approved, wrong from", eve, "transferFrom", [carol.address, eve.address, 1n])).toEqual({
        name: "ERC721IncorrectOwner",
        args: ["carol", 1n, "bob"],
      });
      expect(await refused("to zero", bob, "transferFrom", [bob.address, ZeroAddress, 1n])).toEqual({
        name: "ERC721InvalidReceiver",
        args: ["zero"],
      });
      expect(await refused("missing token", bob, "transferFrom", [bob.address, carol.address, 99n])).toEqual({
        name: "ERC721NonexistentToken",
        args: [99n],
      });
    });

    it("transferFrom by the approved account clears the approval without an Approval event", async () => {
      expect(await ok("approved moves", eve, "transferFrom", [bob.address, eve.address, 1n])).toEqual([
        ["token", "Transfer", ["bob", "eve", 1n]],
      ]);
      expect(await token.ownerOf(1n)).toBe(eve.address);
      expect(await token.getApproved(1n)).toBe(ZeroAddress);
      expect(await token.balanceOf(bob.address)).toBe(1n);
      expect(await token.balanceOf(eve.address)).toBe(1n);
      // The approval is gone: eve cannot take it back from a new owner.
      await ok("eve to bob", eve, "transferFrom", [eve.address, bob.address, 1n]);
      expect(await refused("old approval", eve, "transferFrom", [bob.address, eve.address, 1n])).toEqual({
        name: "ERC721InsufficientApproval",
        args: ["eve", 1n],
      });
    });

    it("transferFrom by an operator and to oneself; revoked operators are refused", async () => {
      expect(await ok("operator moves", carol, "transferFrom", [bob.address, carol.address, 2n])).toEqual([
        ["token", "Transfer", ["bob", "carol", 2n]],
      ]);
      expect(await token.getApproved(2n)).toBe(ZeroAddress); // dave's approval went with the transfer
      expect(await ok("self transfer", carol, "transferFrom", [carol.address, carol.address, 3n])).toEqual([
        ["token", "Transfer", ["carol", "carol", 3n]],
      ]);
      expect(await token.balanceOf(carol.address)).toBe(2n);
      await ok("bob to eve", bob, "transferFrom", [bob.address, eve.address, 1n]);
      await ok("operator dave", eve, "setApprovalForAll", [dave.address, true]);
      expect(await ok("revoke dave", eve, "setApprovalForAll", [dave.address, false])).toEqual([
        ["token", "ApprovalForAll", ["eve", "dave", false]],
      ]);
      expect(await refused("revoked operator", dave, "transferFrom", [eve.address, dave.address, 1n])).toEqual({
        name: "ERC721InsufficientApproval",
        args: ["dave", 1n],
      });
    });

    it("safeTransferFrom to an account without code, and to receivers that accept (with the data)", async () => {
      // owners now: 1 eve, 2 carol, 3 carol
      expect(
        await ok("safe to EOA", eve, "safeTransferFrom(address,address,uint256)", [eve.address, bob.address, 1n]),
      ).toEqual([["token", "Transfer", ["eve", "bob", 1n]]]);
      expect(
        await ok("safe with data", bob, "safeTransferFrom(address,address,uint256,bytes)", [
          bob.address,
          accepting,
          1n,
          "0xc0ffee",
        ]),
      ).toEqual([
        ["token", "Transfer", ["bob", "accepting", 1n]],
        ["accepting", "Received", ["bob", "bob", 1n, "0xc0ffee"]],
      ]);
      // The operator, not the owner, is reported as the operator.
      await ok("operator for carol", carol, "setApprovalForAll", [dave.address, true]);
      expect(
        await ok("operator safe", dave, "safeTransferFrom(address,address,uint256)", [carol.address, accepting, 2n]),
      ).toEqual([
        ["token", "Transfer", ["carol", "accepting", 2n]],
        ["accepting", "Received", ["dave", "carol", 2n, "0x"]],
      ]);
      expect(named(await token.ownerOf(2n))).toBe("accepting");
    });

    it("safeTransferFrom refuses contracts that refuse, like OZ: wrong answer, reverts, undecodable answers", async () => {
      const safe = "safeTransferFrom(address,address,uint256)";
      const invalid = (who: string) => ({ name: "ERC721InvalidReceiver", args: [who] });
      expect(await refused("to Receiver(false)", carol, safe, [carol.address, refusing, 3n])).toEqual(
        invalid("refusing"),
      );
      expect(await refused("to a contract without the hook", carol, safe, [carol.address, noHook, 3n])).toEqual(
        invalid("noHook"),
      );
      const byMode: [number, { name: string; args: unknown }][] = [
        [Mode.WrongValue, invalid("probe")],
        [Mode.RevertEmpty, invalid("probe")],
        // A revert with data is bubbled up unchanged.
        [Mode.RevertReason, { name: "Error", args: ["ConformanceReceiver: refused"] }],
        [Mode.RevertCustom, { name: "ReceiverRefused", args: [3n] }],
        // An answer that does not decode as bytes4 reverts without data (Solidity's decoder).
        [Mode.ShortAnswer, { name: "", args: [] }],
        [Mode.DirtyAnswer, { name: "", args: [] }],
      ];
      for (const [mode, expected] of byMode) {
        await configureProbe(mode);
        expect(
          await refused(`probe mode ${mode}`, carol, safe, [carol.address, probeAddress, 3n]),
          `mode ${mode}`,
        ).toEqual(expected);
      }
      // The plain transferFrom does not ask.
      await configureProbe(Mode.WrongValue);
      expect(await ok("unsafe to probe", carol, "transferFrom", [carol.address, probeAddress, 3n])).toEqual([
        ["token", "Transfer", ["carol", "probe", 3n]],
      ]);
    });

    it("the receiver sees the transfer complete in its callback and may move the token on (reentrancy)", async () => {
      await configureProbe(Mode.Accept);
      await ok("mint 4 to bob", alice, "mint", [bob.address, uri(4)]);
      await ok("approve dave 4", bob, "approve", [dave.address, 4n]);
      // During the callback: the probe owns 4, holds 2 tokens (3 and 4), and dave's approval is gone.
      expect(
        await ok("safe to probe", bob, "safeTransferFrom(address,address,uint256,bytes)", [
          bob.address,
          probeAddress,
          4n,
          "0x01",
        ]),
      ).toEqual([
        ["token", "Transfer", ["bob", "probe", 4n]],
        ["probe", "Seen", ["bob", "bob", 4n, "0x01", "probe", 2n, "zero"]],
      ]);
      // Minting into a receiver that transfers the new token on from inside its callback.
      await configureProbe(Mode.Forward, dave.address);
      expect(await ok("mint into a forwarder", alice, "mint", [probeAddress, uri(5)])).toEqual([
        ["token", "Transfer", ["zero", "probe", 5n]],
        ["probe", "Seen", ["alice", "zero", 5n, "0x", "probe", 3n, "zero"]],
        ["token", "Transfer", ["probe", "dave", 5n]],
      ]);
      expect(named(await token.ownerOf(5n))).toBe("dave");
      expect(await token.balanceOf(probeAddress)).toBe(2n);
      // A revert inside the callback (the forward to address 0) undoes the whole mint.
      await configureProbe(Mode.Forward, ZeroAddress);
      expect(await refused("forward fails", alice, "mint", [probeAddress, uri(6)])).toEqual({
        name: "ERC721InvalidReceiver",
        args: ["zero"],
      });
      expect(await token.totalSupply()).toBe(5n);
    });

    it("mint asks contract receivers (operator = the minter, from = 0)", async () => {
      expect(await ok("mint to a receiver", alice, "mint", [accepting, uri(6)])).toEqual([
        ["token", "Transfer", ["zero", "accepting", 6n]],
        ["accepting", "Received", ["alice", "zero", 6n, "0x"]],
      ]);
      expect(await refused("mint to a refusing receiver", alice, "mint", [refusing, uri(7)])).toEqual({
        name: "ERC721InvalidReceiver",
        args: ["refusing"],
      });
      await configureProbe(Mode.RevertCustom);
      expect(await refused("mint to a reverting receiver", alice, "mint", [probeAddress, uri(7)])).toEqual({
        name: "ReceiverRefused",
        args: [7n],
      });
      // The refused mints used no id.
      expect(await (token.connect(alice) as Contract).mint.staticCall(bob.address, uri(7))).toBe(7n);
    });

    it("burn by the owner, the approved account or an operator; strangers and missing tokens refused", async () => {
      // owners now: 1 accepting, 2 accepting, 3 probe, 4 probe, 5 dave, 6 accepting
      await ok("mint 7", alice, "mint", [bob.address, uri(7)]);
      await ok("mint 8", alice, "mint", [bob.address, uri(8)]);
      expect(await refused("burn by a stranger", eve, "burn", [5n])).toEqual({
        name: "ERC721InsufficientApproval",
        args: ["eve", 5n],
      });
      expect(await ok("burn by owner", dave, "burn", [5n])).toEqual([["token", "Transfer", ["dave", "zero", 5n]]]);
      expect(await token.balanceOf(dave.address)).toBe(0n);
      for (const fn of ["ownerOf", "tokenURI", "getApproved"]) {
        await expect(token[fn](5n)).rejects.toMatchObject({ revert: { name: "ERC721NonexistentToken" } });
      }
      expect(await refused("burn twice", dave, "burn", [5n])).toEqual({ name: "ERC721NonexistentToken", args: [5n] });
      await ok("approve eve 7", bob, "approve", [eve.address, 7n]);
      expect(await ok("burn by approved", eve, "burn", [7n])).toEqual([["token", "Transfer", ["bob", "zero", 7n]]]);
      expect(await ok("burn by operator", carol, "burn", [8n])).toEqual([["token", "Transfer", ["bob", "zero", 8n]]]);
      expect(await token.totalSupply()).toBe(5n);
      expect(await token.balanceOf(bob.address)).toBe(0n);
      // Ids are never reused.
      expect(await ok("mint after burns", alice, "mint", [bob.address, uri(9)])).toEqual([
        ["token", "Transfer", ["zero", "bob", 9n]],
      ]);
    });

    it("royaltyInfo: (receiver, salePrice × bps / 10000), exact for any price, for any id", async () => {
      const max = 2n ** 256n - 1n;
      for (const [id, price] of [
        [1n, 10_000n],
        [1n, 0n],
        [1n, 19n],
        [1n, max],
        [999n, 1_000_000n],
      ]) {
        const [receiver, amount] = await token.royaltyInfo(id, price);
        expect([receiver, amount]).toEqual([royalty, (price * ROYALTY_BPS) / 10_000n]);
      }
    });
  });
}

erc721Conformance("OpenZeppelin ERC721 (ConformanceNFT contract)", async () => {
  const { address } = await deployContract(alice, "ConformanceNFT", [NAME, SYMBOL, royalty, ROYALTY_BPS]);
  return subjectAt(address);
});

erc721Conformance("native collection (registry 0x…0A03)", async () => {
  const registry = contractAt(NFT_REGISTRY_ADDRESS, "INFTRegistry", alice);
  const address = (await registry.createCollection.staticCall(NAME, SYMBOL, royalty, ROYALTY_BPS)) as string;
  await (await registry.createCollection(NAME, SYMBOL, royalty, ROYALTY_BPS)).wait();
  return subjectAt(address.toLowerCase());
});

function subjectAt(address: string): Subject {
  const abi = abiWithErrors("IAzoraCollection", "TestNFT", "ConformanceReceiver");
  const iface = new Interface(abi);
  return {
    address,
    abi,
    mint: (to, tokenUri) => sendTx(alice, { to: address, data: iface.encodeFunctionData("mint", [to, tokenUri]) }),
  };
}

describe("both subjects", () => {
  it("produced the same transcript: every event and every revert, step by step", () => {
    const [oz, native] = [...transcripts.values()];
    expect(oz.length).toBeGreaterThan(40);
    expect(native).toEqual(oz);
  });
});
