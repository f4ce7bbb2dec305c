import type Database from "better-sqlite3";
import { secp256k1Native } from "../../../runtime/primitives/nativeCrypto.js";
import { paymentDigest, recoverDigestSignerHex } from "../../client/paymentSignatures.js";
import { decodeSigned, paymentsDomain, type Receipt } from "../../client/payments.js";
import {
  decodeSessionReceipt,
  MAX_SESSION_MS,
  type MacKey,
  RECEIPT_SESSION_STRUCT,
  sessionIdOf,
  sessionKey,
  sessionMacValid,
} from "../../client/receiptSession.js";

/**
 * The payee's receipt sessions (services/client/receiptSession.ts): verifies a session's signed open once, journals
 * it with its first receipt (payer, ephemeral key, expiry — never the derived key: after a restart it is derived again with the payee's
 * key) and checks each session receipt's MAC from memory. A refusal is a `SessionRefusal`; `unknown` ones (no such
 * session, or expired) tell the payer to open a new one.
 */
export class SessionRefusal extends Error {
  constructor(
    message: string,
    /** True when the payer should open a new session (unknown or expired); false for a bad receipt or open. */
    readonly unknown: boolean,
  ) {
    super(message);
  }
}

/** A session's journal row: id, payer (lowercase hex), ephemeral key, expiry (ms). */
export type SessionRow = readonly [id: string, payer: string, ephemeral: string, expiryMs: number];

interface Session {
  /** The payer, lowercase hex. */
  payer: string;
  key: MacKey;
  expiryMs: number;
  /** The open's journal row, until a receipt of the session is journaled with it (null once journaled). */
  unjournaled: { ephemeral: string } | null;
}

/** Sessions kept in memory; past this many the map is cleared (the journal re-derives a session on its next call). */
const SESSIONS_IN_MEMORY_MAX = 10_000;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const EPHEMERAL = /^0x0[23][0-9a-fA-F]{64}$/;

export class ReceiptSessions {
  /** The payee's secp256k1 public key, compressed (0x + 33 bytes): what `GET /v1/payments` advertises. */
  readonly publicKey: string;
  private readonly sessions = new Map<string, Session>();
  private readonly q: Record<"get" | "put" | "prune", Database.Statement>;

