import Database from "better-sqlite3";
import { type Contract, getAddress, type Wallet, ZeroAddress } from "ethers";
import { AzoraError } from "../../../runtime/lib/errors.js";
import type { Logger } from "../../../runtime/lib/logger.js";
import {
  decodeSigned,
  type Receipt,
  recoverReceiptSignerHex,
  recoverVoucherSigner,
  type Voucher,
} from "../../client/payments.js";
import { SESSION_RECEIPT_PREFIX } from "../../client/receiptSession.js";
import { NonceFilter } from "./nonceFilter.js";
import { type LoggedReceipt, ReceiptLog } from "./receiptLog.js";
import { ReceiptSessions, SessionRefusal } from "./receiptSessions.js";

/** Why a metered request or a voucher was refused; each service maps the codes to its own HTTP answer once. */
export enum PaymentErrorCode {
  /** No receipt, or one that does not pay for this request (402 with the reason). */
  PAYMENT_REQUIRED = "PAYMENT_REQUIRED",
  /** A voucher that is malformed, not the payer's, for another payee, or not above the last one (400). */
  BAD_VOUCHER = "PAYMENT_BAD_VOUCHER",
  /** A session receipt whose session the payee does not know or that expired: open a new session and retry (402). */
  SESSION_UNKNOWN = "PAYMENT_SESSION_UNKNOWN",
}

export type PaymentErrorType =
  | { code: PaymentErrorCode.PAYMENT_REQUIRED; reason: string }
  | { code: PaymentErrorCode.SESSION_UNKNOWN; reason: string }
  | { code: PaymentErrorCode.BAD_VOUCHER; reason: string };

export class PaymentError extends AzoraError<PaymentErrorType> {
  constructor(type: PaymentErrorType) {
    super(type, type.reason);
  }
}

/** The payee's counters (Prometheus in each service: `receipts` by outcome, `redeemedWei`). */
export interface PaymentMetrics {
  receipts: { inc(labels: { outcome: string }, value?: number): void };
  redeemedWei: { inc(value: number): void };
}

/**
 * The payee's side of metered payments (search's paid queries, the AI worker's paid inference): checks each
 * request's receipt (signature, payee, price, freshness, nonce, what
 * the payer's deposit still covers), keeps receipts and the payer's latest voucher in SQLite, asks for a voucher
 * every `voucherEvery` receipts (and refuses service once one is overdue), and redeems the latest vouchers on chain
 * in batches — every `redeemEveryMs`, and at once when a payer starts thawing, well inside the thaw period.
 * Vouchers are cumulative, so a crash at any point loses nothing: the next redemption pays the difference.
 */
export interface MeteredPayeeOptions {
  wallet: Wallet;
  market: Contract;
  chainId: bigint;
  dbPath: string;
  /** Receipts between voucher requests (default 10). */
  voucherEvery?: number;
  /** Unvouchered receipts beyond which queries are refused until a voucher arrives (default 3 × voucherEvery). */
  maxUnvouchered?: number;
  /** How old a receipt's timestamp may be (default 5 min). */
  maxReceiptAgeMs?: number;
  /** Redemption interval (default 60 s); must be well below the market's thaw period. */
  redeemEveryMs?: number;
  /**
   * Sends one `redeemVouchers(vouchers, signatures)` transaction and waits for it to be mined (default: through
   * `market`'s signer). A worker passes its transaction manager, so redemptions share its nonce sequence.
   */
  sendRedeem?: (vouchers: unknown[][], signatures: string[]) => Promise<RedeemOutcome>;
  logger?: Logger;
  metrics?: PaymentMetrics | null;
  /** What one unit of service is called in refusals ("query", "inference"). */
  unit?: string;
  /** What the service is called in the missing-receipt refusal ("this index", "this model"). */
  what?: string;
}

export interface RedeemOutcome {
  hash: string;
  block: number;
  logs: readonly { topics: readonly string[]; data: string }[];
}

/** A payer's totals: receipts accepted, vouchered and redeemed (wei). */
export interface PayerAccount {
  accepted: bigint;
  receipts: number;
  vouchered: bigint;
  redeemed: bigint;
}

/** An accepted receipt: its payer, the payer's totals with it, and the voucher to ask for when one is due. */
export interface Charged {
  payer: string;
  account: PayerAccount;
  voucherRequest: Voucher | null;
}

