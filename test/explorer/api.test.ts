import { join } from "node:path";
import { ContractFactory, type Contract as EthersContract, JsonRpcProvider, Wallet } from "ethers";
import solc from "solc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { resolveExplorerConfig } from "../../services/explorer/config.js";
import { type ExplorerService, startExplorer } from "../../services/explorer/server.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";
import { type Activity, makeActivity } from "./chain.js";

const GREETER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

contract Greeter {
    uint256 public immutable seed;
    string public greeting;
    address public owner;

    event Greeted(address indexed by, string greeting);

    constructor(string memory g, uint256 s) {
        greeting = g;
        seed = s;
        owner = msg.sender;
    }

    function greet(string calldata g) external {
        greeting = g;
        emit Greeted(msg.sender, g);
    }
}
`;
const SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: "prague" };
const standardInput = (source: string) => ({
  language: "Solidity",
  sources: { "contracts/Greeter.sol": { content: source } },
  settings: SETTINGS,
});
const COMPILER = `v${solc.version().replace(/\.Emscripten.*$/, "")}`;

function compile(source: string) {
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        ...standardInput(source),
        settings: { ...SETTINGS, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
      }),
    ),
  );
  const c = out.contracts["contracts/Greeter.sol"].Greeter;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

type Node = Awaited<ReturnType<typeof startInProcessNode>>;
let node: Node;
let svc: ExplorerService;
let activity: Activity;
let greeterA: string;
let greeterB: string;
let greetTx: string;

async function deployGreeter(provider: JsonRpcProvider, g: string, s: bigint) {
  const owner = new Wallet(DEV_KEYS[2], provider);
  const { abi, bytecode } = compile(GREETER);
  const c = (await new ContractFactory(abi, bytecode, owner).deploy(g, s)) as unknown as EthersContract;
  await c.waitForDeployment();
  return c;
}

beforeAll(async () => {
  node = await startInProcessNode();
  activity = await makeActivity(node.url);
  const provider = new JsonRpcProvider(node.url, undefined, {
    cacheTimeout: -1,
    batchMaxCount: 1,
    staticNetwork: true,
  });
  const a = await deployGreeter(provider, "hello", 42n);
  greeterA = (await a.getAddress()).toLowerCase();
  greeterB = (await (await deployGreeter(provider, "bonjour", 7n)).getAddress()).toLowerCase();
  const tx = await a.greet("hi there");
  await tx.wait();
  greetTx = tx.hash;
  const last = await provider.getBlockNumber();
  provider.destroy();
  const cfg = resolveExplorerConfig(undefined, {
    rpc: node.url,
    db: join(tempDir("explorer"), "explorer.sqlite"),
    http: { port: 0 },
    indexer: { batchBlocks: 8, pollMs: 200 },
  });
  svc = await startExplorer(cfg, { log: nullLogger, version: "test" });
  await svc.indexer?.waitFor(last);
}, 180_000);

afterAll(async () => {
  await svc?.close();
  await node?.cleanup();
});

const get = async (path: string) => {
  const r = await fetch(`${svc.url}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> & unknown[] };
};
const post = async (path: string, body: unknown) => {
  const r = await fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe("explorer REST API", () => {
  it("shows a transaction with its internal calls, logs and transfers, and a revert reason", async () => {
    const { status, body } = await get(`/v1/txs/${activity.internalCalls}`);
    expect(status).toBe(200);
    const calls = body.internalCalls as { depth: number; to: string; decoded: { name: string } | null }[];
    expect(calls.map((c) => c.depth)).toEqual([0, 1, 1, 2]);
    expect((body.logs as { address: string }[])[0].address).toBe(activity.vault);

    const wazr = await get(`/v1/txs/${activity.wazrTransfer}`);
    expect(wazr.body.decodedInput).toMatchObject({ name: "transfer", args: { to: expect.any(String) } });
    expect((wazr.body.logs as { decoded: { name: string } }[])[0].decoded.name).toBe("Transfer");

    const reverted = await get(`/v1/txs/${activity.reverted}`);
    expect(reverted.body).toMatchObject({ status: 0, error: "TestToken: forced failure" });
    expect((await get(`/v1/txs/0x${"ab".repeat(32)}`)).status).toBe(404);
  });

  it("shows an address's balance, tokens and NFTs, and blocks by number and hash", async () => {
    const { body } = await get(`/v1/addresses/${activity.alice}`);
    expect(BigInt(body.balance as string)).toBeGreaterThan(0n);
    expect(body.tokens).toEqual(
      expect.arrayContaining([expect.objectContaining({ token: activity.token, balance: "250", tokenId: "" })]),
    );
    expect(body.nfts).toEqual([expect.objectContaining({ token: activity.nft, tokenId: "1", balance: "1" })]);
    const txs = await get(`/v1/addresses/${activity.owner}/txs?limit=3`);
    expect(txs.body.length).toBe(3);

    const latest = await get("/v1/blocks?limit=2");
    const b = latest.body[0] as { number: number; hash: string };
    const byNumber = await get(`/v1/blocks/${b.number}`);
    const byHash = await get(`/v1/blocks/${b.hash}`);
    expect(byNumber.body).toEqual(byHash.body);
    const token = await get(`/v1/tokens/${activity.token}`);
    expect(token.body).toMatchObject({ symbol: "TTK", decimals: 18, holders: 2 });
  });

  it("serves its OpenAPI document, health and metrics", async () => {
    const doc = await get("/openapi.json");
    expect(Object.keys(doc.body.paths as object)).toEqual(
      expect.arrayContaining(["/v1/txs/{hash}", "/v1/addresses/{address}", "/api", "/v1/contracts/{address}/verify"]),
    );
    expect((await get("/health")).body).toMatchObject({ status: "ok", backend: "sqlite" });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/azora_explorer_indexed_height \d+/);
  });
});

