/**
 * The worker's job journal: SQLite (better-sqlite3, WAL, synchronous=NORMAL), one file in the data dir. Every
 * decision the worker acts on is written here first — a job found, a claim intent with its signed
 * transaction, a computed result's hash and CID, a commit salt — so `kill -9` at any point resumes from the
 * last durable step: pending transactions are re-broadcast byte-for-byte (same nonce, same hash, so a claim
 * can never be sent twice), and each job is reconciled with the market's state before its next step.
 *
 * Durability: in WAL mode with synchronous=NORMAL a commit is in the WAL file (the OS's page cache) when it
 * returns, so it survives the process dying at any point (`kill -9`, a crash, OOM); only the WAL fsync at each
 * checkpoint is what makes it safe against power loss or a kernel crash, and that is what NORMAL gives up — an
 * fsync per commit was about six per job and more main-thread time than a 10 ms model run (bench/services.ts).
 * After power loss the newest commits may be gone: a broadcast claim or submit then reads as not sent, and the
 * worker's reconcile-from-the-market's-view step (which never repeats what the chain shows done) takes over.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type JobRole = "work" | "verify";

/**
 * work:   candidate → claiming → claimed → computed → (committed →) delivered → done
 *                          ↘ watching (someone else claimed: watch for a no-show to reclaim) → done
 * verify: assigned → computed → done
 */
export type JobState =
  | "candidate"
  | "claiming"
  | "claimed"
  | "computed"
  | "committed"
  | "delivered"
  | "watching"
  | "assigned"
  | "done";

export const ACTIVE_WORK_STATES: readonly JobState[] = ["claiming", "claimed", "computed", "committed"];

export type JobOutcome =
  | "paid"
  | "refunded"
  | "slashed"
  | "lost"
  | "skipped"
  | "expired"
  | "cancelled"
  | "failed"
  | "voted"
  | "reclaimed";

export interface JobRow {
  id: bigint;
  role: JobRole;
  kind: string;
  state: JobState;
  slot: number | null;
  token: string | null;
  price: bigint | null;
  resultHash: string | null;
  resultCID: string | null;
  resultType: string | null;
  salt: string | null;
  voteHash: string | null;
  outcome: JobOutcome | null;
  reason: string | null;
  runs: number;
  progress: number | null;
  /** While running: the handler's note and the ETA, e.g. "41.2 fps, ETA 12 s". */
  progressNote: string | null;
  /**
   * verify: the dispute round the computed vote answers (its `disputeEnds`). A Retrieval job is challenged
   * round after round, so a vote computed for one round must never be cast in the next.
   */
  round: number | null;
  foundBlock: number;
  createdMs: number;
  updatedMs: number;
}

export type TxState = "pending" | "mined" | "reverted" | "replaced" | "rejected";

export interface TxRow {
  seq: number;
  jobId: bigint | null;
  role: JobRole | null;
  action: string;
  nonce: number;
  state: TxState;
  hashes: string[];
  raw: string;
  to: string;
  data: string;
  value: bigint;
  gasLimit: bigint;
  maxFee: bigint;
  tip: bigint;
  minedHash: string | null;
  block: number | null;
  gasUsed: bigint | null;
  createdMs: number;
  updatedMs: number;
}

export interface NewTx {
  jobId: bigint | null;
  role: JobRole | null;
  action: string;
  nonce: number;
  hash: string;
  raw: string;
  to: string;
  data: string;
  value: bigint;
  gasLimit: bigint;
  maxFee: bigint;
  tip: bigint;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('work', 'verify')),
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  slot INTEGER,
  token TEXT,
  price TEXT,
  result_hash TEXT,
  result_cid TEXT,
  result_type TEXT,
  salt TEXT,
  vote_hash TEXT,
  outcome TEXT,
  reason TEXT,
  runs INTEGER NOT NULL DEFAULT 0,
  progress REAL,
  found_block INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (id, role)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
