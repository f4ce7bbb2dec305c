import { toChecksumAddress } from "@ethereumjs/util";
import { decodeEvidence } from "../../consensus/wire.js";
import type { DevBackend, EthBackend } from "../../rpc/backend.js";
import { InvalidParamsError } from "../../rpc/errors.js";
import { formatTransaction } from "../../rpc/format.js";
import { hexToBytes, toHexData, toHexQuantity } from "../../rpc/hex.js";
import { defineMethod, type MethodTable } from "../../rpc/types.js";
import type { Chain } from "../chain/chain.js";
import type { Mempool, PooledTx } from "../mempool/index.js";
import type { BlockProducer } from "../producer/blockProducer.js";

/** At most this many blocks per anvil_mine / hardhat_mine call. */
const MAX_MINE_BLOCKS = 10_000;

export function createDevBackend(producer: BlockProducer, nowMs: () => number = Date.now): DevBackend {
  /**
   * As in Hardhat and Anvil, the clock continues from an explicitly set timestamp: without moving
   * the offset, every later block would repeat that timestamp (the producer never goes backwards)
   * until the wall clock caught up.
   */
  const setNext = (timestamp: bigint) => {
    producer.nextTimestamp = timestamp;
    producer.timeOffsetSeconds = timestamp - BigInt(Math.floor(nowMs() / 1000));
  };
  return {
    async mine(blocks, timestamp) {
      for (let i = 0; i < blocks; i++) {
        if (i === 0 && timestamp !== undefined) setNext(timestamp);
        await producer.mineNow();
      }
    },
    increaseTime(seconds) {
      producer.timeOffsetSeconds += seconds;
      return producer.timeOffsetSeconds;
    },
    setNextBlockTimestamp(timestamp) {
      setNext(timestamp);
    },
  };
}

/** A JSON integer or a hex string (the forms evm_mine accepts in Hardhat and Anvil); null otherwise. */
function toSeconds(v: unknown): bigint | null {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^0x[0-9a-fA-F]+$/.test(v)) return BigInt(v);
  return null;
}

/** Hardhat/Anvil-compatible dev helpers; registered only by `azora dev`. */
export function createDevMethods(dev: DevBackend): MethodTable {
  const mine = async (count: bigint | undefined) => {
    const n = count ?? 1n;
    if (n < 1n || n > BigInt(MAX_MINE_BLOCKS))
      throw new InvalidParamsError(`invalid argument 0 (blocks): 1 to ${MAX_MINE_BLOCKS}`);
    await dev.mine(Number(n));
    return null;
  };
  return {
    // Hardhat and Anvil take the timestamp as a JSON number; a hex quantity is accepted too.
    evm_mine: defineMethod([{ name: "timestamp", type: "any", optional: true }], async ([t]) => {
      const ts = t === null || t === undefined ? undefined : toSeconds(t);
      if (ts === null || (ts !== undefined && ts < 0n))
        throw new InvalidParamsError("invalid argument 0 (timestamp): expected a non-negative number");
      await dev.mine(1, ts);
      return "0x0";
    }),
    anvil_mine: defineMethod([{ name: "blocks", type: "quantity", optional: true }], ([n]) => mine(n)),
    hardhat_mine: defineMethod([{ name: "blocks", type: "quantity", optional: true }], ([n]) => mine(n)),
    evm_increaseTime: defineMethod([{ name: "seconds", type: "any" }], ([s]) => {
      const seconds =
        typeof s === "number" && Number.isSafeInteger(s)
          ? BigInt(s)
          : typeof s === "string" && /^0x[0-9a-fA-F]+$/.test(s)
            ? BigInt(s)
            : null;
      if (seconds === null || seconds < 0n)
        throw new InvalidParamsError("invalid argument 0 (seconds): expected a non-negative number");
      return toHexQuantity(dev.increaseTime(seconds));
    }),
    evm_setNextBlockTimestamp: defineMethod([{ name: "timestamp", type: "any" }], ([t]) => {
      const ts =
        typeof t === "number" && Number.isSafeInteger(t)
          ? BigInt(t)
          : typeof t === "string" && /^0x[0-9a-fA-F]+$/.test(t)
            ? BigInt(t)
            : null;
      if (ts === null) throw new InvalidParamsError("invalid argument 0 (timestamp): expected a number");
      dev.setNextBlockTimestamp(ts);
      return null;
    }),
  };
}

/** geth's txpool_content entry: the full RPC transaction object, as eth_getTransactionByHash shows it pooled. */
function txpoolEntry(p: PooledTx) {
  return formatTransaction({
    tx: p.tx,
    hash: hexToBytes(p.hash) as Uint8Array,
    from: hexToBytes(p.sender) as Uint8Array,
  });
}

/** azora_ node status and geth's txpool_ inspection methods. */
export function createAzoraMethods(backend: EthBackend, mempool: Mempool, chain?: Chain): MethodTable {
  const content = () => {
    const c = mempool.content();
    const side = (m: Map<string, PooledTx[]>) =>
      Object.fromEntries(
        // geth keys senders by their checksummed address and txs by decimal nonce.
        [...m].map(([sender, txs]) => [
          toChecksumAddress(sender),
          Object.fromEntries(txs.map((t) => [t.nonce.toString(), txpoolEntry(t)])),
        ]),
      );
    return { pending: side(c.pending), queued: side(c.queued) };
  };
  return {
    azora_status: defineMethod([], () => backend.status()),
    /** Equivocation evidence recorded in a block: which validator signed two conflicting votes, where. */
    azora_getBlockEvidence: defineMethod([{ name: "block", type: "blockTagOrHash" }], async ([block]) => {
      const ref = await backend.resolveBlock(block);
      if (ref === undefined || chain === undefined) return null;
      const body = await chain.db.getBody(ref.hash);
      return (body?.evidence ?? []).map((raw) => {
        const e = decodeEvidence(raw);
        return {
          validatorIndex: e.a.validatorIndex,
          height: toHexQuantity(e.a.height),
          round: e.a.round,
          type: e.a.type === 1 ? "prevote" : "precommit",
          blockHashes: [e.a.blockHash, e.b.blockHash].map((h) => (h === null ? null : toHexData(h))),
        };
      });
    }),
    txpool_status: defineMethod([], () => {
      const s = mempool.stats();
      return { pending: toHexQuantity(s.pending), queued: toHexQuantity(s.queued) };
    }),
    txpool_content: defineMethod([], () => content()),
  };
}
