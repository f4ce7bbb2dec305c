/**
 * Explorer bench: a dev node makes `blocks` blocks — `txBlocks` of them each made by a burst of transactions (a
 * share of ERC-20 transfers, WAZR transfers and plain value transfers; automine makes a block as soon as they wait),
 * spread evenly among empty blocks mined with the dev cheat `anvil_mine` (up to 10,000 a call) — then a fresh
 * explorer database backfills them all (SQLite, and PostgreSQL when a URL is given), the API answers address and
 * transaction pages, and headless Chromium loads the web UI's pages.
 * Figures: backfill blocks/s and transactions/s (wall clock: node RPC, tracing and the database together), API
 * latency p50/p99 in ms for sequential requests on loopback, page load p50/p99 in ms (navigation until the UI marks
 * `main[data-route]`, i.e. its data fetched and rendered).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, ContractFactory, HDNodeWallet, JsonRpcProvider, parseEther } from "ethers";
import { IWAZRAbi } from "../contracts/artifacts/IWAZR.js";
import { TestTokenAbi, TestTokenBytecode } from "../contracts/artifacts/TestToken.js";
import { repoRoot } from "../contracts/artifacts.js";
import { DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import { nullLogger } from "../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../services/explorer/config.js";
import type { SQLDriver } from "../services/explorer/db/driver.js";
import { openPostgresDriver } from "../services/explorer/db/pgDriver.js";
import { openSQLiteDriver } from "../services/explorer/db/sqliteDriver.js";
import { createBlockFetcher } from "../services/explorer/fetcher.js";
import { Indexer } from "../services/explorer/indexer.js";
import { startExplorer } from "../services/explorer/server.js";
import { ExplorerStore } from "../services/explorer/store.js";
import { createRPCClient } from "../services/runtime/chain/rpcClient.js";
import { startAzora } from "./procs.js";
import { type LatencySummary, round, summarize } from "./stats.js";

export interface ExplorerBenchResult {
  date: string;
  machine: string;
  /** `uptime`'s load averages when the bench ended (the machine is shared). */
  load: number[];
  blocks: number;
  /** Blocks that carry transactions (the rest are empty, mined by `anvil_mine`). */
  txBlocks: number;
  txs: number;
  /** Seconds the dev node took to make the chain. */
  chainSeconds: number;
  backfill: { backend: string; seconds: number; blocksPerSecond: number; txsPerSecond: number }[];
  api: Record<string, LatencySummary>;
  /** Page load in Chromium, ms; empty when Chromium is missing. */
  pages: Record<string, LatencySummary>;
}

const WAZR = "0x0000000000000000000000000000000000000a01";

async function makeChain(url: string, blocks: number, txBlocks: number, log: (s: string) => void) {
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  provider.pollingInterval = 50; // waitForTransaction polls; ethers' default is 4 s
  const wallets = [0, 1, 2, 3].map((i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)).connect(provider),
  );
  const token = (await new ContractFactory(TestTokenAbi as never, TestTokenBytecode, wallets[0]).deploy(
    10n ** 30n,
  )) as unknown as Contract;
  await token.waitForDeployment();
  const tokenAddress = await token.getAddress();
  const erc20 = new Contract(tokenAddress, TestTokenAbi as never, wallets[0]);
  const wazr = new Contract(WAZR, IWAZRAbi as never, wallets[0]);
  const net = await provider.getNetwork();
  const nonces = await Promise.all(wallets.map((w) => provider.getTransactionCount(w.address)));
  const { chainId } = net;
  const fee = await provider.getFeeData();
  let sent = 0;
  let bursts = 0;
  const hashes: string[] = [];
  // Empty blocks after each burst, so that the bursts spread over the whole chain.
  const gap = Math.max(0, Math.floor((blocks - txBlocks) / Math.max(1, txBlocks)));
  const mineEmpty = async (n: number) => {
    for (let left = n; left > 0; left -= 10_000) await provider.send("anvil_mine", [Math.min(left, 10_000)]);
  };
  for (;;) {
    const head = await provider.getBlockNumber();
    if (head >= blocks) break;
    if (bursts >= txBlocks) {
      await mineEmpty(blocks - head);
      continue;
    }
    // A burst: each wallet sends 6 transactions, a mix of the three kinds.
    const burst: Promise<string>[] = [];
    for (const [i, w] of wallets.entries()) {
      for (let k = 0; k < 6; k++) {
        const to = wallets[(i + 1 + k) % wallets.length].address;
        const kind = (sent + k) % 3;
        const data =
          kind === 0
            ? i === 0
              ? erc20.interface.encodeFunctionData("transfer", [to, 1000n])
              : "0x"
            : kind === 1
              ? wazr.interface.encodeFunctionData("transfer", [to, 1000n])
              : "0x";
        const tx = await w.signTransaction({
          to: kind === 0 && i === 0 ? tokenAddress : kind === 1 ? WAZR : to,
          data,
          value: kind === 2 || (kind === 0 && i !== 0) ? parseEther("0.001") : 0n,
          nonce: nonces[i]++,
          gasLimit: 120_000n,
          maxFeePerGas: (fee.maxFeePerGas ?? 10n ** 10n) * 2n,
          maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 10n ** 9n,
          chainId,
          type: 2,
        });
        burst.push(provider.send("eth_sendRawTransaction", [tx]));
        sent++;
      }
    }
    const sentHashes = await Promise.all(burst);
    hashes.push(...sentHashes);
    await provider.waitForTransaction(sentHashes[sentHashes.length - 1]);
    bursts++;
    await mineEmpty(Math.min(gap, blocks - (await provider.getBlockNumber())));
    if (sent % 2400 === 0) log(`  … ${sent} txs sent, head ${head}`);
  }
  const head = await provider.getBlockNumber();
  provider.destroy();
  return { head, owner: wallets[0].address.toLowerCase(), hashes };
}

