/**
 * The explorer's store: one implementation over the SQL port (`db/driver.ts`), so SQLite and PostgreSQL run the
 * same statements and the same test suite. Writes come only from the indexer, a batch of consecutive blocks per
 * transaction together with the cursor; reads serve the API.
 */
import type { Param, Row, SQLDriver, SQLQueries } from "./db/driver.js";
import { ExplorerError, ExplorerErrorCode } from "./errors.js";
import { type GenesisSeed, WAZR_TOKEN } from "./genesisSeed.js";
import { DDL, SCHEMA_VERSION } from "./schema.js";
import type {
  BalanceRow,
  BlockRow,
  ContractRow,
  HoldingRow,
  IndexedBlock,
  InternalCallRow,
  LogRow,
  TokenRow,
  TransferRow,
  TxRow,
  VerificationRow,
} from "./types.js";

const ZERO = "0x0000000000000000000000000000000000000000";
/** Rows per multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const MAX_PARAMS = 30_000;

async function insertMany(q: SQLQueries, table: string, cols: string[], rows: Param[][], conflict = ""): Promise<void> {
  if (rows.length === 0) return;
  const per = Math.max(1, Math.floor(MAX_PARAMS / cols.length));
  const tuple = `(${cols.map(() => "?").join(",")})`;
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    await q.run(
      `INSERT INTO ${table} (${cols.join(",")}) VALUES ${chunk.map(() => tuple).join(",")} ${conflict}`,
      chunk.flat(),
    );
  }
}

export interface Page {
  limit: number;
  offset: number;
  /** Oldest first when "asc" (Etherscan's default); newest first otherwise. */
  sort?: "asc" | "desc";
  startBlock?: number;
  endBlock?: number;
}

export interface StoreStats {
  cursor: number | null;
  blocks: number;
  txs: number;
}

const blockOf = (r: Row): BlockRow => ({
  number: Number(r.number),
  hash: String(r.hash),
  parentHash: String(r.parent_hash),
  timestamp: Number(r.timestamp),
  miner: String(r.miner),
  gasUsed: String(r.gas_used),
  gasLimit: String(r.gas_limit),
  baseFeePerGas: r.base_fee === null ? null : String(r.base_fee),
  txCount: Number(r.tx_count),
});

const txOf = (r: Row): TxRow => ({
  hash: String(r.hash),
  blockNumber: Number(r.block_number),
  txIndex: Number(r.tx_index),
  from: String(r.from_addr),
  to: r.to_addr === null ? null : String(r.to_addr),
  value: String(r.value),
  input: String(r.input),
  nonce: Number(r.nonce),
  gasLimit: String(r.gas_limit),
  gasPrice: String(r.gas_price),
  gasUsed: String(r.gas_used),
  status: Number(r.status),
  contractAddress: r.contract_address === null ? null : String(r.contract_address),
  methodId: r.method_id === null ? null : String(r.method_id),
  error: r.error === null ? null : String(r.error),
  timestamp: Number(r.timestamp),
});

const logOf = (r: Row): LogRow => ({
  txHash: String(r.tx_hash),
  blockNumber: Number(r.block_number),
  logIndex: Number(r.log_index),
  address: String(r.address),
  topics: [r.topic0, r.topic1, r.topic2, r.topic3].filter((t): t is string => typeof t === "string"),
  data: String(r.data),
  event: r.event === null ? null : String(r.event),
});

const transferOf = (r: Row): TransferRow => ({
  txHash: String(r.tx_hash),
  blockNumber: Number(r.block_number),
  logIndex: Number(r.log_index),
  batchIndex: Number(r.batch_index),
  token: String(r.token),
  standard: r.standard as TransferRow["standard"],
  from: String(r.from_addr),
  to: String(r.to_addr),
  tokenId: r.token_id === null ? null : String(r.token_id),
  amount: String(r.amount),
  timestamp: Number(r.timestamp),
});

const callOf = (r: Row): InternalCallRow => ({
  txHash: String(r.tx_hash),
  blockNumber: Number(r.block_number),
  callIndex: Number(r.call_index),
  depth: Number(r.depth),
  type: String(r.type),
  from: String(r.from_addr),
  to: r.to_addr === null ? null : String(r.to_addr),
  value: String(r.value),
  gasUsed: String(r.gas_used),
  input: String(r.input),
  output: r.output === null ? null : String(r.output),
  error: r.error === null ? null : String(r.error),
});

