import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet } from "ethers";
import { repoRoot } from "../contracts/artifacts.js";
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import { readFlags, UsageError } from "./args.js";

/**
 * The cost of the storage integrity checks (issue 16), measured on real `azora` processes: builds a
 * dev chain of --blocks blocks (every --tx-every-th block carries --txs-per-block value transfers),
 * stops the node, and reads from the node's own log line ("chain database checked") how long the
 * start-up check took on the next start (LevelDB replays the run's log: the check covers it) and on
 * the start after (empty log: the last 64 blocks and the head state); then times `azora db check --full`.
 *
 *   npm run build && node dist/bench/dbCheck.js [--blocks 5000] [--tx-every 10] [--txs-per-block 10] [--keep]
 */

const HELP = `Usage: node dist/bench/dbCheck.js [--blocks N] [--tx-every N] [--txs-per-block N] [--keep]
The storage integrity checks' cost on real azora processes: the start-up check after a fresh chain and after a
clean restart, and \`azora db check --full\`.
  --blocks N          blocks of the dev chain built first (default 5000)
  --tx-every N        every N-th block carries transfers (default 10)
  --txs-per-block N   value transfers in such a block (default 10)
  --keep              keep the data directory (default: removed)`;
const CLI = join(repoRoot(), "dist/node/cli.js");

interface Started {
  url: string;
  child: ChildProcess;
  output(): string;
}

function startNode(dataDir: string): Promise<Started> {
  const child = spawn(
    process.execPath,
    [CLI, "dev", "--data-dir", dataDir, "--rpc-port", "0", "--log-format", "json", "--block-time", "3600000"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /RPC URL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearInterval(timer);
        resolve({ url: m[1], child, output: () => out });
      }
    }, 50);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`azora dev exited with ${code} before starting:\n${out.slice(-3000)}`));
    });
  });
}

async function stopNode(n: Started): Promise<void> {
  const exited = new Promise((r) => n.child.once("exit", r));
  n.child.kill("SIGTERM");
  await exited;
}

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

interface CheckFigure {
  blocks: number;
  stateNodes: number;
  logBytes: number;
  ms: number;
}

/** The start-up check's own log line of a node start. */
function startupCheck(output: string): CheckFigure {
  for (const line of output.split("\n")) {
    if (!line.includes('"chain database checked"')) continue;
    const j = JSON.parse(line) as { blocks: number; stateNodes: number; logBytes: number; ms: number };
    return { blocks: j.blocks, stateNodes: j.stateNodes, logBytes: j.logBytes, ms: j.ms };
  }
  throw new Error(`no start-up check in the node's log:\n${output.slice(-3000)}`);
}

function fullCheck(dataDir: string): Promise<CheckFigure> {
  const child = spawn(process.execPath, [CLI, "db", "check", "--data-dir", dataDir, "--full"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      const m = /checked blocks \d+\.\.\d+ \((\d+)\) and (\d+) state nodes in (\d+) ms/.exec(out);
      if (code !== 0 || m === null) reject(new Error(`azora db check --full exited ${code}:\n${out}`));
      else resolve({ blocks: Number(m[1]), stateNodes: Number(m[2]), logBytes: 0, ms: Number(m[3]) });
    });
  });
}

async function buildChain(
  url: string,
  opts: { blocks: number; txEvery: number; txsPerBlock: number },
): Promise<{ head: bigint; txs: number }> {
  const senders = Array.from({ length: DEV_ACCOUNT_COUNT }, (_, i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
  );
  const chainId = BigInt((await rpc(url, "eth_chainId")) as string);
  const nonces = new Array<number>(senders.length).fill(0);
  let txs = 0;
  for (let n = 1; n <= opts.blocks; ) {
    if (opts.txsPerBlock > 0 && n % opts.txEvery === 0) {
      for (let k = 0; k < opts.txsPerBlock; k++) {
        const s = k % senders.length;
        const raw = await senders[s].signTransaction({
          type: 2,
          chainId,
          nonce: nonces[s]++,
          to: "0x000000000000000000000000000000000000dEaD",
          value: 1n,
          gasLimit: 21_000n,
          maxFeePerGas: 10_000_000_000n,
          maxPriorityFeePerGas: 1n,
        });
        await rpc(url, "eth_sendRawTransaction", [raw]);
        txs++;
      }
      await rpc(url, "anvil_mine", ["0x1"]);
      n++;
      continue;
    }
    const toNext = opts.txsPerBlock > 0 ? opts.txEvery - (n % opts.txEvery) : 100;
    const run = Math.min(100, opts.blocks - n + 1, toNext);
    await rpc(url, "anvil_mine", [`0x${run.toString(16)}`]);
    n += run;
  }
  return { head: BigInt((await rpc(url, "eth_blockNumber")) as string), txs };
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

  const dataDir = mkdtempSync(join(tmpdir(), "azora-dbcheck-"));
  try {
    const first = await startNode(dataDir);
    const started = performance.now();
    const { head, txs } = await buildChain(first.url, { blocks, txEvery, txsPerBlock });
    const buildMs = performance.now() - started;
    await stopNode(first);
    const afterRun = await startNode(dataDir); // replays the run's log
    await stopNode(afterRun);
    const next = await startNode(dataDir);
    await stopNode(next);
    const run = startupCheck(afterRun.output());
    const nextStart = startupCheck(next.output());
    const full = await fullCheck(dataDir);

    const row = (what: string, r: CheckFigure) =>
      `| ${what} | ${r.blocks.toLocaleString("en-US")} | ${r.stateNodes.toLocaleString("en-US")} | ${r.ms.toLocaleString("en-US")} |`;
    const lines = [
      `chain: ${head} blocks (${txs} value transfers), built in ${(buildMs / 1000).toFixed(1)} s ` +
        `(${(buildMs / Number(head)).toFixed(2)} ms per block, sent one by one over JSON-RPC); ` +
        `LevelDB log replayed at the next start: ${(run.logBytes / 1024).toFixed(0)} KiB`,
      "",
      "| check | blocks checked | state nodes | ms |",
      "|---|---:|---:|---:|",
      row("start-up after the run (its log replayed)", run),
      row("start-up, the start after (empty log)", nextStart),
      row("azora db check --full", full),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    if (keep) process.stdout.write(`kept ${dataDir}\n`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof UsageError ? e.message : (e as Error).stack}\n`);
  process.exit(1);
});
