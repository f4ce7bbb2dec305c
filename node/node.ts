import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEV_VALIDATOR_SEED_HEX, devnetGenesis } from "../genesis/devnet.js";
import { type GenesisSpec, parseGenesis } from "../genesis/spec.js";
import type { EthBackend } from "../rpc/backend.js";
import { createEthSubscriptionSource } from "../rpc/ethSubscriptions.js";
import { createFilterMethods, DEFAULT_FILTER_OPTIONS } from "../rpc/filters.js";
import { LogQueries } from "../rpc/logQuery.js";
import { createDebugMethods } from "../rpc/methods/debug.js";
import { createEthMethods, createWeb3NetMethods } from "../rpc/methods/eth.js";
import { createRPCServer, type RPCServerAddress } from "../rpc/server.js";
import { createSubscriptionMethods } from "../rpc/subscriptions.js";
import type { MethodTable } from "../rpc/types.js";
import { createChainCommon } from "../runtime/evm/common.js";
import type { Logger } from "../runtime/lib/logger.js";
import { bytesToHex, equalsBytes, hexToBytes } from "../runtime/primitives/bytes.js";
import { Chain } from "./chain/chain.js";
import { cacheShares, mempoolOptions, type NodeConfig } from "./config.js";
import { createConsensus } from "./consensus/adapters.js";
import { ChainApp } from "./consensus/app.js";
import { GuardedSigner } from "./consensus/signer.js";
import { ConsensusWAL } from "./consensus/wal.js";
import { Ed25519Verifier } from "./crypto/ed25519.js";
import { IntegrityError, IntegrityErrorCode, StorageError, storageRecoveryHint } from "./db/errors.js";
import { openChainStorage, type RecoveryContext, verifyChainStorage } from "./db/storage.js";
import { DevAccounts } from "./dev/accounts.js";
import { logConsoleCalls } from "./dev/consoleLog.js";
import { DevChain } from "./dev/devChain.js";
import { DevStateStore } from "./dev/dumpState.js";
import { createDevMethods } from "./dev/methods.js";
import { applyHeapGrowth } from "./heapGrowth.js";
import { loadValidatorSeed } from "./keys/validatorKey.js";
import { isMempoolError, Mempool, MempoolErrorCode, ParallelDecoder } from "./mempool/index.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { GossipAction, GossipActionError } from "./network/errors.js";
import { createNetworkMetrics } from "./network/metrics.js";
import { DEFAULT_P2P_OPTIONS } from "./network/options.js";
import { decodeTxBatch, TxBatcher } from "./network/txBatch.js";
import { BlockProducer } from "./producer/blockProducer.js";
import { createAzoraMethods } from "./rpc/extraMethods.js";
import { createSimulationMetrics } from "./rpc/metrics.js";
import { NodeBackend } from "./rpc/nodeBackend.js";
import { createParamsMethods } from "./rpc/paramsMethods.js";
import { defaultSimulationWorkers, SimulationPool } from "./rpc/simulation/pool.js";
import { NodeTraceBackend } from "./rpc/traceBackend.js";
import { StateReaders } from "./state/readers.js";
import { createSyncMetrics } from "./sync/index.js";
import { VERSION } from "./version.js";

/** Mempool refusals that do not depend on this node's state: a peer that forwards such a tx misbehaves. */
const STATELESS_TX_ERRORS: ReadonlySet<string> = new Set([
  MempoolErrorCode.INVALID_TX,
  MempoolErrorCode.OVERSIZED_DATA,
  MempoolErrorCode.TX_TYPE_NOT_SUPPORTED,
  MempoolErrorCode.UNPROTECTED_TX,
  MempoolErrorCode.INVALID_CHAIN_ID,
  MempoolErrorCode.INVALID_SENDER,
  MempoolErrorCode.INTRINSIC_GAS_TOO_LOW,
  MempoolErrorCode.FLOOR_DATA_GAS_TOO_LOW,
  MempoolErrorCode.TIP_ABOVE_FEE_CAP,
  MempoolErrorCode.GAS_LIMIT_EXCEEDED,
]);

