/**
 * The explorer's platform pages in headless Chromium (Debian's, through playwright-core) against an in-process dev
 * node whose staking, governance, escrow and job market were used (`platformChain.ts`), an explorer indexing it, and
 * a real in-process Azora Search service the explorer fills: validators, a proposal with its live tally after real
 * votes, an escrow's and a job's state machines after real lifecycles, search by token name and a full-text hit,
 * axe-core on every new page. Takes the README's governance screenshot (browser.ts). Needs `npm run build` first.
 */
import { join } from "node:path";
import { ContractFactory, JsonRpcProvider, Wallet } from "ethers";
import type { BrowserContext, Page } from "playwright-core";
import solc from "solc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { findAssetsDir } from "../../services/explorer/ui.js";
import { resolveSearchConfig, type SearchService, startSearchService } from "../../services/search/service.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";
import { launchBrowser, screenshot, seriousAxeViolations, WAIT } from "./browser.js";
import { MONIKER, makePlatformActivity, type PlatformActivity } from "./platformChain.js";

const SEARCH_KEY = "explorer-test-key";
/** A contract to verify: full text finds it by a word of its source. */
const LIGHTHOUSE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Keeps ships off the reef: a lamp anyone can switch.
contract Lighthouse {
    bool public lit;

    function toggle() external {
        lit = !lit;
    }
}
`;
const LIGHTHOUSE_INPUT = {
  language: "Solidity",
  sources: { "contracts/Lighthouse.sol": { content: LIGHTHOUSE } },
  settings: { optimizer: { enabled: false, runs: 200 }, evmVersion: "prague" },
};

/** Compiles and deploys the Lighthouse; returns its address once the explorer has indexed its creation. */
async function deployLighthouse(): Promise<string> {
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        ...LIGHTHOUSE_INPUT,
        settings: { ...LIGHTHOUSE_INPUT.settings, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
      }),
    ),
  );
  const c = out.contracts["contracts/Lighthouse.sol"].Lighthouse;
  const provider = new JsonRpcProvider(node.url, undefined, {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  const deployed = await new ContractFactory(
    c.abi,
    `0x${c.evm.bytecode.object}`,
    new Wallet(DEV_KEYS[7], provider),
  ).deploy();
  await deployed.waitForDeployment();
  const receipt = await deployed.deploymentTransaction()?.wait();
  provider.destroy();
  await svc.indexer?.waitFor(receipt?.blockNumber ?? 0);
  return (await deployed.getAddress()).toLowerCase();
}

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let search: SearchService;
let svc: ExplorerService;
let activity: PlatformActivity;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (findAssetsDir() === null) throw new Error("the explorer UI bundle is missing: run `npm run build` first");
  node = await startInProcessNode();
  activity = await makePlatformActivity(node.url);
  search = await startSearchService(
    resolveSearchConfig({}, { dataDir: tempDir("explorer-search"), http: { port: 0 }, apiKey: SEARCH_KEY }),
    { log: nullLogger, version: "test", embedder: null },
  );
  const cfg = resolveExplorerConfig(undefined, {
    rpc: node.url,
    db: join(tempDir("explorer-platform-ui"), "explorer.sqlite"),
    http: { port: 0 },
    indexer: { batchBlocks: 16, pollMs: 200 },
    search: { url: search.url, apiKey: SEARCH_KEY, syncMs: 200 },
  });
  svc = await startExplorer(cfg, { log: nullLogger, version: "test" });
  await svc.indexer?.waitFor(activity.lastBlock);
  browser = await launchBrowser();
  page = await browser.newPage();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await svc?.close();
  await search?.close();
  await node?.cleanup();
});

const shown = (route: string) => page.locator(`main[data-route="${route}"]`).waitFor(WAIT);
const open = async (route: string) => {
  await page.goto(`${svc.url}/${route}`);
  await shown(route);
};
const text = async (selector: string) => (await page.locator(selector).first().textContent(WAIT)) ?? "";
const searchFor = async (q: string) => {
  await page.getByLabel("Search by block number, transaction hash or address, or by name").fill(q);
  await page.keyboard.press("Enter");
  await shown(`#/search/${encodeURIComponent(q)}`);
};

