import type { Common } from "@ethereumjs/common";
import type { EthBackend } from "../../rpc/backend.js";
import { InvalidParamsError, ServerError, TxRejectedError } from "../../rpc/errors.js";
import { hexToBytes, toHexData, toHexQuantity } from "../../rpc/hex.js";
import { requireBlock } from "../../rpc/methods/eth.js";
import { defineMethod, type MethodTable } from "../../rpc/types.js";
import { uintToWord } from "../../runtime/modules/words.js";
import { isMempoolError, type Mempool } from "../mempool/index.js";
import { type DevAccounts, impersonationKey } from "./accounts.js";
import { type DevChain, MAX_MINE_BLOCKS } from "./devChain.js";
import type { DevStateStore } from "./dumpState.js";
import { fillTransaction, impersonatedPoolEntry, signTransaction, type TxFillContext } from "./transactions.js";

/** The message signers, loaded with ethers on the first signing request (see ./signing.ts). */
const signing = () => import("./signing.js");

export interface DevMethodsModules {
  dev: DevChain;
  accounts: DevAccounts;
  backend: EthBackend;
  mempool: Mempool;
  common: Common;
  state: DevStateStore;
  nowMs?: () => number;
}

/** A JSON integer or a hex quantity (Hardhat and Anvil take both for times and counts); null otherwise. */
function toBigInt(v: unknown): bigint | null {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^0x[0-9a-fA-F]+$/.test(v)) return BigInt(v);
  return null;
}

function nonNegative(v: unknown, what: string): bigint {
  const n = toBigInt(v);
  if (n === null || n < 0n) throw new InvalidParamsError(`invalid argument ${what}: expected a non-negative number`);
  return n;
}

/** Hex data of any length ("0x" allowed), as the cheats take code and storage values. */
function bytesArg(v: unknown, what: string): Uint8Array {
  if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) {
    throw new InvalidParamsError(`invalid argument ${what}: expected 0x-prefixed hex data`);
  }
  return hexToBytes(v) as Uint8Array;
}

/** A storage slot: a quantity or up to 32 bytes of hex (Hardhat sends a quantity, Anvil a word). */
function slotArg(v: unknown): Uint8Array {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(v)) {
    throw new InvalidParamsError("invalid argument 1 (slot): expected a quantity or 32 bytes of hex");
  }
  return uintToWord(BigInt(v));
}

/**
 * The dev-only methods of `azora dev` (Anvil's and Hardhat's names, the `evm_` ones both share, and the
 * signing methods of unlocked accounts). Registered only in dev mode: a validator or full node answers
 * every one of them with -32601.
 */
