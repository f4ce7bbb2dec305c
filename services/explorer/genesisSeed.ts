/**
 * What an empty store starts from, before the first indexed block: state no event announces. Genesis writes
 * LEARN and $AZR allocations without a transaction, and collections created before `indexer.fromBlock` emitted
 * their `CollectionCreated` where the indexer never looked. So the indexer reads, at one block (`atBlock`: 0, or
 * the block before `fromBlock`):
 * - the native tokens (WAZR, LEARN) and every collection the NFT registry lists (`collectionCount`/`collectionAt`)
 *   as token rows, with `name()`/`symbol()`/`decimals()`;
 * - the genesis this node started from (`azora_getGenesis`), for who holds what at block 0: the native balance
 *   (`eth_getBalance`) of every `alloc` account, of the native modules and of every LEARN allocation, and the LEARN
 *   `balanceOf` of every LEARN allocation — the amounts as the node answers them at `atBlock`, not as the file says.
 *
 * The store writes the seed in the transaction of the first batch (`ExplorerStore.saveBlocks`), so a crash leaves
 * it with that batch or not at all, and a restart never applies it twice.
 */
import { Interface } from "ethers";
import { INFTRegistryAbi } from "../../contracts/artifacts/INFTRegistry.js";
import { type RPCClient, RPCError } from "../runtime/chain/rpcClient.js";
import { NATIVE_MODULES } from "./decode.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import { batched, CALL_BATCH, decodeString, decodeUint, decodeUint8, hexDec, must, quantity } from "./rpcBatch.js";
import type { BalanceRow, HoldingRow, TokenRow } from "./types.js";

const moduleAt = (name: string) => {
  const m = NATIVE_MODULES.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no native module ${name}`);
  return m.address;
};
export const WAZR_TOKEN = moduleAt("WAZR");
export const LEARN_TOKEN = moduleAt("LEARN");
export const NFT_REGISTRY = moduleAt("NFTRegistry");

const registry = new Interface(INFTRegistryAbi as never);
export const COLLECTION_CREATED_TOPIC = registry.getEvent("CollectionCreated")!.topicHash;

const NAME = "0x06fdde03";
const SYMBOL = "0x95d89b41";
const DECIMALS = "0x313ce567";
const BALANCE_OF = "0x70a08231";

export interface GenesisSeed {
  /** The block the seed was read at; its token rows' `first_block`. */
  block: number;
  tokens: TokenRow[];
  /** Native balances at `block` (WAZR's holdings mirror them: see `ExplorerStore`). */
  balances: BalanceRow[];
  /** LEARN balances at `block` of the genesis allocations. */
  holdings: HoldingRow[];
  /** False when the node does not serve `azora_getGenesis` (another client): no genesis holders then. */
  genesisKnown: boolean;
}

/** The parts of the genesis JSON the seed uses (genesis/spec.ts has the whole format). */
interface GenesisJSON {
  alloc?: Record<string, unknown>;
  modules?: { learn?: { allocations?: Record<string, unknown> } };
}

const isAddress = (a: string) => /^0x[0-9a-f]{40}$/.test(a);

async function readGenesis(rpc: RPCClient): Promise<GenesisJSON | null> {
  try {
    return await rpc.call<GenesisJSON>("azora_getGenesis", []);
  } catch (e) {
    // -32601: a node without the method. Anything else (transport) is retried with the batch.
    if (e instanceof RPCError && e.rpcCode === -32601) return null;
    throw e;
  }
}

export async function fetchGenesisSeed(rpc: RPCClient, atBlock: number): Promise<GenesisSeed> {
  const at = quantity(atBlock);
  const call = (to: string, data: string) => ["eth_call", [{ to, data }, at]] as [string, unknown[]];
  const genesis = await readGenesis(rpc);
  const lower = (o: Record<string, unknown> | undefined) =>
    Object.keys(o ?? {})
      .map((a) => a.toLowerCase())
      .filter(isAddress);
  const learnHolders = [...new Set(lower(genesis?.modules?.learn?.allocations))].sort();
  const accounts = [
    ...new Set([...lower(genesis?.alloc), ...NATIVE_MODULES.map((m) => m.address), ...learnHolders]),
  ].sort();

  const word = (a: string) => a.slice(2).padStart(64, "0");
  const first = await batched<string>(
    rpc,
    [
      call(NFT_REGISTRY, registry.encodeFunctionData("collectionCount")),
      ...accounts.map((a) => ["eth_getBalance", [a, at]] as [string, unknown[]]),
      ...learnHolders.map((a) => call(LEARN_TOKEN, `${BALANCE_OF}${word(a)}`)),
    ],
    CALL_BATCH,
  );
  const count = Number(decodeUint(must(first[0], atBlock, "NFT registry collectionCount")) ?? 0n);
  const balances: BalanceRow[] = accounts.map((address, i) => ({
    address,
    balance: hexDec(must(first[1 + i], atBlock, `balance of ${address}`)),
    blockNumber: atBlock,
  }));
  const holdings: HoldingRow[] = [];
  learnHolders.forEach((holder, i) => {
    const v = decodeUint(must(first[1 + accounts.length + i], atBlock, `LEARN balance of ${holder}`));
    if (v === null)
      throw new ExplorerError({ code: ExplorerErrorCode.BAD_NODE_DATA, block: atBlock, what: `LEARN of ${holder}` });
    if (v !== 0n) holdings.push({ token: LEARN_TOKEN, holder, tokenId: "", balance: v.toString() });
  });

  const collectionsAt = await batched<string>(
    rpc,
    // Collections are numbered from 1.
    Array.from({ length: count }, (_, n) => call(NFT_REGISTRY, registry.encodeFunctionData("collectionAt", [n + 1]))),
    CALL_BATCH,
  );
  const collections = collectionsAt.map((r) => `0x${must(r, atBlock, "NFT registry collectionAt").slice(26)}`);
  const tokens: [string, TokenRow["standard"]][] = [
    [WAZR_TOKEN, "erc20"],
    [LEARN_TOKEN, "erc20"],
    ...collections.map((c): [string, TokenRow["standard"]] => [c, "erc721"]),
  ];
  const meta = await batched<string>(
    rpc,
    tokens.flatMap(([address, standard]) =>
      [NAME, SYMBOL, ...(standard === "erc20" ? [DECIMALS] : [])].map((data) => call(address, data)),
    ),
    CALL_BATCH,
  );
  let k = 0;
  const rows = tokens.map(([address, standard]): TokenRow => {
    const name = decodeString(meta[k++]);
    const symbol = decodeString(meta[k++]);
    const decimals = standard === "erc20" ? decodeUint8(meta[k++]) : null;
    return { address, standard, name, symbol, decimals };
  });
  return { block: atBlock, tokens: rows, balances, holdings, genesisKnown: genesis !== null };
}
