import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { verifyCommit } from "../consensus/commit.js";
import { DEV_VALIDATOR_SEED_HEX } from "../genesis/devnet.js";
import { nullLogger } from "../runtime/lib/logger.js";
import { bytesToHex, hexToBytes } from "../runtime/primitives/bytes.js";
import { ValidatorStore } from "./chain/validatorStore.js";
import { loadHomeConfig, type NodeConfig, resolveConfig } from "./config.js";
import { SignerError, SignerErrorCode } from "./consensus/errors.js";
import { GuardedSigner } from "./consensus/signer.js";
import { Ed25519Verifier } from "./crypto/ed25519.js";
import { ChainDB } from "./db/chainDb.js";
import { COMMITTED_RECORD_FILE } from "./db/committedRecord.js";
import { IntegrityError, StorageError, storageRecoveryHint } from "./db/errors.js";
import type { IntegrityReport } from "./db/integrity.js";
import { planRollback, rollbackChain } from "./db/rollback.js";
import {
  CHAINDATA_DIR,
  markLogChecked,
  type OpenedStorage,
  openChainStorage,
  type RecoveryContext,
  verifyChainStorage,
} from "./db/storage.js";

/**
 * `azora db check | rollback | repair`: offline tools for the chain database of a stopped node. They
 * open the database as the node does (the same LevelDB log accounting and start-up check), so what
 * `check` calls intact is what the node accepts.
 */

/**
 * The node module (the whole node: RPC server, libp2p, the EVM; ~1.7 s of CPU to load) only where a command
 * needs its genesis loader or signer file name: `db check` without --full and `db repair` do not.
 */
const nodeModule = () => import("./node.js");

interface TargetFlags {
  dataDir?: string;
  home?: string;
  genesis?: string;
}

interface Target {
  cfg: NodeConfig;
  dataDir: string;
  ctx: RecoveryContext;
}

/** `--home` names a network node (config.json); `--data-dir` (default ./data/dev) a dev node's data dir. */
function resolveTarget(f: TargetFlags): Target {
  if (f.home !== undefined && f.dataDir !== undefined)
    throw new InvalidArgumentError("give --home or --data-dir, not both");
  if (f.home !== undefined) {
    const home = resolve(f.home);
    const cfg = loadHomeConfig(home, { genesisFile: f.genesis });
    return { cfg, dataDir: resolve(cfg.dataDir), ctx: { mode: "network", target: `--home ${home}` } };
  }
  const cfg = resolveConfig(undefined, { dataDir: f.dataDir, genesisFile: f.genesis });
  const dataDir = resolve(cfg.dataDir);
  return { cfg, dataDir, ctx: { mode: "dev", target: `--data-dir ${dataDir}` } };
}

function requireDatabase(t: Target): void {
  if (!existsSync(join(t.dataDir, CHAINDATA_DIR))) {
    throw new Error(`no chain database in ${t.dataDir} (expected ${join(t.dataDir, CHAINDATA_DIR)})`);
  }
}

async function openTarget(t: Target, beforeOpen?: (dir: string) => Promise<void>): Promise<OpenedStorage> {
  requireDatabase(t);
  try {
    return await openChainStorage(t.dataDir, { syncWrites: true, beforeOpen });
  } catch (e) {
    if (e instanceof StorageError) {
      throw new Error(`${e.message}. ${storageRecoveryHint(e, { dbCommandTarget: t.ctx.target })}`);
    }
    throw e;
  }
}