const tokenOf = (r: Row): TokenRow => ({
  address: String(r.address),
  standard: r.standard as TokenRow["standard"],
  name: r.name === null ? null : String(r.name),
  symbol: r.symbol === null ? null : String(r.symbol),
  decimals: r.decimals === null ? null : Number(r.decimals),
});

const holdingOf = (r: Row): HoldingRow => ({
  token: String(r.token),
  holder: String(r.holder),
  tokenId: String(r.token_id),
  balance: String(r.balance),
});

export class ExplorerStore {
  private constructor(readonly db: SQLDriver) {}

  static async open(db: SQLDriver): Promise<ExplorerStore> {
    await db.migrate(DDL);
    const v = await db.all<{ value: string }>("SELECT value FROM meta WHERE key = 'schema'");
    if (v.length === 0) await db.run("INSERT INTO meta (key, value) VALUES ('schema', ?)", [String(SCHEMA_VERSION)]);
    else if (Number(v[0].value) !== SCHEMA_VERSION)
      throw new ExplorerError({ code: ExplorerErrorCode.SCHEMA_MISMATCH, found: v[0].value, want: SCHEMA_VERSION });
    return new ExplorerStore(db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  /** The last block whose rows are all stored, or null before the first. */
  async cursor(q: SQLQueries = this.db): Promise<number | null> {
    const r = await q.all<{ value: string }>("SELECT value FROM meta WHERE key = 'cursor'");
    return r.length === 0 ? null : Number(r[0].value);
  }

  /**
   * Writes consecutive blocks, their rows, the holdings they change and the cursor in one transaction. Refuses a
   * batch that does not start right after the cursor, so neither a gap nor a block written twice can happen.
   * `seed` (what the chain held before `first`: `genesisSeed.ts`) is written only with the first batch of an empty
   * store, in the same transaction — never twice, whatever the indexer's restarts.
   */
  async saveBlocks(blocks: IndexedBlock[], first: number, seed?: GenesisSeed): Promise<void> {
    if (blocks.length === 0) return;
    await this.db.transaction(async (q) => {
      const cursor = await this.cursor(q);
      const expected = cursor === null ? first : cursor + 1;
      blocks.forEach((b, i) => {
        if (b.block.number !== expected + i)
          throw new ExplorerError({
            code: ExplorerErrorCode.NOT_CONTIGUOUS,
            block: b.block.number,
            expected: expected + i,
          });
      });
      if (cursor === null && seed !== undefined) await this.applySeed(q, seed);
      await insertMany(
        q,
        "blocks",
        ["number", "hash", "parent_hash", "timestamp", "miner", "gas_used", "gas_limit", "base_fee", "tx_count"],
        blocks.map(({ block: b }) => [
          b.number,
          b.hash,
          b.parentHash,
          b.timestamp,
          b.miner,
          b.gasUsed,
          b.gasLimit,
          b.baseFeePerGas,
          b.txCount,
        ]),
      );
      const txs = blocks.flatMap((b) => b.txs);
      await insertMany(
        q,
        "txs",
        [
          "hash",
          "block_number",
          "tx_index",
          "from_addr",
          "to_addr",
          "value",
          "input",
          "nonce",
          "gas_limit",
          "gas_price",
          "gas_used",
          "status",
          "contract_address",
          "method_id",
          "error",
          "timestamp",
        ],
        txs.map((t) => [
          t.hash,
          t.blockNumber,
          t.txIndex,
          t.from,
          t.to,
          t.value,
          t.input,
          t.nonce,
          t.gasLimit,
          t.gasPrice,
          t.gasUsed,
          t.status,
          t.contractAddress,
          t.methodId,
          t.error,
          t.timestamp,
        ]),
      );
      // Each address a transaction concerns (sender, recipient, created contract), once per transaction.
      const addressTxs: Param[][] = [];
      for (const t of txs) {
        const seen = new Set([t.from, t.to, t.contractAddress].filter((a): a is string => a !== null));
        for (const a of seen) addressTxs.push([a, t.blockNumber, t.txIndex, t.hash]);
      }
      await insertMany(q, "address_txs", ["address", "block_number", "tx_index", "tx_hash"], addressTxs);
      await insertMany(
        q,
        "logs",
        ["tx_hash", "block_number", "log_index", "address", "topic0", "topic1", "topic2", "topic3", "data", "event"],
        blocks
          .flatMap((b) => b.logs)
          .map((l) => [
            l.txHash,
            l.blockNumber,
            l.logIndex,
            l.address,
            l.topics[0] ?? null,
            l.topics[1] ?? null,
            l.topics[2] ?? null,
            l.topics[3] ?? null,
            l.data,
            l.event,
          ]),
      );
      const transfers = blocks.flatMap((b) => b.transfers);
      await insertMany(
        q,
        "transfers",
        [
          "tx_hash",
          "block_number",
          "log_index",
          "batch_index",
          "token",
          "standard",
          "from_addr",
          "to_addr",
          "token_id",
          "amount",
          "timestamp",
        ],
        transfers.map((t) => [
          t.txHash,
          t.blockNumber,
          t.logIndex,
          t.batchIndex,
          t.token,
          t.standard,
          t.from,
          t.to,
          t.tokenId,
          t.amount,
          t.timestamp,
        ]),
      );
      await insertMany(
        q,
        "internal_calls",
        [
          "tx_hash",
          "block_number",
          "call_index",
          "depth",
          "type",
          "from_addr",
          "to_addr",
          "value",
          "gas_used",
          "input",
          "output",
          "error",
        ],
        blocks
          .flatMap((b) => b.internalCalls)
          .map((c) => [
            c.txHash,
            c.blockNumber,
            c.callIndex,
            c.depth,
            c.type,
            c.from,
            c.to,
            c.value,
            c.gasUsed,
            c.input,
            c.output,
            c.error,
          ]),
      );
      await insertMany(
        q,
        "contracts",
        ["address", "creator", "tx_hash", "block_number", "creation_input"],
        blocks.flatMap((b) => b.contracts).map((c) => [c.address, c.creator, c.txHash, c.blockNumber, c.creationInput]),
        // A contract at an address created, self-destructed and created again keeps its first record.
        "ON CONFLICT (address) DO NOTHING",
      );
      await insertMany(
        q,
        "tokens",
        ["address", "standard", "name", "symbol", "decimals", "first_block"],
        blocks.flatMap((b) =>
          b.tokens.map((t) => [t.address, t.standard, t.name, t.symbol, t.decimals, b.block.number]),
        ),
        "ON CONFLICT (address) DO NOTHING",
      );
      await this.applyHoldings(q, transfers);
      await this.saveBalances(
        q,
        blocks.flatMap((b) => b.balances),
      );
      const last = blocks[blocks.length - 1].block.number;
      await q.run(
        "INSERT INTO meta (key, value) VALUES ('cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(last)],
      );
    });
  }

  private async applySeed(q: SQLQueries, seed: GenesisSeed): Promise<void> {
    await insertMany(
      q,
      "tokens",
      ["address", "standard", "name", "symbol", "decimals", "first_block"],
      seed.tokens.map((t) => [t.address, t.standard, t.name, t.symbol, t.decimals, seed.block]),
      "ON CONFLICT (address) DO NOTHING",
    );
    await insertMany(
      q,
      "holdings",
      ["token", "holder", "token_id", "balance"],
      seed.holdings.filter((h) => h.balance !== "0").map((h) => [h.token, h.holder, h.tokenId, h.balance]),
      "ON CONFLICT (holder, token, token_id) DO UPDATE SET balance = excluded.balance",
    );
    await this.saveBalances(q, seed.balances);
  }

  /**
   * Token holdings from transfers, as deltas on the stored balances. Not WAZR's: a WAZR balance is the account's
   * native balance, which fees and plain value transfers change without a WAZR event (`saveBalances` mirrors it).
   */
  private async applyHoldings(q: SQLQueries, transfers: TransferRow[]): Promise<void> {
    const deltas = new Map<string, { token: string; holder: string; tokenId: string; delta: bigint }>();
    const add = (token: string, holder: string, tokenId: string, delta: bigint) => {
      if (holder === ZERO || delta === 0n) return;
      const k = `${holder}|${token}|${tokenId}`;
      const d = deltas.get(k);
      if (d === undefined) deltas.set(k, { token, holder, tokenId, delta });
      else d.delta += delta;
    };
    for (const t of transfers) {
      if (t.token === WAZR_TOKEN) continue;
      const id = t.tokenId ?? "";
      const amount = BigInt(t.amount);
      add(t.token, t.from, id, -amount);
      add(t.token, t.to, id, amount);
    }
    for (const d of deltas.values()) {
      if (d.delta === 0n) continue;
      const cur = await q.all<{ balance: string }>(
        "SELECT balance FROM holdings WHERE holder = ? AND token = ? AND token_id = ?",
        [d.holder, d.token, d.tokenId],
      );
      const next = (cur.length === 0 ? 0n : BigInt(cur[0].balance)) + d.delta;
      if (next === 0n) {
        await q.run("DELETE FROM holdings WHERE holder = ? AND token = ? AND token_id = ?", [
          d.holder,
          d.token,
          d.tokenId,
        ]);
      } else {
        // A negative balance means a token whose events do not add up (a non-standard contract): kept, not hidden.
        await q.run(
          `INSERT INTO holdings (token, holder, token_id, balance) VALUES (?, ?, ?, ?)
           ON CONFLICT (holder, token, token_id) DO UPDATE SET balance = excluded.balance`,
          [d.token, d.holder, d.tokenId, next.toString()],
        );
      }
    }
  }

  /** Native balances, and WAZR holdings equal to them (zero: no holding; the zero address holds nothing). */
  private async saveBalances(q: SQLQueries, rows: BalanceRow[]): Promise<void> {
    const latest = new Map<string, BalanceRow>();
    for (const r of rows) latest.set(r.address, r); // blocks are in order: the last one wins
    await insertMany(
      q,
      "balances",
      ["address", "balance", "block_number"],
      [...latest.values()].map((r) => [r.address, r.balance, r.blockNumber]),
      "ON CONFLICT (address) DO UPDATE SET balance = excluded.balance, block_number = excluded.block_number",
    );
    const held = [...latest.values()].filter((r) => r.address !== ZERO);
    await insertMany(
      q,
      "holdings",
      ["token", "holder", "token_id", "balance"],
      held.filter((r) => r.balance !== "0").map((r) => [WAZR_TOKEN, r.address, "", r.balance]),
      "ON CONFLICT (holder, token, token_id) DO UPDATE SET balance = excluded.balance",
    );
    const empty = held.filter((r) => r.balance === "0").map((r) => r.address);
    for (let i = 0; i < empty.length; i += 500) {
      const chunk = empty.slice(i, i + 500);
      await q.run(
        `DELETE FROM holdings WHERE token = ? AND token_id = '' AND holder IN (${chunk.map(() => "?").join(",")})`,
        [WAZR_TOKEN, ...chunk],
      );
    }
  }

  // ---- reads ----

  async stats(): Promise<StoreStats> {
    const [b] = await this.db.all<{ n: number }>("SELECT COUNT(*) AS n FROM blocks");
    const [t] = await this.db.all<{ n: number }>("SELECT COUNT(*) AS n FROM txs");
    return { cursor: await this.cursor(), blocks: Number(b.n), txs: Number(t.n) };
  }

  async blocks(limit: number, before?: number): Promise<BlockRow[]> {
    const rows =
      before === undefined
        ? await this.db.all("SELECT * FROM blocks ORDER BY number DESC LIMIT ?", [limit])
        : await this.db.all("SELECT * FROM blocks WHERE number < ? ORDER BY number DESC LIMIT ?", [before, limit]);
    return rows.map(blockOf);
  }

  async block(ref: { number: number } | { hash: string }): Promise<BlockRow | null> {
    const rows =
      "number" in ref
        ? await this.db.all("SELECT * FROM blocks WHERE number = ?", [ref.number])
        : await this.db.all("SELECT * FROM blocks WHERE hash = ?", [ref.hash.toLowerCase()]);
    return rows.length === 0 ? null : blockOf(rows[0]);
  }

  async blockTxs(number: number): Promise<TxRow[]> {
    return (await this.db.all("SELECT * FROM txs WHERE block_number = ? ORDER BY tx_index", [number])).map(txOf);
  }

  /** The newest transactions across blocks (the home page's list; served by the txs_block index). */
  async latestTxs(limit: number): Promise<TxRow[]> {
    return (await this.db.all("SELECT * FROM txs ORDER BY block_number DESC, tx_index DESC LIMIT ?", [limit])).map(
      txOf,
    );
  }

  async tx(hash: string): Promise<TxRow | null> {
    const rows = await this.db.all("SELECT * FROM txs WHERE hash = ?", [hash.toLowerCase()]);
    return rows.length === 0 ? null : txOf(rows[0]);
  }

  async txLogs(hash: string): Promise<LogRow[]> {
    return (await this.db.all("SELECT * FROM logs WHERE tx_hash = ? ORDER BY log_index", [hash.toLowerCase()])).map(
      logOf,
    );
  }

  async txInternalCalls(hash: string): Promise<InternalCallRow[]> {
    return (
      await this.db.all("SELECT * FROM internal_calls WHERE tx_hash = ? ORDER BY call_index", [hash.toLowerCase()])
    ).map(callOf);
  }

  async txTransfers(hash: string): Promise<TransferRow[]> {
    return (
      await this.db.all("SELECT * FROM transfers WHERE tx_hash = ? ORDER BY log_index, batch_index", [
        hash.toLowerCase(),
      ])
    ).map(transferOf);
  }

  private range(p: Page, col: string): { where: string; params: Param[] } {
    const parts: string[] = [];
    const params: Param[] = [];
    if (p.startBlock !== undefined) {
      parts.push(`${col} >= ?`);
      params.push(p.startBlock);
    }
    if (p.endBlock !== undefined) {
      parts.push(`${col} <= ?`);
      params.push(p.endBlock);
    }
    return { where: parts.map((x) => ` AND ${x}`).join(""), params };
  }

  /** Transactions sent by, to, or creating `address`. */
  async addressTxs(address: string, p: Page): Promise<TxRow[]> {
    const dir = p.sort === "asc" ? "ASC" : "DESC";
    const r = this.range(p, "a.block_number");
    const rows = await this.db.all(
      `SELECT t.* FROM address_txs a JOIN txs t ON t.hash = a.tx_hash WHERE a.address = ?${r.where}
       ORDER BY a.block_number ${dir}, a.tx_index ${dir} LIMIT ? OFFSET ?`,
      [address.toLowerCase(), ...r.params, p.limit, p.offset],
    );
    return rows.map(txOf);
  }

  async addressTxCount(address: string): Promise<number> {
    const [r] = await this.db.all<{ n: number }>("SELECT COUNT(*) AS n FROM address_txs WHERE address = ?", [
      address.toLowerCase(),
    ]);
    return Number(r.n);
  }

  /** Token transfers from or to `address`, optionally of one token or one standard. */
  async addressTransfers(
    address: string,
    p: Page & { token?: string; standard?: TransferRow["standard"] },
  ): Promise<TransferRow[]> {
    const dir = p.sort === "asc" ? "ASC" : "DESC";
    const a = address.toLowerCase();
    const extra: string[] = [];
    const params: Param[] = [];
    if (p.token !== undefined) {
      extra.push("token = ?");
      params.push(p.token.toLowerCase());
    }
    if (p.standard !== undefined) {
      extra.push("standard = ?");
      params.push(p.standard);
    }
    const r = this.range(p, "block_number");
    const filter = extra.map((x) => ` AND ${x}`).join("") + r.where;
    const rows = await this.db.all(
      `SELECT * FROM (
         SELECT * FROM transfers WHERE from_addr = ?${filter}
         UNION SELECT * FROM transfers WHERE to_addr = ?${filter}
       ) x ORDER BY block_number ${dir}, log_index ${dir}, batch_index ${dir} LIMIT ? OFFSET ?`,
      [a, ...params, ...r.params, a, ...params, ...r.params, p.limit, p.offset],
    );
    return rows.map(transferOf);
  }

  /** Each distinct transaction of `hashes`, by hash (one query for a page of transfers). */
  async txsByHash(hashes: string[]): Promise<Map<string, TxRow>> {
    const unique = [...new Set(hashes)];
    const out = new Map<string, TxRow>();
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const rows = await this.db.all(`SELECT * FROM txs WHERE hash IN (${chunk.map(() => "?").join(",")})`, chunk);
      for (const r of rows) out.set(String(r.hash), txOf(r));
    }
    return out;
  }

  async tokenTransfers(token: string, p: Page): Promise<TransferRow[]> {
    const dir = p.sort === "asc" ? "ASC" : "DESC";
    const r = this.range(p, "block_number");
    const rows = await this.db.all(
      `SELECT * FROM transfers WHERE token = ?${r.where}
       ORDER BY block_number ${dir}, log_index ${dir}, batch_index ${dir} LIMIT ? OFFSET ?`,
      [token.toLowerCase(), ...r.params, p.limit, p.offset],
    );
    return rows.map(transferOf);
  }

  async holdings(holder: string): Promise<(HoldingRow & { tokenInfo: TokenRow | null })[]> {
    const rows = await this.db.all(
      `SELECT h.*, t.standard, t.name, t.symbol, t.decimals, t.address FROM holdings h
       LEFT JOIN tokens t ON t.address = h.token WHERE h.holder = ? ORDER BY h.token, h.token_id`,
      [holder.toLowerCase()],
    );
    return rows.map((r) => ({ ...holdingOf(r), tokenInfo: r.address === null ? null : tokenOf(r) }));
  }

  async tokenHolders(token: string, limit: number, offset: number): Promise<HoldingRow[]> {
    const rows = await this.db.all(
      "SELECT * FROM holdings WHERE token = ? ORDER BY holder, token_id LIMIT ? OFFSET ?",
      [token.toLowerCase(), limit, offset],
    );
    return rows.map(holdingOf);
  }

  async tokenHolderCount(token: string): Promise<number> {
    const [r] = await this.db.all<{ n: number }>("SELECT COUNT(DISTINCT holder) AS n FROM holdings WHERE token = ?", [
      token.toLowerCase(),
    ]);
    return Number(r.n);
  }

  async token(address: string): Promise<TokenRow | null> {
    const rows = await this.db.all("SELECT * FROM tokens WHERE address = ?", [address.toLowerCase()]);
    return rows.length === 0 ? null : tokenOf(rows[0]);
  }

  async knownTokens(addresses: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (addresses.length === 0) return out;
    const rows = await this.db.all<{ address: string }>(
      `SELECT address FROM tokens WHERE address IN (${addresses.map(() => "?").join(",")})`,
      addresses,
    );
    for (const r of rows) out.add(r.address);
    return out;
  }

  async balance(address: string): Promise<BalanceRow | null> {
    const rows = await this.db.all("SELECT * FROM balances WHERE address = ?", [address.toLowerCase()]);
    return rows.length === 0
      ? null
      : {
          address: String(rows[0].address),
          balance: String(rows[0].balance),
          blockNumber: Number(rows[0].block_number),
        };
  }

  async contract(address: string): Promise<ContractRow | null> {
    const rows = await this.db.all("SELECT * FROM contracts WHERE address = ?", [address.toLowerCase()]);
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      address: String(r.address),
      creator: String(r.creator),
      txHash: String(r.tx_hash),
      blockNumber: Number(r.block_number),
      creationInput: String(r.creation_input),
    };
  }

