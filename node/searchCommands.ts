/**
 * `azora search …`: run the search service, index a JSONL file into it, query it. Only wiring lives here — flags
 * to config, logger, output; the work is in `services/search/` and `services/client/searchClient.ts`.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { type Command, InvalidArgumentError, Option } from "commander";
import { JsonRpcProvider, ZeroAddress } from "ethers";
import { type KeyFlags, walletFrom } from "./accountKey.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";
import { VERSION } from "./version.js";

const lib = () => import("../services/search/service.js");

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

interface ServeFlags extends KeyFlags {
  config?: string;
  dataDir?: string;
  backend?: "sqlite" | "postgres";
  pgUrl?: string;
  pgSchema?: string;
  host?: string;
  port?: number;
  apiKey?: string;
  rpc?: string;
  ws?: string;
  index?: boolean;
  gateway?: string;
  marketplace?: string[];
  fromBlock?: number;
  semantic?: boolean;
  paid?: boolean;
  voucherEvery?: number;
  redeemEveryMs?: number;
  modelsDir?: string;
  bulkEmbeddings?: "local" | "market";
  bulkMin?: number;
  embedPrice?: string;
  embedToken?: "AZR" | "LEARN";
  embedKeyFile?: string;
  embedDevAccount?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
}

export function registerSearchCommands(program: Command): void {
  const search = program
    .command("search")
    .description(
      "Azora Search: full-text, vector and hybrid search over chain content and your documents (README, Search)",
    );

  search
    .command("serve")
    .description("Run the search service: HTTP API, optional chain indexer and paid queries")
    .option("-c, --config <file>", "search config JSON (keys in README; flags override it)")
    .option("--data-dir <dir>", "embedded indexes, tasks, payments journal (default ./data/search)")
    .addOption(new Option("--backend <kind>", "sqlite (embedded) or postgres").choices(["sqlite", "postgres"]))
    .option("--pg-url <url>", "PostgreSQL connection URL (with --backend postgres)")
    .option("--pg-schema <name>", "PostgreSQL schema (default azora_search)")
    .option("--host <host>", "HTTP listen address (default 127.0.0.1)")
    .option("--port <port>", "HTTP port (default 7700; 0 = any free)", int("--port"))
    .option("--api-key <key>", "key for index and document changes (Authorization: Bearer); its holder queries free")
    .option("--rpc <url>", "node JSON-RPC (default http://127.0.0.1:8545)")
    .option("--ws <url>", "node WebSocket (default: --rpc as ws://)")
    .option("--index", "follow the chain and index NFTs, course listings and job results")
    .option("--gateway <url>", "storage gateway for ipfs:// metadata (default http://127.0.0.1:8080)")
    .option("--marketplace <address>", "a CourseMarketplace whose listings to index (repeatable)", collect)
    .option("--from-block <n>", "first block on a fresh index (default 0)", int("--from-block"))
    .option("--no-semantic", "do not embed chain documents")
    .option("--paid", "charge for queries on indexes with pricePerQuery > 0 (needs the payee's key)")
    .option("--key-file <file>", "payee key: 0x hex or JSON keystore")
    .option("--password-file <file>", "keystore password file (or AZORA_KEY_PASSWORD)")
    .option("--dev-account <n>", "devnet key n as payee", int("--dev-account"))
    .option("--voucher-every <n>", "receipts between voucher requests (default 10)", int("--voucher-every"))
    .option("--redeem-every-ms <ms>", "voucher redemption interval (default 60000)", int("--redeem-every-ms"))
    .option("--models-dir <dir>", "ai/embed model files (default $AZORA_MODELS_DIR or data/models)")
    .addOption(
      new Option(
        "--bulk-embeddings <who>",
        "who embeds large document batches: local, or market (ai/embed jobs; queries stay local)",
      ).choices(["local", "market"]),
    )
    .option(
      "--bulk-min <n>",
      "documents needing vectors in one task to use the bulk embedder (default 64)",
      int("--bulk-min"),
    )
    .option("--embed-price <wei>", "price per ai/embed job of ≤128 texts, wei (default 1e16)", (v) => {
      if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError("--embed-price must be an integer number of wei");
      return v;
    })
    .addOption(
      new Option("--embed-token <token>", "token embedding jobs are paid in (default AZR)").choices(["AZR", "LEARN"]),
    )
    .option("--embed-key-file <file>", "key that pays for embedding jobs: 0x hex or JSON keystore")
    .option("--embed-dev-account <n>", "devnet key n pays for embedding jobs", int("--embed-dev-account"))
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "json or pretty (default: pretty on a terminal)").choices(["json", "pretty"]),
    )
    .action(async (f: ServeFlags) => {
      const { resolveSearchConfig, loadSearchConfigFile, startSearchService } = await lib();
      const file = f.config === undefined ? undefined : loadSearchConfigFile(f.config);
      const cfg = resolveSearchConfig(
        file?.input,
        {
          dataDir: f.dataDir,
          backend: f.backend,
          postgres: { url: f.pgUrl, schema: f.pgSchema },
          http: { host: f.host, port: f.port },
          apiKey: f.apiKey,
          rpc: f.rpc,
          ws: f.ws,
          modelsDir: f.modelsDir,
          indexer: {
            enabled: f.index,
            gateway: f.gateway,
            marketplaces: f.marketplace,
            fromBlock: f.fromBlock,
            semantic: f.semantic === false ? false : undefined,
          },
          payments: {
            enabled: f.paid,
            keyFile: f.keyFile,
            devAccount: f.devAccount,
            voucherEvery: f.voucherEvery,
            redeemEveryMs: f.redeemEveryMs,
          },
          embeddings: {
            bulk: f.bulkEmbeddings,
            bulkMin: f.bulkMin,
            market: {
              price: f.embedPrice,
              token: f.embedToken,
              keyFile: f.embedKeyFile,
              devAccount: f.embedDevAccount,
            },
          },
          log: { level: f.logLevel, format: f.logFormat },
        },
        file?.baseDir,
      );
      const { logger, flush } = createLogger({ level: cfg.log.level as LogLevel, format: cfg.log.format });
      const keyFlags = {
        keyFile: cfg.payments.keyFile,
        passwordFile: f.passwordFile,
        devAccount: cfg.payments.devAccount,
      };
      const wallet = cfg.payments.enabled ? await walletFrom(keyFlags, cfg.rpc) : undefined;
      const embedder = async () =>
        (await import("../ai-oracle/index.js")).createTextEmbedder({ modelsDir: cfg.modelsDir, logger });
      let bulk: Parameters<typeof startSearchService>[1]["bulk"];
      if (cfg.embeddings.bulk === "market") {
        const { decodeEmbeddings, embeddingRowsAgree, shippedModelId } = await import("../ai-oracle/index.js");
        const m = cfg.embeddings.market;
        if (m.keyFile === undefined && m.devAccount === undefined) {
          throw new InvalidArgumentError(
            "--bulk-embeddings market needs the key that pays: --embed-key-file <file> (or --embed-dev-account <n>)",
          );
        }
        bulk = {
          wallet: await walletFrom(
            { keyFile: m.keyFile, passwordFile: f.passwordFile, devAccount: m.devAccount },
            cfg.rpc,
          ),
          model: shippedModelId("use-lite"),
          decode: decodeEmbeddings,
          agree: embeddingRowsAgree,
        };
      }
      const svc = await startSearchService(cfg, { log: logger, version: VERSION, wallet, embedder, bulk });
      console.log(
        `search listening on ${svc.url} (${svc.engine.store.kind}; vectors: ${svc.engine.store.vectorEngine})`,
      );
      stopOnSignals({ close: () => svc.close(), logger, flush });
    });

  search
    .command("index")
    .description(
      "Add or replace the documents of a JSONL file (one JSON object per line) in an index; creates it if missing",
    )
    .argument("<name>", "index name")
    .argument("<file>", "JSONL file")
    .option("--url <url>", "search service URL (default http://127.0.0.1:7700)")
    .option("--api-key <key>", "the service's API key")
    .option("--settings <json>", 'settings for a new index, e.g. \'{"filterableAttributes":["kind"]}\'')
    .option("--batch <n>", "documents per task (default 5000)", int("--batch"))
    .action(
      async (name: string, path: string, f: { url?: string; apiKey?: string; settings?: string; batch?: number }) => {
        const { SearchClient, SearchHTTPError } = await import("../services/client/searchClient.js");
        const client = new SearchClient({ url: f.url ?? "http://127.0.0.1:7700", apiKey: f.apiKey });
        try {
          await client.index(name);
        } catch (e) {
          if (!(e instanceof SearchHTTPError) || e.status !== 404) throw e;
          await client.createIndex(name, f.settings === undefined ? {} : JSON.parse(f.settings));
        }
        const docs: unknown[] = [];
        let line = 0;
        for await (const text of createInterface({
          input: createReadStream(path),
          crlfDelay: Number.POSITIVE_INFINITY,
        })) {
          line++;
          if (text.trim() === "") continue;
          try {
            docs.push(JSON.parse(text));
          } catch {
            throw new InvalidArgumentError(`${path}:${line}: not JSON`);
          }
        }
        const started = Date.now();
        await client.addDocuments(name, docs, {
          batch: f.batch,
          onBatch: (n) => process.stderr.write(`\rindexed ${n}/${docs.length}`),
        });
        process.stderr.write("\n");
        console.log(
          `${docs.length} documents indexed into "${name}" in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      },
    );

  search
    .command("query")
    .description('Search an index, e.g. azora search query chain "personal finanse" --filter "kind = nft" --hybrid 0.5')
    .argument("<name>", "index name")
    .argument("<q>", "query text")
    .option("--url <url>", "search service URL (default http://127.0.0.1:7700)")
    .option("--filter <expr>", "filter, e.g. 'kind = course AND price 10 TO 50'")
    .option("--facets <list>", "comma-separated attributes to count")
    .option("--sort <list>", "e.g. price:asc")
    .option("--hybrid <ratio>", "semantic share 0–1 (needs an index with an embedder)")
    .option("--limit <n>", "hits (default 10)", int("--limit"))
    .option("--offset <n>", "skip this many hits", int("--offset"))
    .option("--json", "print the whole response as JSON")
    .option("--pay", "pay with receipts (a paid index): needs a deposit with the service's payee")
    .option("--rpc <url>", "node JSON-RPC for --pay (default http://127.0.0.1:8545)")
    .option("--key-file <file>", "payer key for --pay")
    .option("--password-file <file>", "keystore password file")
    .option("--dev-account <n>", "devnet key n as payer", int("--dev-account"))
    .action(
      async (
        name: string,
        q: string,
        f: KeyFlags & {
          url?: string;
          filter?: string;
          facets?: string;
          sort?: string;
          hybrid?: string;
          limit?: number;
          offset?: number;
          json?: boolean;
          pay?: boolean;
          rpc?: string;
        },
      ) => {
        const { SearchClient } = await import("../services/client/searchClient.js");
        const url = f.url ?? "http://127.0.0.1:7700";
        let payment: import("../services/client/payments.js").PaymentSession | undefined;
        if (f.pay) {
          const { PaymentSession } = await import("../services/client/payments.js");
          const rpc = f.rpc ?? "http://127.0.0.1:8545";
          const wallet = await walletFrom(f, rpc);
          const info = (await fetch(`${url}/payments`).then((r) => r.json())) as { payee?: string };
          if (info.payee === undefined) throw new InvalidArgumentError("the service does not take payments");
          const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true });
          const chainId = (await provider.getNetwork()).chainId;
          provider.destroy();
          payment = new PaymentSession(wallet, chainId, info.payee, ZeroAddress);
        }
        const client = new SearchClient({ url, payment });
        const r = await client.search(name, {
          q,
          filter: f.filter,
          facets: f.facets?.split(","),
          sort: f.sort?.split(","),
          hybrid: f.hybrid === undefined ? undefined : Number(f.hybrid),
          limit: f.limit ?? 10,
          offset: f.offset,
        });
        if (f.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        console.log(`${r.estimatedTotalHits} hits (${r.processingTimeMs} ms)`);
        for (const h of r.hits) {
          const title = (h._formatted as Record<string, string> | undefined)?.title ?? h.title ?? h.name ?? "";
          console.log(`  ${String(h.id).padEnd(24)} ${String(title).replace(/<\/?em>/g, "*")}`);
        }
        if (r.facetDistribution) console.log(`facets: ${JSON.stringify(r.facetDistribution)}`);
      },
    );
}
