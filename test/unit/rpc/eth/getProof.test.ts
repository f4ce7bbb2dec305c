import { verifyMerkleProof } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { Contract, getBytes, hexlify, keccak256, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADDRESS,
  DATA,
  type Deployed,
  deploy,
  devWallet,
  HASH,
  type Json,
  QUANTITY,
  q,
  result,
  rpcError,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  word,
} from "./helpers.js";

const EMPTY_CODE_HASH = keccak256("0x");
const EMPTY_TRIE_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

const bytes = (h: string) => getBytes(h);
/** RLP integer bytes → quantity. */
const rlpQty = (b: Uint8Array) => q(b.length === 0 ? 0n : BigInt(hexlify(b)));

/**
 * Verifies an EIP-1186 account proof against `stateRoot` (throws on an invalid proof) and checks
 * every account field of the answer against the proven leaf; then each storage proof against the
 * proven storage root.
 */
async function verifyAccountProof(p: Json, stateRoot: string): Promise<void> {
  const leaf = await verifyMerkleProof(bytes(p.address), p.accountProof.map(bytes), {
    root: bytes(stateRoot),
    useKeyHashing: true,
  });
  if (leaf === null) {
    // A valid proof of absence: the answer must be the empty account.
    expect(p).toMatchObject({ balance: "0x0", nonce: "0x0", codeHash: EMPTY_CODE_HASH, storageHash: EMPTY_TRIE_ROOT });
  } else {
    const [nonce, balance, storageRoot, codeHash] = RLP.decode(leaf) as Uint8Array[];
    expect(p.nonce).toBe(rlpQty(nonce));
    expect(p.balance).toBe(rlpQty(balance));
    expect(p.storageHash).toBe(hexlify(storageRoot));
    expect(p.codeHash).toBe(hexlify(codeHash));
  }
  for (const s of p.storageProof) {
    const key = bytes(word(BigInt(s.key)));
    if (p.storageHash === EMPTY_TRIE_ROOT) {
      expect(s.value).toBe("0x0");
      continue;
    }
    const value = await verifyMerkleProof(key, s.proof.map(bytes), { root: bytes(p.storageHash), useKeyHashing: true });
    expect(s.value).toBe(value === null ? "0x0" : rlpQty(RLP.decode(value) as Uint8Array));
  }
}

