import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  Contract,
  ContractFactory,
  encodeBytes32String,
  type InterfaceAbi,
  JsonRpcProvider,
  NonceManager,
  parseEther,
  Wallet,
  ZeroAddress,
} from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { JobStatus, MarketClient } from "../../services/client/index.js";
import { PaymentSession, paymentsContract } from "../../services/client/payments.js";
import { SearchClient, SearchHTTPError } from "../../services/client/searchClient.js";
import { MARKET_ADDRESS, marketInterface } from "../../services/runtime/chain/market.js";
import { CLI, DEV_KEYS, type NodeProcess, REPO_ROOT, runCLI, spawnNode, tempDir } from "../utils/devnode.js";
import { eventually, spawnWorker } from "../utils/workers.js";

/**
 * Azora Search with real processes: `azora dev`, `azora storage serve` and `azora search serve --index --paid`. A
 * course is listed on the CourseMarketplace; an NFT whose ipfs:// metadata names it is minted; the indexer has it
 * searchable before the chain is two blocks further; a misspelled search and a semantic one find it. Then a client
 * deposits with the market, pays seven queries with receipts, signs the vouchers it is asked for, and the service
 * redeems them on chain: the deposit, the payee's balance and the payer's balance add up to the wei.
 */
interface Proc {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function start(args: string[], ready: RegExp, what: string): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d) => {
    out += d.toString();
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${what} did not start within 120 s:\n${out}`)), 120_000);
    const check = () => {
      const m = ready.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        res({
          url: m[1],
          child,
          output: () => out,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}

const API_KEY = "operator-key-for-the-e2e-test";
const PRICE = parseEther("0.001");
let node: NodeProcess;
let storage: Proc;
let search: Proc;
let provider: JsonRpcProvider;
let marketplace: string;
let mintBlock = 0;

const abi = (n: string) => loadArtifact(n).abi as InterfaceAbi;
const wallet = (i: number) => new NonceManager(new Wallet(DEV_KEYS[i], provider));

async function mintNFT(
  owner: NonceManager,
  name: string,
  metadata: object,
): Promise<{ block: number; collection: string }> {
  const up = await fetch(`${storage.url}/upload`, { method: "POST", body: JSON.stringify(metadata) });
  expect(up.ok, await up.clone().text()).toBe(true);
  const { cid } = (await up.json()) as { cid: string };
  const registry = new Contract("0x0000000000000000000000000000000000000A03", abi("INFTRegistry"), owner);
  const created = await (await registry.createCollection(name, "AZC", await owner.getAddress(), 0)).wait();
  const collection = registry.interface.parseLog(
    created.logs.find((l: { address: string }) => l.address.toLowerCase().endsWith("a03")),
  )!.args.collection as string;
  const c = new Contract(collection, abi("IAzoraCollection"), owner);
  const r = await (await c.mint(await owner.getAddress(), `ipfs://${cid}`)).wait();
  return { block: r.blockNumber, collection };
}

beforeAll(async () => {
  node = await spawnNode(tempDir("search-e2e-node"));
  provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, pollingInterval: 50 });
  storage = await start(
    ["storage", "serve", "--port", "0", "--data-dir", tempDir("search-e2e-storage"), "--log-format", "json"],
    /Gateway\s+(http:\/\/127\.0\.0\.1:\d+)/,
    "storage serve",
  );
  const teacher = wallet(1);
  const factory = new ContractFactory(abi("CourseMarketplace"), loadArtifact("CourseMarketplace").bytecode, teacher);
  const m = await factory.deploy();
  await m.waitForDeployment();
  marketplace = await m.getAddress();
  const market = m as unknown as Contract;
  await (await market.listCourse("Personal Finance Basics", "PFB", parseEther("40"), 86_400)).wait();
  await (await market.listCourse("Guitar for Beginners", "GTR", parseEther("25"), 86_400)).wait();
  search = await start(
    [
      "search",
      "serve",
      "--port",
      "0",
      "--data-dir",
      tempDir("search-e2e-search"),
      "--rpc",
      node.url,
      "--index",
      "--gateway",
      storage.url,
      "--marketplace",
      marketplace,
      "--paid",
      "--dev-account",
      "3",
      "--voucher-every",
      "3",
      "--redeem-every-ms",
      "1000",
      "--api-key",
      API_KEY,
      "--log-format",
      "json",
    ],
    /search listening on (http:\/\/127\.0\.0\.1:\d+)/,
    "search serve",
  );
}, 240_000);