/** A checked receipt whose nonce and value are reserved in memory until it is journaled or let go. */
export interface Hold {
  payer: string;
  /**
   * Journals the receipt (one synchronous append to the receipt log: it survives `kill -9` from here on; its SQLite
   * rows follow in a later macrotask) and returns the charge.
   */
  commit(): Charged;
  /** Lets the receipt go unpaid (nothing was served). */
  release(): void;
}

interface PayerRow {
  payer: string;
  accepted: bigint;
  receipts: number;
  vouchered: bigint;
  voucherTs: bigint;
  voucher: string | null;
  redeemed: bigint;
}

/** A deposit as read from the market at `at` (ms). */
interface DepositReading {
  at: number;
  balance: bigint;
  thawing: bigint;
  redeemed: bigint;
}

/** A deposit reading younger than this is used without a read; up to the stale bound, with one in the background. */
const DEPOSIT_FRESH_MS = 2_000;
const DEPOSIT_STALE_MS = 10_000;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ZERO_HEX = ZeroAddress.toLowerCase();
/** Checksummed payer addresses kept for the ledger's keys; cleared past this many (it is only a cache). */
const CHECKSUM_CACHE_MAX = 10_000;
/** Payers whose row and used nonces are kept in memory; past this many both are cleared (refilled from the journal). */
const PAYERS_IN_MEMORY_MAX = 10_000;

/** A payer's receipts after its latest voucher, as counted from the journal for that voucher's timestamp. */
interface UnvoucheredCount {
  voucherTs: bigint;
  n: number;
}

export class MeteredPayee {
  readonly payee: string;
  private readonly db: Database.Database;
  /** Statements prepared once (preparing one costs more than running it). */
  private readonly q: Record<"payer" | "save" | "receipt" | "used" | "nonces" | "unvouchered", Database.Statement>;
  private readonly payeeHex: string;
  /**
   * Logged receipts into SQLite — each receipt's row, its session's row with its first receipt, its payer's totals
   * raised by it (read from and written to the journal's row) — as one transaction built once. A receipt whose row
   * is already there (a log replayed after a crash that followed its commit) changes nothing.
   */
  private readonly storeReceipts: (rs: readonly LoggedReceipt[]) => void;
  /**
   * Receipts accepted since the last `flush`: in the receipt log (durable against `kill -9`) and in the memory
   * copies (`rows`, `nonces`), not yet in SQLite. Every read of the journal flushes them first, so SQLite answers
   * as if each had been committed when it was accepted.
   */
  private pending: LoggedReceipt[] = [];
  private flushing = false;
  private readonly log: ReceiptLog;
  /** Receipts held (checked, not yet journaled) as payer:nonce, and the wei they reserve per payer. */
  private readonly held = new Set<string>();
  private readonly heldValue = new Map<string, bigint>();
  private readonly depositCache = new Map<string, DepositReading>();
  /** lowercase hex → checksummed: the ledger is keyed by checksummed addresses, computed once per payer. */
  private readonly checksummed = new Map<string, string>();
  /**
   * Each payer's unvouchered receipt count, kept in memory: counted from the journal (SQLite, the source of truth)
   * on a payer's first call after a start and after each voucher, then counted up as receipts are stored.
   */
  private readonly unvouchered = new Map<string, UnvoucheredCount>();
  /**
   * The journal's payer rows and used nonces as this process last wrote or read them, so that a receipt's hold
   * reads neither from SQLite (~0.06 and ~0.035 ms on an event loop idle between lone calls, while the request's
   * body waits). The journal stays the source of truth: a payer's entries are filled from it on first use (after a
   * start, or after the maps were cleared) and updated only once a transaction that wrote it has committed. One
   * process owns a journal (the worker's data dir), so nothing else writes behind these copies.
   */
  private readonly rows = new Map<string, PayerRow>();
  private readonly nonces = new Map<string, NonceFilter>();
  private readonly depositReads = new Map<string, Promise<DepositReading>>();
  private timer: NodeJS.Timeout | null = null;
  private redeeming: Promise<void> | null = null;
  private lastThawScan = 0;
  private lastRun = 0;
  /** Session-keyed receipts (receiptSessions.ts): one signed open per session, an HMAC per call. */
  readonly sessions: ReceiptSessions;

