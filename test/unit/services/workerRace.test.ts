import { join } from "node:path";
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../../runtime/lib/logger.js";
import { MarketClient } from "../../../services/client/index.js";
import { marketInterface } from "../../../services/runtime/chain/market.js";
import {
  createTestHashHandler,
  JobStatus,
  MARKET_ADDRESS,
  type RunningWorker,
  resolveWorkerConfig,
  startWorkerService,
} from "../../../services/runtime/index.js";
import { DEV_CHAIN_ID, DEV_KEYS, startInProcessNode, tempDir } from "../../utils/devnode.js";
import { freePort } from "../../utils/workers.js";

/**
 * Two workers (in-process, real node, real journal and HTTP API) race for the same jobs: every job is claimed once
 * and completed; the loser's claims (refused by simulation, or reverted when both went out for one block) are normal,
 * not errors.
 */

function capture(): { logger: Logger; lines: { level: string; msg: string; ctx?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; ctx?: Record<string, unknown> }[] = [];
  const mk = (bindings: Record<string, unknown>): Logger => ({
    debug: (msg, ctx) => lines.push({ level: "debug", msg, ctx: { ...bindings, ...ctx } }),
    info: (msg, ctx) => lines.push({ level: "info", msg, ctx: { ...bindings, ...ctx } }),
    warn: (msg, ctx) => lines.push({ level: "warn", msg, ctx: { ...bindings, ...ctx } }),
    error: (msg, ctx) => lines.push({ level: "error", msg, ctx: { ...bindings, ...ctx } }),
    child: (b) => mk({ ...bindings, ...b }),
  });
  return { logger: mk({}), lines };
}

describe("workers racing for jobs", () => {
  let node: Awaited<ReturnType<typeof startInProcessNode>>;
  const workers: RunningWorker[] = [];
  const logs: ReturnType<typeof capture>[] = [];
  let provider: JsonRpcProvider;
  let client: MarketClient;

  beforeAll(async () => {
    node = await startInProcessNode();
    provider = new JsonRpcProvider(node.url, Number(DEV_CHAIN_ID), {
      cacheTimeout: -1,
      batchMaxCount: 1,
      staticNetwork: true,
    });
    provider.pollingInterval = 100;
    client = new MarketClient(new NonceManager(new Wallet(DEV_KEYS[5], provider)));
    const dir = tempDir("race");
    for (const i of [1, 2]) {
      const log = capture();
      logs.push(log);
      const cfg = resolveWorkerConfig(undefined, {
        kinds: ["test/sha256"],
        rpc: node.url,
        keyFile: undefined,
        dataDir: join(dir, `w${i}`),
        http: { port: await freePort() },
        pollMs: 200,
      });
      workers.push(
        await startWorkerService(cfg, {
          handlers: [createTestHashHandler()],
          logger: log.logger,
          version: "test",
          wallet: new Wallet(DEV_KEYS[i]),
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) await w.close();
    provider?.destroy();
    await node?.cleanup();
  });

  it("every job is claimed once and completed; lost races are not errors", async () => {
    const posted = [];
    for (let i = 0; i < 8; i++)
      posted.push(
        await client.post({ kind: "test/sha256", input: new TextEncoder().encode(`job ${i}`), price: 10n ** 18n }),
      );
    for (const p of posted)
      await client.waitFor(p.id, (j) => j.status === JobStatus.Submitted, { timeoutMs: 120_000, pollMs: 200 });
    for (const p of posted) {
      const logsOfJob = await provider.getLogs({
        address: MARKET_ADDRESS,
        fromBlock: 0,
        topics: [
          marketInterface.getEvent("JobClaimed")?.topicHash as string,
          `0x${p.id.toString(16).padStart(64, "0")}`,
        ],
      });
      expect(logsOfJob.length, `claims of job ${p.id}`).toBe(1);
      const r = await client.result(p.id);
      expect(JSON.parse(Buffer.from(r.bytes).toString()).size).toBe(5);
      await client.accept(p.id);
    }
    for (const l of logs) expect(l.lines.filter((x) => x.level === "error" || x.level === "warn")).toEqual([]);
    // the winners' claims: one mined claim per job across both workers (a loser's claim was refused by simulation,
    // or — when both went out for the same block — mined as a revert and taken in its stride)
    // Jobs ready while a claim is unmined go out together as one claimMany, so count transactions of both
    // kinds: at least one, at most one per job (exactly one claim per job is the JobClaimed count above).
    let mined = 0;
    for (const w of workers) {
      const m = await (await fetch(`${w.url}/metrics`)).text();
      for (const action of ["claim", "claimMany"])
        mined += Number(
          new RegExp(`azora_worker_transactions_total\\{action="${action}",outcome="mined"\\} (\\d+)`).exec(m)?.[1] ??
            "0",
        );
    }
    expect(mined).toBeGreaterThan(0);
    expect(mined).toBeLessThanOrEqual(posted.length);
  }, 180_000);

  it("serves its OpenAPI description, health and the journal over HTTP", async () => {
    const w = workers[0];
    const api = (await (await fetch(`${w.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(api.openapi).toBe("3.0.3");
    expect(Object.keys(api.paths).sort()).toEqual(["/blobs/{cid}", "/health", "/jobs", "/jobs/{id}", "/metrics"]);
    const health = (await (await fetch(`${w.url}/health`)).json()) as { status: string; address: string };
    expect(health).toMatchObject({ status: "ok", address: w.address });
    const jobs = (await (await fetch(`${w.url}/jobs?limit=100`)).json()) as { state: string }[];
    expect(jobs.length).toBeGreaterThan(0);
    expect((await fetch(`${w.url}/jobs?limit=0`)).status).toBe(400);
    expect((await fetch(`${w.url}/jobs/99999`)).status).toBe(404);
  });
});
