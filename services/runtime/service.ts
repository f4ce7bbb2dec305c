/**
 * One worker process, wired: JSON-RPC client, head watcher, journal, blob store, transaction manager, the
 * worker loop and its HTTP API. The CLI (`azora worker`) calls this with the handlers for the kinds asked
 * for; tests and the bench call it in-process.
 */
import { join } from "node:path";
import { JsonRpcProvider, type Wallet } from "ethers";
import type { Logger } from "../../runtime/lib/logger.js";
import { paymentsContract } from "../client/payments.js";
import type { StorageBackend } from "../storage/backend.js";
import { createHeliaBackend } from "../storage/helia/heliaBackend.js";
import { registerStorageRoutes } from "../storage/server.js";
import { createHeadWatcher, type HeadWatcher } from "./chain/heads.js";
import { AZR_TOKEN, LEARN_ADDRESS, MarketReader } from "./chain/market.js";
import { createRPCClient, quantity } from "./chain/rpcClient.js";
import { DEFAULT_TX_OPTIONS, TxManager } from "./chain/txManager.js";
import { loadWallet, tokenUnits, type WorkerConfig, wsURLOf } from "./config.js";
import { createFileBlobStore } from "./content/blobStore.js";
import { createStorageBlobStore } from "./content/storageBlobStore.js";
import { ConfigErrorCode, WorkerConfigError } from "./errors.js";
import type { JobHandler } from "./handler.js";
import { createWorkerHTTP } from "./http.js";
import { ACTIVE_WORK_STATES, Journal } from "./journal.js";
import { createWorkerMetrics } from "./metrics.js";
import { MeteredPayee, type PaymentMetrics } from "./payments/meteredPayee.js";
import { METERED_KIND, registerMeteredRoutes } from "./payments/meteredRoutes.js";
import { type TestFault, Worker } from "./worker/worker.js";

export interface RunningWorker {
  address: string;
  /** Base URL of the HTTP API (and of the blob route; of the IPFS gateway when storage is on). */
  url: string;
  /** The worker's IPFS node, when it runs with content storage. */
  storage?: StorageBackend;
  worker: Worker;
  journal: Journal;
  close(): Promise<void>;
}