describe("contract verification", () => {
  it("refuses a wrong source with the reason, matches partially with other metadata, fully with the exact source", async () => {
    const wrong = await post(`/v1/contracts/${greeterA}/verify`, {
      contractName: "contracts/Greeter.sol:Greeter",
      compilerVersion: COMPILER,
      input: standardInput(
        GREETER.replace("greeting = g;\n        emit", 'greeting = string.concat(g, "!");\n        emit'),
      ),
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body).toMatchObject({ code: "EXPLORER_VERIFICATION_FAILED" });
    expect(wrong.body.message).toMatch(/^runtime bytecode differs/);

    const otherVersion = await post(`/v1/contracts/${greeterA}/verify`, {
      contractName: "Greeter",
      compilerVersion: "v0.8.20+commit.a1b79de6",
      input: standardInput(GREETER),
    });
    expect(otherVersion.status).toBe(422);
    expect(otherVersion.body.message).toContain(COMPILER.slice(1));

    // A comment changes only the metadata hash: the code is the same, the match partial.
    const partial = await post(`/v1/contracts/${greeterA}/verify`, {
      contractName: "Greeter",
      compilerVersion: COMPILER,
      input: standardInput(`${GREETER}// deployed by the explorer test\n`),
    });
    expect(partial.status).toBe(200);
    expect(partial.body.match).toBe("partial");

    const full = await post(`/v1/contracts/${greeterA}/verify`, {
      contractName: "contracts/Greeter.sol:Greeter",
      compilerVersion: COMPILER,
      input: standardInput(GREETER),
    });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ match: "full", contractName: "contracts/Greeter.sol:Greeter" });
    // The constructor arguments came from the creation input: ("hello", 42).
    expect(full.body.constructorArgs).toMatch(/^0{62}40/);
    expect(full.body.constructorArgs).toContain((42).toString(16).padStart(64, "0"));

    // Calls and events of the verified contract are decoded with its ABI from now on.
    const tx = await get(`/v1/txs/${greetTx}`);
    expect(tx.body.decodedInput).toMatchObject({ name: "greet", args: { g: "hi there" } });
    expect((tx.body.logs as { decoded: unknown }[])[0].decoded).toMatchObject({
      name: "Greeted",
      args: { greeting: "hi there" },
    });
  });

  it("refuses constructor arguments that differ from the creation input", async () => {
    const r = await post(`/v1/contracts/${greeterB}/verify`, {
      contractName: "Greeter",
      compilerVersion: COMPILER,
      input: standardInput(GREETER),
      constructorArgs: "0x1234",
    });
    expect(r.status).toBe(422);
    expect(r.body.message).toMatch(/^constructor arguments differ/);
  });
});

