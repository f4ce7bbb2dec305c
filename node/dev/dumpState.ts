import { gunzipSync, gzipSync } from "node:zlib";
import { AzoraError } from "../../runtime/lib/errors.js";
import type { Logger } from "../../runtime/lib/logger.js";
import { bytesToHex } from "../../runtime/primitives/bytes.js";
import { keccak256 } from "../../runtime/primitives/hash.js";
import type { Chain } from "../chain/chain.js";
import { walkState } from "../db/stateWalk.js";
import type { Mempool } from "../mempool/index.js";
import type { BlockProducer } from "../producer/blockProducer.js";

export enum DevStateErrorCode {
  /** Not a state dump of this format, or damaged. */
  INVALID_DUMP = "DEV_STATE_ERROR_INVALID_DUMP",
  /** A dump of another chain id. */
  WRONG_CHAIN = "DEV_STATE_ERROR_WRONG_CHAIN",
}

export class DevStateError extends AzoraError<
  { code: DevStateErrorCode.INVALID_DUMP; reason: string } | { code: DevStateErrorCode.WRONG_CHAIN; chainId: string }
> {}

const FORMAT = "azora-dev-state/1";

interface DumpJSON {
  format: typeof FORMAT;
  chainId: string;
  /** Block the state was dumped at (information only). */
  block: string;
  stateRoot: string;
  /** Every trie node and contract code the state reaches, by its store key (hex, no 0x). */
  nodes: Record<string, string>;
}

/**
 * `anvil_dumpState` / `anvil_loadState` and `--dump-state` / `--load-state`: the whole head state as
 * gzip'd JSON of the trie nodes (account trie, storage tries, code) reachable from its root — complete
 * without address preimages, which a secure trie does not keep. Loading makes that root the head state
 * (the next block commits to it), replacing the current state rather than merging into it as Anvil
 * does; blocks and transactions are not part of a dump.
 */
export class DevStateStore {
  constructor(private readonly m: { chain: Chain; producer: BlockProducer; mempool: Mempool; log: Logger }) {}

  async dump(): Promise<Uint8Array> {
    const { chain } = this.m;
    const root = chain.headStateRoot;
    const nodes: Record<string, string> = {};
    const r = await walkState(
      {
        getNode: async (key) => {
          const v = await chain.trieStore.get(key);
          if (v !== undefined) nodes[key] = Buffer.from(v).toString("hex");
          return v;
        },
      },
      root,
      null,
      { maxProblems: 1 },
    );
    if (r.problems.length > 0) throw new Error(`cannot dump the state: ${r.problems[0]}`);
    const json: DumpJSON = {
      format: FORMAT,
      chainId: chain.spec.chainId.toString(),
      block: chain.head.header.number.toString(),
      stateRoot: bytesToHex(root),
      nodes,
    };
    return gzipSync(JSON.stringify(json));
  }

  async load(bytes: Uint8Array): Promise<void> {
    const { chain, producer, mempool } = this.m;
    const json = parseDump(bytes);
    if (json.chainId !== chain.spec.chainId.toString()) {
      throw new DevStateError(
        { code: DevStateErrorCode.WRONG_CHAIN, chainId: json.chainId },
        `the state dump is of chain ${json.chainId}, this chain is ${chain.spec.chainId}`,
      );
    }
    const root = Buffer.from(json.stateRoot.slice(2), "hex");
    await producer.runExclusive(async () => {
      for (const [key, hex] of Object.entries(json.nodes)) {
        const value = Buffer.from(hex, "hex");
        // A trie node's key is its hash; code's is "c" ‖ its hash: both are checked before use.
        const hash = key.startsWith("63") && key.length === 66 ? key.slice(2) : key;
        if (bytesToHex(keccak256(value)).slice(2) !== hash) {
          throw invalid(`node ${key} does not match its hash`);
        }
        await chain.trieStore.put(key, Uint8Array.from(value));
      }
      const check = await walkState({ getNode: (k) => chain.trieStore.get(k) }, root, null, { maxProblems: 1 });
      if (check.problems.length > 0) throw invalid(check.problems[0]);
      await chain.headState.setStateRoot(root, true);
      chain.setDevStateRoot(root);
    });
    // Every pooled sender's nonce and balance may have changed.
    const senders = new Set<string>();
    const content = mempool.content();
    for (const side of [content.pending, content.queued]) for (const s of side.keys()) senders.add(s);
    await mempool.onNewHead({ accounts: senders });
    this.m.log.info("loaded dev state", { stateRoot: json.stateRoot, nodes: Object.keys(json.nodes).length });
  }
}

function invalid(reason: string): DevStateError {
  return new DevStateError({ code: DevStateErrorCode.INVALID_DUMP, reason }, `invalid state dump: ${reason}`);
}

function parseDump(bytes: Uint8Array): DumpJSON {
  let json: DumpJSON;
  try {
    json = JSON.parse(gunzipSync(bytes).toString("utf8")) as DumpJSON;
  } catch (e) {
    throw invalid((e as Error).message);
  }
  if (json?.format !== FORMAT) throw invalid(`not an ${FORMAT} dump`);
  if (typeof json.stateRoot !== "string" || !/^0x[0-9a-f]{64}$/.test(json.stateRoot)) throw invalid("bad stateRoot");
  if (typeof json.nodes !== "object" || json.nodes === null) throw invalid("no nodes");
  return json;
}