/** Consensus stopped on its own (a software upgrade this node does not run, a block that does not commit). */
export class ConsensusHaltedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "ConsensusHaltedError";
  }
}

export interface RunningNode {
  rpc: RPCServerAddress;
  chain: Chain;
  spec: GenesisSpec;
  dataDir: string;
  metrics: Metrics;
  close(): Promise<void>;
}

export function loadGenesis(cfg: NodeConfig): GenesisSpec {
  if (cfg.genesisFile === undefined) return devnetGenesis();
  return parseGenesis(JSON.parse(readFileSync(cfg.genesisFile, "utf8")));
}

/**
 * What runs the chain: the single-validator dev pipeline, or BFT consensus over libp2p (`home`: the
 * node's home, named in recovery instructions).
 */
export type NodeMode = { kind: "dev" } | { kind: "network"; home?: string };

export interface NodeHooks {
  /**
   * Called once when the node can no longer run: a LevelDB failure (corruption, I/O error) or a halted
   * block producer. The caller stops the node and exits non-zero; the cause is already logged.
   */
  onFatal?: (e: Error) => void;
}

/** The signer state file of a validator (network) or of the dev validator, beside the chain database. */
export const SIGNER_STATE_FILE = "signer_state.json";

/** Starts a single-validator dev node (`azora dev`). */
export function startDevNode(cfg: NodeConfig, log: Logger, hooks: NodeHooks = {}): Promise<RunningNode> {
  return startNode(cfg, log, { kind: "dev" }, hooks);
}

