// `npm run chaos`: a 4-validator localnet under steady load while a random validator is kill -9'd every 5–10 s
// and restarted 1–4 s later. At the end every node must be at the same height with the same block hash and state
// root, and the chain must have kept committing. Exit code 0 when it did, 1 otherwise, 2 on bad usage.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet } from "ethers";
import { repoRoot } from "../../contracts/artifacts.js";
import { DEV_MNEMONIC, devAccountPath } from "../../genesis/devnet.js";
import { readFlags, UsageError } from "../args.js";
import { freeBasePort } from "./localnet.js";

const HELP = `Usage: npm run chaos -- [options]

Starts 4 validators (azora init + azora start) on 127.0.0.1, sends ~10 value transfers per second per node,
and kill -9's a random validator every 5–10 s, restarting it 1–4 s later. At the end: every node at the same
height with identical block hash and state root, and no height stalled for more than --stall-s.

Options:
  --duration-s <s>   how long the kills go on (default 120)
  --stall-s <s>      a stall longer than this fails the run (default 20)
  --keep             keep the network directory (homes, data)
  -h, --help         show this help
`;

interface Params {
  durationS: number;
  stallS: number;
  keep: boolean;
}

function parse(argv: string[]): Params | null {
  const p: Params = { durationS: 120, stallS: 20, keep: false };
  const positive = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} needs a positive integer`);
    return n;
  };
  const complete = readFlags(argv, (flag, next) => {
    if (flag === "--keep") p.keep = true;
    else if (flag === "--duration-s") p.durationS = positive(flag, next());
    else if (flag === "--stall-s") p.stallS = positive(flag, next());
    else throw new UsageError(`unknown option ${flag} (see --help)`);
  });
  return complete ? p : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpc<T>(port: number, method: string, params: unknown[] = []): Promise<T | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(5000),
    });
    return ((await res.json()) as { result?: T }).result;
  } catch {
    return undefined; // a killed node, or one still starting
  }
}

async function main(): Promise<number> {
  let params: Params | null;
  try {
    params = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    return 2;
  }
  if (params === null) {
    process.stdout.write(HELP);
    return 0;
  }
  const cli = join(repoRoot(), "dist/node/cli.js");
  const dir = mkdtempSync(join(tmpdir(), "azora-chaos-"));
  const base = await freeBasePort(4);
  const ports = [0, 1, 2, 3].map((i) => base + i);
  execFileSync(process.execPath, [cli, "init", "--out", dir, "--validators", "4", "--base-port", String(base)]);
  const procs: ChildProcess[] = [];
  const start = (i: number) => {
    procs[i] = spawn(process.execPath, [cli, "start", "--home", join(dir, `node${i}`), "--log-format", "json"], {
      stdio: "ignore",
    });
  };
  const stopAll = () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  process.on("SIGINT", () => {
    stopAll();
    process.exit(130);
  });
  let ok = true;
  try {
    for (let i = 0; i < 4; i++) start(i);
    const heightOf = async (i: number) => {
      const h = await rpc<string>(ports[i], "eth_blockNumber");
      return h === undefined ? null : Number(h);
    };
    for (let t = 0; (await heightOf(0)) === null; t++) {
      if (t > 300) throw new Error("node0 did not answer within 30 s");
      await sleep(100);
    }

    // Load: one dev account per node, sequential sends (nonce from the node's pending count).
    const wallets = [0, 1, 2, 3].map((i) => HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)));
    const chainId = Number(await rpc<string>(ports[0], "eth_chainId"));
    let stop = false;
    let sent = 0;
    const load = wallets.map(async (w, i) => {
      while (!stop) {
        const nonce = await rpc<string>(ports[i], "eth_getTransactionCount", [w.address, "pending"]);
        if (nonce !== undefined) {
          const raw = await w.signTransaction({
            type: 2,
            chainId,
            nonce: Number(nonce),
            to: "0x000000000000000000000000000000000000dEaD",
            value: 1n,
            gasLimit: 21_000n,
            maxFeePerGas: 10n ** 11n,
            maxPriorityFeePerGas: 10n ** 9n,
          });
          if ((await rpc<string>(ports[i], "eth_sendRawTransaction", [raw])) !== undefined) sent++;
        }
        await sleep(100);
      }
    });

    // Kills, and a watchdog on the highest height any node reports.
    const t0 = Date.now();
    let best = 0;
    let bestAt = Date.now();
    let kills = 0;
    while (Date.now() - t0 < params.durationS * 1000) {
      await sleep(5000 + Math.random() * 5000);
      const victim = Math.floor(Math.random() * 4);
      procs[victim].kill("SIGKILL");
      kills++;
      await sleep(1000 + Math.random() * 3000);
      start(victim);
      const hs = await Promise.all([0, 1, 2, 3].map(heightOf));
      const top = Math.max(...hs.map((h) => h ?? 0));
      if (top > best) {
        best = top;
        bestAt = Date.now();
      } else if (Date.now() - bestAt > params.stallS * 1000) {
        process.stdout.write(`STALL: no new height for ${params.stallS} s\n`);
        ok = false;
        break;
      }
      process.stdout.write(
        `${Math.round((Date.now() - t0) / 1000)} s: kill -9 node${victim} (#${kills}), heights ${hs.map((h) => h ?? "-").join(" ")}, ${sent} txs sent\n`,
      );
    }
    stop = true;
    await Promise.all(load);

    // Every node catches up; then one height, one block, one state root everywhere.
    let hs: (number | null)[] = [];
    for (let t = 0; t < 60; t++) {
      hs = await Promise.all([0, 1, 2, 3].map(heightOf));
      if (hs.every((h) => h !== null && h >= best)) break;
      await sleep(500);
    }
    const common = Math.min(...hs.map((h) => h ?? 0));
    const blocks = await Promise.all(
      ports.map((p) =>
        rpc<{ hash: string; stateRoot: string }>(p, "eth_getBlockByNumber", [`0x${common.toString(16)}`, false]),
      ),
    );
    const ids = new Set(blocks.map((b) => (b === undefined ? "missing" : `${b.hash}/${b.stateRoot}`)));
    const agree = ids.size === 1 && !ids.has("missing");
    process.stdout.write(
      `\n${kills} kill -9 in ${params.durationS} s, ${sent} txs sent; heights ${hs.map((h) => h ?? "-").join(" ")}; ` +
        `at height ${common}: ${agree ? "every node has the same block and state root" : "NODES DISAGREE"}\n`,
    );
    if (!agree || common < best) ok = false;
  } catch (e) {
    process.stderr.write(`chaos: ${(e as Error).message}\n`);
    ok = false;
  } finally {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    await sleep(3000);
    stopAll();
    if (!params.keep) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`kept ${dir}\n`);
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
