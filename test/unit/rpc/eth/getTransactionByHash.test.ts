import { getCreateAddress, Transaction } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import {
  CHAIN_ID,
  devWallet,
  expectTxShape,
  type Json,
  MANUAL_MINING,
  mine,
  q,
  result,
  rpcError,
  signTx,
  startInProcessNode,
  type TestNode,
  UNKNOWN_HASH,
  UNUSED_ADDRESS,
  word,
} from "./helpers.js";

const SLOT = word(5);

describe("eth_getTransactionByHash / ByBlockNumberAndIndex / ByBlockHashAndIndex (manual mining)", () => {
  let node: TestNode;
  let block: Json;
  /** Signed raw txs of `block`, in index order: type 2, type 0, type 1, a type-2 deployment. */
  let raws: string[];
  let hashes: string[];

  beforeAll(async () => {
    node = await startInProcessNode(MANUAL_MINING);
    raws = [
      await signTx(devWallet(node.url, 0), {
        to: UNUSED_ADDRESS,
        value: 1000n,
        data: "0xdeadbeef",
        gasLimit: 30_000n,
        maxFeePerGas: 5_000_000_000n,
        maxPriorityFeePerGas: 1_500_000_000n,
      }),
      await signTx(devWallet(node.url, 1), { to: UNUSED_ADDRESS, value: 2n, type: 0, gasPrice: 3_000_000_000n }),
      await signTx(devWallet(node.url, 2), {
        to: UNUSED_ADDRESS,
        value: 3n,
        type: 1,
        gasPrice: 2_500_000_000n,
        accessList: [{ address: UNUSED_ADDRESS, storageKeys: [SLOT] }],
      }),
      await signTx(devWallet(node.url, 3), { data: loadArtifact("Probe").bytecode }),
    ];
    hashes = [];
    for (const raw of raws) hashes.push(await result(node.url, "eth_sendRawTransaction", [raw]));
    block = await mine(node.url);
    // The producer orders by effective tip, not by arrival.
    expect([...block.transactions].sort()).toEqual([...hashes].sort());
  });

  const indexOf = (i: number) => q(block.transactions.indexOf(hashes[i]));
  afterAll(async () => {
    await node?.cleanup();
  });

  /** The fields every client derives from the signed bytes. */
  function expectMatchesSigned(t: Json, raw: string): void {
    const tx = Transaction.from(raw);
    expect(t).toMatchObject({
      hash: tx.hash,
      from: tx.from!.toLowerCase(),
      to: tx.to === null ? null : tx.to.toLowerCase(),
      nonce: q(tx.nonce),
      gas: q(tx.gasLimit),
      value: q(tx.value),
      input: tx.data,
      type: q(tx.type!),
      r: q(BigInt(tx.signature!.r)),
      s: q(BigInt(tx.signature!.s)),
    });
  }

  it("a mined EIP-1559 transaction: every field as signed, gasPrice = the effective price", async () => {
    const t = await result(node.url, "eth_getTransactionByHash", [hashes[0]]);
    expectTxShape(t, true);
    expectMatchesSigned(t, raws[0]);
    expect(t).toMatchObject({
      blockHash: block.hash,
      blockNumber: block.number,
      transactionIndex: indexOf(0),
      type: "0x2",
      maxFeePerGas: q(5_000_000_000n),
      maxPriorityFeePerGas: q(1_500_000_000n),
      chainId: q(CHAIN_ID),
      accessList: [],
      input: "0xdeadbeef",
    });
    expect(t.gasPrice).toBe(q(BigInt(block.baseFeePerGas) + 1_500_000_000n));
    expect(t.v).toBe(q(Transaction.from(raws[0]).signature!.yParity));
    expect(Object.keys(t).sort()).toEqual(
      [
        "accessList",
        "blockHash",
        "blockNumber",
        "blockTimestamp",
        "chainId",
        "from",
        "gas",
        "gasPrice",
        "hash",
        "input",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
        "nonce",
        "r",
        "s",
        "to",
        "transactionIndex",
        "type",
        "v",
        "value",
        "yParity",
      ].sort(),
    );
  });

  it("a legacy EIP-155 transaction: gasPrice, chainId and v = 2·chainId + 35 + parity; no 1559 fields", async () => {
    const t = await result(node.url, "eth_getTransactionByHash", [hashes[1]]);
    expectTxShape(t, true);
    expectMatchesSigned(t, raws[1]);
    const sig = Transaction.from(raws[1]).signature!;
    expect(t).toMatchObject({
      type: "0x0",
      gasPrice: q(3_000_000_000n),
      chainId: q(CHAIN_ID),
      transactionIndex: indexOf(1),
    });
    expect(t.v).toBe(q(CHAIN_ID * 2n + 35n + BigInt(sig.yParity)));
    for (const k of ["maxFeePerGas", "maxPriorityFeePerGas", "accessList", "yParity"]) expect(t).not.toHaveProperty(k);
  });

  it("an EIP-2930 transaction: accessList echoed, gasPrice, yParity", async () => {
    const t = await result(node.url, "eth_getTransactionByHash", [hashes[2]]);
    expectTxShape(t, true);
    expectMatchesSigned(t, raws[2]);
    expect(t).toMatchObject({
      type: "0x1",
      gasPrice: q(2_500_000_000n),
      chainId: q(CHAIN_ID),
      accessList: [{ address: UNUSED_ADDRESS, storageKeys: [SLOT] }],
      yParity: q(Transaction.from(raws[2]).signature!.yParity),
    });
    for (const k of ["maxFeePerGas", "maxPriorityFeePerGas"]) expect(t).not.toHaveProperty(k);
  });

  it("a contract creation has `to: null`; its receipt names the created address", async () => {
    const t = await result(node.url, "eth_getTransactionByHash", [hashes[3]]);
    expectTxShape(t, true);
    expectMatchesSigned(t, raws[3]);
    expect(t.to).toBeNull();
    const r = await result(node.url, "eth_getTransactionReceipt", [hashes[3]]);
    expect(r.contractAddress).toBe(getCreateAddress({ from: t.from, nonce: BigInt(t.nonce) }).toLowerCase());
  });

  it("unknown hash → null", async () => {
    expect(await result(node.url, "eth_getTransactionByHash", [UNKNOWN_HASH])).toBeNull();
  });

  it("a pooled (not yet mined) transaction has null block fields and gasPrice = maxFeePerGas", async () => {
    const raw = await signTx(devWallet(node.url, 4), {
      to: UNUSED_ADDRESS,
      value: 9n,
      maxFeePerGas: 4_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
    const hash = await result(node.url, "eth_sendRawTransaction", [raw]);
    const pending = await result(node.url, "eth_getTransactionByHash", [hash]);
    expectTxShape(pending, false);
    expectMatchesSigned(pending, raw);
    expect(pending.gasPrice).toBe(q(4_000_000_000n));
    expect(await result(node.url, "eth_getTransactionReceipt", [hash])).toBeNull();
    const b = await mine(node.url);
    const mined = await result(node.url, "eth_getTransactionByHash", [hash]);
    expect(mined).toMatchObject({ blockHash: b.hash, blockNumber: b.number, transactionIndex: "0x0" });
    expect(mined.gasPrice).toBe(q(BigInt(b.baseFeePerGas) + 1_000_000_000n));
  });

  it("ByBlockNumberAndIndex / ByBlockHashAndIndex return the same objects as ByHash", async () => {
    for (let i = 0; i < hashes.length; i++) {
      const byHash = await result(node.url, "eth_getTransactionByHash", [hashes[i]]);
      const index = indexOf(i);
      expect(byHash.transactionIndex).toBe(index);
      expect(await result(node.url, "eth_getTransactionByBlockNumberAndIndex", [block.number, index])).toEqual(byHash);
      expect(await result(node.url, "eth_getTransactionByBlockHashAndIndex", [block.hash, index])).toEqual(byHash);
    }
  });

  it("out-of-range index, unknown block or block beyond the head → null", async () => {
    expect(await result(node.url, "eth_getTransactionByBlockNumberAndIndex", [block.number, "0x4"])).toBeNull();
    expect(await result(node.url, "eth_getTransactionByBlockHashAndIndex", [block.hash, "0x4"])).toBeNull();
    expect(
      await result(node.url, "eth_getTransactionByBlockHashAndIndex", [block.hash, "0xffffffffffffffff"]),
    ).toBeNull();
    expect(await result(node.url, "eth_getTransactionByBlockNumberAndIndex", ["0x0", "0x0"])).toBeNull();
    expect(await result(node.url, "eth_getTransactionByBlockNumberAndIndex", ["0xffffff", "0x0"])).toBeNull();
    expect(await result(node.url, "eth_getTransactionByBlockHashAndIndex", [UNKNOWN_HASH, "0x0"])).toBeNull();
  });

  it("wrong parameter types are -32602 naming the parameter", async () => {
    const cases: [string, unknown[], string][] = [
      ["eth_getTransactionByHash", [], "missing value for required argument 0"],
      [
        "eth_getTransactionByHash",
        ["0x1234"],
        "invalid argument 0 (hash): hex string has length 4, want 64 for common.Hash",
      ],
      ["eth_getTransactionByHash", [hashes[0], "latest"], "too many arguments, want at most 1"],
      ["eth_getTransactionByBlockNumberAndIndex", [block.number], "missing value for required argument 1"],
      [
        "eth_getTransactionByBlockNumberAndIndex",
        [block.number, "0x00"],
        "invalid argument 1 (index): hex number with leading zero digits",
      ],
      [
        "eth_getTransactionByBlockNumberAndIndex",
        [block.number, 0],
        "invalid argument 1 (index): json: cannot unmarshal non-string into Go value of type hexutil.Big",
      ],
      [
        "eth_getTransactionByBlockHashAndIndex",
        ["0x1234", "0x0"],
        "invalid argument 0 (blockHash): hex string has length 4, want 64 for common.Hash",
      ],
    ];
    for (const [method, params, message] of cases) {
      expect(await rpcError(node.url, method, params), `${method} ${JSON.stringify(params)}`).toEqual({
        code: -32602,
        message,
      });
    }
  });
});