describe("Etherscan-compatible /api", () => {
  /** The request hardhat-verify (and Foundry's etherscan verifier) sends: a form POST, then status polling. */
  async function hardhatVerify(address: string, source: string) {
    const form = new URLSearchParams({
      apikey: "anything",
      module: "contract",
      action: "verifysourcecode",
      contractaddress: address,
      sourceCode: JSON.stringify(standardInput(source)),
      codeformat: "solidity-standard-json-input",
      contractname: "contracts/Greeter.sol:Greeter",
      compilerversion: COMPILER,
      constructorArguements: "",
    });
    const r = await fetch(`${svc.url}/api?chainid=16730`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    const submitted = (await r.json()) as { status: string; result: string };
    if (submitted.status !== "1") return submitted;
    for (;;) {
      const s = await get(`/api?apikey=x&module=contract&action=checkverifystatus&guid=${submitted.result}`);
      if (s.body.result !== "Pending in queue") return s.body;
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  it("verifies through verifysourcecode + checkverifystatus, then answers getsourcecode and getabi", async () => {
    const before = await get(`/api?module=contract&action=getsourcecode&address=${greeterB}`);
    expect((before.body.result as { SourceCode: string }[])[0].SourceCode).toBe("");
    expect((await get(`/api?module=contract&action=getabi&address=${greeterB}`)).body).toMatchObject({ status: "0" });

    const bad = await hardhatVerify(greeterB, GREETER.replace("owner = msg.sender;", "owner = address(1);"));
    expect(bad).toMatchObject({ status: "0", result: "Fail - Unable to verify" });
    expect(String((bad as { reason?: string }).reason)).toMatch(/differs/);

    expect(await hardhatVerify(greeterB, GREETER)).toMatchObject({ status: "1", result: "Pass - Verified" });
    const abi = await get(`/api?module=contract&action=getabi&address=${greeterB}`);
    expect(JSON.parse(abi.body.result as string)).toEqual(compile(GREETER).abi);
    const src = (await get(`/api?module=contract&action=getsourcecode&address=${greeterB}`)).body.result as Record<
      string,
      string
    >[];
    expect(src[0]).toMatchObject({ ContractName: "Greeter", CompilerVersion: COMPILER, OptimizationUsed: "1" });
    expect(JSON.parse(src[0].SourceCode.slice(1, -1)).sources["contracts/Greeter.sol"].content).toBe(GREETER);
    // A second submission is told it is already verified (hardhat-verify's isAlreadyVerified).
    expect(await hardhatVerify(greeterB, GREETER)).toMatchObject({
      status: "0",
      result: "Contract source code already verified",
    });
  });

  it("answers account txlist and tokentx in Etherscan's shapes", async () => {
    const list = await get(`/api?module=account&action=txlist&address=${activity.owner}&sort=asc&page=1&offset=2`);
    expect(list.body.status).toBe("1");
    const rows = list.body.result as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ from: activity.owner, to: "", contractAddress: activity.token, isError: "0" });
    expect(Number(rows[0].blockNumber)).toBeLessThanOrEqual(Number(rows[1].blockNumber));

    const tokentx = await get(`/api?module=account&action=tokentx&address=${activity.alice}`);
    expect(tokentx.body.result).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          contractAddress: activity.token,
          value: "250",
          tokenSymbol: "TTK",
          tokenDecimal: "18",
        }),
      ]),
    );
    const nfts = await get(`/api?module=account&action=tokennfttx&address=${activity.alice}`);
    expect(nfts.body.result).toEqual([expect.objectContaining({ contractAddress: activity.nft, tokenID: "1" })]);
    const none = await get(`/api?module=account&action=txlist&address=0x${"12".repeat(20)}`);
    expect(none.body).toEqual({ status: "0", message: "No transactions found", result: [] });
  });
});