export async function explorerBench(opts: {
  blocks?: number;
  txBlocks?: number;
  pgUrl?: string;
  requests?: number;
  pageLoads?: number;
  chromium?: string;
  log: (s: string) => void;
}): Promise<ExplorerBenchResult> {
  const blocks = opts.blocks ?? 1000;
  const txBlocks = Math.min(blocks, opts.txBlocks ?? 1000);
  const requests = opts.requests ?? 500;
  const pageLoads = opts.pageLoads ?? 30;
  const dir = mkdtempSync(join(tmpdir(), "azora-explorer-bench-"));
  // The node is a process of its own, as in production: its CPU is not the explorer's.
  const azora = await startAzora(join(repoRoot(), "dist/node/cli.js"), repoRoot(), ["--no-sync-writes"]);
  const node = { url: azora.url, cleanup: async () => void (await azora.stop()) };
  try {
    opts.log(`making ${blocks} blocks on a dev node: ${txBlocks} bursts of transfers, the rest empty (anvil_mine)…`);
    const c0 = performance.now();
    const chain = await makeChain(node.url, blocks, txBlocks, opts.log);
    const chainSeconds = round((performance.now() - c0) / 1000, 1);
    opts.log(`  chain made in ${chainSeconds} s, head ${chain.head}`);
    const rpc = createRPCClient(node.url);
    const backends: { name: string; open: () => Promise<SQLDriver>; drop?: () => Promise<void> }[] = [
      { name: "sqlite", open: async () => openSQLiteDriver(join(dir, "explorer.sqlite")) },
    ];
    if (opts.pgUrl !== undefined) {
      const schema = `azora_explorer_bench_${process.pid}`;
      backends.push({
        name: "postgres",
        open: () => openPostgresDriver({ url: opts.pgUrl as string, schema }),
        drop: async () => {
          const d = await openPostgresDriver({ url: opts.pgUrl as string, schema });
          await d.run(`DROP SCHEMA ${schema} CASCADE`);
          await d.close();
        },
      });
    }
    const backfill: ExplorerBenchResult["backfill"] = [];
    let txs = 0;
    let blocksWithTxs = 0;
    for (const b of backends) {
      const store = await ExplorerStore.open(await b.open());
      const indexer = new Indexer({
        store,
        rpc,
        fetcher: createBlockFetcher(rpc),
        logger: nullLogger,
        fromBlock: 0,
        batchBlocks: 50,
        untilBlock: chain.head,
      });
      const t0 = performance.now();
      await indexer.start();
      await indexer.waitFor(chain.head);
      const seconds = (performance.now() - t0) / 1000;
      await indexer.stop();
      txs = (await store.stats()).txs;
      const [row] = await store.db.all<{ n: number }>("SELECT COUNT(*) AS n FROM blocks WHERE tx_count > 0");
      blocksWithTxs = Number(row?.n ?? 0);
      await store.close();
      backfill.push({
        backend: b.name,
        seconds: round(seconds, 2),
        blocksPerSecond: round((chain.head + 1) / seconds, 1),
        txsPerSecond: round(txs / seconds, 1),
      });
      opts.log(`  backfill ${b.name}: ${chain.head + 1} blocks, ${txs} txs in ${seconds.toFixed(1)} s`);
      if (b.name !== "sqlite") await b.drop?.();
    }

    // API latency on the SQLite database just built.
    const svc = await startExplorer(
      resolveExplorerConfig(undefined, {
        rpc: node.url,
        db: join(dir, "explorer.sqlite"),
        http: { port: 0 },
        indexer: { enabled: false },
      }),
      { log: nullLogger, version: "bench" },
    );
    const api: Record<string, LatencySummary> = {};
    const measure = async (name: string, path: (i: number) => string) => {
      const ms: number[] = [];
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        const r = await fetch(`${svc.url}${path(i)}`);
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${path(i)}: HTTP ${r.status}`);
        ms.push(performance.now() - t);
      }
      api[name] = summarize(ms);
    };
    const sample = (i: number) => chain.hashes[(i * 7919) % chain.hashes.length];
    await measure("address page (/v1/addresses/:a)", () => `/v1/addresses/${chain.owner}`);
    await measure("address txs, 25 newest", () => `/v1/addresses/${chain.owner}/txs?limit=25`);
    await measure("address txs, page 20", () => `/v1/addresses/${chain.owner}/txs?limit=25&offset=475`);
    await measure("tx page (/v1/txs/:hash)", (i) => `/v1/txs/${sample(i)}`);
    await measure(
      "etherscan txlist, 100",
      () => `/api?module=account&action=txlist&address=${chain.owner}&page=1&offset=100&sort=desc`,
    );
    const pages = await pageLoads_(svc.url, chain, pageLoads, opts.chromium ?? "/usr/bin/chromium", opts.log);
    await svc.close();
    return {
      date: new Date().toISOString().slice(0, 10),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
      load: loadavg().map((l) => round(l, 2)),
      blocks: chain.head + 1,
      txBlocks: blocksWithTxs,
      txs,
      chainSeconds,
      backfill,
      api,
      pages,
    };
  } finally {
    await node.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Page load in headless Chromium: for each page, `loads` navigations in a fresh tab of one browser (so the bundle is
 * in its cache, as for a returning visitor), each timed from `goto` until the UI marks `main[data-route]` — the page's
 * `/v1` data fetched and rendered.
 */
async function pageLoads_(
  url: string,
  chain: { head: number; owner: string; hashes: string[] },
  loads: number,
  executablePath: string,
  log: (s: string) => void,
): Promise<Record<string, LatencySummary>> {
  if (loads <= 0) return {};
  if (!existsSync(executablePath)) {
    log(`  page load: ${executablePath} missing, skipped`);
    return {};
  }
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "azora-explorer-bench-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      ...["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"],
      ...["--disable-background-networking", "--disable-component-update", "--disable-sync"],
    ],
  });
  try {
    const routes: [string, string][] = [
      ["home (#/)", "#/"],
      ["block", `#/block/${Math.floor(chain.head / 2)}`],
      ["transaction", `#/tx/${chain.hashes[Math.floor(chain.hashes.length / 2)]}`],
      ["address", `#/address/${chain.owner}`],
    ];
    const out: Record<string, LatencySummary> = {};
    for (const [name, route] of routes) {
      const ms: number[] = [];
      for (let i = 0; i < loads; i++) {
        const page = await browser.newPage();
        const t = performance.now();
        await page.goto(`${url}/${route}`);
        await page.locator(`main[data-route="${route}"]`).waitFor({ state: "attached", timeout: 60_000 });
        ms.push(performance.now() - t);
        await page.close();
      }
      out[name] = summarize(ms);
      log(`  page load ${name}: p50 ${out[name].p50} ms`);
    }
    return out;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

export function explorerTable(r: ExplorerBenchResult): string {
  const lines = [
    `Chain: ${r.blocks} blocks, ${r.txBlocks} of them with transactions (${r.txs} in all), made in ${r.chainSeconds} s.`,
    `Backfill of ${r.blocks} blocks / ${r.txs} transactions (node in its own process, loopback RPC):`,
    "| backend | seconds | blocks/s | tx/s |",
    "|---|---:|---:|---:|",
    ...r.backfill.map((b) => `| ${b.backend} | ${b.seconds} | ${b.blocksPerSecond} | ${b.txsPerSecond} |`),
    "",
    "API latency, sequential requests (ms):",
    "| request | p50 | p99 |",
    "|---|---:|---:|",
    ...Object.entries(r.api).map(([k, v]) => `| ${k} | ${v.p50} | ${v.p99} |`),
    "",
    "Page load in headless Chromium, navigation until rendered (ms):",
    "| page | p50 | p99 |",
    "|---|---:|---:|",
    ...Object.entries(r.pages).map(([k, v]) => `| ${k} | ${v.p50} | ${v.p99} |`),
    "",
    `load average at the end: ${r.load.join(", ")}`,
  ];
  return lines.join("\n");
}
