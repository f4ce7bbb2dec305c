/**
 * Store queries for the token and collection pages, beside `store.ts`: holders by balance and a collection's items
 * by token id. Balances and ids are decimal strings (no 256-bit integers in SQLite), without leading zeros, so
 * ordering by (length, text) is numeric order on both backends.
 */
import type { SQLQueries } from "./db/driver.js";
import type { HoldingRow } from "./types.js";

const holdingOf = (r: Record<string, unknown>): HoldingRow => ({
  token: String(r.token),
  holder: String(r.holder),
  tokenId: String(r.token_id),
  balance: String(r.balance),
});

/** A fungible token's holders, largest balance first. */
export async function topHolders(db: SQLQueries, token: string, limit: number, offset: number): Promise<HoldingRow[]> {
  const rows = await db.all(
    `SELECT * FROM holdings WHERE token = ? AND token_id = ''
     ORDER BY LENGTH(balance) DESC, balance DESC, holder LIMIT ? OFFSET ?`,
    [token.toLowerCase(), limit, offset],
  );
  return rows.map(holdingOf);
}

/** A collection's items (token id and owner; ERC-1155 ids once per owner), lowest id first. */
export async function collectionItems(
  db: SQLQueries,
  token: string,
  limit: number,
  offset: number,
): Promise<HoldingRow[]> {
  const rows = await db.all(
    `SELECT * FROM holdings WHERE token = ? AND token_id <> ''
     ORDER BY LENGTH(token_id), token_id, holder LIMIT ? OFFSET ?`,
    [token.toLowerCase(), limit, offset],
  );
  return rows.map(holdingOf);
}