afterAll(async () => {
  await search?.stop();
  await storage?.stop();
  provider?.destroy();
  await node?.stop();
});

describe("azora search with real processes", () => {
  const operator = () => new SearchClient({ url: search.url, apiKey: API_KEY });

  it("indexes the course listings, then a minted NFT within one block of finality", async () => {
    // The listings are indexed first (and the embedding model loaded with them).
    await eventually(
      async () => {
        const r = await operator().search("chain", { q: "guitar", filter: "kind = course" });
        return r.hits.length === 1 ? r : undefined;
      },
      "the course listings indexed",
      180_000,
    );
    await mintNFT(wallet(2), "Guitar Posters", {
      name: "Guitar Hero Poster",
      description: "A poster of a rock guitarist on stage.",
    });
    const minted = await mintNFT(wallet(1), "Azora Certificates", {
      name: "Certificate of completion",
      description: "Awarded to a student who completed the course: budgeting, saving money, paying off debt.",
      course: "Personal Finance Basics",
      attributes: [{ trait_type: "grade", value: "A" }],
    });
    mintBlock = minted.block;
    // Misspelled ("finanse"): found by typo tolerance; the chain has not moved two blocks past the mint.
    const { hit, head } = await eventually(
      async () => {
        const r = await operator().search("chain", { q: "personal finanse", filter: "kind = nft" });
        const head = await provider.getBlockNumber();
        return r.hits.length > 0 ? { hit: r.hits[0], head } : undefined;
      },
      "the minted NFT searchable",
      60_000,
    );
    expect(hit).toMatchObject({
      kind: "nft",
      course: "Personal Finance Basics",
      collection: minted.collection,
      block: mintBlock,
    });
    expect(head, `found at head ${head}, minted in ${mintBlock}`).toBeLessThanOrEqual(mintBlock + 1);
  }, 300_000);

  it("finds it by meaning: 'a course about saving money'", async () => {
    const r = await operator().search("chain", {
      q: "a course about saving money",
      hybrid: 1,
      filter: "kind = nft",
      limit: 2,
    });
    expect(r.hits[0]).toMatchObject({ kind: "nft", course: "Personal Finance Basics" });
    const all = await operator().search("chain", { q: "a course about saving money", hybrid: 0.7, limit: 3 });
    expect(all.hits.slice(0, 2).map((h) => h.title)).toEqual(
      expect.arrayContaining([expect.stringMatching(/Personal Finance|Certificate/)]),
    );
    expect(all.hits.findIndex((h) => /Guitar/.test(String(h.title)))).not.toBe(0);
  });

  it("indexes a job result delivered on the market, with the job's kind", async () => {
    // A worker registers, a requester posts an ai/embed job, the worker claims it and delivers a result: the
    // ResultSubmitted event becomes a `kind: job` document (kind read from the JobPosted event of the same range
    // or from the market).
    const marketAt = (s: NonceManager) =>
      new Contract("0x0000000000000000000000000000000000000A05", abi("IJobMarket"), s);
    const worker = wallet(5);
    const requester = wallet(6);
    const params = await marketAt(worker).params();
    const kind = encodeBytes32String("ai/embed");
    await (await marketAt(worker).registerWorker([kind], "https://embed.example", { value: params[0] })).wait();
    const price = parseEther("0.01");
    const fee = (price * BigInt(params[3])) / 10_000n;
    const posted = await (
      await marketAt(requester).post(
        [kind, "ipfs://bafkreispec", `0x${"ab".repeat(32)}`, ZeroAddress, price, 1, 600, 600, 600, 0, ZeroAddress],
        { value: price + fee },
      )
    ).wait();
    const id = marketAt(requester).interface.parseLog(
      posted.logs.find((l: { address: string }) => l.address.toLowerCase().endsWith("a05")),
    )!.args.id as bigint;
    await (await marketAt(worker).claim(id)).wait();
    await (await marketAt(worker).submit(id, `0x${"cd".repeat(32)}`, "ipfs://bafkreiembeddings")).wait();
    const hit = await eventually(
      async () => (await operator().search("chain", { q: "embed", filter: "kind = job" })).hits[0],
      "the job result searchable",
      60_000,
    );
    expect(hit).toMatchObject({
      kind: "job",
      jobId: id.toString(),
      jobKind: "ai/embed",
      owner: new Wallet(DEV_KEYS[5]).address,
      resultURI: "ipfs://bafkreiembeddings",
    });
  }, 120_000);

  it("a paid query session settles its vouchers on chain and the balances add up", async () => {
    const op = operator();
    const task = (
      await op.request<{ taskUid: number }>("PATCH", "/indexes/chain/settings", { pricePerQuery: PRICE.toString() })
    ).body;
    expect((await op.waitForTask(task.taskUid)).status).toBe("succeeded");
    const payee = new Wallet(DEV_KEYS[3]).address;
    const payerKey = new Wallet(DEV_KEYS[4], provider);
    const payer = new NonceManager(payerKey);
    const payerStart = await provider.getBalance(payerKey.address);
    const payeeStart = await provider.getBalance(payee);
    const DEPOSIT = parseEther("0.1");
    const dep = await (await paymentsContract(payer).deposit(payee, ZeroAddress, DEPOSIT, { value: DEPOSIT })).wait();
    const depositGas = BigInt(dep.gasUsed) * BigInt(dep.gasPrice);

    // Without a receipt: 402. The operator's key queries free.
    const anonymous = new SearchClient({ url: search.url });
    await expect(anonymous.search("chain", { q: "guitar" })).rejects.toMatchObject({ status: 402 });
    expect((await op.search("chain", { q: "guitar" })).hits.length).toBeGreaterThan(0);

    const chainId = (await provider.getNetwork()).chainId;
    const session = new PaymentSession(payerKey, chainId, payee);
    const client = new SearchClient({ url: search.url, payment: session });
    for (let i = 0; i < 7; i++)
      expect((await client.search("chain", { q: "certificate" })).hits.length).toBeGreaterThan(0);
    expect(client.vouchersSigned).toBe(2); // after the 3rd and the 6th receipt
    expect(session.owed).toBe(7n * PRICE);
    // A receipt for less than the price is refused.
    const cheap = new SearchClient({ url: search.url, payment: session, price: PRICE - 1n });
    await expect(cheap.search("chain", { q: "x" })).rejects.toBeInstanceOf(SearchHTTPError);

    const market = paymentsContract(provider);
    const redeemed = await eventually(
      async () => {
        const d = await market.deposits(payerKey.address, payee, ZeroAddress);
        return d[3] === 6n * PRICE ? d : undefined;
      },
      "the vouchers redeemed on chain",
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; search's log:\n${search.output().slice(-6000)}`);
    });
    expect(redeemed[0]).toBe(DEPOSIT - 6n * PRICE);

    // The payee's gain is the redeemed total less the gas of its redemption transactions.
    const logs = await provider.getLogs({
      address: "0x0000000000000000000000000000000000000A05",
      topics: [
        market.interface.getEvent("VoucherRedeemed")!.topicHash,
        null,
        `0x${payee.slice(2).toLowerCase().padStart(64, "0")}`,
      ],
      fromBlock: 0,
    });
    let paid = 0n;
    let gas = 0n;
    for (const txHash of new Set(logs.map((l) => l.transactionHash))) {
      const r = (await provider.getTransactionReceipt(txHash))!;
      gas += r.gasUsed * r.gasPrice;
    }
    for (const l of logs) paid += market.interface.parseLog(l)!.args.amount as bigint;
    expect(paid).toBe(6n * PRICE);
    expect(await provider.getBalance(payee)).toBe(payeeStart + paid - gas);
    expect(await provider.getBalance(payerKey.address)).toBe(payerStart - DEPOSIT - depositGas);
    // The service records a redemption when its receipt comes back, which can be after the chain shows it.
    const summary = await eventually(
      async () => {
        const row = (
          await op.request<{ payers: { payer: string; accepted: string; vouchered: string; redeemed: string }[] }>(
            "GET",
            "/payments",
          )
        ).body.payers.find((p) => p.payer === payerKey.address);
        return row?.redeemed === String(6n * PRICE) ? row : undefined;
      },
      "the service's ledger to show the redemption",
      60_000,
    );
    expect(summary).toMatchObject({
      accepted: String(7n * PRICE),
      vouchered: String(6n * PRICE),
      redeemed: String(6n * PRICE),
    });
  }, 180_000);

  it("refuses to sell queries with a redemption interval not well inside the deposits' thaw period", async () => {
    // A payer who starts thawing could leave before a redemption came: the service does not start.
    const r = await runCLI(
      [
        "search",
        "serve",
        "--port",
        "0",
        "--data-dir",
        tempDir("search-e2e-thaw"),
        "--rpc",
        node.url,
        "--paid",
        "--dev-account",
        "3",
        "--redeem-every-ms",
        String(10 ** 12),
      ],
      120_000,
    );
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/redeemEveryMs must stay well under the market's thaw period \(\d+ s\)/);
  }, 180_000);

  it("the CLI indexes a JSONL file into a new index and queries it", async () => {
    const file = join(tempDir("search-e2e-jsonl"), "books.jsonl");
    writeFileSync(
      file,
      `${[
        { id: "b1", title: "Mastering Bitcoin", kind: "book", price: 30 },
        { id: "b2", title: "The Bitcoin Standard", kind: "book", price: 20 },
        { id: "v1", title: "Bitcoin Explained", kind: "video", price: 0 },
      ]
        .map((d) => JSON.stringify(d))
        .join("\n")}\n`,
    );
    const settings = JSON.stringify({ filterableAttributes: ["kind", "price"] });
    const indexed = await runCLI(
      ["search", "index", "books", file, "--url", search.url, "--api-key", API_KEY, "--settings", settings],
      120_000,
    );
    expect(indexed.code, indexed.output).toBe(0);
    expect(indexed.output).toMatch(/3 documents indexed into "books"/);
    const q = await runCLI(
      [
        "search",
        "query",
        "books",
        "bitcoim",
        "--url",
        search.url,
        "--filter",
        "kind = book",
        "--facets",
        "kind",
        "--json",
      ],
      120_000,
    );
    expect(q.code, q.output).toBe(0);
    const r = JSON.parse(q.output.slice(q.output.indexOf("{"))) as {
      hits: { id: string }[];
      facetDistribution: Record<string, Record<string, number>>;
    };
    expect(r.hits.map((h) => h.id).sort()).toEqual(["b1", "b2"]);
    expect(r.facetDistribution).toEqual({ kind: { book: 2 } });
  }, 300_000);

  it("resumes from its last indexed height after a restart, with a progress line while catching up", async () => {
    await search.stop();
    // The chain moves on while search is down; one block per range makes the restart a catch-up of several ranges.
    const stoppedAt = await provider.getBlockNumber();
    const sender = wallet(7);
    await eventually(
      async () => {
        await (await sender.sendTransaction({ to: ZeroAddress, value: 1n })).wait();
        return (await provider.getBlockNumber()) >= stoppedAt + 4 ? true : undefined;
      },
      "the chain four blocks further",
      60_000,
    );
    const cfg = join(tempDir("search-e2e-cfg"), "search.json");
    writeFileSync(cfg, JSON.stringify({ indexer: { batchBlocks: 1 } }));
    search = await start(
      [
        "search",
        "serve",
        "-c",
        cfg,
        "--port",
        "0",
        "--data-dir",
        /--data-dir\s+(\S+)/.exec(search.child.spawnargs.join(" "))![1],
        "--rpc",
        node.url,
        "--index",
        "--gateway",
        storage.url,
        "--api-key",
        API_KEY,
        "--log-format",
        "json",
      ],
      /search listening on (http:\/\/127\.0\.0\.1:\d+)/,
      "search serve (restart)",
    );
    // "indexer started" may follow the listening line.
    const started = await eventually(
      async () => /"from":(\d+)[^\n]*"msg":"indexer started"/.exec(search.output()) ?? undefined,
      "the indexer started",
      60_000,
    );
    expect(Number(started?.[1]), search.output()).toBeGreaterThan(mintBlock);
    expect(Number(started?.[1]), search.output()).toBeLessThanOrEqual(stoppedAt + 1);
    const progress = await eventually(
      async () => /[^\n]*"msg":"indexer catching up"[^\n]*/.exec(search.output())?.[0],
      "a progress line",
      60_000,
    );
    expect(progress).toMatch(/"height":\d+.*"head":\d+.*"blocksPerSec":\d+.*"etaSec":\d+/s);
    const r = await operator().search("chain", { q: "personal finanse", filter: "kind = nft" });
    expect(r.hits).toHaveLength(1);
  }, 120_000);
});

