/**
 * The explorer's web UI in headless Chromium (Debian's, through playwright-core) against an in-process dev node and
 * an explorer indexing it: the live home page, a transaction's internal-call tree, decoded logs and revert reason,
 * an address's tokens and NFTs, search, a phone-sized screen. Takes the README's home and transaction screenshots
 * (into docs/screenshots/ only with UPDATE_SCREENSHOTS=1: browser.ts).
 * Needs `npm run build` first (the UI bundle is built there).
 */
import { join } from "node:path";
import { JsonRpcProvider, parseEther, Wallet } from "ethers";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { findAssetsDir } from "../../services/explorer/ui.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";
import { launchBrowser, screenshot, seriousAxeViolations, WAIT } from "./browser.js";
import { type Activity, makeActivity } from "./chain.js";

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let svc: ExplorerService;
let activity: Activity;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (findAssetsDir() === null) throw new Error("the explorer UI bundle is missing: run `npm run build` first");
  node = await startInProcessNode();
  activity = await makeActivity(node.url);
  const cfg = resolveExplorerConfig(undefined, {
    rpc: node.url,
    db: join(tempDir("explorer-ui"), "explorer.sqlite"),
    http: { port: 0 },
    indexer: { batchBlocks: 8, pollMs: 200 },
  });
  svc = await startExplorer(cfg, { log: nullLogger, version: "test" });
  await svc.indexer?.waitFor(activity.lastBlock);
  browser = await launchBrowser();
  page = await browser.newPage();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
  await node?.cleanup();
});

/** The page for `route` once rendered: the UI marks `main` with the route it shows. */
const shown = (route: string) => page.locator(`main[data-route="${route === "" ? "#/" : route}"]`).waitFor(WAIT);
const open = async (route: string) => {
  await page.goto(`${svc.url}/${route}`);
  await shown(route);
};
const text = async (selector: string) => (await page.locator(selector).first().textContent(WAIT)) ?? "";

describe("explorer web UI", () => {
  it("home shows the latest blocks and transactions and follows a new block live over the WebSocket feed", async () => {
    await open("");
    await page.locator(`#blocks-feed li[data-block="${activity.lastBlock}"]`).waitFor(WAIT);
    await page.locator(`#txs-feed li[data-tx="${activity.reverted}"]`).waitFor(WAIT);
    // live through the explorer's /v1/live WebSocket, not the polling fallback
    await page.locator('main[data-live="websocket"]').waitFor(WAIT);

    const provider = new JsonRpcProvider(node.url, undefined, {
      cacheTimeout: -1,
      batchMaxCount: 1,
      staticNetwork: true,
    });
    const tx = await new Wallet(DEV_KEYS[3], provider).sendTransaction({ to: activity.alice, value: parseEther("2") });
    const receipt = await provider.waitForTransaction(tx.hash);
    provider.destroy();
    // No reload: the feed announces the block, the page fetches it and its transaction.
    await page.locator(`#blocks-feed li[data-block="${receipt?.blockNumber}"]`).waitFor(WAIT);
    await page.locator(`#txs-feed li[data-tx="${tx.hash}"]`).waitFor(WAIT);
    expect(await text(`#txs-feed li[data-tx="${tx.hash}"]`)).toContain("2 AZR");
    await screenshot(page, "explorer-home.png");
  });

  it("a transaction shows its internal-call tree; a token transfer its decoded input, log and transfer", async () => {
    await open(`#/tx/${activity.internalCalls}`);
    await page.locator("#internal-calls [role=treeitem]").first().waitFor(WAIT);
    // depths 0, 1, 1, 2 (router → vault, router → back, vault → …): nested lists, not a flat one
    const levels = await page
      .locator("#internal-calls [role=treeitem]")
      .evaluateAll((items) => items.map((i) => i.getAttribute("aria-level")));
    expect(levels).toEqual(["1", "2", "2", "3"]);
    expect(await page.locator("#internal-calls [role=treeitem] [role=treeitem] [role=treeitem]").count()).toBe(1);
    await screenshot(page, "explorer-transaction.png", { fullPage: true });

    await open(`#/tx/${activity.tokenTransfer}`);
    expect(await text("#input")).toContain("transfer(address,uint256)");
    // the recipient argument links to its address page
    expect(await page.locator(`#input a[href="#/address/${activity.alice}"]`).count()).toBe(1);
    expect(await text("#logs")).toContain("Transfer(address,address,uint256)");
    expect(await text("table:has(caption:text('Token transfers'))")).toContain("TTK");
  });

  it("a failed transaction shows its revert reason", async () => {
    await open(`#/tx/${activity.reverted}`);
    expect(await text("#revert-reason")).toContain("TestToken: forced failure");
    expect(await text(".facts")).toContain("Failed");
  });

  it("an address shows its balance, tokens and NFTs", async () => {
    await open(`#/address/${activity.alice}`);
    const tokens = await text("table:has(caption:text('Tokens'))");
    expect(tokens).toContain("TTK");
    const nfts = await text("table:has(caption:text('NFTs'))");
    expect(nfts).toContain("#1");
    expect(await text(".facts")).toMatch(/Balance\s*[0-9,.]+ AZR/);
  });

  it("search finds a transaction by hash, a block by number and an address", async () => {
    await open("");
    const search = async (q: string) => {
      await page.getByLabel("Search by block number, transaction hash or address").fill(q);
      await page.keyboard.press("Enter");
    };
    await search(activity.tokenTransfer);
    await shown(`#/tx/${activity.tokenTransfer}`);
    expect(await text("h1")).toBe("Transaction");
    await search(String(activity.lastBlock));
    await shown(`#/block/${activity.lastBlock}`);
    expect(await text("h1")).toBe(`Block ${activity.lastBlock}`);
    await search(activity.token.toUpperCase().replace("0X", "0x"));
    await shown(`#/address/${activity.token}`);
    expect(await text("h1")).toBe("Contract");
  });

  it("axe-core finds no serious or critical accessibility violation on the main pages", async () => {
    const found: Record<string, unknown[]> = {};
    for (const route of [
      "",
      `#/block/${activity.lastBlock}`,
      `#/tx/${activity.internalCalls}`,
      `#/tx/${activity.reverted}`,
      `#/address/${activity.alice}`,
    ]) {
      await open(route);
      found[route] = await seriousAxeViolations(page);
    }
    expect(found).toEqual({
      "": [],
      [`#/block/${activity.lastBlock}`]: [],
      [`#/tx/${activity.internalCalls}`]: [],
      [`#/tx/${activity.reverted}`]: [],
      [`#/address/${activity.alice}`]: [],
    });
  });

  it("fits a phone-sized screen without sideways scrolling", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    for (const route of ["", `#/tx/${activity.tokenTransfer}`, `#/address/${activity.alice}`]) {
      await open(route);
      await page.locator("main h1").waitFor(WAIT);
      await page.locator("main section, main table, main dl").first().waitFor(WAIT);
      const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      expect(overflow, route).toBeLessThanOrEqual(0);
    }
  });
});
