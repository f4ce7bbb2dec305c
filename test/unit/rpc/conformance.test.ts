import { Interface, parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec, resultErrors } from "../../utils/executionApis.js";
import {
  type Deployed,
  deploy,
  devWallet,
  type Json,
  rpc,
  send,
  startInProcessNode,
  type TestNode,
  UNUSED_ADDRESS,
  waitReceipt,
  word,
} from "./eth/helpers.js";

/**
 * Wallet-side methods of the spec (signing, accounts, decryption) and WebSocket-only ones: a node that
 * holds no keys answers them with an error (or, in dev mode, may sign); whatever it answers must
 * conform. Every other method of the spec must answer, and conform.
 */
const MAY_REFUSE = new Set([
  "eth_signTypedData_v4",
  "eth_requestAccounts",
  "eth_sendTransaction",
  "eth_decrypt",
  "eth_getEncryptionPublicKey",
  "eth_coinbase",
  "eth_subscribe",
  "eth_unsubscribe",
]);

describe("every eth_ answer conforms to the execution-apis schemas", () => {
  let node: TestNode;
  let probe: Deployed;
  let from: string;
  const hashes: string[] = [];
  const params = new Map<string, unknown[][]>();

  beforeAll(async () => {
    node = await startInProcessNode();
    const w = devWallet(node.url, 0);
    from = w.address.toLowerCase();
    probe = await deploy(w, "Probe");
    const iface = new Interface(probe.abi);
    const logFilter = (await rpc(node.url, "eth_newFilter", [{ fromBlock: "0x0", address: probe.address }])).result;
    const blockFilter = (await rpc(node.url, "eth_newBlockFilter", [])).result;
    const pendingFilter = (await rpc(node.url, "eth_newPendingTransactionFilter", [])).result;
    // One transaction of each type, one of them emitting a log.
    hashes.push(await send(node.url, w, { to: probe.address, data: iface.encodeFunctionData("set", [5n, word(1)]) }));
    hashes.push(await send(node.url, w, { to: UNUSED_ADDRESS, value: 1n, type: 0, gasPrice: 10n ** 10n }));
    hashes.push(
      await send(node.url, w, { to: UNUSED_ADDRESS, value: 1n, type: 1, gasPrice: 10n ** 10n, accessList: [] }),
    );
    const receipts = [];
    for (const h of hashes) receipts.push(await waitReceipt(node.url, h));
    const block = receipts[0].blockNumber;
    const blockHash = receipts[0].blockHash;
    const call = { from, to: probe.address, data: iface.encodeFunctionData("value") };
    const setCall = { from, to: probe.address, data: iface.encodeFunctionData("set", [6n, word(2)]) };
    const p: Record<string, unknown[][]> = {
      web3_clientVersion: [[]],
      eth_accounts: [[]],
      eth_blockNumber: [[]],
      eth_chainId: [[]],
      eth_syncing: [[]],
      eth_gasPrice: [[]],
      eth_maxPriorityFeePerGas: [[]],
      eth_blobBaseFee: [[]],
      eth_feeHistory: [
        ["0x4", "latest", [25, 75]],
        ["0x1", block],
      ],
      eth_getBalance: [
        [from, "latest"],
        [UNUSED_ADDRESS, block],
      ],
      eth_getTransactionCount: [
        [from, "latest"],
        [from, "pending"],
      ],
      eth_getCode: [
        [probe.address, "latest"],
        [UNUSED_ADDRESS, "latest"],
      ],
      eth_getStorageAt: [[probe.address, "0x0", "latest"]],
      eth_getProof: [
        [probe.address, [word(0)], "latest"],
        [UNUSED_ADDRESS, [], "latest"],
      ],
      eth_call: [[call, "latest"]],
      eth_estimateGas: [[setCall, "latest"], [{ from, to: UNUSED_ADDRESS, value: "0x1" }]],
      eth_createAccessList: [[setCall, "latest"]],
      eth_simulateV1: [
        [{ blockStateCalls: [{ calls: [setCall, call] }, {}] }, "latest"],
        [{ blockStateCalls: [{ calls: [setCall] }], returnFullTransactions: true, validation: false }, block],
        [{ blockStateCalls: [{ calls: [{ ...call, data: iface.encodeFunctionData("revertWithReason", ["no"]) }] }] }],
      ],
      eth_config: [[]],
      eth_getBlockByNumber: [
        [block, false],
        [block, true],
        ["latest", true],
        ["0x0", false],
      ],
      eth_getBlockByHash: [
        [blockHash, true],
        [blockHash, false],
      ],
      eth_getBlockTransactionCountByHash: [[blockHash]],
      eth_getBlockTransactionCountByNumber: [[block]],
      eth_getUncleCountByBlockHash: [[blockHash]],
      eth_getUncleCountByBlockNumber: [[block]],
      eth_getTransactionByHash: hashes.map((h) => [h]),
      eth_getTransactionByBlockHashAndIndex: [[blockHash, "0x0"]],
      eth_getTransactionByBlockNumberAndIndex: [[block, "0x0"]],
      eth_getTransactionReceipt: hashes.map((h) => [h]),
      eth_getLogs: [[{ fromBlock: "0x0", toBlock: "latest", address: probe.address }]],
      eth_newFilter: [[{ fromBlock: "latest" }]],
      eth_newBlockFilter: [[]],
      eth_newPendingTransactionFilter: [[]],
      eth_getFilterChanges: [[logFilter], [blockFilter], [pendingFilter]],
      eth_getFilterLogs: [[logFilter]],
      eth_uninstallFilter: [[blockFilter]],
      eth_sendRawTransaction: [
        [
          await (async () => {
            const t = await w.populateTransaction({ to: UNUSED_ADDRESS, value: 2n });
            return w.signTransaction(t);
          })(),
        ],
      ],
      // Another dev account: in dev mode eth_sendTransaction signs and sends, which would take the
      // nonce of the raw transaction above.
      eth_sendTransaction: [[{ from: devWallet(node.url, 1).address.toLowerCase(), to: UNUSED_ADDRESS, value: "0x1" }]],
      eth_signTypedData_v4: [[from, "{}"]],
      eth_requestAccounts: [[]],
      eth_decrypt: [["0x00", from]],
      eth_getEncryptionPublicKey: [[from]],
      eth_coinbase: [[]],
      eth_subscribe: [["newHeads"]],
      eth_unsubscribe: [["0x1"]],
      debug_traceTransaction: hashes.map((h) => [h]),
      debug_traceBlockByNumber: [[block]],
    };
    for (const [k, v] of Object.entries(p)) params.set(k, v);
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("the snapshot is loaded and every method of it is exercised here", () => {
    const methods = [...loadSpec().methods.keys()];
    expect(methods.length).toBeGreaterThan(40);
    expect(methods.filter((m) => !params.has(m))).toEqual([]);
  });

  it("each answer validates against its method's result schema", async () => {
    const failures: string[] = [];
    const refused: string[] = [];
    for (const method of loadSpec().methods.keys()) {
      for (const args of params.get(method) ?? []) {
        const r = await rpc(node.url, method, args);
        if (r.error !== undefined) {
          if (MAY_REFUSE.has(method)) refused.push(method);
          else failures.push(`${method}(${JSON.stringify(args).slice(0, 80)}): error ${JSON.stringify(r.error)}`);
          continue;
        }
        const errors = resultErrors(method, r.result);
        if (errors.length > 0) failures.push(`${method}(${JSON.stringify(args).slice(0, 80)}): ${errors.join("; ")}`);
      }
    }
    expect(failures).toEqual([]);
    expect(refused.length).toBeLessThanOrEqual(MAY_REFUSE.size * 2);
  });

  it("the fixed deviations stay fixed", async () => {
    const t: Json = (await rpc(node.url, "eth_getTransactionByHash", [hashes[0]])).result;
    const block: Json = (await rpc(node.url, "eth_getBlockByNumber", [t.blockNumber, false])).result;
    expect(t.blockTimestamp).toBe(block.timestamp);
    for (let i = 0; i < 64; i++) {
      const id = (await rpc(node.url, "eth_newBlockFilter", [])).result;
      expect(id, id).toMatch(/^0x[1-9a-f][0-9a-f]*$/);
    }
    const list = (
      await rpc(node.url, "eth_createAccessList", [
        { from, to: probe.address, data: new Interface(probe.abi).encodeFunctionData("set", [1n, word(0)]) },
      ])
    ).result;
    expect(list.accessList).toEqual([{ address: probe.address, storageKeys: [word(0)] }]);
    expect(parseEther("1")).toBeGreaterThan(0n);
  });
});