export async function startWorkerService(
  cfg: WorkerConfig,
  mods: {
    handlers: readonly JobHandler[];
    logger: Logger;
    version: string;
    /** The account's key when it does not come from `cfg.keyFile` (e.g. a devnet account). */
    wallet?: Wallet;
  },
): Promise<RunningWorker> {
  const logger = mods.logger;
  const handlers = new Map<string, JobHandler>();
  for (const h of mods.handlers) for (const k of h.kinds) handlers.set(k, h);
  for (const k of cfg.kinds)
    if (!handlers.has(k))
      throw new WorkerConfigError({ code: ConfigErrorCode.UNKNOWN_KIND, kind: k, known: [...handlers.keys()] });
  const used = [...new Set(cfg.kinds.map((k) => handlers.get(k) as JobHandler))];

  let wallet: Wallet;
  if (mods.wallet !== undefined) wallet = mods.wallet;
  else if (cfg.keyFile !== undefined) wallet = await loadWallet(cfg.keyFile, cfg.passwordFile);
  else throw new WorkerConfigError({ code: ConfigErrorCode.KEY_FILE, file: "", reason: "no key: give --key-file" });
  const rpc = createRPCClient(cfg.rpc);
  const chainId = quantity(await rpc.call<string>("eth_chainId", []));
  const journal = new Journal(join(cfg.dataDir, "jobs.sqlite"));
  const storedChain = journal.getMeta("chainId");
  const storedAddress = journal.getMeta("address");
  if (storedChain !== undefined && storedChain !== chainId.toString())
    throw new WorkerConfigError({
      code: ConfigErrorCode.INVALID,
      key: "dataDir",
      reason: `journal belongs to chain ${storedChain}, the node is on ${chainId}`,
    });
  if (storedAddress !== undefined && storedAddress.toLowerCase() !== wallet.address.toLowerCase())
    throw new WorkerConfigError({
      code: ConfigErrorCode.INVALID,
      key: "dataDir",
      reason: `journal belongs to worker ${storedAddress}, the key is ${wallet.address}`,
    });
  journal.setMeta("chainId", chainId.toString());
  journal.setMeta("address", wallet.address);

  const needsStorage = used.filter((h) => h.needsStorage === true).flatMap((h) => h.kinds);
  if (needsStorage.length > 0 && cfg.storage.enabled === false)
    throw new WorkerConfigError({
      code: ConfigErrorCode.INVALID,
      key: "storage.enabled",
      reason: `${needsStorage.join(", ")} need content storage`,
    });
  let storage: StorageBackend | undefined;
  if (cfg.storage.enabled ?? needsStorage.length > 0)
    storage = await createHeliaBackend({
      dataDir: join(cfg.dataDir, "ipfs"),
      listen: cfg.storage.listen,
      peers: cfg.storage.peers,
    });
  const files = createFileBlobStore(join(cfg.dataDir, "blobs"));
  const blobs =
    storage === undefined ? files : createStorageBlobStore(files, storage, logger.child({ module: "blobs" }));
  const metrics = createWorkerMetrics(journal, (t) => (t.toLowerCase() === AZR_TOKEN.toLowerCase() ? "AZR" : "LEARN"));
  const heads: HeadWatcher = createHeadWatcher(rpc, {
    wsUrl: cfg.ws ?? wsURLOf(cfg.rpc),
    pollMs: cfg.pollMs,
    logger: logger.child({ module: "heads" }),
  });
  const txm = new TxManager(
    { ...DEFAULT_TX_OPTIONS, ...cfg.tx, chainId },
    {
      rpc,
      wallet,
      journal,
      logger: logger.child({ module: "tx" }),
      onTx: (action, outcome, gas) => {
        metrics.txs.inc({ action, outcome });
        if (gas !== undefined) metrics.gasUsed.inc({ action }, Number(gas));
      },
    },
  );

  for (const h of used) await h.init?.();
  const metered = await startMetered(cfg, { wallet, chainId, txm, handlers, logger, metrics });

  let status: "starting" | "ok" | "stopping" = "starting";
  let worker: Worker | undefined;
  const app = await createWorkerHTTP({
    journal,
    blobs,
    metrics,
    version: mods.version,
    health: {
      health: () => ({
        status,
        address: wallet.address,
        kinds: cfg.kinds,
        engines: Object.fromEntries(cfg.kinds.map((k) => [k, (handlers.get(k) as JobHandler).engine])),
        headBlock: heads.latest?.number ?? null,
        scannedBlock: journal.getMeta("scannedBlock") === undefined ? null : Number(journal.getMeta("scannedBlock")),
        activeJobs: journal.openJobs("work").filter((r) => ACTIVE_WORK_STATES.includes(r.state)).length,
        runningJobs: runningCount(worker),
        ...(storage === undefined ? {} : { ipfs: storage.addresses() }),
      }),
    },
    extraRoutes: async (app) => {
      if (storage !== undefined)
        await registerStorageRoutes(app, {
          backend: storage,
          cfg: {
            dataDir: join(cfg.dataDir, "ipfs"),
            gateway: { retrievalTimeoutMs: cfg.storage.retrievalTimeoutMs, offline: false },
            uploads: { enabled: false, maxBytes: 0, plainMaxBytes: 0, expiryMs: 0 },
          },
          log: logger.child({ module: "gateway" }),
        });
      for (const h of used) await h.routes?.(app, { storage });
      if (metered !== null)
        await registerMeteredRoutes(app, {
          payee: metered.payee,
          handler: handlers.get(METERED_KIND) as JobHandler,
          priceOf: metered.priceOf,
          onRequest: (outcome, ms) => metrics.meteredRequests.observe({ outcome }, ms / 1000),
        });
    },
  });
  await app.listen({ host: cfg.http.host, port: cfg.http.port });
  const addr = app.server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : cfg.http.port;
  const url = cfg.http.publicUrl ?? `http://${cfg.http.host === "0.0.0.0" ? "127.0.0.1" : cfg.http.host}:${port}`;
  if (cfg.http.port === 0)
    logger.warn("HTTP port 0: the endpoint changes at every start, but the market keeps the one registered first", {
      url,
    });

  try {
    await txm.init();
    await heads.start();
    worker = new Worker(
      {
        kinds: cfg.kinds,
        endpoint: url,
        maxJobs: cfg.maxJobs,
        maxBatch: cfg.maxBatch,
        policy: {
          minPrice: new Map([
            [AZR_TOKEN.toLowerCase(), tokenUnits(cfg.price.AZR)],
            [LEARN_ADDRESS.toLowerCase(), tokenUnits(cfg.price.LEARN)],
          ]),
          minDeliverWindowSec: cfg.minDeliverWindowSec,
        },
        verify: cfg.verify,
        reclaim: cfg.reclaim,
        withdrawMinWei: tokenUnits(cfg.withdrawMin),
        stakeWei: cfg.stake === undefined ? undefined : tokenUnits(cfg.stake),
        maxInputBytes: cfg.maxInputBytes,
        fetchTimeoutMs: cfg.fetchTimeoutMs,
        lookbackBlocks: cfg.lookbackBlocks,
        maxRuns: cfg.maxRuns,
        progressLogMs: cfg.progressLogMs,
        refreshEveryHeads: cfg.refreshEveryHeads,
        fault: cfg.fault as TestFault | undefined,
      },
      {
        address: wallet.address,
        rpc,
        market: new MarketReader(rpc, undefined, { coalesce: true }),
        txm,
        journal,
        blobs,
        heads,
        handlers,
        logger: logger.child({ module: "worker" }),
        metrics,
        storage,
      },
    );
    await worker.start();
    metered?.payee.start();
    status = "ok";
  } catch (e) {
    await app.close();
    await metered?.close();
    await heads.close();
    await txm.close();
    await storage?.stop();
    journal.close();
    throw e;
  }
  const w = worker;
  if (cfg.fault !== undefined)
    logger.warn("TEST FAULT INJECTION ACTIVE: this worker misbehaves on purpose", { fault: cfg.fault });

  return {
    address: wallet.address,
    url,
    storage,
    worker: w,
    journal,
    async close() {
      status = "stopping";
      await w.stop();
      await app.close();
      await metered?.close();
      await heads.close();
      await txm.close();
      for (const h of used) await h.close?.();
      await storage?.stop();
      journal.close();
    },
  };
}