async function closeStorage(s: OpenedStorage): Promise<void> {
  s.record.close();
  await s.db.close();
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function summary(r: IntegrityReport): string {
  if (r.head === null) return "empty database (no chain yet)";
  return `head ${r.head}; checked blocks ${r.checkedFrom}..${r.head} (${r.blocks}) and ${r.stateNodes} state nodes in ${r.ms} ms`;
}

/** Runs the check; prints the result; true when intact. */
async function runCheck(t: Target, s: OpenedStorage, full: boolean): Promise<boolean> {
  const spec = full ? (await nodeModule()).loadGenesis(t.cfg) : null;
  const verifier = new Ed25519Verifier();
  const validatorStore = full ? new ValidatorStore(s.db, nullLogger) : null;
  try {
    const report = await verifyChainStorage(s, t.ctx, nullLogger, {
      full,
      minBlocks: t.cfg.storage.startupCheckBlocks,
      verifyCommit:
        spec === null
          ? undefined
          : async (commit, height, hash) => {
              // The validators of that height as the chain settled them (a database written before the
              // validator set could change has no records: its validators are genesis').
              const validators = (await validatorStore?.load(height))?.validators ?? spec.validators;
              try {
                verifyCommit(commit, { chainId: spec.chainId, height, blockHash: hash, validators }, verifier);
                return null;
              } catch (e) {
                return (e as Error).message;
              }
            },
    });
    markLogChecked(s);
    out(
      `chain database ${join(t.dataDir, CHAINDATA_DIR)}: intact (${full ? "full check" : "recent tail and head state"})`,
    );
    out(`  ${summary(report)}`);
    const rec = s.record.get();
    if (rec?.height != null)
      out(`  highest committed (${COMMITTED_RECORD_FILE}): ${rec.height} ${bytesToHex(rec.hash as Uint8Array)}`);
    return true;
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    out(`chain database ${join(t.dataDir, CHAINDATA_DIR)}: DAMAGED`);
    if ("problems" in e.type) for (const p of e.type.problems) out(`  - ${p}`);
    process.stderr.write(`azora: ${e.message}\n`);
    return false;
  }
}

/**
 * Moves consensus WAL files of heights above `to + 1` aside (never deleted): the driver starts at
 * `to + 1` and the WAL refuses to go back in height. The signer's state stays: it alone keeps a
 * rolled-back validator from signing anything that conflicts with what it signed before.
 */
function setWALAside(dataDir: string, to: bigint): string | null {
  const dir = join(dataDir, "wal");
  if (!existsSync(dir)) return null;
  const moved = readdirSync(dir).filter((n) => {
    const m = /^wal-(\d+)\.log$/.exec(n);
    return m !== null && BigInt(m[1]) > to + 1n;
  });
  if (moved.length === 0) return null;
  const aside = join(dataDir, `wal-rolled-back-${Date.now()}`);
  mkdirSync(aside, { recursive: true });
  for (const n of moved) renameSync(join(dir, n), join(aside, n));
  return aside;
}

/** Deletes the dev validator's signer state; refuses one of any other key (a real validator's guard). */
async function resetDevSigner(dataDir: string): Promise<boolean> {
  const file = join(dataDir, (await nodeModule()).SIGNER_STATE_FILE);
  if (!existsSync(file)) return false;
  try {
    const s = await GuardedSigner.open({ stateFile: file, seed: hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`) });
    await s.close();
  } catch (e) {
    if (e instanceof SignerError && e.type.code === SignerErrorCode.KEY_MISMATCH) {
      throw new Error(
        `${file} belongs to validator ${e.type.found}, not the dev validator: this is not a dev data dir (use --home), and a validator's double-sign guard is never reset`,
      );
    }
    throw e;
  }
  rmSync(file);
  return true;
}

function heightArg(v: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new InvalidArgumentError("a block height (decimal)");
  return BigInt(v);
}

function targetOptions(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "a dev node's data dir (as `azora dev --data-dir`; default ./data/dev)")
    .option("--home <dir>", "a network node's home (as `azora start --home`): its config.json names the data dir")
    .option("--genesis <file>", "genesis JSON when it is not the built-in devnet or the home's (commit checks)");
}