export function createDevMethods(m: DevMethodsModules): MethodTable {
  const { dev, accounts, backend, mempool } = m;
  const nowMs = m.nowMs ?? Date.now;
  // Read lazily: the table is also built without a node to list its names (`devMethodNames`).
  const fillContext: TxFillContext = {
    get chainId() {
      return backend.chainId;
    },
    get common() {
      return m.common;
    },
    pendingNonce: (a) => backend.pendingNonce(hexToBytes(a) as Uint8Array),
    estimateGas: async (req) => backend.estimateGas(await requireBlock(backend, undefined), req),
    nextBaseFee: () => backend.nextBaseFee(),
    suggestedTip: () => backend.suggestedTip(),
  };

  /** The sender of a request: `from`, else the first unlocked account (Anvil's default). */
  const senderOf = (from: string | undefined): string => {
    const s = from ?? accounts.list()[0]?.toLowerCase();
    if (s === undefined) throw new InvalidParamsError("from address is required (no unlocked accounts)");
    return s;
  };

  const sendTransaction = async (req: Parameters<typeof fillTransaction>[0]): Promise<string> => {
    const from = senderOf(req.from);
    const key = accounts.key(from);
    if (key === undefined && !accounts.isImpersonated(from)) {
      throw new ServerError(`unknown account ${from}: neither unlocked nor impersonated`);
    }
    const data = await fillTransaction(req, from, fillContext);
    if (key !== undefined) {
      const tx = signTransaction(data, key, m.common);
      return toHexData(await backend.sendRawTransaction(tx.serialize()));
    }
    const tx = signTransaction(data, impersonationKey(from), m.common);
    const entry = impersonatedPoolEntry(tx, from, nowMs());
    try {
      await mempool.add(entry);
    } catch (e) {
      if (isMempoolError(e)) throw new TxRejectedError(e.message);
      throw e;
    }
    return entry.hash;
  };

  const mine = async (blocks: unknown, interval: unknown) => {
    const n = blocks === undefined || blocks === null ? 1n : nonNegative(blocks, "0 (blocks)");
    if (n < 1n || n > BigInt(MAX_MINE_BLOCKS))
      throw new InvalidParamsError(`invalid argument 0 (blocks): 1 to ${MAX_MINE_BLOCKS}`);
    const seconds = interval === undefined || interval === null ? 0n : nonNegative(interval, "1 (interval)");
    await dev.mine(Number(n), { intervalSeconds: seconds > 0n ? seconds : undefined });
    return null;
  };

  const setBalance = defineMethod(
    [
      { name: "address", type: "address" },
      { name: "balance", type: "quantity" },
    ],
    async ([address, balance]) => {
      await dev.setBalance(address, balance);
      return true;
    },
  );
  const setCode = defineMethod(
    [
      { name: "address", type: "address" },
      { name: "code", type: "any" },
    ],
    async ([address, code]) => {
      await dev.setCode(address, bytesArg(code, "1 (code)"));
      return true;
    },
  );
  const setNonce = defineMethod(
    [
      { name: "address", type: "address" },
      { name: "nonce", type: "quantity" },
    ],
    async ([address, nonce]) => {
      await dev.setNonce(address, nonce);
      return true;
    },
  );
  const setStorageAt = defineMethod(
    [
      { name: "address", type: "address" },
      { name: "slot", type: "any" },
      { name: "value", type: "any" },
    ],
    async ([address, slot, value]) => {
      const v = bytesArg(value, "2 (value)");
      if (v.length > 32) throw new InvalidParamsError("invalid argument 2 (value): at most 32 bytes");
      await dev.setStorageAt(address, slotArg(slot), v);
      return true;
    },
  );
  const impersonate = defineMethod([{ name: "address", type: "address" }], ([address]) => {
    accounts.impersonate(address);
    return true;
  });
  const stopImpersonating = defineMethod([{ name: "address", type: "address" }], ([address]) => {
    accounts.stopImpersonating(address);
    return true;
  });
  const mineMethod = defineMethod(
    [
      { name: "blocks", type: "any", optional: true },
      { name: "interval", type: "any", optional: true },
    ],
    ([blocks, interval]) => mine(blocks, interval),
  );
  const setNextBaseFee = defineMethod([{ name: "baseFee", type: "quantity" }], ([fee]) => {
    dev.setNextBlockBaseFeePerGas(fee);
    return true;
  });
  const dropTransaction = defineMethod([{ name: "hash", type: "hash" }], ([hash]) =>
    mempool.drop(hash, "dropped by request") ? hash : null,
  );
  const reset = defineMethod([{ name: "options", type: "any", optional: true }], async ([options]) => {
    const forking = (options as { forking?: { jsonRpcUrl?: unknown } } | null | undefined)?.forking;
    if (forking?.jsonRpcUrl != null) {
      throw new InvalidParamsError("forking is not supported: azora dev resets to its own genesis");
    }
    await dev.reset();
    return true;
  });
  const increaseTime = defineMethod([{ name: "seconds", type: "any" }], ([s]) =>
    toHexQuantity(dev.increaseTime(nonNegative(s, "0 (seconds)"))),
  );
  const setNextTimestamp = defineMethod([{ name: "timestamp", type: "any" }], ([t]) => {
    dev.setNextBlockTimestamp(nonNegative(t, "0 (timestamp)"));
    return null;
  });
  const setAutomine = defineMethod([{ name: "enabled", type: "bool" }], ([on]) => {
    dev.setAutomine(on);
    return true;
  });
  const getAutomine = defineMethod([], () => dev.mining.automine);
  // Seconds, as Anvil takes them (Hardhat takes ms: use viem's test client in mode "anvil").
  const setIntervalMining = defineMethod([{ name: "seconds", type: "any" }], ([s]) => {
    const seconds = nonNegative(s, "0 (interval)");
    if (seconds > 86_400n) throw new InvalidParamsError("invalid argument 0 (interval): at most 86400 seconds");
    dev.setIntervalMining(Number(seconds) * 1000);
    return true;
  });
  const snapshot = defineMethod([], () => toHexQuantity(dev.snapshot()));
  const revert = defineMethod([{ name: "id", type: "any" }], async ([id]) => {
    const n = toBigInt(id);
    if (n === null) throw new InvalidParamsError("invalid argument 0 (id): expected a snapshot id");
    return dev.revert(n);
  });
  const dumpState = defineMethod([], async () => toHexData(await m.state.dump()));
  const loadState = defineMethod([{ name: "state", type: "data" }], async ([bytes]) => {
    await m.state.load(bytes);
    return true;
  });

  return {
    // Unlocked accounts and signing.
    eth_accounts: defineMethod([], () => accounts.list()),
    eth_sendTransaction: defineMethod([{ name: "transaction", type: "callRequest" }], ([req]) => sendTransaction(req)),
    eth_signTransaction: defineMethod([{ name: "transaction", type: "callRequest" }], async ([req]) => {
      const from = senderOf(req.from);
      const key = accounts.requireKey(from);
      const data = await fillTransaction(req, from, fillContext);
      return toHexData(signTransaction(data, key, m.common).serialize());
    }),
    eth_sign: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "message", type: "data" },
      ],
      async ([address, message]) => (await signing()).signMessage(accounts.requireKey(address), message),
    ),
    personal_sign: defineMethod(
      [
        { name: "message", type: "data" },
        { name: "address", type: "address" },
      ],
      async ([message, address]) => (await signing()).signMessage(accounts.requireKey(address), message),
    ),
    eth_signTypedData_v4: defineMethod(
      [
        { name: "address", type: "address" },
        { name: "typedData", type: "any" },
      ],
      async ([address, typed]) => (await signing()).signTypedData(accounts.requireKey(address), typed),
    ),

    // Mining and time.
    evm_mine: defineMethod([{ name: "timestamp", type: "any", optional: true }], async ([t]) => {
      const ts = t === null || t === undefined ? undefined : nonNegative(t, "0 (timestamp)");
      await dev.mine(1, { timestamp: ts });
      return "0x0";
    }),
    anvil_mine: mineMethod,
    hardhat_mine: mineMethod,
    evm_increaseTime: increaseTime,
    anvil_increaseTime: increaseTime,
    evm_setNextBlockTimestamp: setNextTimestamp,
    anvil_setNextBlockTimestamp: setNextTimestamp,
    evm_setAutomine: setAutomine,
    anvil_setAutomine: setAutomine,
    anvil_getAutomine: getAutomine,
    hardhat_getAutomine: getAutomine,
    evm_setIntervalMining: setIntervalMining,
    anvil_setIntervalMining: setIntervalMining,
    anvil_setNextBlockBaseFeePerGas: setNextBaseFee,
    hardhat_setNextBlockBaseFeePerGas: setNextBaseFee,

    // State.
    anvil_setBalance: setBalance,
    hardhat_setBalance: setBalance,
    anvil_setCode: setCode,
    hardhat_setCode: setCode,
    anvil_setNonce: setNonce,
    hardhat_setNonce: setNonce,
    anvil_setStorageAt: setStorageAt,
    hardhat_setStorageAt: setStorageAt,
    anvil_impersonateAccount: impersonate,
    hardhat_impersonateAccount: impersonate,
    anvil_stopImpersonatingAccount: stopImpersonating,
    hardhat_stopImpersonatingAccount: stopImpersonating,
    anvil_autoImpersonateAccount: defineMethod([{ name: "enabled", type: "bool" }], ([on]) => {
      accounts.autoImpersonate = on;
      return true;
    }),
    anvil_dropTransaction: dropTransaction,
    hardhat_dropTransaction: dropTransaction,
    anvil_reset: reset,
    hardhat_reset: reset,
    anvil_dumpState: dumpState,
    anvil_loadState: loadState,

    // Snapshots.
    evm_snapshot: snapshot,
    evm_revert: revert,
    anvil_snapshot: snapshot,
    anvil_revert: revert,
  };
}

/**
 * The names `createDevMethods` registers, except `eth_accounts` (every node answers it; a network node
 * with an empty list): all refused with -32601 by a validator or full node.
 */
export function devOnlyMethodNames(): string[] {
  return Object.keys(createDevMethods({} as DevMethodsModules)).filter((n) => n !== "eth_accounts");
}
