import { toChecksumAddress } from "@ethereumjs/util";
import { decodeEvidence } from "../../consensus/wire.js";
import type { EthBackend } from "../../rpc/backend.js";
import { ServerError } from "../../rpc/errors.js";
import { formatTransaction } from "../../rpc/format.js";
import { hexToBytes, toHexData, toHexQuantity } from "../../rpc/hex.js";
import { defineMethod, type MethodTable } from "../../rpc/types.js";
import type { Chain } from "../chain/chain.js";
import type { Mempool, PooledTx } from "../mempool/index.js";

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
    /**
     * The genesis this node started from, as JSON (Tendermint's `/genesis`): what block 0 holds that no block's
     * events tell — LEARN and $AZR allocations, genesis validators. Indexers seed their state from it.
     */
    azora_getGenesis: defineMethod([], () => {
      if (chain === undefined) throw new ServerError("genesis not available");
      return chain.spec.source;
    }),
    txpool_status: defineMethod([], () => {
      const s = mempool.stats();
      return { pending: toHexQuantity(s.pending), queued: toHexQuantity(s.queued) };
    }),
    txpool_content: defineMethod([], () => content()),
  };
}
