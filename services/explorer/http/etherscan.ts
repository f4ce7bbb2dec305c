/**
 * The Etherscan-compatible API (`GET|POST /api?module=…&action=…`) that wallets, scripts and the `verify`
 * commands of Hardhat (hardhat-verify) and Foundry (`forge verify-contract --verifier etherscan`) speak:
 * account txlist/tokentx/tokennfttx/balance, contract getabi/getsourcecode/verifysourcecode/checkverifystatus.
 * Answers use Etherscan's envelope `{status: "1"|"0", message, result}` with its field names and strings.
 * Etherscan v2's `chainid` and any `apikey` are accepted and ignored.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ExplorerError } from "../errors.js";
import type { ExplorerStore } from "../store.js";
import type { TokenRow, TransferRow, TxRow } from "../types.js";
import type { Verifier } from "../verifier.js";
import type { VerifyRequest } from "../verify.js";
import { reasonOf } from "./errors.js";

type Params = Record<string, string | undefined>;
const ok = (result: unknown) => ({ status: "1", message: "OK", result });
const notOk = (result: unknown, message = "NOTOK") => ({ status: "0", message, result });
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function page(p: Params) {
  const pageNo = Math.max(1, Number(p.page ?? 1) || 1);
  const offset = Math.min(10_000, Math.max(1, Number(p.offset ?? 10_000) || 10_000));
  const int = (v: string | undefined) => (v === undefined || !/^[0-9]+$/.test(v) ? undefined : Number(v));
  return {
    limit: offset,
    offset: (pageNo - 1) * offset,
    sort: p.sort === "desc" ? ("desc" as const) : ("asc" as const),
    startBlock: int(p.startblock),
    endBlock: int(p.endblock),
  };
}

export function registerEtherscanRoutes(app: FastifyInstance, mods: { store: ExplorerStore; verifier: Verifier }) {
  const { store, verifier } = mods;
  const blockHashes = new Map<number, string>();
  const blockHash = async (n: number) => {
    let h = blockHashes.get(n);
    if (h === undefined) {
      h = (await store.block({ number: n }))?.hash ?? "";
      if (blockHashes.size > 100_000) blockHashes.clear();
      blockHashes.set(n, h);
    }
    return h;
  };

  const tokens = new Map<string, Promise<TokenRow | null>>();
  const tokenOf = (address: string) => {
    let t = tokens.get(address);
    if (t === undefined) {
      // Token metadata never changes once stored; a miss is retried (the token may be indexed later).
      t = store.token(address).then((row) => {
        if (row === null) tokens.delete(address);
        return row;
      });
      if (tokens.size > 10_000) tokens.clear();
      tokens.set(address, t);
    }
    return t;
  };

  const txJSON = async (t: TxRow, head: number) => ({
    blockNumber: String(t.blockNumber),
    timeStamp: String(t.timestamp),
    hash: t.hash,
    nonce: String(t.nonce),
    blockHash: await blockHash(t.blockNumber),
    transactionIndex: String(t.txIndex),
    from: t.from,
    to: t.to ?? "",
    value: t.value,
    gas: t.gasLimit,
    gasPrice: t.gasPrice,
    isError: t.status === 1 ? "0" : "1",
    txreceipt_status: String(t.status),
    input: t.input,
    contractAddress: t.to === null ? (t.contractAddress ?? "") : "",
    cumulativeGasUsed: t.gasUsed,
    gasUsed: t.gasUsed,
    confirmations: String(Math.max(0, head - t.blockNumber + 1)),
    methodId: t.methodId ?? "0x",
    functionName: "",
  });

  const transferJSON = async (r: TransferRow, head: number, txs: Map<string, TxRow>) => {
    const tx = txs.get(r.txHash);
    const token = await tokenOf(r.token);
    return {
      blockNumber: String(r.blockNumber),
      timeStamp: String(r.timestamp),
      hash: r.txHash,
      nonce: String(tx?.nonce ?? ""),
      blockHash: await blockHash(r.blockNumber),
      from: r.from,
      contractAddress: r.token,
      to: r.to,
      ...(r.standard === "erc20" ? { value: r.amount } : { tokenID: r.tokenId ?? "", tokenValue: r.amount }),
      tokenName: token?.name ?? "",
      tokenSymbol: token?.symbol ?? "",
      tokenDecimal: String(token?.decimals ?? 0),
      transactionIndex: String(tx?.txIndex ?? ""),
      gas: tx?.gasLimit ?? "",
      gasPrice: tx?.gasPrice ?? "",
      gasUsed: tx?.gasUsed ?? "",
      cumulativeGasUsed: tx?.gasUsed ?? "",
      input: "deprecated",
      confirmations: String(Math.max(0, head - r.blockNumber + 1)),
    };
  };

  async function verifyJob(p: Params) {
    const address = p.contractaddress ?? "";
    if (!ADDRESS.test(address)) return notOk("Invalid contractaddress");
    const source = p.sourceCode ?? p.sourcecode ?? "";
    let input: VerifyRequest["input"];
    if (p.codeformat === "solidity-standard-json-input") {
      try {
        input = JSON.parse(source);
      } catch {
        return notOk("Unable to parse sourceCode as standard JSON input");
      }
    } else {
      const name = (p.contractname ?? "Contract").split(":").pop();
      input = {
        language: "Solidity",
        sources: { [`${name}.sol`]: { content: source } },
        settings: {
          optimizer: { enabled: p.optimizationUsed === "1", runs: Number(p.runs ?? 200) },
          ...(p.evmversion ? { evmVersion: p.evmversion } : {}),
        },
      };
    }
    if ((await store.verification(address))?.match === "full") return notOk("Contract source code already verified");
    const guid = randomUUID().replaceAll("-", "");
    await store.saveVerifyJob(guid, address, "pending", "", Date.now());
    const req: VerifyRequest = {
      address,
      contractName: p.contractname ?? "",
      compilerVersion: p.compilerversion ?? "",
      input,
      // Etherscan's own spelling ("Arguements") is what the tools send; accept the correct one too.
      constructorArgs: p.constructorArguements ?? p.constructorArguments ?? undefined,
    };
    if (req.constructorArgs === "") req.constructorArgs = undefined;
    // Like Etherscan, answer with a guid at once and verify in the background; checkverifystatus reports.
    void verifier
      .verify(req)
      .then(() => store.saveVerifyJob(guid, address, "pass", "Pass - Verified", Date.now()))
      .catch((e) =>
        store.saveVerifyJob(
          guid,
          address,
          "fail",
          e instanceof ExplorerError ? reasonOf(e) : (e as Error).message,
          Date.now(),
        ),
      )
      .catch(() => {});
    return ok(guid);
  }

  async function handle(p: Params) {
    const head = (await store.cursor()) ?? 0;
    const address = p.address ?? "";
    switch (`${p.module}.${p.action}`) {
      case "account.balance": {
        if (!ADDRESS.test(address)) return notOk("Invalid address format");
        return ok((await store.balance(address))?.balance ?? "0");
      }
      case "account.txlist": {
        if (!ADDRESS.test(address)) return notOk("Invalid address format");
        const txs = await store.addressTxs(address, page(p));
        if (txs.length === 0) return notOk([], "No transactions found");
        return ok(await Promise.all(txs.map((t) => txJSON(t, head))));
      }
      case "account.tokentx":
      case "account.tokennfttx":
      case "account.token1155tx": {
        const standard = p.action === "tokentx" ? "erc20" : p.action === "tokennfttx" ? "erc721" : "erc1155";
        if (address !== "" && !ADDRESS.test(address)) return notOk("Invalid address format");
        const token = p.contractaddress;
        if (token !== undefined && !ADDRESS.test(token)) return notOk("Invalid contractaddress format");
        if (address === "" && token === undefined) return notOk("Missing address or contractaddress");
        const rows =
          address === ""
            ? (await store.tokenTransfers(token as string, page(p))).filter((r) => r.standard === standard)
            : await store.addressTransfers(address, { ...page(p), token, standard });
        if (rows.length === 0) return notOk([], "No transactions found");
        const txs = await store.txsByHash(rows.map((r) => r.txHash));
        return ok(await Promise.all(rows.map((r) => transferJSON(r, head, txs))));
      }
      case "contract.getabi": {
        if (!ADDRESS.test(address)) return notOk("Invalid Address format");
        const v = await store.verification(address);
        return v === null ? notOk("Contract source code not verified") : ok(JSON.stringify(v.abi));
      }
      case "contract.getsourcecode": {
        if (!ADDRESS.test(address)) return notOk("Invalid Address format");
        const v = await store.verification(address);
        if (v === null)
          return ok([
            {
              SourceCode: "",
              ABI: "Contract source code not verified",
              ContractName: "",
              CompilerVersion: "",
              OptimizationUsed: "",
              Runs: "",
              ConstructorArguments: "",
              EVMVersion: "",
              Library: "",
              LicenseType: "",
              Proxy: "0",
              Implementation: "",
              SwarmSource: "",
            },
          ]);
        const settings = ((v.input as { settings?: Record<string, unknown> }).settings ?? {}) as {
          optimizer?: { enabled?: boolean; runs?: number };
          evmVersion?: string;
        };
        return ok([
          {
            // Etherscan wraps standard JSON input in an extra pair of braces.
            SourceCode: `{${JSON.stringify(v.input)}}`,
            ABI: JSON.stringify(v.abi),
            ContractName: v.contractName.split(":").pop(),
            CompilerVersion: v.compilerVersion,
            OptimizationUsed: settings.optimizer?.enabled ? "1" : "0",
            Runs: String(settings.optimizer?.runs ?? 200),
            ConstructorArguments: v.constructorArgs,
            EVMVersion: settings.evmVersion ?? "Default",
            Library: "",
            LicenseType: "",
            Proxy: "0",
            Implementation: "",
            SwarmSource: "",
            Match: v.match,
          },
        ]);
      }
      case "contract.verifysourcecode":
        return verifyJob(p);
      case "contract.checkverifystatus": {
        const job = await store.verifyJob(p.guid ?? "");
        if (job === null) return notOk("Unknown UID");
        if (job.status === "pending") return notOk("Pending in queue");
        // Tools compare the result to these exact strings; the reason a verification failed rides beside it.
        return job.status === "pass"
          ? ok("Pass - Verified")
          : { ...notOk("Fail - Unable to verify"), reason: job.result };
      }
      default:
        return notOk(`Unsupported module/action: ${p.module}/${p.action}`, "NOTOK");
    }
  }

  // Tools post verification as a form; fastify parses JSON only by default.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const schema = {
    summary: "Etherscan-compatible API: module=account|contract, action=txlist|tokentx|getabi|verifysourcecode|…",
    tags: ["etherscan"],
  };
  app.get("/api", { schema }, async (req) => handle(req.query as Params));
  app.post("/api", { schema }, async (req) => handle({ ...(req.query as Params), ...((req.body as Params) ?? {}) }));
}
