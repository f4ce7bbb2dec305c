/**
 * The explorer's token, collection, contract and chart views in headless Chromium (Debian's, through
 * playwright-core) against an in-process dev node, a real Azora storage gateway (Helia, in-process) holding an NFT's
 * image and metadata, and an explorer indexing the node with that gateway configured: the LEARN token page, an
 * address holding LEARN and a native-collection NFT whose image renders, a verified contract read through the
 * explorer's eth_call proxy and written through an injected EIP-1193 wallet (signing with ethers in this process),
 * the home charts, the live feed reconnecting after its WebSocket is dropped, and axe-core on the new pages.
 * Needs `npm run build` first (the UI bundle is built there).
 */
import { join } from "node:path";
import { Contract, ContractFactory, JsonRpcProvider, parseEther, Wallet } from "ethers";
import type { BrowserContext, Page } from "playwright-core";
import solc from "solc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IAzoraCollectionAbi } from "../../contracts/artifacts/IAzoraCollection.js";
import { ILearnAbi } from "../../contracts/artifacts/ILearn.js";
import { INFTRegistryAbi } from "../../contracts/artifacts/INFTRegistry.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { findAssetsDir } from "../../services/explorer/ui.js";
import { formatUnits } from "../../services/explorer/web/format.js";
import type { StorageService } from "../../services/storage/index.js";
import { pngBytes, startStorage } from "../storage/fixtures.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";
import { launchBrowser, screenshot, seriousAxeViolations, WAIT } from "./browser.js";

const LEARN = "0x0000000000000000000000000000000000000a02";
const WAZR = "0x0000000000000000000000000000000000000a01";
const NFT_REGISTRY = "0x0000000000000000000000000000000000000a03";

const BOARD = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