  constructor(
    db: Database.Database,
    private readonly o: { privateKey: Uint8Array; payeeHex: string; chainId: bigint; now?: () => number },
  ) {
    this.publicKey = `0x${Buffer.from(secp256k1Native.publicKeyCreate(o.privateKey, true)).toString("hex")}`;
    db.exec(`CREATE TABLE IF NOT EXISTS receipt_sessions (id TEXT PRIMARY KEY, payer TEXT NOT NULL,
      ephemeral TEXT NOT NULL, expiry INTEGER NOT NULL)`);
    this.q = {
      get: db.prepare("SELECT payer, ephemeral, expiry FROM receipt_sessions WHERE id = ?"),
      put: db.prepare("INSERT OR IGNORE INTO receipt_sessions (id, payer, ephemeral, expiry) VALUES (?, ?, ?, ?)"),
      prune: db.prepare("DELETE FROM receipt_sessions WHERE expiry <= ?"),
    };
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /**
   * A session receipt as the receipt the hold checks (payer from its session, payee this one), once its MAC is
   * valid; `open` is the request's signed session open, read only when the session is not known yet.
   */
  check(header: string, open: string | undefined): Receipt {
    let r: ReturnType<typeof decodeSessionReceipt>;
    try {
      r = decodeSessionReceipt(header);
    } catch (e) {
      throw new SessionRefusal(`malformed session receipt: ${(e as Error).message}`, false);
    }
    const s = this.session(r.session, open);
    if (!sessionMacValid(s.key, r)) throw new SessionRefusal("session receipt's MAC is not valid", false);
    return {
      payer: s.payer,
      payee: this.o.payeeHex,
      token: r.token,
      value: r.value,
      timestampMs: r.timestampMs,
      nonce: r.nonce,
    };
  }

  /** The session `id`: from memory, from the journal (derived again), or from its open, verified and journaled. */
  private session(id: string, open: string | undefined): Session {
    const now = this.now();
    let s = this.sessions.get(id);
    if (s === undefined) {
      const row = this.q.get.get(id) as { payer: string; ephemeral: string; expiry: number } | undefined;
      if (row !== undefined) s = this.remember(id, row.payer, row.ephemeral, row.expiry, false);
      else if (open !== undefined) s = this.open(id, open, now);
      else
        throw new SessionRefusal(
          `unknown receipt session ${id.slice(0, 16)}…: open one (x-azora-receipt-session)`,
          true,
        );
    }
    if (s.expiryMs <= now) {
      this.sessions.delete(id);
      throw new SessionRefusal("receipt session expired: open a new one", true);
    }
    return s;
  }

  private remember(id: string, payer: string, ephemeral: string, expiryMs: number, fresh: boolean): Session {
    if (this.sessions.size >= SESSIONS_IN_MEMORY_MAX) this.sessions.clear();
    const key = sessionKey(Buffer.from(ephemeral.slice(2), "hex"), this.o.privateKey, id);
    const s = { payer, key, expiryMs, unjournaled: fresh ? { ephemeral } : null };
    this.sessions.set(id, s);
    return s;
  }

  /**
   * Journals the session a receipt being journaled belongs to, if it is not yet (call inside the receipt's
   * transaction): a session is written only with its first paid receipt, so opens from payers that never pay (any
   * key can sign one) cost memory, which is bounded, and not disk.
   */
  journal(receiptHeader: string): void {
    const row = this.unjournaled(receiptHeader);
    if (row !== null) this.journalRow(row);
  }

  /**
   * The session row a receipt being accepted must be journaled with (its session's first receipt), or null; from
   * then on the session counts as journaled, so the caller writes the row with the receipt (`journalRow`).
   */
  unjournaled(receiptHeader: string): SessionRow | null {
    const id = sessionIdOf(receiptHeader);
    if (id === null) return null;
    const s = this.sessions.get(id);
    if (s?.unjournaled == null) return null;
    const row: SessionRow = [id, s.payer, s.unjournaled.ephemeral, s.expiryMs];
    s.unjournaled = null;
    return row;
  }

  /** Writes a session's row (inside its first receipt's transaction), pruning expired ones. */
  journalRow(row: SessionRow): void {
    this.q.prune.run(this.now());
    this.q.put.run(...row);
  }

  /** Verifies a signed open for session `id` (its digest) and keeps its key (journaled with its first receipt). */
  private open(id: string, text: string, now: number): Session {
    const bad = (reason: string): never => {
      throw new SessionRefusal(`receipt session open: ${reason}`, false);
    };
    let payer = "";
    let ephemeral = "";
    let expiryMs = 0;
    try {
      const o = decodeSigned(text, ["chainId", "sessionNonce", "expiryMs"]);
      if (typeof o.payer !== "string" || !ADDRESS.test(o.payer)) bad("payer: not an address");
      if (typeof o.payee !== "string" || !ADDRESS.test(o.payee)) bad("payee: not an address");
      if (typeof o.ephemeralKey !== "string" || !EPHEMERAL.test(o.ephemeralKey))
        bad("ephemeralKey: 33 bytes, compressed");
      if ((o.payee as string).toLowerCase() !== this.o.payeeHex) bad("names another payee");
      if (o.chainId !== this.o.chainId) bad(`for chain ${o.chainId}, this is ${this.o.chainId}`);
      const digest = paymentDigest(paymentsDomain(this.o.chainId), RECEIPT_SESSION_STRUCT, o);
      if (Buffer.from(digest).toString("hex") !== id) bad("not the open of the receipt's session");
      payer = (o.payer as string).toLowerCase();
      if (recoverDigestSignerHex(digest, o.signature) !== payer) bad("not signed by its payer");
      ephemeral = (o.ephemeralKey as string).toLowerCase();
      expiryMs = Number(o.expiryMs as bigint);
    } catch (e) {
      if (e instanceof SessionRefusal) throw e;
      bad((e as Error).message);
    }
    if (expiryMs <= now) bad("expired");
    if (expiryMs > now + MAX_SESSION_MS) bad(`lasts more than ${MAX_SESSION_MS / 3600_000} h`);
    try {
      return this.remember(id, payer, ephemeral, expiryMs, true);
    } catch {
      return bad("ephemeralKey: not a point on secp256k1");
    }
  }
}
