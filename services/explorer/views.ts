/**
 * What the API shows, assembled from the store: a transaction with its decoded input, logs, internal calls and
 * token transfers; an address with its balance, holdings and contract status. Decoding uses the ABI of a verified
 * contract when there is one, else the native modules' and the token standards' (`decode.ts`).
 */
import { Interface } from "ethers";
import { decodeInput, decodeLog, nativeModuleName } from "./decode.js";
import { WAZR_TOKEN } from "./genesisSeed.js";
import type { ExplorerStore } from "./store.js";

export class Views {
  private readonly abis = new Map<string, Interface | null>();

  constructor(
    private readonly store: ExplorerStore,
    /** The node's balance now, for addresses no indexed block touched (genesis-funded, idle). */
    private readonly liveBalance?: (address: string) => Promise<string>,
  ) {}

  /** Forget a cached ABI (after a verification). */
  invalidate(address: string): void {
    this.abis.delete(address.toLowerCase());
  }

  private async abiOf(address: string | null): Promise<Interface | undefined> {
    if (address === null) return undefined;
    const a = address.toLowerCase();
    if (!this.abis.has(a)) {
      const v = await this.store.verification(a);
      if (this.abis.size > 10_000) this.abis.clear();
      this.abis.set(a, v === null ? null : new Interface(v.abi as never));
    }
    return this.abis.get(a) ?? undefined;
  }

  async tx(hash: string) {
    const tx = await this.store.tx(hash);
    if (tx === null) return null;
    const [logs, calls, transfers] = await Promise.all([
      this.store.txLogs(hash),
      this.store.txInternalCalls(hash),
      this.store.txTransfers(hash),
    ]);
    return {
      ...tx,
      decodedInput: decodeInput(tx.input, await this.abiOf(tx.to), tx.to),
      logs: await Promise.all(
        logs.map(async (l) => ({
          logIndex: l.logIndex,
          address: l.address,
          topics: l.topics,
          data: l.data,
          event: l.event,
          decoded: decodeLog(l.address, l.topics, l.data, await this.abiOf(l.address)),
        })),
      ),
      internalCalls: await Promise.all(
        calls.map(async (c) => ({
          callIndex: c.callIndex,
          depth: c.depth,
          type: c.type,
          from: c.from,
          to: c.to,
          value: c.value,
          gasUsed: c.gasUsed,
          input: c.input,
          output: c.output,
          error: c.error,
          decoded: decodeInput(c.input, await this.abiOf(c.to), c.to),
        })),
      ),
      transfers,
    };
  }

  async address(address: string) {
    const a = address.toLowerCase();
    const [balance, txCount, holdings, contract, verification, token] = await Promise.all([
      this.store.balance(a),
      this.store.addressTxCount(a),
      this.store.holdings(a),
      this.store.contract(a),
      this.store.verification(a),
      this.store.token(a),
    ]);
    const native = nativeModuleName(a) ?? null;
    const live =
      balance === null && this.liveBalance !== undefined ? await this.liveBalance(a).catch(() => null) : null;
    return {
      address: a,
      balance: balance?.balance ?? live ?? "0",
      balanceBlock: balance?.blockNumber ?? null,
      txCount,
      isContract: contract !== null || native !== null,
      nativeModule: native,
      contract:
        contract === null
          ? null
          : { creator: contract.creator, txHash: contract.txHash, blockNumber: contract.blockNumber },
      verification:
        verification === null
          ? null
          : {
              match: verification.match,
              contractName: verification.contractName,
              compilerVersion: verification.compilerVersion,
            },
      token,
      // WAZR is the native balance above, not listed again as a token.
      tokens: holdings.filter((h) => h.tokenId === "" && h.token !== WAZR_TOKEN).map(({ holder: _h, ...rest }) => rest),
      nfts: holdings.filter((h) => h.tokenId !== "").map(({ holder: _h, ...rest }) => rest),
    };
  }
}