describe("eth_getProof", () => {
  let node: TestNode;
  let probe: Deployed;
  let setBlock: Json;

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    probe = await deploy(w, "Probe");
    const c = new Contract(probe.address, probe.abi, w);
    const r = await (await c.set(42n, word(1))).wait();
    setBlock = await result(node.url, "eth_getBlockByNumber", [q(r.blockNumber), false]);
    await (await c.burnGas(2n)).wait();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  const stateRootOf = async (block: string) =>
    (await result(node.url, "eth_getBlockByNumber", [block, false])).stateRoot as string;

  it("an EOA: the proof verifies against the block's stateRoot and matches the state methods", async () => {
    const a = devWallet(node.url, 0).address.toLowerCase();
    const p = await result(node.url, "eth_getProof", [a, [], setBlock.number]);
    expect(Object.keys(p).sort()).toEqual([
      "accountProof",
      "address",
      "balance",
      "codeHash",
      "nonce",
      "storageHash",
      "storageProof",
    ]);
    expect(p).toMatchObject({
      address: a,
      balance: expect.stringMatching(QUANTITY),
      nonce: expect.stringMatching(QUANTITY),
      codeHash: EMPTY_CODE_HASH,
      storageHash: EMPTY_TRIE_ROOT,
      storageProof: [],
    });
    for (const node of p.accountProof) expect(node).toMatch(DATA);
    await verifyAccountProof(p, setBlock.stateRoot);
    expect(p.balance).toBe(await result(node.url, "eth_getBalance", [a, setBlock.number]));
    expect(p.nonce).toBe(await result(node.url, "eth_getTransactionCount", [a, setBlock.number]));
  });

  it("a contract with storage proofs: set slots, empty slots, a mapping slot", async () => {
    const mappingSlot = keccak256(`${word(1).slice(0)}${word(2).slice(2)}`); // burned[1]
    const keys = [word(0), word(1), word(9), mappingSlot];
    const p = await result(node.url, "eth_getProof", [probe.address, keys, "latest"]);
    expect(p.address).toBe(probe.address);
    expect(p.codeHash).toBe(keccak256(await result(node.url, "eth_getCode", [probe.address, "latest"])));
    expect(p.storageHash).toMatch(HASH);
    expect(p.storageHash).not.toBe(EMPTY_TRIE_ROOT);
    expect(p.storageProof.map((s: Json) => s.key)).toEqual(keys);
    expect(p.storageProof.map((s: Json) => s.value)).toEqual(["0x2a", "0x1", "0x0", "0x1"]);
    for (const s of p.storageProof) {
      expect(s.value).toMatch(QUANTITY);
      expect(s.value).toBe(q(BigInt(await result(node.url, "eth_getStorageAt", [probe.address, s.key, "latest"]))));
    }
    await verifyAccountProof(p, await stateRootOf("latest"));
  });

  it("an account that does not exist: empty account, a valid proof of absence, zero-valued storage proofs", async () => {
    const nobody = Wallet.createRandom().address.toLowerCase();
    const p = await result(node.url, "eth_getProof", [nobody, [word(0)], "latest"]);
    expect(p).toMatchObject({
      address: nobody,
      balance: "0x0",
      nonce: "0x0",
      codeHash: EMPTY_CODE_HASH,
      storageHash: EMPTY_TRIE_ROOT,
    });
    expect(p.storageProof).toEqual([{ key: word(0), value: "0x0", proof: [] }]);
    expect(p.accountProof.length).toBeGreaterThan(0);
    await verifyAccountProof(p, await stateRootOf("latest"));
  });

  it("historical blocks: the proof of the old state verifies against the old root only", async () => {
    const old = q(probe.blockNumber - 1);
    const p = await result(node.url, "eth_getProof", [probe.address, [word(0)], old]);
    expect(p).toMatchObject({ nonce: "0x0", codeHash: EMPTY_CODE_HASH, storageProof: [{ value: "0x0" }] });
    await verifyAccountProof(p, await stateRootOf(old));
    const before = await result(node.url, "eth_getProof", [probe.address, [word(0)], q(BigInt(setBlock.number) - 1n)]);
    expect(before.storageProof[0].value).toBe("0x0");
    const after = await result(node.url, "eth_getProof", [probe.address, [word(0)], { blockHash: setBlock.hash }]);
    expect(after.storageProof[0].value).toBe("0x2a");
    await verifyAccountProof(after, setBlock.stateRoot);
  });

  it("a tampered or misattributed proof does not verify", async () => {
    const a = devWallet(node.url, 1).address.toLowerCase();
    const p = await result(node.url, "eth_getProof", [a, [], setBlock.number]);
    // Another block's root.
    await expect(verifyAccountProof(p, await stateRootOf("0x0"))).rejects.toThrow();
    // One flipped byte in the leaf.
    const last = p.accountProof.length - 1;
    const leaf = p.accountProof[last];
    const flipped = `${leaf.slice(0, -2)}${((Number.parseInt(leaf.slice(-2), 16) ^ 1) & 0xff).toString(16).padStart(2, "0")}`;
    const tampered = { ...p, accountProof: [...p.accountProof.slice(0, last), flipped] };
    await expect(verifyAccountProof(tampered, setBlock.stateRoot)).rejects.toThrow();
    // A wrong balance with the genuine proof.
    await expect(
      verifyAccountProof({ ...p, balance: q(BigInt(p.balance) + 1n) }, setBlock.stateRoot),
    ).rejects.toThrow();
  });

  it("storage keys are read like geth: short keys allowed (answered as quantities), 32-byte keys echoed", async () => {
    const p = await result(node.url, "eth_getProof", [probe.address, ["0x0", "0x01", word(0)], "latest"]);
    expect(p.storageProof.map((s: Json) => [s.key, s.value])).toEqual([
      ["0x0", "0x2a"],
      ["0x1", "0x1"],
      [word(0), "0x2a"],
    ]);
    await verifyAccountProof(p, await stateRootOf("latest"));
  });

  it("errors: unknown block -32000; wrong types -32602", async () => {
    expect(await rpcError(node.url, "eth_getProof", [probe.address, [], "0xffffff"])).toEqual({
      code: -32000,
      message: "header not found",
    });
    expect(await rpcError(node.url, "eth_getProof", [probe.address, [], UNKNOWN_HASH])).toEqual({
      code: -32000,
      message: "header for hash not found",
    });
    const cases: [unknown[], string][] = [
      [[], "missing value for required argument 0"],
      [[probe.address], "missing value for required argument 1"],
      [
        [probe.address, word(0)],
        "invalid argument 1 (storageKeys): json: cannot unmarshal string into Go value of type []string",
      ],
      [
        [probe.address, [`0x${"00".repeat(33)}`]],
        "invalid argument 1 (storageKeys): [0]: hex string too long, want at most 32 bytes",
      ],
      [
        [probe.address, [7]],
        "invalid argument 1 (storageKeys): [0]: json: cannot unmarshal number into Go value of type string",
      ],
      [["0x12", []], "invalid argument 0 (address): hex string has length 2, want 40 for common.Address"],
      [[probe.address, [], "latest", 1], "too many arguments, want at most 3"],
    ];
    for (const [params, message] of cases) {
      expect(await rpcError(node.url, "eth_getProof", params), JSON.stringify(params)).toEqual({
        code: -32602,
        message,
      });
    }
    expect(ADDRESS.test(probe.address)).toBe(true);
  });
});
