/**
 * The store's queries for the platform pages: a native module's indexed events about one validator, proposal,
 * escrow or job (their history, decoded), and name/symbol search over tokens and collections. Same SQL on SQLite
 * and PostgreSQL (the tables are the indexer's own; `logs_address` serves the event scans).
 */
import type { Param, Row, SQLDriver } from "./db/driver.js";
import { decodeLog } from "./decode.js";
import type { ModuleEvent, TokenRow, TokenStandard } from "./types.js";

export type { ModuleEvent };

/** A topic as the logs table stores it: a 32-byte word, lowercase hex. */
export const topicOf = (v: bigint | string): string =>
  `0x${(typeof v === "bigint" ? v.toString(16) : v.replace(/^0x/, "").toLowerCase()).padStart(64, "0")}`;

const tokenOf = (r: Row): TokenRow => ({
  address: String(r.address),
  standard: String(r.standard) as TokenStandard,
  name: r.name === null ? null : String(r.name),
  symbol: r.symbol === null ? null : String(r.symbol),
  decimals: r.decimals === null ? null : Number(r.decimals),
});

/** `q` as a LIKE pattern that matches it anywhere, its own `%`, `_` and `\` taken literally. */
const containing = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class PlatformStore {
  constructor(private readonly db: SQLDriver) {}

  /**
   * Events a module emitted that name `subject` in an indexed topic (topic1 for an id; any topic for an address),
   * oldest first, restricted to `events` when given. At most `limit`.
   */
  async moduleEvents(
    module: string,
    subject: { id: bigint } | { address: string },
    opts: { events?: readonly string[]; limit: number },
  ): Promise<ModuleEvent[]> {
    const params: Param[] = [module.toLowerCase()];
    let where: string;
    if ("id" in subject) {
      where = "l.topic1 = ?";
      params.push(topicOf(subject.id));
    } else {
      const t = topicOf(subject.address);
      where = "(l.topic1 = ? OR l.topic2 = ? OR l.topic3 = ?)";
      params.push(t, t, t);
    }
    if (opts.events !== undefined && opts.events.length > 0) {
      where += ` AND l.event IN (${opts.events.map(() => "?").join(",")})`;
      params.push(...opts.events);
    }
    params.push(opts.limit);
    const rows = await this.db.all(
      `SELECT l.*, b.timestamp AS block_time FROM logs l LEFT JOIN blocks b ON b.number = l.block_number
       WHERE l.address = ? AND ${where} ORDER BY l.block_number, l.log_index LIMIT ?`,
      params,
    );
    return rows.flatMap((r) => {
      const topics = [r.topic0, r.topic1, r.topic2, r.topic3].filter((t): t is string => typeof t === "string");
      const d = decodeLog(String(r.address), topics, String(r.data));
      if (d === null) return [];
      return [
        {
          txHash: String(r.tx_hash),
          blockNumber: Number(r.block_number),
          logIndex: Number(r.log_index),
          timestamp: r.block_time === null ? null : Number(r.block_time),
          event: d.name,
          args: d.args,
        },
      ];
    });
  }

  /**
   * Tokens and collections whose name or symbol contains `q` (case-insensitive): an exact symbol or name first,
   * then names that start with it, then the rest, each by first appearance.
   */
  async searchTokens(q: string, limit: number): Promise<TokenRow[]> {
    const needle = q.trim().toLowerCase();
    if (needle === "") return [];
    const rows = await this.db.all(
      `SELECT * FROM tokens
       WHERE LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(symbol, '')) LIKE ? ESCAPE '\\'
       ORDER BY CASE WHEN LOWER(COALESCE(symbol, '')) = ? OR LOWER(COALESCE(name, '')) = ? THEN 0
                     WHEN LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\' THEN 1 ELSE 2 END, first_block, address
       LIMIT ?`,
      [containing(needle), containing(needle), needle, needle, `${containing(needle).slice(1)}`, limit],
    );
    return rows.map(tokenOf);
  }
}
