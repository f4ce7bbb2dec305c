import { AzoraError } from "../../runtime/lib/errors.js";

/** Why the chain database failed. */
export enum StorageErrorCode {
  /** LevelDB could not open the database (damaged CURRENT/MANIFEST, missing files, permissions). */
  OPEN_FAILED = "STORAGE_ERROR_OPEN_FAILED",
  /** Another process holds the database's LOCK. */
  LOCKED = "STORAGE_ERROR_LOCKED",
  /** LevelDB reported corruption on a read, a write or a compaction. */
  CORRUPTION = "STORAGE_ERROR_CORRUPTION",
  /** The disk or filesystem failed (EIO, ENOSPC, a missing table file). */
  IO_ERROR = "STORAGE_ERROR_IO_ERROR",
  /** Any other LevelDB failure. */
  FAILED = "STORAGE_ERROR_FAILED",
}

export type StorageErrorType = {
  code: StorageErrorCode;
  /** Where: the database directory. */
  dir: string;
  /** What the node was doing: "open", "read", "write", "iterate", "close". */
  op: string;
  /** LevelDB's own words ("Corruption: CURRENT file does not end with newline"). */
  reason: string;
};

/** A LevelDB failure, with LevelDB's reason unwrapped from abstract-level's generic message. */
export class StorageError extends AzoraError<StorageErrorType> {}

/** The innermost `message` and `code` of an abstract-level error (its `cause` chain holds LevelDB's status). */
function rootCause(e: unknown): { code: string | undefined; message: string } {
  let cur = e as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  let code: string | undefined;
  let message = String(e);
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (typeof cur.code === "string") code = cur.code;
    if (typeof cur.message === "string") message = cur.message;
    cur = cur.cause as typeof cur;
  }
  return { code, message };
}

function codeOf(levelCode: string | undefined, message: string): StorageErrorCode {
  if (levelCode === "LEVEL_LOCKED") return StorageErrorCode.LOCKED;
  if (levelCode === "LEVEL_CORRUPTION" || message.startsWith("Corruption:")) return StorageErrorCode.CORRUPTION;
  if (levelCode === "LEVEL_IO_ERROR" || message.startsWith("IO error:")) return StorageErrorCode.IO_ERROR;
  return StorageErrorCode.FAILED;
}

/** Maps a LevelDB/abstract-level failure to a StorageError (once, at the database boundary). */
export function toStorageError(e: unknown, dir: string, op: string): StorageError {
  if (e instanceof StorageError) return e;
  const { code, message } = rootCause(e);
  let c = codeOf(code, message);
  if (op === "open" && c !== StorageErrorCode.LOCKED) c = StorageErrorCode.OPEN_FAILED;
  return new StorageError({ code: c, dir, op, reason: message }, `chain database ${op} failed (${dir}): ${message}`);
}

/** What an operator should do about a StorageError: one or two sentences for logs and exit messages. */
export function storageRecoveryHint(e: StorageError, how: { dbCommandTarget: string }): string {
  const t = how.dbCommandTarget;
  switch (e.type.code) {
    case StorageErrorCode.LOCKED:
      return "another process (a running node, or `azora db`) has the database open; stop it first";
    case StorageErrorCode.OPEN_FAILED:
      return (
        `LevelDB cannot open its files. If CURRENT or MANIFEST is damaged, \`azora db repair ${t} --yes\` rebuilds ` +
        `them from the table and log files (LevelDB's RepairDB), then \`azora db check ${t}\` verifies the chain; ` +
        "or restore the data dir from a backup (a network node can also start from an empty data dir and re-sync)"
      );
    case StorageErrorCode.CORRUPTION:
      return (
        `the database is damaged: \`azora db check ${t}\` names the damaged heights; \`azora db repair ${t} --yes\` ` +
        `salvages what LevelDB can read, then \`azora db rollback ${t} --to <last intact height> --yes\` ` +
        "(see README, Storage integrity)"
      );
    default:
      return `check the disk and filesystem (free space, dmesg), then \`azora db check ${t}\``;
  }
}

/** Why the node refused to start on its chain database. */
export enum IntegrityErrorCode {
  /** Blocks, indexes or state of the checked range are missing or wrong. */
  DAMAGED = "INTEGRITY_ERROR_DAMAGED",
  /** The database's head is below the highest committed record: committed blocks are gone. */
  LOST_COMMITTED = "INTEGRITY_ERROR_LOST_COMMITTED",
  /** The database holds another block at the recorded height (a replaced or rewritten database). */
  REPLACED = "INTEGRITY_ERROR_REPLACED",
}

export type IntegrityErrorType =
  | { code: IntegrityErrorCode.DAMAGED; problems: string[]; lastIntactHeight: bigint | null; head: bigint | null }
  | { code: IntegrityErrorCode.LOST_COMMITTED; head: bigint | null; committed: bigint }
  | { code: IntegrityErrorCode.REPLACED; height: bigint; recorded: string; found: string };

/** The start-up check refused the database; the message says what is wrong and how to recover. */
export class IntegrityError extends AzoraError<IntegrityErrorType> {}