  constructor(private readonly o: MeteredPayeeOptions) {
    this.payee = getAddress(o.wallet.address);
    this.payeeHex = this.payee.toLowerCase();
    this.db = new Database(o.dbPath);
    // Receipts commit with synchronous=NORMAL in WAL mode: a commit is in the OS's page cache when it returns, so
    // it survives `kill -9` of the worker (the requirement: a restarted worker never accepts a used receipt again),
    // and only a power loss or kernel crash can lose the last receipts since a checkpoint — which costs the payee
    // (it may serve those receipts twice), never the payer. A receipt reaches that state first through the receipt
    // log (receiptLog.ts: one write(), the same page-cache durability), its SQLite commit following (`flush`). Vouchers are money the payee redeems: their commits
    // are fsync'd (`durably`), and that fsync also makes every receipt before them durable.
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS receipts (payer TEXT NOT NULL, nonce TEXT NOT NULL, value TEXT NOT NULL,
        ts TEXT NOT NULL, sig TEXT NOT NULL, PRIMARY KEY (payer, nonce));
      CREATE INDEX IF NOT EXISTS receipts_by_ts ON receipts (payer, CAST(ts AS INTEGER));
      CREATE TABLE IF NOT EXISTS payers (payer TEXT PRIMARY KEY, accepted TEXT NOT NULL, receipts INTEGER NOT NULL,
        vouchered TEXT NOT NULL, voucher_ts TEXT NOT NULL, voucher TEXT, redeemed TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.q = {
      payer: this.db.prepare("SELECT * FROM payers WHERE payer = ?"),
      save: this.db.prepare(
        `INSERT OR REPLACE INTO payers (payer, accepted, receipts, vouchered, voucher_ts, voucher, redeemed)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      used: this.db.prepare("SELECT 1 FROM receipts WHERE payer = ? AND nonce = ?"),
      nonces: this.db.prepare("SELECT nonce FROM receipts WHERE payer = ?").pluck(),
      receipt: this.db.prepare("INSERT OR IGNORE INTO receipts (payer, nonce, value, ts, sig) VALUES (?, ?, ?, ?, ?)"),
      // counts only the unvouchered tail through the (payer, ts) index, not the payer's whole history
      unvouchered: this.db.prepare("SELECT count(*) AS n FROM receipts WHERE payer = ? AND CAST(ts AS INTEGER) > ?"),
    };
    this.sessions = new ReceiptSessions(this.db, {
      privateKey: Buffer.from(o.wallet.privateKey.slice(2), "hex"),
      payeeHex: this.payeeHex,
      chainId: o.chainId,
    });
    this.storeReceipts = this.db.transaction((rs: readonly LoggedReceipt[]) => {
      for (const [payer, nonce, value, ts, sig, session] of rs) {
        if (this.q.receipt.run(payer, nonce, value, ts, sig).changes === 0) continue;
        if (session !== null) this.sessions.journalRow(session); // its session, with its first receipt
        const row = this.readPayer(payer);
        row.accepted += BigInt(value);
        row.receipts += 1;
        this.save(row);
      }
    });
    // Receipts a previous run logged but did not commit (it was killed in between) are committed before any use.
    this.log = new ReceiptLog(`${o.dbPath}-receipts.log`);
    this.storeReceipts(this.log.read());
    this.log.clear();
  }

  /**
   * Commits the logged receipts into SQLite and empties the log. Runs on a timer due as soon as a receipt is accepted
   * — for a model run on the event loop, after its answer is written, so the commit (~0.16 ms after an idle gap) is off
   * the lone call's path — and before anything reads or writes the journal.
   */
  private flush(): void {
    if (this.pending.length === 0 || this.flushing) return;
    const rs = this.pending;
    this.pending = [];
    this.flushing = true; // (a reentrant call from inside the transaction has nothing to add)
    try {
      this.storeReceipts(rs);
      this.o.metrics?.receipts.inc({ outcome: "accepted" }, rs.length); // counted here: off a lone call's path
    } catch (e) {
      this.pending = [...rs, ...this.pending]; // still in the log: committed by the next flush or start
      throw e;
    } finally {
      this.flushing = false;
    }
    if (this.pending.length === 0) this.log.clear();
  }

  /** Runs `f` in one transaction whose commit is fsync'd (vouchers and redemptions: money). */
  private durably<T>(f: () => T): T {
    this.flush();
    this.db.pragma("synchronous = FULL");
    try {
      return this.db.transaction(f)();
    } finally {
      this.db.pragma("synchronous = NORMAL");
    }
  }

  get voucherEvery(): number {
    return this.o.voucherEvery ?? 10;
  }

  /** The payer's row (a copy the caller may change): from memory, or read from the journal and kept. */
  private payer(address: string): PayerRow {
    const kept = this.rows.get(address);
    if (kept !== undefined) return { ...kept };
    const row = this.readPayer(address);
    this.keep(row);
    return { ...row };
  }

  /** Keeps a row as the journal has it: read from it, or written in a transaction that committed. */
  private keep(row: PayerRow): void {
    if (this.rows.size >= PAYERS_IN_MEMORY_MAX && !this.rows.has(row.payer)) this.rows.clear();
    this.rows.set(row.payer, { ...row });
  }

  /** Writes the row with an fsync'd commit (vouchers, redemptions) and keeps it once committed. */
  private saveDurably(row: PayerRow): void {
    this.durably(() => this.save(row));
    this.keep(row);
  }

  private readPayer(address: string): PayerRow {
    if (!this.flushing) this.flush();
    const r = this.q.payer.get(address) as Record<string, unknown> | undefined;
    if (r === undefined) {
      return { payer: address, accepted: 0n, receipts: 0, vouchered: 0n, voucherTs: 0n, voucher: null, redeemed: 0n };
    }
    return {
      payer: address,
      accepted: BigInt(r.accepted as string),
      receipts: r.receipts as number,
      vouchered: BigInt(r.vouchered as string),
      voucherTs: BigInt(r.voucher_ts as string),
      voucher: (r.voucher as string | null) ?? null,
      redeemed: BigInt(r.redeemed as string),
    };
  }

  private save(p: PayerRow): void {
    this.q.save.run(
      p.payer,
      String(p.accepted),
      p.receipts,
      String(p.vouchered),
      String(p.voucherTs),
      p.voucher,
      String(p.redeemed),
    );
  }

  /**
   * The payer's deposit as last read from the market. A reading younger than `DEPOSIT_FRESH_MS` is used as is; an
   * older one is still used for this call while one background read replaces it (so a call never waits for the
   * chain on a known payer, and concurrent calls share one read), unless it is older than `DEPOSIT_STALE_MS` or
   * `fresh` is asked (a deposit that seems short is always read again before a refusal).
   */
  private async deposit(payer: string, fresh = false) {
    const c = this.depositCache.get(payer);
    const age = c === undefined ? Number.POSITIVE_INFINITY : Date.now() - c.at;
    if (c !== undefined && !fresh && age < DEPOSIT_FRESH_MS) return c;
    const read = this.readDeposit(payer);
    if (c !== undefined && !fresh && age < DEPOSIT_STALE_MS) {
      read.catch((e) => this.o.logger?.warn("deposit read failed; the cached one stays", { payer }, e));
      return c;
    }
    return read;
  }

  /** One market read per payer at a time: callers that arrive while it runs share it. */
  private readDeposit(payer: string): Promise<DepositReading> {
    let p = this.depositReads.get(payer);
    if (p === undefined) {
      p = (async () => {
        try {
          const d = await this.o.market.deposits(payer, this.payee, ZeroAddress);
          const v = { at: Date.now(), balance: d[0] as bigint, thawing: d[1] as bigint, redeemed: d[3] as bigint };
          this.depositCache.set(payer, v);
          return v;
        } finally {
          this.depositReads.delete(payer);
        }
      })();
      this.depositReads.set(payer, p);
    }
    return p;
  }

  /**
   * Accepts the receipt for one unit of service of `price` wei (AZR), or throws PAYMENT_REQUIRED with the reason. Returns
   * the voucher to ask for when one is due.
   */
  async charge(header: string | undefined, price: bigint, sessionOpen?: string): Promise<Charged> {
    return (await this.hold(header, price, sessionOpen)).commit();
  }

  /**
   * Checks the receipt for one unit of service of `price` wei — signature, payee, price, freshness, nonce not used
   * (journal) nor held (memory), what the deposit covers less what other holds reserve — and reserves its nonce and
   * value in memory, or throws PAYMENT_REQUIRED. Nothing is written: the caller may start the paid work, then
   * `commit()` (the journal row, synchronous) before it answers, or `release()` if it serves nothing. A second
   * request with a held nonce is refused at once, so a receipt never pays for two runs.
   *
   * A session receipt (`s1.…`, receiptSession.ts) replaces only the signature check: its MAC under its session's
   * key, the session opened by `sessionOpen` (the request's `x-azora-receipt-session`) when this payee does not know
   * it yet; every other check is the same.
   */
  async hold(header: string | undefined, price: bigint, sessionOpen?: string): Promise<Hold> {
    const refuse = (reason: string, outcome = "refused", code = PaymentErrorCode.PAYMENT_REQUIRED): never => {
      this.o.metrics?.receipts.inc({ outcome });
      throw new PaymentError({ code, reason });
    };
    const unit = this.o.unit ?? "query";
    if (header === undefined)
      refuse(
        `${this.o.what ?? "this index"} costs ${price} wei per ${unit}: send a receipt in x-azora-receipt`,
        "missing",
      );
    let r: Receipt;
    let sig: string;
    try {
      if (header!.startsWith(SESSION_RECEIPT_PREFIX)) {
        r = this.sessions.check(header!, sessionOpen);
        sig = header!; // the journal keeps the receipt as it came
      } else {
        ({ r, sig } = decodeReceipt(header!));
        if (recoverReceiptSignerHex(this.o.chainId, r, sig) !== r.payer) refuse("receipt not signed by its payer");
      }
    } catch (e) {
      if (e instanceof PaymentError) throw e;
      if (e instanceof SessionRefusal)
        return e.unknown ? refuse(e.message, "session_unknown", PaymentErrorCode.SESSION_UNKNOWN) : refuse(e.message);
      return refuse(`malformed receipt: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (r.payee !== this.payeeHex) refuse(`receipt names payee ${getAddress(r.payee)}, this service is ${this.payee}`);
    if (r.token !== ZERO_HEX) refuse("receipts must be in AZR (token address(0))");
    const payer = this.checksum(r.payer);
    if (r.value < price) refuse(`receipt pays ${r.value} wei, the ${unit} costs ${price}`);
    const age = Date.now() - Number(r.timestampMs);
    if (age > (this.o.maxReceiptAgeMs ?? 300_000) || age < -60_000)
      refuse("receipt timestamp too old or in the future");
    let d = await this.deposit(payer);
    // The payer's row, read once the deposit is in (and again if it must be re-read): a concurrent query, voucher or
    // redemption may change it while an await lasts. From the last read to the hold nothing awaits, so the
    // read-modify-write is atomic. (One read per hold, not one before the await and one after: each costs ~0.03 ms
    // on the event loop while the request's body waits in the kernel.)
    // A receipt signed before the payer's last voucher but arriving after it (a concurrent request) is still new
    // money: the voucher's total was this ledger's accepted sum, which did not include it, so the next voucher
    // does. Replays are refused by the nonce below (every receipt is kept), stale ones by maxReceiptAgeMs.
    let now = this.payer(payer);
    if (
      now.receipts > 0 &&
      now.accepted - now.vouchered > 0n &&
      this.unvoucheredReceipts(now).n >= (this.o.maxUnvouchered ?? 3 * this.voucherEvery)
    ) {
      refuse("voucher overdue: sign the requested voucher (POST /payments/vouchers)");
    }
    // What the deposit still covers: its balance, less what is leaving, less what is owed but not yet redeemed.
    const covered = (x: typeof d, row: PayerRow) =>
      x.balance - x.thawing - (row.accepted - maxBig(x.redeemed, row.redeemed));
    if (covered(d, now) < r.value) {
      d = await this.deposit(payer, true);
      now = this.payer(payer);
      if (covered(d, now) < r.value)
        refuse(`deposit for ${this.payee} does not cover the ${unit} (open one with deposit())`);
    }
    const key = `${payer}:${r.nonce}`;
    if (this.held.has(key) || this.nonceUsed(payer, String(r.nonce))) refuse("receipt already used (nonce)");
    const reserved = this.heldValue.get(payer) ?? 0n;
    if (covered(d, now) - reserved < r.value)
      refuse(`deposit for ${this.payee} does not cover the ${unit} (open one with deposit())`);
    this.held.add(key);
    this.heldValue.set(payer, reserved + r.value);
    let open = true;
    const release = () => {
      if (!open) return;
      open = false;
      this.held.delete(key);
      const left = (this.heldValue.get(payer) ?? 0n) - r.value;
      if (left > 0n) this.heldValue.set(payer, left);
      else this.heldValue.delete(payer);
    };
    return {
      payer,
      release,
      commit: () => {
        if (!open) throw new Error("hold already committed or released");
        release();
        return this.store(payer, r, sig, refuse);
      },
    };
  }

  /** The receipt and the payer's new totals in one commit (WAL, not fsync'd: see the constructor). */
  private store(payer: string, r: Receipt, sig: string, refuse: (reason: string, outcome?: string) => never): Charged {
    const now = this.payer(payer);
    const count = this.unvoucheredReceipts(now); // before the receipt, which it must not count twice
    // The nonce was held from the check on (no other hold could take it) and was not in the journal then; asked
    // again here, the journal has every receipt before this one (flushed), so a used nonce is still refused.
    if (this.nonceUsed(payer, String(r.nonce))) refuse("receipt already used (nonce)");
    const session = sig.startsWith(SESSION_RECEIPT_PREFIX) ? this.sessions.unjournaled(sig) : null;
    // Journaled: the log's line survives kill -9 from here on (a start commits it into SQLite before serving).
    const logged: LoggedReceipt = [payer, String(r.nonce), String(r.value), String(r.timestampMs), sig, session];
    this.log.append(logged);
    // A timer, not an immediate: queued from the metered route's commit (itself in an immediate, just before an inline
    // model run), an immediate was seen to run only when the next call woke the loop — right before that call's
    // commit and model, ~0.2 ms on its path (issue 8, lone8pay trace). A timer runs once the answer is written.
    if (this.pending.length === 0) setTimeout(() => this.flushLater(), 0);
    this.pending.push(logged);
    now.accepted += r.value;
    now.receipts += 1;
    // the memory copies learn what the journal (log and SQLite) now has (a payer not in memory is read from it later)
    this.keep(now);
    this.nonces.get(payer)?.add(String(r.nonce));
    if (r.timestampMs > count.voucherTs) count.n += 1;
    const due = count.n >= this.voucherEvery;
    return {
      payer,
      account: { accepted: now.accepted, receipts: now.receipts, vouchered: now.vouchered, redeemed: now.redeemed },
      voucherRequest: due
        ? {
            payer,
            payee: this.payee,
            token: ZeroAddress,
            valueAggregate: now.accepted,
            timestampMs: r.timestampMs,
          }
        : null,
    };
  }

  /** The scheduled flush: a failure leaves the receipts in the log (and in `pending`) for the next one. */
  private flushLater(): void {
    if (!this.db.open) return; // closed: `close` flushed what it could; a start commits the rest from the log
    try {
      this.flush();
    } catch (e) {
      this.o.logger?.warn("receipts not committed to the payments journal yet; retrying", {}, e);
      if (this.pending.length > 0) setTimeout(() => this.flushLater(), 100).unref();
    }
  }

  /** Whether the journal holds a receipt of `payer` with `nonce`: "no" from memory, "maybe" asked of the journal. */
  private nonceUsed(payer: string, nonce: string): boolean {
    let f = this.nonces.get(payer);
    if (f === undefined || f.mayHave(nonce)) this.flush(); // the journal is asked: it must have every receipt
    if (f === undefined) {
      f = new NonceFilter();
      for (const n of this.q.nonces.iterate(payer)) f.add(n as string);
      if (this.nonces.size >= PAYERS_IN_MEMORY_MAX) this.nonces.clear();
      this.nonces.set(payer, f);
    }
    return f.mayHave(nonce) && this.q.used.get(payer, nonce) !== undefined;
  }

  /**
   * The payer's receipts after its latest voucher: from memory, or counted from the journal when none is kept
   * for this voucher (first call since a start, or a new voucher). The caller counts up what it stores.
   */
  private unvoucheredReceipts(p: PayerRow): UnvoucheredCount {
    let c = this.unvouchered.get(p.payer);
    if (c === undefined || c.voucherTs !== p.voucherTs) {
      this.flush();
      const r = this.q.unvouchered.get(p.payer, Number(p.voucherTs)) as { n: number };
      c = { voucherTs: p.voucherTs, n: r.n };
      this.unvouchered.set(p.payer, c);
    }
    return c;
  }

  private checksum(hex: string): string {
    let a = this.checksummed.get(hex);
    if (a === undefined) {
      if (this.checksummed.size >= CHECKSUM_CACHE_MAX) this.checksummed.clear();
      a = getAddress(hex);
      this.checksummed.set(hex, a);
    }
    return a;
  }

  /** A payer's signed voucher: kept when it names this payee, is signed by its payer and raises the total. */
  acceptVoucher(text: string): { payer: string; valueAggregate: bigint } {
    let v: Voucher;
    let sig: string;
    const bad = (reason: string): never => {
      throw new PaymentError({ code: PaymentErrorCode.BAD_VOUCHER, reason: `voucher: ${reason}` });
    };
    try {
      const o = decodeSigned(text, ["valueAggregate", "timestampMs"]);
      v = {
        payer: getAddress(o.payer as string),
        payee: getAddress(o.payee as string),
        token: getAddress(o.token as string),
        valueAggregate: o.valueAggregate as bigint,
        timestampMs: o.timestampMs as bigint,
      };
      sig = o.signature;
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
    if (recoverVoucherSigner(this.o.chainId, v, sig) !== v.payer) bad("not signed by its payer");
    if (v.payee !== this.payee || v.token !== ZeroAddress) bad("wrong payee or token");
    const p = this.payer(v.payer);
    if (v.valueAggregate <= p.vouchered)
      bad(`total ${v.valueAggregate} is not above the last voucher's ${p.vouchered}`);
    p.vouchered = v.valueAggregate;
    p.voucherTs = v.timestampMs;
    p.voucher = text;
    this.saveDurably(p);
    return { payer: v.payer, valueAggregate: v.valueAggregate };
  }

  /** Starts redeeming every `redeemEveryMs` (and at once when a payer of ours starts thawing). */
  start(): void {
    const every = this.o.redeemEveryMs ?? 60_000;
    this.timer = setInterval(
      () =>
        void this.redeemNow().catch((e) =>
          this.o.logger?.warn("voucher redemption failed; retrying at the next interval", {}, e),
        ),
      Math.min(every, 5_000),
    );
    this.timer.unref();
    this.lastRun = Date.now();
  }

  /** Redeems now when due (interval passed, or a payer thaws); `force` redeems whatever is unredeemed. */
  async redeemNow(force = false): Promise<{ redeemed: number; paid: bigint }> {
    const due = force || Date.now() - this.lastRun >= (this.o.redeemEveryMs ?? 60_000) || (await this.thawSeen());
    if (!due) return { redeemed: 0, paid: 0n };
    while (this.redeeming !== null) await this.redeeming;
    let out = { redeemed: 0, paid: 0n };
    this.redeeming = (async () => {
      out = await this.redeem();
    })().finally(() => {
      this.redeeming = null;
    });
    await this.redeeming;
    this.lastRun = Date.now();
    return out;
  }

  private async thawSeen(): Promise<boolean> {
    if (Date.now() - this.lastThawScan < 5_000) return false;
    this.lastThawScan = Date.now();
    this.flush();
    const rows = this.db.prepare("SELECT payer FROM payers WHERE voucher IS NOT NULL").all() as { payer: string }[];
    for (const { payer } of rows) if ((await this.deposit(payer, true)).thawing > 0n) return true;
    return false;
  }

  private async redeem(): Promise<{ redeemed: number; paid: bigint }> {
    this.flush();
    const rows = (this.db.prepare("SELECT payer FROM payers WHERE voucher IS NOT NULL").all() as { payer: string }[])
      .map((r) => this.payer(r.payer))
      .filter((p) => p.vouchered > p.redeemed);
    const batch: { p: PayerRow; tuple: unknown[]; sig: string }[] = [];
    // Rows are read again before every save: receipts and vouchers keep arriving while this awaits the chain, and
    // saving a row read before an await would put back an older voucher and older totals.
    const settle = (payer: string, redeemed: bigint) => {
      const now = this.payer(payer);
      if (redeemed <= now.redeemed) return;
      now.redeemed = redeemed;
      this.saveDurably(now);
    };
    for (const p of rows) {
      const o = decodeSigned(p.voucher!, ["valueAggregate", "timestampMs"]);
      const d = await this.deposit(p.payer, true);
      if (d.redeemed >= p.vouchered) {
        settle(p.payer, d.redeemed);
        continue;
      }
      batch.push({ p, tuple: [o.payer, o.payee, o.token, o.valueAggregate, o.timestampMs], sig: o.signature });
    }
    if (batch.length === 0) return { redeemed: 0, paid: 0n };
    // All or nothing on chain: leave out any voucher its deposit cannot cover (simulated one by one).
    const good: typeof batch = [];
    for (const b of batch) {
      try {
        await this.o.market.redeemVouchers.staticCall([b.tuple], [b.sig]);
        good.push(b);
      } catch (e) {
        this.o.logger?.warn("voucher not redeemable", { payer: b.p.payer, reason: String(e).slice(0, 200) });
      }
    }
    let paid = 0n;
    for (let i = 0; i < good.length; i += 64) {
      const chunk = good.slice(i, i + 64);
      const tx = await this.sendRedeem(
        chunk.map((b) => b.tuple),
        chunk.map((b) => b.sig),
      );
      for (const log of tx.logs) {
        const e = this.o.market.interface.parseLog({ topics: [...log.topics], data: log.data });
        if (e?.name === "VoucherRedeemed") paid += e.args.amount as bigint;
      }
      for (const b of chunk) settle(b.p.payer, b.tuple[3] as bigint);
      this.o.logger?.info("vouchers redeemed", { vouchers: chunk.length, tx: tx.hash, block: tx.block });
    }
    this.o.metrics?.redeemedWei.inc(Number(paid));
    return { redeemed: good.length, paid };
  }

  /** One payer's totals: receipts accepted, vouchered and redeemed (wei). */
  account(payer: string): PayerAccount {
    const p = this.payer(getAddress(payer));
    return { accepted: p.accepted, receipts: p.receipts, vouchered: p.vouchered, redeemed: p.redeemed };
  }

  private async sendRedeem(vouchers: unknown[][], signatures: string[]): Promise<RedeemOutcome> {
    if (this.o.sendRedeem !== undefined) return this.o.sendRedeem(vouchers, signatures);
    const tx = await this.o.market.redeemVouchers(vouchers, signatures);
    const receipt = await tx.wait();
    return { hash: tx.hash as string, block: receipt.blockNumber as number, logs: receipt.logs };
  }

  /** What each payer owes, has vouchered and has been redeemed (for /payments). */
  summary() {
    this.flush();
    return (this.db.prepare("SELECT payer FROM payers ORDER BY payer").all() as { payer: string }[]).map(
      ({ payer }) => {
        const p = this.payer(payer);
        return {
          payer,
          accepted: String(p.accepted),
          receipts: p.receipts,
          vouchered: String(p.vouchered),
          redeemed: String(p.redeemed),
        };
      },
    );
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    while (this.redeeming !== null) await this.redeeming.catch(() => {});
    this.flush();
    this.log.close();
    this.db.close();
  }
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * A signature receipt's fields and signature; throws on malformed input. Addresses as lowercase hex: a checksum
 * (JavaScript keccak) per address costs more than the native signature recovery (the ledger's checksummed payer
 * key comes from a cache).
 */
function decodeReceipt(header: string): { r: Receipt; sig: string } {
  const o = decodeSigned(header, ["value", "timestampMs", "nonce"]);
  const r = {
    payer: hexAddress(o.payer, "payer"),
    payee: hexAddress(o.payee, "payee"),
    token: hexAddress(o.token, "token"),
    value: o.value as bigint,
    timestampMs: o.timestampMs as bigint,
    nonce: o.nonce as bigint,
  };
  return { r, sig: o.signature };
}

/** An address field of a decoded receipt as lowercase hex; throws (malformed receipt) on anything else. */
function hexAddress(v: unknown, name: string): string {
  if (typeof v !== "string" || !ADDRESS.test(v)) throw new Error(`${name}: not an address`);
  return v.toLowerCase();
}