export function registerDbCommands(program: Command): void {
  const db = program
    .command("db")
    .description("Check, roll back or repair a stopped node's chain database (see README, Storage integrity)");

  targetOptions(
    db
      .command("check")
      .description(
        "Check the chain database as the node does at start (recent tail and head state), or everything with --full; exit 1 when damaged",
      ),
  )
    .option("--full", "check every block (with commit signatures), the whole head state and the indexes")
    .action(async (o: TargetFlags & { full?: boolean }) => {
      const t = resolveTarget(o);
      const s = await openTarget(t);
      let ok = false;
      try {
        ok = await runCheck(t, s, o.full === true);
      } finally {
        await closeStorage(s);
      }
      process.exitCode = ok ? 0 : 1;
    });

  targetOptions(
    db
      .command("rollback")
      .description(
        "Remove the blocks above --to and make it the head (a network node then re-fetches them from peers); refuses without --yes",
      ),
  )
    .requiredOption("--to <height>", "the new head: the last intact height (`azora db check` names it)", heightArg)
    .option("--yes", "do it (without it, only show what would be removed)")
    .option(
      "--rewrite-history",
      "dev data dirs only: also forget that the blocks above --to were committed, so the dev node makes NEW, different blocks at heights clients may have seen as final (resets the dev validator's signer state)",
    )
    .action(async (o: TargetFlags & { to: bigint; yes?: boolean; rewriteHistory?: boolean }) => {
      const t = resolveTarget(o);
      if (o.rewriteHistory === true && t.ctx.mode === "network") {
        throw new Error(
          "--rewrite-history is for dev data dirs (--data-dir): a network node re-fetches blocks from peers",
        );
      }
      const s = await openTarget(t);
      try {
        const plan = await planRollback(s.db, o.to);
        const committed = s.record.get()?.height ?? null;
        const dropsCommitted = committed !== null && o.to < committed;
        out(
          `rollback ${join(t.dataDir, CHAINDATA_DIR)}: head ${plan.top} → ${o.to} (${bytesToHex(plan.hash)}); ` +
            `${plan.top - o.to} blocks, ${plan.keys.length} entries to delete${plan.scanned ? " (indexes scanned: some dropped blocks are damaged)" : ""}`,
        );
        if (t.ctx.mode === "dev" && dropsCommitted && o.rewriteHistory !== true) {
          throw new Error(
            `blocks ${o.to + 1n}..${committed} were committed and a dev node cannot re-fetch them: rolling back means ` +
              "the dev node makes new, different blocks at heights clients may have seen as final. Restore a backup " +
              "instead, or add --rewrite-history to accept that",
          );
        }
        if (o.yes !== true) {
          process.stderr.write("azora: nothing changed: add --yes to roll back\n");
          process.exitCode = 1;
          return;
        }
        const r = await rollbackChain(s.db, o.to);
        // The operator's consent: `to` is the highest committed block from now on. The unchecked log
        // bytes stay, so the next start checks as far down as it would have.
        s.record.write(
          { height: o.to, hash: r.hash, uncheckedLogBytes: s.record.get()?.uncheckedLogBytes ?? 0 },
          { sync: true },
        );
        out(`rolled back to ${o.to}: deleted ${r.deletedKeys} entries`);
        if (t.ctx.mode === "network") {
          const aside = setWALAside(t.dataDir, o.to);
          if (aside !== null) out(`moved consensus WAL files above height ${o.to + 1n} to ${aside}`);
          out("start the node: it re-fetches the removed blocks from its peers (its signer state is kept)");
        } else {
          if (o.rewriteHistory === true && (await resetDevSigner(t.dataDir))) {
            out(`reset the dev validator's signer state (${(await nodeModule()).SIGNER_STATE_FILE})`);
          }
          out(`start the dev node: its next block is ${o.to + 1n}`);
        }
      } finally {
        await closeStorage(s);
      }
    });

  targetOptions(
    db
      .command("repair")
      .description(
        "Rebuild a database LevelDB cannot open or read (damaged CURRENT/MANIFEST or table files) with LevelDB's RepairDB, then check it; refuses without --yes",
      ),
  )
    .option("--yes", "do it (RepairDB rewrites the database's metadata and drops what it cannot read)")
    .action(async (o: TargetFlags & { yes?: boolean }) => {
      const t = resolveTarget(o);
      requireDatabase(t);
      if (o.yes !== true) {
        out(
          `repair would run LevelDB's RepairDB on ${join(t.dataDir, CHAINDATA_DIR)}: it rebuilds CURRENT and the MANIFEST ` +
            "from the table and log files and keeps what it can read (unusable files go to lost/). Back the data dir up first.",
        );
        process.stderr.write("azora: nothing changed: add --yes to repair\n");
        process.exitCode = 1;
        return;
      }
      const s = await openTarget(t, async (dir) => {
        out(`repairing ${dir} (LevelDB RepairDB) …`);
        await ChainDB.repair(dir);
      });
      let ok = false;
      try {
        out("repaired; checking the chain:");
        ok = await runCheck(t, s, false);
      } finally {
        await closeStorage(s);
      }
      process.exitCode = ok ? 0 : 1;
    });
}