function readSeed(file: string, what: string): Uint8Array {
  let parsed: { seed?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read the ${what} key file ${file}: ${(e as Error).message}`);
  }
  if (typeof parsed.seed !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(parsed.seed)) {
    throw new Error(`${file}: "seed" must be 32 bytes of 0x-hex`);
  }
  return hexToBytes(parsed.seed as `0x${string}`);
}

/**
 * Starts a node: LevelDB chain, mempool, JSON-RPC, and the block pipeline of `mode`. The
 * composition root: the only place where the pieces are wired together.
 */
export async function startNode(
  cfg: NodeConfig,
  log: Logger,
  mode: NodeMode,
  hooks: NodeHooks = {},
): Promise<RunningNode> {
  // Before the caches and the workers' heaps grow.
  applyHeapGrowth(cfg.heapGrowingPercent);
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const spec = loadGenesis(cfg);
  const common = createChainCommon(spec.chainId);
  const metrics = createMetrics();
  const cleanup: (() => Promise<void>)[] = [];
  // Every step runs even when one fails (a damaged database may fail to close): the first error wins.
  const closeAll = async () => {
    let first: unknown = null;
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch (e) {
        log.error("shutdown step failed", {}, e);
        first ??= e;
      }
    }
    cleanup.length = 0;
    if (first !== null) throw first;
  };
  let fatalReported = false;
  const fatal = (e: Error) => {
    if (fatalReported) return;
    fatalReported = true;
    hooks.onFatal?.(e);
  };
  const recovery: RecoveryContext =
    mode.kind === "dev"
      ? { mode: "dev", target: `--data-dir ${dataDir}` }
      : { mode: "network", target: mode.home === undefined ? `--data-dir ${dataDir}` : `--home ${mode.home}` };

  let storage: Awaited<ReturnType<typeof openChainStorage>>;
  try {
    storage = await openChainStorage(dataDir, {
      syncWrites: cfg.storage.syncWrites,
      maxOpenFiles: cfg.storage.maxOpenFiles,
    });
  } catch (e) {
    if (!(e instanceof StorageError)) throw e;
    // LevelDB's own reason ("Corruption: CURRENT file does not end with newline") and what to do.
    throw new StorageError(e.type, `${e.message}. ${storageRecoveryHint(e, { dbCommandTarget: recovery.target })}`);
  }
  const { db, record } = storage;
  cleanup.push(async () => record.close());
  cleanup.push(() => db.close());
  try {
    // Refuse a damaged database, or one that lost committed blocks, before anything writes to it.
    await verifyChainStorage(storage, recovery, log.child({ module: "storage" }), {
      minBlocks: cfg.storage.startupCheckBlocks,
    });
    const evmWorkers = cfg.rpc.evmWorkers ?? defaultSimulationWorkers();
    const caches = cacheShares(cfg.cacheBytes, evmWorkers);
    const chain = await Chain.open(db, spec, common, log.child({ module: "chain" }), {
      trieCacheBytes: caches.trieNodes,
    });
    // A software upgrade this version does not meet is due at the next height: refuse to start.
    chain.upgrades.check(chain.head.header.number + 1n);
    chain.useCommittedRecord(record);
    db.setBlockWriteWait((write) => metrics.txStages.outside(write));
    db.setFailureHandler((e: StorageError) => {
      log.error("chain database failure: stopping the node", {
        code: e.type.code,
        op: e.type.op,
        reason: e.type.reason,
        recovery: storageRecoveryHint(e, { dbCommandTarget: recovery.target }),
      });
      fatal(e);
    });
    metrics.headHeight.set(Number(chain.head.header.number));
    const readers = new StateReaders(common, chain.trieStore);
    // The head state (in dev mode, with cheats made since the head block): what admission checks against.
    const headView = () => readers.at(chain.headStateRoot);
    const nextParams = () => chain.params.at(chain.head.header.number + 1n);
    const mempool = new Mempool(mempoolOptions(cfg, nextParams().fees.minBaseFeePerGas, nextParams().gasLimit), {
      state: {
        getAccount: async (a) => (await headView()).getAccount(hexToBytes(a as `0x${string}`)),
      },
      logger: log.child({ module: "mempool" }),
    });
    // Admission follows governance: the gas limit and base-fee floor of the height being built.
    chain.onBlock(() => {
      const p = nextParams();
      mempool.setChainLimits({ blockGasLimit: p.gasLimit, minBaseFeePerGas: p.fees.minBaseFeePerGas });
    });
    // Votes are verified on arrival and again in the commit certificate of the next block: remember a few heights' worth.
    const verifier = new Ed25519Verifier({ verifiedCacheSize: 4096 });
    const decoder = new ParallelDecoder(
      {
        chainId: spec.chainId,
        maxTxBytes: cfg.mempool.maxTxBytes,
        workers: cfg.mempool.decodeWorkers ?? ParallelDecoder.defaultWorkers(),
      },
      { common, log: log.child({ module: "decoder" }), stages: metrics.txStages },
    );
    cleanup.push(() => decoder.close());

    // The pipeline: dev producer or BFT driver.
    let pipeline: {
      start(): Promise<void> | void;
      stop(): Promise<void>;
      status(): Record<string, unknown>;
      /** Dev mode's own methods (cheats, unlocked accounts); absent on a network node (-32601). */
      devMethods?: (backend: EthBackend) => MethodTable;
      onTxAccepted?: (raw: Uint8Array) => void;
      peerCount(): number;
    };
    if (mode.kind === "dev") {
      // The dev validator signs through the double-sign guard too: its last-signed height on disk
      // is what shows, after a restart, whether the database lost blocks it signed.
      const signer = await GuardedSigner.open({
        stateFile: join(dataDir, SIGNER_STATE_FILE),
        seed: hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`),
        log: log.child({ module: "signer" }),
        // Written to the page cache per block (survives a crash); the record below is what is synced.
        sync: false,
      });
      cleanup.push(() => signer.close());
      if (!spec.validators.some((v) => equalsBytes(v.publicKey, signer.publicKey))) {
        throw new Error("dev mode needs the devnet validator key in the genesis validator set");
      }
      const signed = signer.lastSigned().height;
      const head = chain.head.header.number;
      if (signed - 1n > head) {
        // Signing height S follows committing S − 1: blocks up to S − 1 were committed and are gone.
        throw new IntegrityError(
          { code: IntegrityErrorCode.LOST_COMMITTED, head, committed: signed - 1n },
          `the chain database ends at block ${head} but the dev validator already signed block ${signed} ` +
            `(${SIGNER_STATE_FILE}): committed blocks are gone. Refusing to start: a new block at height ${head + 1n} ` +
            `would replace one clients already saw as final. Recover: restore the data dir from a backup, or ` +
            `\`azora db rollback ${recovery.target} --to ${head} --rewrite-history --yes\` to give those blocks up`,
        );
      }
      const accounts = new DevAccounts({ unlocked: cfg.dev.unlockedAccounts });
      const producer = new BlockProducer(
        { blockTimeMs: cfg.blockTimeMs },
        {
          chain,
          mempool,
          signer,
          verifier,
          log: log.child({ module: "producer" }),
          metrics,
          onFatal: (e) => fatal(e instanceof Error ? e : new Error(String(e))),
          isImpersonated: (sender) => accounts.isImpersonated(sender),
        },
      );
      const devLog = log.child({ module: "dev" });
      logConsoleCalls(chain.headVM.evm.events as never, log.child({ module: "console" }));
      const devChain = new DevChain({ chain, producer, mempool, signer, accounts, log: devLog });
      const devState = new DevStateStore({ chain, producer, mempool, log: devLog });
      if (cfg.dev.loadStateFile !== undefined && existsSync(cfg.dev.loadStateFile)) {
        await devState.load(readFileSync(cfg.dev.loadStateFile));
      }
      const dumpStateFile = cfg.dev.dumpStateFile;
      pipeline = {
        start: () => producer.start(),
        stop: async () => {
          await producer.stop();
          if (dumpStateFile !== undefined) {
            writeFileSync(dumpStateFile, await devState.dump());
            devLog.info("dumped dev state", { file: dumpStateFile });
          }
        },
        status: () => ({ mode: "dev", round: 0, step: "commit", peers: 0, catching_up: false }),
        devMethods: (backend) =>
          createDevMethods({ dev: devChain, accounts, backend, mempool, common, state: devState }),
        peerCount: () => 0,
      };
    } else {
      if (cfg.nodeKeyFile === undefined) throw new Error("network mode needs nodeKeyFile in the config");
      // libp2p and its dependencies (~370 modules) only in network mode: a dev node never loads them (issue 14,
      // README); test/unit/node/cliProgram.test.ts keeps them out of node/nodeCommands.ts' static imports.
      const { P2PNetwork } = await import("./network/network.js");
      const network = await P2PNetwork.create(
        {
          ...DEFAULT_P2P_OPTIONS,
          chainId: spec.chainId,
          listen: cfg.p2p.listen,
          bootstrap: cfg.p2p.bootstrap,
          nodeKeySeed: readSeed(cfg.nodeKeyFile, "node"),
        },
        { log: log.child({ module: "p2p" }), metrics: createNetworkMetrics(metrics.register) },
      );
      cleanup.push(() => network.stop());
      const signer =
        cfg.validatorKeyFile === undefined
          ? null
          : await GuardedSigner.open({
              stateFile: join(dataDir, SIGNER_STATE_FILE),
              seed: await loadValidatorSeed(cfg.validatorKeyFile, { file: cfg.validatorKeyPasswordFile }),
              log: log.child({ module: "signer" }),
            });
      const wal =
        signer === null ? null : await ConsensusWAL.open(join(dataDir, "wal"), { log: log.child({ module: "wal" }) });
      if (wal !== null) cleanup.push(() => wal.close());
      if (signer !== null) cleanup.push(async () => signer.close());
      const app = new ChainApp({
        chain,
        mempool,
        verifier,
        log: log.child({ module: "app" }),
        stages: metrics.txStages,
      });
      // Block figures (transactions, gas) of every block committed, by consensus or block sync.
      chain.onBlock((block) => metrics.blockFinalized(block));
      const driver = createConsensus({
        chain,
        app,
        mempool,
        network,
        signer,
        wal,
        verifier,
        log: log.child({ module: "consensus" }),
        minBlockIntervalMs: cfg.consensus.minBlockIntervalMs,
        metrics: metrics.consensus,
        stages: metrics.txStages,
        syncMetrics: createSyncMetrics(metrics.register),
        onStep: (s) => {
          if (s.step === "commit") metrics.headHeight.set(Number(chain.head.header.number));
        },
        onHalt: (reason) => fatal(new ConsensusHaltedError(reason)),
      });
      // Transactions reach every mempool: accepted ones are gossiped (in batches, see txBatch.ts),
      // gossiped ones admitted. A batch is accepted (and forwarded) when it brought anything new,
      // ignored when every tx was already known or no longer fits this pool's state, and rejected
      // when it is malformed or holds a tx no honest peer would have accepted.
      const txBatcher = new TxBatcher((batch) => void network.publish("tx", batch).catch(() => undefined));
      network.onGossip("tx", async (data) => {
        let raws: Uint8Array[];
        try {
          raws = decodeTxBatch(data);
        } catch (e) {
          throw new GossipActionError(GossipAction.REJECT, {
            code: "TX_BATCH_MALFORMED",
            reason: (e as Error).message,
          });
        }
        let admitted = 0;
        let firstError: { code: string; reason: string } | null = null;
        for (const raw of raws) {
          try {
            await mempool.add(await decoder.decode(raw));
            admitted++;
          } catch (e) {
            if (!isMempoolError(e)) {
              throw new GossipActionError(GossipAction.REJECT, {
                code: "MEMPOOL_INVALID_TX",
                reason: (e as Error).message,
              });
            }
            if (STATELESS_TX_ERRORS.has(e.type.code)) {
              throw new GossipActionError(GossipAction.REJECT, { code: e.type.code, reason: e.message });
            }
            firstError ??= { code: e.type.code, reason: e.message };
          }
        }
        if (admitted === 0 && firstError !== null) throw new GossipActionError(GossipAction.IGNORE, firstError);
      });
      pipeline = {
        start: () => driver.start(),
        stop: async () => {
          txBatcher.close();
          await driver.stop();
        },
        status: () => {
          const d = driver.status();
          return {
            mode: d.isValidator ? "validator" : "full node",
            round: d.round,
            step: d.step,
            consensusHeight: d.height.toString(),
            lastSignedHeight: d.lastSignedHeight.toString(),
            peers: network.peers(),
            peerId: network.peerId,
            p2pAddresses: network.multiaddrs(),
            catching_up: d.catchingUp,
          };
        },
        onTxAccepted: (raw) => txBatcher.add(raw),
        peerCount: () => network.peers().length,
      };
    }

    const startedAt = Date.now();
    const status = async () => {
      const head = chain.head;
      const stats = mempool.stats();
      metrics.mempoolSize.set({ state: "pending" }, stats.pending);
      metrics.mempoolSize.set({ state: "queued" }, stats.queued);
      return {
        version: VERSION,
        chainId: spec.chainId.toString(),
        networkName: spec.networkName,
        genesisHash: bytesToHex(chain.genesisHash),
        height: head.header.number.toString(),
        hash: bytesToHex(head.hash),
        timestamp: head.header.timestamp.toString(),
        stateRoot: bytesToHex(head.header.stateRoot),
        ...pipeline.status(),
        // The validators of the next height (the set changes on chain); genesis names where known.
        validators: (chain.validators.validators(head.header.number + 1n) ?? []).map((v) => {
          const g = spec.validators.findIndex((x) => equalsBytes(x.publicKey, v.publicKey));
          return {
            name: g >= 0 ? spec.validatorNames[g] : "",
            address: bytesToHex(v.address),
            publicKey: bytesToHex(v.publicKey),
            votingPower: v.votingPower.toString(),
          };
        }),
        mempool: stats,
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
        dataDir,
      };
    };

    // EVM simulations for RPC run on worker threads; they read state through this thread's database.
    const simulations = new SimulationPool(
      {
        chainId: spec.chainId,
        gasCap: BigInt(cfg.rpc.gasCap),
        workers: evmWorkers,
        queue: cfg.rpc.evmQueue,
        timeoutMs: cfg.rpc.evmTimeoutMs,
        nodeCacheBytes: caches.perSimulationWorker,
      },
      {
        host: { getNode: (key) => chain.trieStore.get(key), getBlockHash: (n) => chain.getBlockHash(n) },
        log: log.child({ module: "simulation" }),
        metrics: createSimulationMetrics(metrics.register),
      },
    );
    cleanup.push(() => simulations.close());
    const backend = new NodeBackend({
      chain,
      mempool,
      readers,
      simulations,
      logsMaxResults: cfg.rpc.logsMaxResults,
      callCacheEntries: cfg.rpc.callCacheEntries,
      blockCacheBytes: caches.rpcBlocks,
      log: log.child({ module: "rpc" }),
      metrics,
      clientVersion: `azora/v${VERSION}/${process.platform}-${process.arch}/node${process.versions.node}`,
      decoder,
      status,
      trace: new NodeTraceBackend(
        { concurrency: cfg.rpc.traceConcurrency, maxBytes: cfg.rpc.traceMaxBytes },
        { chain, simulations },
      ),
      onTxAccepted: pipeline.onTxAccepted,
      peerCount: () => pipeline.peerCount(),
      simulateMaxBytes: cfg.rpc.maxResponseBytes,
    });
    const logsMaxBlockRange = BigInt(cfg.rpc.logsMaxBlockRange);
    const logQueries = new LogQueries();
    const filters = createFilterMethods(backend, {
      ...DEFAULT_FILTER_OPTIONS,
      maxFilters: cfg.rpc.maxFilters,
      maxFiltersPerClient: cfg.rpc.maxFiltersPerClient,
      logsMaxBlockRange,
      logQueries,
    });
    cleanup.push(async () => filters.dispose());
    const subscriptionSource = createEthSubscriptionSource(backend);
    cleanup.push(async () => subscriptionSource.dispose());
    const methods: MethodTable = {
      ...createWeb3NetMethods(backend),
      ...createEthMethods(backend, { logsMaxBlockRange, logQueries }),
      ...createDebugMethods(backend),
      ...filters.methods,
      ...createSubscriptionMethods(subscriptionSource, {
        maxPerConnection: cfg.rpc.maxSubscriptionsPerConnection,
        maxPerClient: cfg.rpc.maxSubscriptionsPerClient,
        logger: log.child({ module: "ws" }),
      }),
      ...createAzoraMethods(backend, mempool, chain),
      ...createParamsMethods(backend, (height) => chain.params.at(height)),
      ...pipeline.devMethods?.(backend),
    };
    const server = createRPCServer({
      host: cfg.rpc.host,
      port: cfg.rpc.port,
      methods,
      logger: log.child({ module: "rpc" }),
      bodyLimitBytes: cfg.rpc.bodyLimitBytes,
      batchLimit: cfg.rpc.batchLimit,
      batchMaxCost: cfg.rpc.batchMaxCost,
      maxResponseBytes: cfg.rpc.maxResponseBytes,
      requestTimeoutMs: cfg.rpc.requestTimeoutMs,
      wsMaxConnections: cfg.rpc.wsMaxConnections,
      wsMaxConnectionsPerClient: cfg.rpc.wsMaxConnectionsPerClient,
      httpFront: cfg.rpc.httpFront,
      metrics: { observe: (m, s, ok) => metrics.rpcObserve(m, s, ok) },
      routes: {
        metrics: async () => ({ contentType: metrics.register.contentType, body: await metrics.register.metrics() }),
        health: async () => ({ ok: true, body: { ok: true, height: chain.head.header.number.toString() } }),
        extra: [{ method: "GET", url: "/status", handler: status }],
      },
    });
    const address = await server.listen();
    cleanup.push(() => pipeline.stop());
    cleanup.push(() => server.close());
    await pipeline.start();

    let closing: Promise<void> | null = null;
    return {
      rpc: address,
      chain,
      spec,
      dataDir,
      metrics,
      close() {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
