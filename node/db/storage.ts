import { join } from "node:path";
import type { Logger } from "../../runtime/lib/logger.js";
import { bytesToHex, equalsBytes } from "../../runtime/primitives/bytes.js";
import { ChainDB, levelLogBytes } from "./chainDb.js";
import { COMMITTED_RECORD_FILE, CommittedRecord } from "./committedRecord.js";
import { IntegrityError, IntegrityErrorCode } from "./errors.js";
import { checkChain, type IntegrityOptions, type IntegrityReport } from "./integrity.js";

/**
 * The chain database as a node opens it: the highest-committed record beside it, LevelDB's log size
 * measured before LevelDB replays it, and the start-up check that refuses a damaged database or one
 * that lost committed blocks, with a message that names what is wrong and how to recover.
 */

export const CHAINDATA_DIR = "chaindata";
/** The start-up check covers at least this many blocks below the head (plus the log-size bound); config `storage.startupCheckBlocks`. */
export const STARTUP_CHECK_MIN_BLOCKS = 64;

/** How the operator reaches this data dir with `azora db`, and which recovery applies. */
export interface RecoveryContext {
  /** "dev": a single-validator dev chain, no peers to re-fetch from; "network": a node with peers. */
  mode: "dev" | "network";
  /** The `azora db` arguments naming this data dir: `--data-dir /x` or `--home /y`. */
  target: string;
}

export interface OpenedStorage {
  db: ChainDB;
  record: CommittedRecord;
  /** LevelDB log bytes replayed by opens whose start-up check has not passed yet (this one included). */
  pendingLogBytes: number;
}

/**
 * Opens the record and the database. The size of LevelDB's log is added to the record's unchecked
 * bytes (durably) before LevelDB replays the log into a table and deletes it: a refused start must
 * not be forgotten by the next one, whose log is empty.
 */
export async function openChainStorage(
  dataDir: string,
  opts: {
    syncWrites: boolean;
    /** LevelDB's open-file budget (config `storage.maxOpenFiles`); unset = `DEFAULT_MAX_OPEN_FILES`. */
    maxOpenFiles?: number;
    /** Runs on the closed database after the log is measured and before it opens (`azora db repair`). */
    beforeOpen?: (dbDir: string) => Promise<void>;
  },
): Promise<OpenedStorage> {
  const record = CommittedRecord.open(join(dataDir, COMMITTED_RECORD_FILE), { sync: opts.syncWrites });
  const dbDir = join(dataDir, CHAINDATA_DIR);
  const logBytes = levelLogBytes(dbDir);
  const prev = record.get();
  const pendingLogBytes = (prev?.uncheckedLogBytes ?? 0) + logBytes;
  if (logBytes > 0) {
    record.write(
      { height: prev?.height ?? null, hash: prev?.hash ?? null, uncheckedLogBytes: pendingLogBytes },
      { sync: true },
    );
  }
  try {
    await opts.beforeOpen?.(dbDir);
    const db = await ChainDB.open(dbDir, { syncWrites: opts.syncWrites, logBytes, maxOpenFiles: opts.maxOpenFiles });
    return { db, record, pendingLogBytes };
  } catch (e) {
    record.close();
    throw e;
  }
}

function recoveryForDamage(report: IntegrityReport, ctx: RecoveryContext): string {
  const t = ctx.target;
  const unreadable = report.unreadableCount > 0;
  const repair = unreadable
    ? `LevelDB cannot read some entries: first \`azora db repair ${t} --yes\` (salvages what it can), then `
    : "";
  const L = report.lastIntactHeight;
  if (L === null) {
    return ctx.mode === "network"
      ? `${repair}no intact height was found: restore the data dir from a backup, or move ${CHAINDATA_DIR} away and start again to re-sync the whole chain from peers`
      : `${repair}no intact height was found: restore the data dir from a backup`;
  }
  const h = report.head ?? L;
  return ctx.mode === "network"
    ? `${repair}\`azora db rollback ${t} --to ${L} --yes\` removes blocks ${L + 1n}..${h}, then start the node: it re-fetches them from its peers (block sync, each with its commit certificate)`
    : `${repair}restore the data dir from a backup, or \`azora db rollback ${t} --to ${L} --rewrite-history --yes\`: that drops blocks ${L + 1n}..${h}, which clients may have seen as final, and the dev node then makes new, different blocks at those heights`;
}