function runningCount(worker: Worker | undefined): number {
  return worker === undefined ? 0 : worker.runningCount();
}

/**
 * Metered inference (`metered.price` / `metered.prices`): the payee of the market's metered payments, its ledger in
 * `<dataDir>/payments.sqlite`, redeeming vouchers through the worker's own transaction manager (one nonce sequence).
 */
async function startMetered(
  cfg: WorkerConfig,
  d: {
    wallet: Wallet;
    chainId: bigint;
    txm: TxManager;
    handlers: Map<string, JobHandler>;
    logger: Logger;
    metrics: PaymentMetrics;
  },
): Promise<{ payee: MeteredPayee; priceOf: (model: string) => bigint | null; close(): Promise<void> } | null> {
  const m = cfg.metered;
  const prices = new Map(Object.entries(m.prices).map(([k, v]) => [k.toLowerCase().replace(/^0x/, ""), tokenUnits(v)]));
  if (m.price === undefined && prices.size === 0) return null;
  if (!d.handlers.has(METERED_KIND))
    throw new WorkerConfigError({
      code: ConfigErrorCode.INVALID,
      key: "metered",
      reason: `metered inference serves ${METERED_KIND}: add it to the kinds`,
    });
  const provider = new JsonRpcProvider(cfg.rpc, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const market = paymentsContract(d.wallet.connect(provider));
  const thawSec = (await market.params())[6] as bigint;
  if (BigInt(m.redeemEveryMs) * 4n > thawSec * 1000n) {
    provider.destroy();
    throw new WorkerConfigError({
      code: ConfigErrorCode.INVALID,
      key: "metered.redeemEveryMs",
      reason: `must stay well under the market's thaw period (${thawSec} s): at most a quarter`,
    });
  }
  const payee = new MeteredPayee({
    wallet: d.wallet,
    market,
    chainId: d.chainId,
    dbPath: join(cfg.dataDir, "payments.sqlite"),
    voucherEvery: m.voucherEvery,
    redeemEveryMs: m.redeemEveryMs,
    unit: "inference",
    what: "this model",
    logger: d.logger.child({ module: "metered" }),
    metrics: d.metrics,
    sendRedeem: async (vouchers, signatures) => {
      const o = await d.txm.send({
        jobId: null,
        role: null,
        action: "redeemVouchers",
        to: await market.getAddress(),
        data: market.interface.encodeFunctionData("redeemVouchers", [vouchers, signatures]),
      });
      if (o.status !== "mined") throw new Error(`redeemVouchers reverted (tx ${o.hash})`);
      return { hash: o.hash, block: o.block, logs: o.logs };
    },
  });
  const fallback = m.price === undefined ? null : tokenUnits(m.price);
  return {
    payee,
    priceOf: (model) => prices.get(model) ?? fallback,
    async close() {
      await payee.close();
      provider.destroy();
    },
  };
}