contract Board {
    string public title;
    mapping(address => uint256) public score;

    event Scored(address indexed who, uint256 value);

    constructor(string memory t) {
        title = t;
    }

    function add(uint256 v) external {
        score[msg.sender] += v;
        emit Scored(msg.sender, v);
    }

    function scaled(address who, uint256 k, bool twice) external view returns (uint256 product, string memory label) {
        product = score[who] * k * (twice ? 2 : 1);
        label = title;
    }
}
`;
const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" };
const INPUT = { language: "Solidity", sources: { "contracts/Board.sol": { content: BOARD } }, settings: SETTINGS };

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let storage: StorageService;
let svc: ExplorerService;
let browser: BrowserContext;
let page: Page;
let provider: JsonRpcProvider;
const alice = new Wallet(DEV_KEYS[1]).address.toLowerCase();
/** The injected wallet's key: the page asks, this process signs. */
const signer = new Wallet(DEV_KEYS[4]);
let collection: string;
let board: string;
let imageCid: string;

async function upload(body: Uint8Array | string): Promise<string> {
  const res = await fetch(`${storage.url}/upload`, { method: "POST", body });
  expect(res.status).toBe(200);
  return ((await res.json()) as { cid: string }).cid;
}

beforeAll(async () => {
  if (findAssetsDir() === null) throw new Error("the explorer UI bundle is missing: run `npm run build` first");
  [node, storage] = await Promise.all([startInProcessNode(), startStorage()]);
  imageCid = await upload(pngBytes(32, 32));
  const metaCid = await upload(
    JSON.stringify({ name: "Azora Owl #1", description: "A certificate owl", image: `ipfs://${imageCid}` }),
  );

  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
  const owner = new Wallet(DEV_KEYS[0], provider);
  const mined = async (p: Promise<{ hash: string }>) => {
    const r = await provider.waitForTransaction((await p).hash);
    expect(r?.status).toBe(1);
  };
  // LEARN to alice; a native collection with one NFT whose metadata and image are on the storage gateway.
  await mined(new Contract(LEARN, ILearnAbi as never, owner).transfer(alice, parseEther("12.5")));
  const registry = new Contract(NFT_REGISTRY, INFTRegistryAbi as never, owner);
  await mined(registry.createCollection("Azora Owls", "OWL", owner.address, 0));
  collection = ((await registry.collectionAt(await registry.collectionCount())) as string).toLowerCase();
  await mined(new Contract(collection, IAzoraCollectionAbi as never, owner).mint(alice, `ipfs://${metaCid}`));
  // A contract with typed view functions, deployed and verified.
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        ...INPUT,
        settings: { ...SETTINGS, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
      }),
    ),
  );
  const c = out.contracts["contracts/Board.sol"].Board;
  const deployed = await new ContractFactory(c.abi, `0x${c.evm.bytecode.object}`, owner).deploy("owls");
  await deployed.waitForDeployment();
  board = (await deployed.getAddress()).toLowerCase();
  // Gas for the injected wallet's account.
  await mined(owner.sendTransaction({ to: signer.address, value: parseEther("5") }));
  const last = await provider.getBlockNumber();

  svc = await startExplorer(
    resolveExplorerConfig(undefined, {
      rpc: node.url,
      db: join(tempDir("explorer-ui-tokens"), "explorer.sqlite"),
      ipfsGateway: storage.url,
      http: { port: 0 },
      indexer: { batchBlocks: 8, pollMs: 200 },
    }),
    { log: nullLogger, version: "test" },
  );
  await svc.indexer?.waitFor(last);
  const verified = await fetch(`${svc.url}/v1/contracts/${board}/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      contractName: "Board",
      compilerVersion: `v${solc.version().replace(/\.Emscripten.*$/, "")}`,
      input: INPUT,
    }),
  });
  expect(verified.status).toBe(200);

  browser = await launchBrowser();
  // The test wallet: an EIP-1193 provider in the page whose requests this process answers (ethers signs here).
  const wallet = signer.connect(provider);
  await browser.exposeFunction("__testWallet", async (method: string, paramsJson: string) => {
    const params = JSON.parse(paramsJson) as { from: string; to: string; data: string; value?: string }[];
    if (method === "eth_requestAccounts" || method === "eth_accounts") return JSON.stringify([wallet.address]);
    if (method === "eth_sendTransaction") {
      const [tx] = params;
      expect(tx.from.toLowerCase()).toBe(wallet.address.toLowerCase());
      const sent = await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value ?? 0n });
      return JSON.stringify(sent.hash);
    }
    throw new Error(`test wallet: ${method} not supported`);
  });
  await browser.addInitScript(`window.ethereum = {
    request: ({ method, params }) =>
      window.__testWallet(method, JSON.stringify(params ?? [])).then((r) => JSON.parse(r)),
  };`);
  page = await browser.newPage();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  provider?.destroy();
  await svc?.close();
  await storage?.close();
  await node?.cleanup();
});

const shown = (route: string) => page.locator(`main[data-route="${route === "" ? "#/" : route}"]`).waitFor(WAIT);
const open = async (route: string) => {
  await page.goto(`${svc.url}/${route}`);
  await shown(route);
};
const text = async (selector: string) => (await page.locator(selector).first().textContent(WAIT)) ?? "";
/** An image that loaded and decoded (naturalWidth > 0), by selector. */
const imageWidth = async (selector: string) => {
  const img = page.locator(selector).first();
  await img.waitFor(WAIT);
  // In the page (DOM types are not this file's): decode() settles once the image has loaded (or failed to). A
  // function, not a string: the page's CSP has no 'unsafe-eval', which a string predicate would need.
  return img.evaluate((el: { naturalWidth: number; decode(): Promise<void> }) =>
    el.decode().then(
      () => el.naturalWidth,
      () => el.naturalWidth,
    ),
  );
};

describe("explorer web UI: tokens, collections, contracts, charts", () => {
  it("the LEARN token page shows supply, holders by balance and transfers", async () => {
    await open(`#/token/${LEARN}`);
    expect(await text("h1")).toContain("LEARN");
    const facts = await text(".facts");
    expect(facts).toMatch(/Decimals\s*18/);
    expect(facts).toMatch(/Total supply\s*[0-9,.]+ LEARN/);
    await page.locator(`#holders a[href="#/address/${alice}"]`).waitFor(WAIT);
    // Her genesis allocation (no Transfer announced it) and the 12.5 sent to her.
    expect(await text(`#holders tr:has(a[href="#/address/${alice}"])`)).toContain("1,000,012.5 LEARN");
    await page.locator(`#transfers a[href="#/address/${alice}"]`).first().waitFor(WAIT);
  });

  it("the WAZR token page lists native balances as holders, genesis accounts included", async () => {
    await open(`#/token/${WAZR}`);
    expect(await text("h1")).toContain("AZR");
    // dev account 9 only ever received its genesis $AZR: no event names it, the seed does.
    const idle = new Wallet(DEV_KEYS[9]).address.toLowerCase();
    await page.locator(`#holders a[href="#/address/${idle}"]`).waitFor(WAIT);
    const balance = BigInt(await provider.getBalance(idle));
    expect(await text(`#holders tr:has(a[href="#/address/${idle}"])`)).toContain(
      `${formatUnits(balance.toString(), 18)} AZR`,
    );
  });

  it("an address holding LEARN and an NFT: the token links to its page, the NFT's image renders via the gateway", async () => {
    await open(`#/address/${alice}`);
    const tokens = page.locator("table:has(caption:text('Tokens'))");
    expect(await tokens.locator(`a[href="#/token/${LEARN}"]`).textContent()).toContain("Azora Learn");
    expect(await tokens.textContent()).toContain("1,000,012.5 LEARN");
    const img = `figure[data-nft="${collection}:1"] img`;
    expect(await imageWidth(img)).toBeGreaterThan(0);
    // the image came through the configured gateway, the only other origin the CSP's img-src allows
    expect(await page.locator(img).getAttribute("src")).toBe(`${storage.url}/ipfs/${imageCid}`);
    expect(await page.locator(img).getAttribute("alt")).toBe("Azora Owl #1");
    expect(await text("table:has(caption:text('NFTs'))")).toContain("Azora Owls");
  });

  it("a collection page lists its items with images and owners", async () => {
    await open(`#/collection/${collection}`);
    expect(await text("h1")).toBe("Azora Owls (OWL)");
    expect(await imageWidth(`#items figure[data-nft="${collection}:1"] img`)).toBeGreaterThan(0);
    expect(await text("#items tbody tr")).toContain("#1");
    await page.locator(`#items a[href="#/address/${alice}"]`).waitFor(WAIT);
    await page.locator(`#transfers a[href="#/address/${alice}"]`).waitFor(WAIT);
    await screenshot(page, "explorer-collection.png", { fullPage: true });
  });

  it("a verified contract: a typed view call through the proxy, a write through the injected wallet", async () => {
    await open(`#/address/${board}`);
    const read = (fn: string) => page.locator(`#contract-read form[data-fn="${fn}"]`);
    await page.locator("#contract-read summary:has-text('scaled(address,uint256,bool)')").click();
    const scaled = read("scaled");
    await scaled.locator("input").nth(0).fill(signer.address);
    await scaled.locator("input").nth(1).fill("3");
    await scaled.locator("input").nth(2).fill("true");
    await scaled.locator("button").click();
    await scaled.locator("output code.result").first().waitFor(WAIT);
    expect(await scaled.locator("output").textContent()).toMatch(/product \(uint256\)\s*0.*label \(string\)\s*owls/);
    // a bad argument is refused in the page, before any call
    await scaled.locator("input").nth(2).fill("maybe");
    await scaled.locator("button").click();
    await scaled.locator("output", { hasText: "expected true or false" }).waitFor(WAIT);

    await page.locator("#connect-wallet").click();
    await page.locator("#wallet-account", { hasText: signer.address }).waitFor(WAIT);
    await page.locator("#contract-write summary:has-text('add(uint256)')").click();
    const add = page.locator('#contract-write form[data-fn="add"]');
    await add.locator("input").fill("7");
    await add.locator("button").click();
    const link = add.locator('output a[href^="#/tx/"]');
    await link.waitFor(WAIT);
    const hash = ((await link.getAttribute("href")) ?? "").replace("#/tx/", "");
    expect((await provider.waitForTransaction(hash))?.status).toBe(1);

    // the write changed state: the same read now answers 7 × 3 × 2
    await scaled.locator("input").nth(2).fill("true");
    await scaled.locator("button").click();
    await scaled.locator("output", { hasText: "42" }).waitFor(WAIT);
  });

  it("a native module's contract tab reads with its built-in ABI: LEARN balanceOf", async () => {
    await open(`#/address/${LEARN}`);
    await page.locator("#contract-read summary:has-text('balanceOf(address)')").click();
    const form = page.locator('#contract-read form[data-fn="balanceOf"]');
    await form.locator("input").fill(alice);
    await form.locator("button").click();
    await form.locator("output", { hasText: parseEther("12.5").toString() }).waitFor(WAIT);
  });

  it("home draws the charts from the indexed blocks", async () => {
    await open("");
    for (const id of ["chart-tps", "chart-gas", "chart-interval", "chart-lag"])
      await page.locator(`#${id} svg[role=img]`).waitFor(WAIT);
    await page.locator("#chart-gas polyline").waitFor(WAIT);
    expect(Number(await page.locator("#chart-interval").getAttribute("data-points"))).toBeGreaterThan(1);
    expect(await text("#chart-gas figcaption")).toMatch(/latest [0-9,]+ gas, mean/);
  });

  it("the live feed reconnects after its WebSocket is dropped and follows new blocks again", async () => {
    await open("");
    await page.locator('main[data-live="websocket"]').waitFor(WAIT);
    const wss = (svc.app as unknown as { websocketServer: { clients: Set<{ terminate(): void }> } }).websocketServer;
    for (const c of wss.clients) c.terminate();
    await page.locator('main[data-live="reconnecting"]').waitFor(WAIT);
    await page.locator('main[data-live="websocket"]').waitFor(WAIT);
    expect(wss.clients.size).toBe(1);
    const tx = await new Wallet(DEV_KEYS[3], provider).sendTransaction({ to: alice, value: parseEther("1") });
    const receipt = await provider.waitForTransaction(tx.hash);
    await page.locator(`#blocks-feed li[data-block="${receipt?.blockNumber}"]`).waitFor(WAIT);
    await page.locator(`#txs-feed li[data-tx="${tx.hash}"]`).waitFor(WAIT);
  });

  it("the new pages fit a phone-sized screen without sideways scrolling", async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      for (const route of [`#/token/${LEARN}`, `#/collection/${collection}`, `#/address/${board}`]) {
        await open(route);
        await page.locator("main table, main #contract").first().waitFor(WAIT);
        const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
        expect(overflow, route).toBeLessThanOrEqual(0);
      }
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  it("axe-core finds no serious or critical accessibility violation on the new pages", async () => {
    const found: Record<string, unknown[]> = {};
    const routes = [`#/token/${LEARN}`, `#/collection/${collection}`, `#/address/${board}`, ""];
    for (const route of routes) {
      await open(route);
      if (route === "") await page.locator("#chart-gas polyline").waitFor(WAIT);
      else await page.locator("main table, main #contract").first().waitFor(WAIT);
      found[route] = await seriousAxeViolations(page);
    }
    expect(found).toEqual(Object.fromEntries(routes.map((r) => [r, []])));
  });
});
