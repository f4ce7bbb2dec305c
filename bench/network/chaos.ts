// `npm run chaos`: a 4-validator localnet under steady load. First an RPC-abuse phase (issue 16): expensive
// simulations and log batches against two validators, with the chain's finality measured before and during it.
// Then a random validator is kill -9'd every 5–10 s and restarted 1–4 s later. At the end every node must be at
// the same height with the same block hash and state root, and the chain must have kept committing. Exit code 0
// when it did, 1 otherwise, 2 on bad usage.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { HDNodeWallet } from "ethers";
import { repoRoot } from "../../contracts/artifacts.js";
import { DEV_MNEMONIC, devAccountPath } from "../../genesis/devnet.js";
import { readFlags, UsageError } from "../args.js";
import { freeBasePort } from "./localnet.js";
import { type AbuseKinds, InclusionWatcher, prepareAbuse, runAbuse } from "./rpcAbuse.js";

const HELP = `Usage: npm run chaos -- [options]

Starts 4 validators (azora init + azora start) on 127.0.0.1 and sends ~10 value transfers per second per node.
1. RPC abuse (--abuse-s): tx submit→final is measured for --abuse-s seconds, then again for --abuse-s seconds
   while node0 and node1 are flooded with eth_call into blake2f (4 callers each), eth_createAccessList with gas
   2^64-1 on a tight loop, and batches of 100 eth_getLogs over a few thousand logs (2 callers each).
2. Kills (--duration-s): a random validator is kill -9'd every 5–10 s and restarted 1–4 s later.
At the end: every node at the same height with identical block hash and state root, and no height stalled for
more than --stall-s (during the abuse phase too).

Options:
  --abuse-s <s>      length of each RPC-abuse window, before and during (default 20; 0 skips the phase)
  --abuse <kinds>    sims, logs or sims,logs (default): which abuse runs (to tell their effects apart)
  --duration-s <s>   how long the kills go on (default 120; 0 skips them)
  --stall-s <s>      a stall longer than this fails the run (default 20)
  --cli <file>       the azora CLI the nodes run (default dist/node/cli.js; A/B against another build)
  --keep             keep the network directory (homes, data)
  -h, --help         show this help
`;

interface Params {
  abuseS: number;
  abuse: AbuseKinds;
  durationS: number;
  stallS: number;
  cli: string | null;
  keep: boolean;
}

function parse(argv: string[]): Params | null {
  const p: Params = {
    abuseS: 20,
    abuse: { sims: true, logs: true },
    durationS: 120,
    stallS: 20,
    cli: null,
    keep: false,
  };
  const int = (flag: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer ≥ ${min}`);
    return n;
  };
  const complete = readFlags(argv, (flag, next) => {
    if (flag === "--keep") p.keep = true;
    else if (flag === "--abuse-s") p.abuseS = int(flag, next(), 0);
    else if (flag === "--abuse") {
      const kinds = next().split(",");
      if (kinds.some((k) => k !== "sims" && k !== "logs"))
        throw new UsageError("--abuse takes sims, logs or sims,logs");
      p.abuse = { sims: kinds.includes("sims"), logs: kinds.includes("logs") };
    } else if (flag === "--duration-s") p.durationS = int(flag, next(), 0);
    else if (flag === "--stall-s") p.stallS = int(flag, next(), 1);
    else if (flag === "--cli") p.cli = resolve(next());
    else throw new UsageError(`unknown option ${flag} (see --help)`);
  });
  return complete ? p : null;
}

const ms = (v: number | null) => (v === null ? "—" : `${Math.round(v)} ms`);

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
  const cli = params.cli ?? join(repoRoot(), "dist/node/cli.js");
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
  process.on("exit", stopAll); // whatever ends this process, the nodes go with it
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
    let chainId = Number.NaN;
    for (let t = 0; Number.isNaN(chainId); t++) {
      if (t > 60) throw new Error("node0 did not answer eth_chainId within 60 s");
      const id = await rpc<string>(ports[0], "eth_chainId");
      if (id === undefined) await sleep(1000);
      else chainId = Number(id);
    }
    const watcher = new InclusionWatcher(ports, rpc, ports[3]);
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
          const at = performance.now();
          const hash = await rpc<string>(ports[i], "eth_sendRawTransaction", [raw]);
          if (hash !== undefined) {
            sent++;
            watcher.noteSent(hash, at);
          }
        }
        await sleep(100);
      }
    });

    if (params.abuseS > 0) {
      // Logs to query and a loop to simulate, from a dev account the load does not use.
      const setup = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(9));
      const prepared = await prepareAbuse(rpc, ports[2], setup, chainId);
      process.stdout.write(
        `RPC abuse: ${prepared.logs} logs on chain; measuring ${params.abuseS} s before, ${params.abuseS} s during\n`,
      );
      watcher.start();
      await sleep(2000); // subscriptions in place
      const t0 = performance.now();
      await sleep(params.abuseS * 1000);
      const t1 = performance.now();
      let abuseOver = false;
      const abuse = runAbuse(
        ports.slice(0, 2),
        { loop: prepared.loop, from: setup.address },
        params.abuse,
        () => abuseOver,
      );
      await sleep(params.abuseS * 1000);
      abuseOver = true;
      const t2 = performance.now();
      await sleep(1000); // the last heights' bodies
      const before = watcher.window(t0, t1);
      const during = watcher.window(t1, t2);
      const counts = await Promise.race([abuse, sleep(65_000).then(() => null)]);
      const row = (name: string, w: typeof before) =>
        `  ${name.padEnd(22)} ${String(w.blocks).padStart(7)} ${ms(w.longestGapMs).padStart(12)} ${String(w.txFinalMs.count).padStart(6)} ${ms(w.txFinalMs.p50).padStart(9)} ${ms(w.txFinalMs.p99).padStart(9)}\n`;
      process.stdout.write(
        `\n  RPC abuse on node0 + node1 (${params.abuseS} s windows)\n` +
          `  ${"window".padEnd(22)} ${"blocks".padStart(7)} ${"longest gap".padStart(12)} ${"txs".padStart(6)} ${"final p50".padStart(9)} ${"final p99".padStart(9)}\n` +
          row("before", before) +
          row("during abuse", during) +
          `  answers to the abuse:\n${Object.entries(counts?.answers ?? { "(still running after 65 s)": 1 })
            .sort()
            .map(([k, v]) => `    ${String(v).padStart(6)}  ${k}`)
            .join("\n")}\n\n`,
      );
      if (during.longestGapMs === null || during.longestGapMs > params.stallS * 1000) {
        process.stdout.write(`STALL during the RPC abuse: longest gap between blocks ${ms(during.longestGapMs)}\n`);
        ok = false;
      }
    }

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
    watcher.close();
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