describe("explorer platform pages", () => {
  it("a governance proposal shows its action, deposit, live tally after real votes, the votes and its lifecycle", async () => {
    await open(`#/proposal/${activity.proposalId}`);
    expect(await text("h1")).toBe(`Proposal ${activity.proposalId}`);
    expect(await text("table:has(caption:text('Actions'))")).toContain("set block.gasLimit = 70000000");
    expect(await text(".facts")).toContain("10 AZR (minimum 10 AZR)");
    // the validator's Yes keeps its own 10 AZR, the delegator's No takes its 30 away: 25 % / 75 % of 40 voted
    expect(await text('#tally li[data-option="Yes"]')).toContain("10 AZR (25 %)");
    expect(await text('#tally li[data-option="No"]')).toContain("30 AZR (75 %)");
    expect(await text("#tally .facts")).toMatch(/quorum [0-9.]+ %/);
    const votes = page.locator("table:has(caption:text('Votes')) tbody tr");
    expect(await votes.count()).toBe(2);
    for (const tx of activity.voteTxs) expect(await page.locator(`table a[href="#/tx/${tx}"]`).count()).toBe(1);
    expect(await text("table:has(caption:text('Votes'))")).toMatch(/Yes[\s\S]*No/);
    expect(await page.locator('#lifecycle [aria-current="step"]').getAttribute("data-state")).toBe("VotingPeriod");
    await screenshot(page, "explorer-governance.png", { fullPage: true });

    // From the list to the executed one: Executed is the current step, its execution a transition with its tx.
    await open("#/governance");
    await page.locator(`a[href="#/proposal/${activity.executedId}"]`).click();
    await shown(`#/proposal/${activity.executedId}`);
    expect(await page.locator('#lifecycle [aria-current="step"]').getAttribute("data-state")).toBe("Executed");
    expect(await page.locator('#lifecycle li[data-state="VotingPeriod"]').getAttribute("class")).toContain("visited");
    expect(await text(`#lifecycle tr:has(a[href="#/tx/${activity.executeTx}"])`)).toContain("ProposalExecuted");
    expect(await text(".facts")).toMatch(/Executable from \(timelock\)\s*20[0-9]{2}-/);
  });

  it("the validators page shows stake, power, commission, uptime and status; a validator its staking history", async () => {
    await open("#/validators");
    const row = page.locator("table:has(caption:text('Validators by stake')) tbody tr").first();
    const cells = await row.locator("td").allTextContents();
    // Validator, Status, Stake, Self, Delegated, Power, Commission, Uptime
    expect(cells.slice(0, 5)).toEqual([MONIKER, "Active", "40 AZR", "10 AZR", "30 AZR"]);
    expect(cells[7]).toMatch(/^[0-9.]+ % \([0-9]+ missed of [0-9]+\)$/);
    await row.locator("a").first().click();
    await shown(`#/validator/${activity.validator}`);
    expect(await text("table:has(caption:text('Staking history'))")).toContain("30 AZR delegated by");
  });

  it("a job's page draws its state machine after post → claim → submit → accept, with each transition's transaction", async () => {
    await open(`#/job/${activity.jobId}`);
    expect(await page.locator('#job-states [aria-current="step"]').getAttribute("data-state")).toBe("Finalized");
    for (const s of ["Open", "Claimed", "Submitted"])
      expect(await page.locator(`#job-states li[data-state="${s}"]`).getAttribute("class")).toContain("visited");
    // Challenged was never entered
    expect(await page.locator('#job-states li[data-state="Challenged"]').getAttribute("class")).toBe("state");
    for (const tx of activity.jobTxs)
      expect(await page.locator(`#job-states a[href="#/tx/${tx}"]`).count()).toBeGreaterThan(0);
    expect(await text("table:has(caption:text('Slots'))")).toContain("Paid");
  });

  it("an escrow's page draws Active → Disputed → Resolved with the arbiter's split", async () => {
    await open(`#/escrow/${activity.escrowId}`);
    expect(await page.locator('#escrow-states [aria-current="step"]').getAttribute("data-state")).toBe("Resolved");
    expect(await page.locator('#escrow-states li[data-state="Disputed"]').getAttribute("class")).toContain("visited");
    expect(await page.locator('#escrow-states li[data-state="Released"]').getAttribute("class")).toBe("state");
    expect(await text("#escrow-states table")).toContain("0.5 AZR to the payee, 1.5 AZR to the payer");
    expect(await text(".facts")).toContain("2 AZR");
  });

  it("search finds a token by name; Azora Search a verified contract's source, a proposal's description, a token", async () => {
    await open("#/");
    await searchFor("Test Token");
    expect(await page.locator(`table a[href="#/address/${activity.token}"]`).textContent(WAIT)).toBe("Test Token");

    // A verified contract, found by a word of its source.
    const lighthouse = await deployLighthouse();
    const verified = await fetch(`${svc.url}/v1/contracts/${lighthouse}/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        contractName: "Lighthouse",
        compilerVersion: `v${solc.version().replace(/\.Emscripten.*$/, "")}`,
        input: LIGHTHOUSE_INPUT,
      }),
    });
    expect(verified.status).toBe(200);

    // The explorer pushes to Azora Search after each indexed batch and on its timer (verifications come between).
    const fullTextKinds = async (q: string) => {
      const r = (await (await fetch(`${svc.url}/v1/search?q=${encodeURIComponent(q)}`)).json()) as {
        fullText: { kind: string }[] | null;
      };
      return r.fullText?.map((h) => h.kind) ?? [];
    };
    await expect.poll(() => fullTextKinds("seventy million"), { timeout: 60_000, interval: 250 }).toContain("proposal");
    await expect.poll(() => fullTextKinds("reef"), { timeout: 60_000, interval: 250 }).toContain("contract");
    await expect.poll(() => fullTextKinds("test token"), { timeout: 60_000, interval: 250 }).toContain("token");
    await searchFor("reef");
    expect(await page.locator('#full-text li[data-kind="contract"] a').getAttribute("href", WAIT)).toBe(
      `#/address/${lighthouse}`,
    );
    expect(await page.locator('#full-text li[data-kind="contract"] mark').allTextContents()).toEqual(["reef"]);

    await searchFor("seventy million");
    const hit = page.locator('#full-text li[data-kind="proposal"] a');
    expect(await hit.getAttribute("href", WAIT)).toBe(`#/proposal/${activity.proposalId}`);
    expect(await text('#full-text li[data-kind="proposal"]')).toContain("seventy million");
    // the matched words are marked (as elements: the snippet's text is never parsed as markup)
    expect(await page.locator('#full-text li[data-kind="proposal"] mark').allTextContents()).toEqual([
      "seventy",
      "million",
    ]);
  });

  it("axe-core finds no serious or critical accessibility violation on the platform pages; they fit a phone", async () => {
    const routes = [
      "#/validators",
      `#/validator/${activity.validator}`,
      "#/governance",
      `#/proposal/${activity.proposalId}`,
      "#/escrows",
      `#/escrow/${activity.escrowId}`,
      "#/jobs",
      `#/job/${activity.jobId}`,
      `#/search/${encodeURIComponent("seventy million")}`,
    ];
    const found: Record<string, unknown[]> = {};
    for (const route of routes) {
      await open(route);
      found[route] = await seriousAxeViolations(page);
    }
    expect(found).toEqual(Object.fromEntries(routes.map((r) => [r, []])));

    await page.setViewportSize({ width: 375, height: 740 });
    for (const route of [`#/proposal/${activity.proposalId}`, `#/job/${activity.jobId}`, "#/validators"]) {
      await open(route);
      const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      expect(overflow, route).toBeLessThanOrEqual(0);
    }
  });
});
