/**
 * Explorer bench: a dev node makes `blocks` blocks (a fixed block interval, each with a share of ERC-20 transfers,
 * WAZR transfers and plain value transfers sent in bursts), then a fresh explorer database backfills them all —
 * SQLite, and PostgreSQL when a URL is given — and the API answers address and transaction pages.
 * Figures: backfill blocks/s and transactions/s (wall clock: node RPC, tracing and the database together), API
 * latency p50/p99 in ms for sequential requests on loopback.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
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
  blocks: number;
  txs: number;
  backfill: { backend: string; seconds: number; blocksPerSecond: number; txsPerSecond: number }[];
  api: Record<string, LatencySummary>;
}

const WAZR = "0x0000000000000000000000000000000000000a01";

async function makeChain(url: string, blocks: number, log: (s: string) => void) {
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
  const hashes: string[] = [];
  for (;;) {
    const head = await provider.getBlockNumber();
    if (head >= blocks) break;
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
    if (sent % 2400 === 0) log(`  … ${sent} txs sent, head ${head}`);
  }
  const head = await provider.getBlockNumber();
  provider.destroy();
  return { head, owner: wallets[0].address.toLowerCase(), hashes };
}

export async function explorerBench(opts: {
  blocks?: number;
  pgUrl?: string;
  requests?: number;
  log: (s: string) => void;
}): Promise<ExplorerBenchResult> {
  const blocks = opts.blocks ?? 1000;
  const requests = opts.requests ?? 500;
  const dir = mkdtempSync(join(tmpdir(), "azora-explorer-bench-"));
  // The node is a process of its own, as in production: its CPU is not the explorer's.
  const azora = await startAzora(join(repoRoot(), "dist/node/cli.js"), repoRoot(), ["--no-sync-writes"]);
  const node = { url: azora.url, cleanup: async () => void (await azora.stop()) };
  try {
    opts.log(`making ${blocks} blocks on a dev node (a block as soon as transactions wait; bursts of transfers)…`);
    const chain = await makeChain(node.url, blocks, opts.log);
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
    await svc.close();
    return {
      date: new Date().toISOString().slice(0, 10),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
      blocks: chain.head + 1,
      txs,
      backfill,
      api,
    };
  } finally {
    await node.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function explorerTable(r: ExplorerBenchResult): string {
  const lines = [
    `Backfill of ${r.blocks} blocks / ${r.txs} transactions (node in its own process, loopback RPC):`,
    "| backend | seconds | blocks/s | tx/s |",
    "|---|---:|---:|---:|",
    ...r.backfill.map((b) => `| ${b.backend} | ${b.seconds} | ${b.blocksPerSecond} | ${b.txsPerSecond} |`),
    "",
    "API latency, sequential requests (ms):",
    "| request | p50 | p99 |",
    "|---|---:|---:|",
    ...Object.entries(r.api).map(([k, v]) => `| ${k} | ${v.p50} | ${v.p99} |`),
  ];
  return lines.join("\n");
}