CREATE TABLE IF NOT EXISTS txs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT,
  role TEXT,
  action TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  state TEXT NOT NULL,
  hashes TEXT NOT NULL,
  raw TEXT NOT NULL,
  to_addr TEXT NOT NULL,
  data TEXT NOT NULL,
  value TEXT NOT NULL,
  gas_limit TEXT NOT NULL,
  max_fee TEXT NOT NULL,
  tip TEXT NOT NULL,
  mined_hash TEXT,
  block INTEGER,
  gas_used TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS txs_by_state ON txs (state);
CREATE INDEX IF NOT EXISTS txs_by_job ON txs (job_id, role, action);
CREATE TABLE IF NOT EXISTS earnings (token TEXT PRIMARY KEY, withdrawn TEXT NOT NULL);
`;

const SCHEMA_VERSION = "1";

type Raw = Record<string, unknown>;
const big = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(v as string));

function jobFromRow(r: Raw): JobRow {
  return {
    id: BigInt(r.id as string),
    role: r.role as JobRole,
    kind: r.kind as string,
    state: r.state as JobState,
    slot: (r.slot as number | null) ?? null,
    token: (r.token as string | null) ?? null,
    price: big(r.price),
    resultHash: (r.result_hash as string | null) ?? null,
    resultCID: (r.result_cid as string | null) ?? null,
    resultType: (r.result_type as string | null) ?? null,
    salt: (r.salt as string | null) ?? null,
    voteHash: (r.vote_hash as string | null) ?? null,
    outcome: (r.outcome as JobOutcome | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    runs: r.runs as number,
    progress: (r.progress as number | null) ?? null,
    progressNote: (r.progress_note as string | null) ?? null,
    round: (r.round as number | null) ?? null,
    foundBlock: r.found_block as number,
    createdMs: r.created_ms as number,
    updatedMs: r.updated_ms as number,
  };
}

function txFromRow(r: Raw): TxRow {
  return {
    seq: r.seq as number,
    jobId: big(r.job_id),
    role: (r.role as JobRole | null) ?? null,
    action: r.action as string,
    nonce: r.nonce as number,
    state: r.state as TxState,
    hashes: JSON.parse(r.hashes as string) as string[],
    raw: r.raw as string,
    to: r.to_addr as string,
    data: r.data as string,
    value: BigInt(r.value as string),
    gasLimit: BigInt(r.gas_limit as string),
    maxFee: BigInt(r.max_fee as string),
    tip: BigInt(r.tip as string),
    minedHash: (r.mined_hash as string | null) ?? null,
    block: (r.block as number | null) ?? null,
    gasUsed: big(r.gas_used),
    createdMs: r.created_ms as number,
    updatedMs: r.updated_ms as number,
  };
}

export type JobPatch = Partial<
  Pick<
    JobRow,
    | "kind"
    | "state"
    | "slot"
    | "resultHash"
    | "resultCID"
    | "resultType"
    | "salt"
    | "voteHash"
    | "outcome"
    | "reason"
    | "runs"
    | "progress"
    | "progressNote"
    | "round"
  >
>;

const PATCH_COLUMNS: Record<keyof JobPatch, string> = {
  kind: "kind",
  state: "state",
  slot: "slot",
  resultHash: "result_hash",
  resultCID: "result_cid",
  resultType: "result_type",
  salt: "salt",
  voteHash: "vote_hash",
  outcome: "outcome",
  reason: "reason",
  runs: "runs",
  progress: "progress",
  progressNote: "progress_note",
  round: "round",
};

export class Journal {
  private readonly db: Database.Database;
  /** Prepared statements by SQL text: preparing is a parse and plan on every call otherwise. */
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(
    file: string,
    private readonly nowMs: () => number = Date.now,
  ) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    // added after schema 1 shipped: a column, not a new schema (older journals gain it on open)
    const cols = this.db.prepare("PRAGMA table_info(jobs)").all() as { name: string }[];
    if (!cols.some((c) => c.name === "progress_note")) this.db.exec("ALTER TABLE jobs ADD COLUMN progress_note TEXT");
    if (!cols.some((c) => c.name === "round")) this.db.exec("ALTER TABLE jobs ADD COLUMN round INTEGER");
    const v = this.getMeta("schema");
    if (v === undefined) this.setMeta("schema", SCHEMA_VERSION);
    else if (v !== SCHEMA_VERSION)
      throw new Error(`journal ${file} has schema ${v}, this worker reads ${SCHEMA_VERSION}`);
  }

  close(): void {
    this.db.close();
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one SQLite transaction (all or nothing; on return it survives the process being killed). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getMeta(key: string): string | undefined {
    const r = this.stmt("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
      key,
      value,
    );
  }

  /** Inserts a job row unless one exists for (id, role); returns whether it was new. */
  addJob(job: {
    id: bigint;
    role: JobRole;
    kind: string;
    state: JobState;
    token?: string;
    price?: bigint;
    foundBlock: number;
    slot?: number;
  }): boolean {
    const now = this.nowMs();
    const r = this.stmt(
      `INSERT OR IGNORE INTO jobs (id, role, kind, state, slot, token, price, found_block, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      job.id.toString(),
      job.role,
      job.kind,
      job.state,
      job.slot ?? null,
      job.token ?? null,
      job.price?.toString() ?? null,
      job.foundBlock,
      now,
      now,
    );
    return r.changes === 1;
  }

  /**
   * A new dispute round names this worker a verifier again (a Retrieval job challenged anew): its verify row
   * starts over from `assigned`, whatever the last round left in it. Returns whether a row was there.
   */
  reassignVerifier(id: bigint, foundBlock: number): boolean {
    const r = this.stmt(
      `UPDATE jobs SET state = 'assigned', vote_hash = NULL, round = NULL, runs = 0, outcome = NULL, reason = NULL,
         result_hash = NULL, result_cid = NULL, result_type = NULL, found_block = ?, updated_ms = ?
         WHERE id = ? AND role = 'verify'`,
    ).run(foundBlock, this.nowMs(), id.toString());
    return r.changes === 1;
  }

  getJob(id: bigint, role: JobRole): JobRow | undefined {
    const r = this.stmt("SELECT * FROM jobs WHERE id = ? AND role = ?").get(id.toString(), role) as Raw | undefined;
    return r === undefined ? undefined : jobFromRow(r);
  }

  updateJob(id: bigint, role: JobRole, patch: JobPatch): void {
    const keys = Object.keys(patch) as (keyof JobPatch)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(", ");
    const values = keys.map((k) => {
      const v = patch[k];
      return v ?? null;
    });
    this.stmt(`UPDATE jobs SET ${sets}, updated_ms = ? WHERE id = ? AND role = ?`).run(
      ...values,
      this.nowMs(),
      id.toString(),
      role,
    );
  }

  /** Jobs not yet done, oldest first. */
  openJobs(role?: JobRole): JobRow[] {
    const rows = (
      role === undefined
        ? this.stmt("SELECT * FROM jobs WHERE state != 'done' ORDER BY found_block, CAST(id AS INTEGER)").all()
        : this.stmt(
            "SELECT * FROM jobs WHERE state != 'done' AND role = ? ORDER BY found_block, CAST(id AS INTEGER)",
          ).all(role)
    ) as Raw[];
    return rows.map(jobFromRow);
  }

  /** How many work jobs are in one of `states` (an index count: the scheduler asks after every step). */
  countWork(states: readonly JobState[]): number {
    let n = 0;
    const q = this.stmt("SELECT COUNT(*) AS n FROM jobs WHERE state = ? AND role = 'work'");
    for (const st of states) n += (q.get(st) as { n: number }).n;
    return n;
  }

  jobs(opts: { state?: JobState; limit: number; offset?: number }): JobRow[] {
    const rows = (
      opts.state === undefined
        ? this.stmt("SELECT * FROM jobs ORDER BY updated_ms DESC LIMIT ? OFFSET ?").all(opts.limit, opts.offset ?? 0)
        : this.stmt("SELECT * FROM jobs WHERE state = ? ORDER BY updated_ms DESC LIMIT ? OFFSET ?").all(
            opts.state,
            opts.limit,
            opts.offset ?? 0,
          )
    ) as Raw[];
    return rows.map(jobFromRow);
  }

  countByState(): { role: JobRole; state: JobState; outcome: JobOutcome | null; n: number }[] {
    return this.stmt("SELECT role, state, outcome, COUNT(*) AS n FROM jobs GROUP BY role, state, outcome").all() as {
      role: JobRole;
      state: JobState;
      outcome: JobOutcome | null;
      n: number;
    }[];
  }

  addTx(tx: NewTx): TxRow {
    const now = this.nowMs();
    const r = this.stmt(
      `INSERT INTO txs (job_id, role, action, nonce, state, hashes, raw, to_addr, data, value, gas_limit, max_fee, tip, created_ms, updated_ms)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      tx.jobId?.toString() ?? null,
      tx.role,
      tx.action,
      tx.nonce,
      JSON.stringify([tx.hash]),
      tx.raw,
      tx.to,
      tx.data,
      tx.value.toString(),
      tx.gasLimit.toString(),
      tx.maxFee.toString(),
      tx.tip.toString(),
      now,
      now,
    );
    return this.getTx(Number(r.lastInsertRowid)) as TxRow;
  }

  getTx(seq: number): TxRow | undefined {
    const r = this.stmt("SELECT * FROM txs WHERE seq = ?").get(seq) as Raw | undefined;
    return r === undefined ? undefined : txFromRow(r);
  }

  /** A fee-bumped re-signing of the same nonce: the new raw tx replaces the old, all hashes are kept. */
  addAttempt(seq: number, attempt: { hash: string; raw: string; maxFee: bigint; tip: bigint }): void {
    const tx = this.getTx(seq);
    if (tx === undefined) throw new Error(`no tx ${seq}`);
    this.stmt("UPDATE txs SET hashes = ?, raw = ?, max_fee = ?, tip = ?, updated_ms = ? WHERE seq = ?").run(
      JSON.stringify([...tx.hashes, attempt.hash]),
      attempt.raw,
      attempt.maxFee.toString(),
      attempt.tip.toString(),
      this.nowMs(),
      seq,
    );
  }

  settleTx(seq: number, s: { state: TxState; minedHash?: string; block?: number; gasUsed?: bigint }): void {
    this.stmt("UPDATE txs SET state = ?, mined_hash = ?, block = ?, gas_used = ?, updated_ms = ? WHERE seq = ?").run(
      s.state,
      s.minedHash ?? null,
      s.block ?? null,
      s.gasUsed?.toString() ?? null,
      this.nowMs(),
      seq,
    );
  }

  pendingTxs(): TxRow[] {
    return (this.stmt("SELECT * FROM txs WHERE state = 'pending' ORDER BY nonce").all() as Raw[]).map(txFromRow);
  }

  /** The newest transaction for a job's action (e.g. its claim), if any. */
  lastTx(jobId: bigint, role: JobRole, action: string): TxRow | undefined {
    const r = this.stmt("SELECT * FROM txs WHERE job_id = ? AND role = ? AND action = ? ORDER BY seq DESC LIMIT 1").get(
      jobId.toString(),
      role,
      action,
    ) as Raw | undefined;
    return r === undefined ? undefined : txFromRow(r);
  }

  txsOfJob(jobId: bigint): TxRow[] {
    return (this.stmt("SELECT * FROM txs WHERE job_id = ? ORDER BY seq").all(jobId.toString()) as Raw[]).map(txFromRow);
  }

  maxNonce(): number | undefined {
    const r = this.stmt("SELECT MAX(nonce) AS n FROM txs").get() as { n: number | null };
    return r.n ?? undefined;
  }

  addWithdrawn(token: string, amount: bigint): void {
    const r = this.stmt("SELECT withdrawn FROM earnings WHERE token = ?").get(token) as
      | { withdrawn: string }
      | undefined;
    const total = (r === undefined ? 0n : BigInt(r.withdrawn)) + amount;
    this.stmt(
      "INSERT INTO earnings (token, withdrawn) VALUES (?, ?) ON CONFLICT(token) DO UPDATE SET withdrawn = excluded.withdrawn",
    ).run(token, total.toString());
  }

  withdrawn(): Map<string, bigint> {
    const rows = this.stmt("SELECT token, withdrawn FROM earnings").all() as {
      token: string;
      withdrawn: string;
    }[];
    return new Map(rows.map((r) => [r.token, BigInt(r.withdrawn)]));
  }
}
