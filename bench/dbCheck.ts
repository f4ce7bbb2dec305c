import "../node/polyfill.js";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet } from "ethers";
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import { resolveConfig } from "../node/config.js";
import { levelLogBytes } from "../node/db/chainDb.js";
import { checkChain } from "../node/db/integrity.js";
import {
  CHAINDATA_DIR,
  markLogChecked,
  openChainStorage,
  STARTUP_CHECK_MIN_BLOCKS,
  verifyChainStorage,
} from "../node/db/storage.js";
import { createLogger } from "../node/logger.js";
import { startDevNode } from "../node/node.js";
import { nullLogger } from "../runtime/lib/logger.js";
import { readFlags, UsageError } from "./args.js";

/**
 * The cost of the storage integrity checks (issue 16): builds a dev chain of --blocks blocks (one in
 * --tx-every carries --txs-per-block value transfers), then times the start-up check after that run
 * (LevelDB replays the whole run's log, so the check covers it), the start-up check of the next start
 * (empty log: the last 64 blocks and the head state) and `azora db check --full`.
 *
 *   npm run build && node dist/bench/dbCheck.js [--blocks 5000] [--tx-every 10] [--txs-per-block 10]
 */

const HELP = `Usage: node dist/bench/dbCheck.js [--blocks N] [--tx-every N] [--txs-per-block N] [--keep]`;

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

async function main(): Promise<void> {
  let blocks = 5000;
  let txEvery = 10;
  let txsPerBlock = 10;
  let keep = false;
  const int = (v: string, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer`);
    return n;
  };
  const ok = readFlags(process.argv.slice(2), (flag, next) => {
    if (flag === "--blocks") blocks = int(next(), flag);
    else if (flag === "--tx-every") txEvery = Math.max(1, int(next(), flag));
    else if (flag === "--txs-per-block") txsPerBlock = int(next(), flag);
    else if (flag === "--keep") keep = true;
    else throw new UsageError(`unknown flag ${flag}`);
  });
  if (!ok) {
    process.stdout.write(`${HELP}\n`);
    return;
  }

  const dataDir = await mkdtemp(join(tmpdir(), "azora-dbcheck-"));
  const cfg = resolveConfig(undefined, { dataDir, rpc: { port: 0 }, blockTimeMs: 3_600_000, log: { level: "silent" } });
  const { logger } = createLogger({ level: "silent", format: "json" });
  const node = await startDevNode(cfg, logger);
  const senders = Array.from({ length: DEV_ACCOUNT_COUNT }, (_, i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
  );
  const nonces = new Array<number>(senders.length).fill(0);
  const built = performance.now();
  let txs = 0;
  for (let n = 1; n <= blocks; ) {
    if (txsPerBlock > 0 && n % txEvery === 0) {
      for (let k = 0; k < txsPerBlock; k++) {
        const s = k % senders.length;
        const raw = await senders[s].signTransaction({
          type: 2,
          chainId: node.spec.chainId,
          nonce: nonces[s]++,
          to: "0x000000000000000000000000000000000000dEaD",
          value: 1n,
          gasLimit: 21_000n,
          maxFeePerGas: 10_000_000_000n,
          maxPriorityFeePerGas: 1n,
        });
        await rpc(node.rpc.url, "eth_sendRawTransaction", [raw]);
        txs++;
      }
      await rpc(node.rpc.url, "anvil_mine", ["0x1"]);
      n++;
      continue;
    }
    const run = Math.min(100, blocks - n + 1, txsPerBlock > 0 ? txEvery - (n % txEvery) : 100);
    await rpc(node.rpc.url, "anvil_mine", [`0x${run.toString(16)}`]);
    n += run;
  }
  const buildMs = performance.now() - built;
  const head = node.chain.head.header.number;
  await node.close();

  const dbDir = join(dataDir, CHAINDATA_DIR);
  const logBytes = levelLogBytes(dbDir);
  const timeStart = async () => {
    const s = await openChainStorage(dataDir, { syncWrites: true });
    try {
      const r = await verifyChainStorage(s, { mode: "dev", target: `--data-dir ${dataDir}` }, nullLogger);
      markLogChecked(s); // as the node does once the check passed
      return r;
    } finally {
      s.record.close();
      await s.db.close();
    }
  };
  const afterRun = await timeStart(); // replays the run's log; the record still counts its bytes
  const next = await timeStart();
  const s = await openChainStorage(dataDir, { syncWrites: true });
  const full = await checkChain(s.db, { full: true, minBlocks: 0, minBytes: 0 });
  s.record.close();
  await s.db.close();

  const row = (what: string, r: { blocks: number; stateNodes: number; ms: number }) =>
    `| ${what} | ${r.blocks.toLocaleString("en-US")} | ${r.stateNodes.toLocaleString("en-US")} | ${r.ms.toLocaleString("en-US")} |`;
  const lines = [
    `chain: ${head} blocks (${txs} value transfers), built in ${(buildMs / 1000).toFixed(1)} s ` +
      `(${(buildMs / Number(head)).toFixed(2)} ms per block, sent one by one over JSON-RPC); LevelDB log ${(logBytes / 1024).toFixed(0)} KiB`,
    "",
    "| check | blocks checked | state nodes | ms |",
    "|---|---:|---:|---:|",
    row("start-up after the run (log replayed)", afterRun),
    row(`start-up, next start (min ${STARTUP_CHECK_MIN_BLOCKS} blocks)`, next),
    row("db check --full", full),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  if (full.problemCount > 0) throw new Error(`the built chain is not intact: ${full.problems.join("; ")}`);
  if (keep) process.stdout.write(`kept ${dataDir}\n`);
  else rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
