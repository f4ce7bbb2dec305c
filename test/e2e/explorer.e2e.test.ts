import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { openSQLiteDriver } from "../../services/explorer/db/sqliteDriver.js";
import { createBlockFetcher } from "../../services/explorer/fetcher.js";
import { Indexer } from "../../services/explorer/indexer.js";
import { ExplorerStore } from "../../services/explorer/store.js";
import { createRPCClient } from "../../services/runtime/chain/rpcClient.js";
import { type Activity, makeActivity } from "../explorer/chain.js";
import { CLI, REPO_ROOT, runCLI, startInProcessNode, tempDir } from "../utils/devnode.js";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let activity: Activity;
const dirs: string[] = [];

beforeAll(async () => {
  node = await startInProcessNode();
  activity = await makeActivity(node.url);
}, 180_000);
afterAll(async () => {
  await node?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `azora explorer` as a real process; resolves once it printed its URL. */
async function spawnExplorer(db: string): Promise<{ url: string; child: ChildProcess; exited: Promise<unknown> }> {
  const child = spawn(
    process.execPath,
    [CLI, "explorer", "--rpc", node.url, "--db", db, "--port", "0", "--batch-blocks", "1", "--log-format", "json"],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  const exited = new Promise((r) => child.once("exit", r));
  let out = "";
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`explorer did not start:\n${out}`)), 60_000);
    child.stdout?.on("data", (d) => {
      out += d;
      const m = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`explorer exited with ${code}:\n${out}`));
    });
  });
  return { url, child, exited };
}

async function indexedHeight(url: string): Promise<number> {
  const h = (await (await fetch(`${url}/health`)).json()) as { indexedHeight: number | null };
  return h.indexedHeight ?? -1;
}

async function waitHeight(url: string, height: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await indexedHeight(url)) < height) {
    if (Date.now() > deadline) throw new Error(`explorer did not reach ${height}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The rows of blocks 0..height (the explorer goes on following the chain's idle blocks after it). */
function dump(file: string, height: number) {
  const db = new Database(file, { readonly: true });
  const upTo = (t: string, order: string) =>
    db.prepare(`SELECT * FROM ${t} WHERE block_number <= ? ORDER BY ${order}`).all(height);
  const out = {
    blocks: db.prepare("SELECT * FROM blocks WHERE number <= ? ORDER BY number").all(height),
    txs: upTo("txs", "hash"),
    address_txs: upTo("address_txs", "address, block_number, tx_index"),
    logs: upTo("logs", "block_number, log_index"),
    transfers: upTo("transfers", "block_number, log_index, batch_index"),
    internal_calls: upTo("internal_calls", "tx_hash, call_index"),
    contracts: upTo("contracts", "address"),
    // Only transfers change holdings, and blocks after `height` are empty.
    holdings: db.prepare("SELECT * FROM holdings ORDER BY holder, token, token_id").all(),
    tokens: db.prepare("SELECT * FROM tokens ORDER BY address").all(),
  };
  db.close();
  return out;
}

describe("azora explorer (process)", () => {
  it("prints its options with --help", async () => {
    const r = await runCLI(["explorer", "--help"]);
    expect(r.code).toBe(0);
    expect(r.output).toContain("--rpc <url>");
    expect(r.output).toContain("--db <file|url>");
  });

  it("SIGKILLed while indexing, resumes with the same rows as an uninterrupted run", async () => {
    const height = activity.lastBlock;
    const refDir = tempDir("explorer-ref");
    dirs.push(refDir);
    const rpc = createRPCClient(node.url);
    const refStore = await ExplorerStore.open(openSQLiteDriver(join(refDir, "ref.sqlite")));
    const ref = new Indexer({
      store: refStore,
      rpc,
      fetcher: createBlockFetcher(rpc),
      logger: nullLogger,
      fromBlock: 0,
      batchBlocks: 7,
      untilBlock: height,
    });
    await ref.start();
    await ref.waitFor(height);
    await ref.stop();
    await refStore.close();
    const expected = dump(join(refDir, "ref.sqlite"), height);

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: height - 1 }), async (killAfter) => {
        const dir = tempDir("explorer-kill");
        dirs.push(dir);
        const db = join(dir, "explorer.sqlite");
        const first = await spawnExplorer(db);
        await waitHeight(first.url, killAfter);
        first.child.kill("SIGKILL");
        await first.exited;
        const second = await spawnExplorer(db);
        await waitHeight(second.url, height);
        second.child.kill("SIGTERM");
        await second.exited;
        expect(dump(db, height)).toEqual(expected);
      }),
      { numRuns: 3 },
    );
  }, 600_000);
});