function recoveryForLostBlocks(head: bigint | null, committed: bigint, ctx: RecoveryContext): string {
  const t = ctx.target;
  const to = head ?? 0n;
  return ctx.mode === "network"
    ? `\`azora db rollback ${t} --to ${to} --yes\` (acknowledges the loss; the signer's double-sign guard is kept), then start the node: it re-fetches blocks ${to + 1n}..${committed} from its peers`
    : `restore the data dir from a backup; or, to give up blocks ${to + 1n}..${committed} and let the dev node make new, different blocks at heights clients already saw as final, \`azora db rollback ${t} --to ${to} --rewrite-history --yes\``;
}

/**
 * The start-up check (see `integrity.ts`) and the comparison with the highest-committed record.
 * Throws IntegrityError, whose message names what is wrong and the recovery; returns the report.
 * Read-only: run it before `Chain.open` (which writes genesis into an empty database).
 */
export async function verifyChainStorage(
  s: OpenedStorage,
  ctx: RecoveryContext,
  log: Logger,
  opts: Pick<IntegrityOptions, "verifyCommit"> & { minBlocks?: number; full?: boolean } = {},
): Promise<IntegrityReport> {
  const report = await checkChain(s.db, {
    full: opts.full ?? false,
    minBlocks: opts.minBlocks ?? STARTUP_CHECK_MIN_BLOCKS,
    minBytes: s.pendingLogBytes,
    verifyCommit: opts.verifyCommit,
  });
  if (report.problemCount > 0) {
    const shown = report.problems.slice(0, 5).join("; ");
    const more =
      report.problemCount > 5 ? ` (and ${report.problemCount - 5} more: \`azora db check ${ctx.target}\`)` : "";
    throw new IntegrityError(
      {
        code: IntegrityErrorCode.DAMAGED,
        problems: report.problems,
        lastIntactHeight: report.lastIntactHeight,
        head: report.head,
      },
      `the chain database is damaged: ${shown}${more}. Refusing to start with missing history. ` +
        `Last intact height: ${report.lastIntactHeight ?? "none"}. Recover: ${recoveryForDamage(report, ctx)}`,
    );
  }
  log.info("chain database checked", {
    head: report.head?.toString() ?? null,
    from: report.checkedFrom?.toString() ?? null,
    blocks: report.blocks,
    stateNodes: report.stateNodes,
    logBytes: s.pendingLogBytes,
    ms: report.ms,
  });
  const rec = s.record.get();
  if (rec?.height != null && rec.hash !== null) {
    if (report.head === null || rec.height > report.head) {
      throw new IntegrityError(
        { code: IntegrityErrorCode.LOST_COMMITTED, head: report.head, committed: rec.height },
        `the chain database ends at block ${report.head ?? "(none)"} but this node committed block ${rec.height} ` +
          `(${COMMITTED_RECORD_FILE}): committed blocks are gone (a damaged or truncated LevelDB log, or an older copy ` +
          `of the data dir). Refusing to start: ${
            ctx.mode === "dev"
              ? `a new block at height ${(report.head ?? 0n) + 1n} would replace one clients already saw as final`
              : "the node would serve a chain without blocks it already served"
          }. Recover: ${recoveryForLostBlocks(report.head, rec.height, ctx)}`,
      );
    }
    const stored = await s.db.getCanonicalHash(rec.height);
    if (stored === undefined || !equalsBytes(stored, rec.hash)) {
      const found = stored === undefined ? "none" : bytesToHex(stored);
      throw new IntegrityError(
        { code: IntegrityErrorCode.REPLACED, height: rec.height, recorded: bytesToHex(rec.hash), found },
        `the chain database holds block ${found} at height ${rec.height}, but this node committed ` +
          `${bytesToHex(rec.hash)} there (${COMMITTED_RECORD_FILE}): the database was replaced or its history rewritten. ` +
          `Refusing to start. Recover: restore the data dir this node wrote; ${recoveryForLostBlocks(rec.height - 1n, rec.height, ctx)}`,
      );
    }
  }
  return report;
}

/** After a passing check: the replayed log bytes are verified; the record keeps its height. */
export function markLogChecked(s: OpenedStorage): void {
  const rec = s.record.get();
  if (rec === null || rec.uncheckedLogBytes === 0) return;
  s.record.write({ ...rec, uncheckedLogBytes: 0 }, { sync: true });
}