describe("bulk indexing through the market (embeddings.bulk: market)", () => {
  it("buys the vectors of a JSONL file as ai/embed jobs, pays the worker, and a semantic query finds the documents", async () => {
    // One `azora worker ai/embed` (devnet key 8) and a second search service whose bulk embeddings are paid by
    // devnet key 9; queries stay local. 130 documents: two jobs (128 + 2 texts) posted in one transaction.
    const WORKER = 8;
    const REQUESTER = 9;
    const price = parseEther("0.002");
    const worker = await spawnWorker({
      kinds: ["ai/embed"],
      rpc: node.url,
      devAccount: WORKER,
      dataDir: tempDir("search-e2e-worker"),
    });
    const bulk = await start(
      [
        "search",
        "serve",
        "--port",
        "0",
        "--data-dir",
        tempDir("search-e2e-bulk"),
        "--rpc",
        node.url,
        "--api-key",
        API_KEY,
        "--bulk-embeddings",
        "market",
        "--bulk-min",
        "100",
        "--embed-price",
        price.toString(),
        "--embed-dev-account",
        String(REQUESTER),
        "--log-format",
        "json",
      ],
      /search listening on (http:\/\/127\.0\.0\.1:\d+)/,
      "search serve (bulk through the market)",
    );
    const market = new MarketClient(provider);
    const workerAddress = new Wallet(DEV_KEYS[WORKER]).address;
    try {
      const jobsBefore = await market.jobCount();
      // The worker withdraws its payouts as soon as they are withdrawable (withdrawMin 0), so what it earned is what
      // is withdrawable plus what it withdrew since. Read in this order, a withdrawal between the reads is counted
      // twice at worst, never missed.
      const fromBlock = (await provider.getBlockNumber()) + 1;
      const earned = async () => {
        const withdrawable = await market.withdrawable(workerAddress, "AZR");
        const marketContract = new Contract(MARKET_ADDRESS, marketInterface, provider);
        const withdrawn = await marketContract.queryFilter(
          marketContract.filters.Withdrawn(workerAddress, ZeroAddress),
          fromBlock,
        );
        return withdrawn.reduce((sum, l) => sum + marketInterface.parseLog(l)!.args.amount, withdrawable);
      };
      const paidBefore = await market.withdrawable(workerAddress, "AZR");
      const docs = [
        { id: "garden", title: "Growing tomatoes", body: "Plant seedlings in spring, water them and stake the vines." },
        { id: "bread", title: "Sourdough at home", body: "Feed the starter, knead the dough and bake in a hot oven." },
        { id: "stars", title: "Night sky", body: "Telescopes show the rings of Saturn and the moons of Jupiter." },
        ...Array.from({ length: 127 }, (_, i) => ({
          id: `ledger-${i}`,
          title: `Ledger entry ${i}`,
          body: `Invoice ${i} booked to account ${1000 + i}.`,
        })),
      ];
      const file = join(tempDir("search-e2e-bulk-jsonl"), "library.jsonl");
      writeFileSync(file, `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`);
      const settings = JSON.stringify({ embedder: { source: "azora", fields: ["title", "body"] } });
      const indexed = await runCLI(
        ["search", "index", "library", file, "--url", bulk.url, "--api-key", API_KEY, "--settings", settings],
        400_000,
      );
      expect(indexed.code, `${indexed.output}\n${bulk.output()}`).toBe(0);

      // The vectors came from the market: two ai/embed jobs this service posted, delivered by the worker, accepted.
      const jobsAfter = await market.jobCount();
      const ids = Array.from({ length: Number(jobsAfter - jobsBefore) }, (_, i) => jobsBefore + 1n + BigInt(i));
      const ours = (await Promise.all(ids.map((id) => market.job(id)))).filter(
        (j) => j.requester === new Wallet(DEV_KEYS[REQUESTER]).address,
      );
      expect(ours, bulk.output()).toHaveLength(2);
      for (const j of ours) {
        expect(j.status).toBe(JobStatus.Finalized);
        expect(j.slots[0].worker).toBe(workerAddress);
      }
      expect(await earned()).toBeGreaterThanOrEqual(paidBefore + 2n * price);
      const metrics = await (await fetch(`${bulk.url}/metrics`)).text();
      expect(metrics).toMatch(/azora_search_bulk_embedded_texts_total\{source="market",reason=""\} 130\b/);
      expect(metrics).not.toMatch(/azora_search_bulk_embedded_texts_total\{source="local"/);

      // A semantic query (embedded locally) finds them by meaning.
      const r = await new SearchClient({ url: bulk.url }).search("library", {
        q: "vegetables in my backyard",
        hybrid: 1,
        limit: 3,
      });
      expect(r.hits[0]?.id, JSON.stringify(r.hits)).toBe("garden");
      const sky = await new SearchClient({ url: bulk.url }).search("library", {
        q: "astronomy and planets",
        hybrid: 1,
        limit: 1,
      });
      expect(sky.hits[0]?.id).toBe("stars");
    } finally {
      await bulk.stop();
      await worker.stop();
    }
  }, 600_000);
});