  async saveVerification(v: VerificationRow): Promise<void> {
    await this.db.transaction((q) =>
      q.run(
        `INSERT INTO verifications (address, match, contract_name, compiler_version, abi, input, constructor_args,
           verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (address) DO UPDATE SET match = excluded.match, contract_name = excluded.contract_name,
           compiler_version = excluded.compiler_version, abi = excluded.abi, input = excluded.input,
           constructor_args = excluded.constructor_args, verified_at = excluded.verified_at`,
        [
          v.address.toLowerCase(),
          v.match,
          v.contractName,
          v.compilerVersion,
          JSON.stringify(v.abi),
          JSON.stringify(v.input),
          v.constructorArgs,
          v.verifiedAt,
        ],
      ),
    );
  }

  async verification(address: string): Promise<VerificationRow | null> {
    const rows = await this.db.all("SELECT * FROM verifications WHERE address = ?", [address.toLowerCase()]);
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      address: String(r.address),
      match: r.match as VerificationRow["match"],
      contractName: String(r.contract_name),
      compilerVersion: String(r.compiler_version),
      abi: JSON.parse(String(r.abi)),
      input: JSON.parse(String(r.input)),
      constructorArgs: String(r.constructor_args),
      verifiedAt: Number(r.verified_at),
    };
  }

  async saveVerifyJob(guid: string, address: string, status: string, result: string, nowMs: number): Promise<void> {
    await this.db.transaction((q) =>
      q.run(
        `INSERT INTO verify_jobs (guid, address, status, result, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (guid) DO UPDATE SET status = excluded.status, result = excluded.result`,
        [guid, address.toLowerCase(), status, result, nowMs],
      ),
    );
  }

  async verifyJob(guid: string): Promise<{ address: string; status: string; result: string } | null> {
    const rows = await this.db.all("SELECT * FROM verify_jobs WHERE guid = ?", [guid]);
    return rows.length === 0
      ? null
      : { address: String(rows[0].address), status: String(rows[0].status), result: String(rows[0].result) };
  }
}
