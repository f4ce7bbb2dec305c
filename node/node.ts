import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEV_VALIDATOR_SEED_HEX, devnetGenesis } from "../genesis/devnet.js";
import { type GenesisSpec, parseGenesis } from "../genesis/spec.js";
import { createEthSubscriptionSource, createFilterMethods } from "../rpc/filters.js";
import { createEthMethods, createWeb3NetMethods } from "../rpc/methods/eth.js";
import { createRPCServer, type RPCServerAddress } from "../rpc/server.js";
import { createSubscriptionMethods } from "../rpc/subscriptions.js";
import type { MethodTable } from "../rpc/types.js";
import { createChainCommon } from "../runtime/evm/common.js";
import type { Logger } from "../runtime/lib/logger.js";
import { bytesToHex, equalsBytes, hexToBytes } from "../runtime/primitives/bytes.js";
import { Chain } from "./chain/chain.js";
import { mempoolOptions, type NodeConfig } from "./config.js";
import { Ed25519Signer, Ed25519Verifier } from "./crypto/ed25519.js";
import { ChainDB } from "./db/chainDb.js";
import { Mempool, ParallelDecoder } from "./mempool/index.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { BlockProducer } from "./producer/blockProducer.js";
import { createAzoraMethods, createDevBackend, createDevMethods } from "./rpc/extraMethods.js";
import { NodeBackend } from "./rpc/nodeBackend.js";
import { StateReaders } from "./state/readers.js";
import { VERSION } from "./version.js";

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
 * Starts a single-validator dev node: LevelDB chain, mempool, the block pipeline and JSON-RPC.
 * The composition root: the only place where the pieces are wired together.
 */
export async function startDevNode(cfg: NodeConfig, log: Logger): Promise<RunningNode> {
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const spec = loadGenesis(cfg);
  const common = createChainCommon(spec.chainId);
  const metrics = createMetrics();

  const db = await ChainDB.open(join(dataDir, "chaindata"), { syncWrites: cfg.storage.syncWrites });
  let chain: Chain;
  try {
    chain = await Chain.open(db, spec, common, log.child({ module: "chain" }));
  } catch (e) {
    await db.close();
    throw e;
  }
  metrics.headHeight.set(Number(chain.head.header.number));
  const readers = new StateReaders(common, chain.trieStore, chain);
  const headView = () => readers.at(chain.head.header.stateRoot);
  const mempool = new Mempool(mempoolOptions(cfg, spec.fees.minBaseFeePerGas, spec.gasLimit), {
    state: {
      getNonce: async (a) => (await (await headView()).getAccount(hexToBytes(a as `0x${string}`))).nonce,
      getBalance: async (a) => (await (await headView()).getAccount(hexToBytes(a as `0x${string}`))).balance,
    },
    logger: log.child({ module: "mempool" }),
  });

  const signer = new Ed25519Signer(hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`));
  if (!spec.validators.some((v) => equalsBytes(v.publicKey, signer.publicKey))) {
    await db.close();
    throw new Error("dev mode needs the devnet validator key in the genesis validator set");
  }
  const producer = new BlockProducer(
    { blockTimeMs: cfg.blockTimeMs, emptyBlockIntervalMs: spec.consensus.emptyBlockIntervalMs },
    {
      chain,
      mempool,
      signer,
      verifier: new Ed25519Verifier(),
      validators: spec.validators,
      log: log.child({ module: "producer" }),
      metrics,
    },
  );

  const startedAt = Date.now();
  const status = async () => {
    const head = chain.head;
    const stats = mempool.stats();
    metrics.mempoolSize.set({ state: "pending" }, stats.pending);
    metrics.mempoolSize.set({ state: "queued" }, stats.queued);
    return {
      version: VERSION,
      mode: "dev",
      chainId: spec.chainId.toString(),
      networkName: spec.networkName,
      genesisHash: bytesToHex(chain.genesisHash),
      height: head.header.number.toString(),
      hash: bytesToHex(head.hash),
      timestamp: head.header.timestamp.toString(),
      stateRoot: bytesToHex(head.header.stateRoot),
      round: 0,
      step: "commit",
      validators: spec.validators.map((v, i) => ({
        name: spec.validatorNames[i],
        address: bytesToHex(v.address),
        publicKey: bytesToHex(v.publicKey),
        votingPower: v.votingPower.toString(),
      })),
      peers: 0,
      catching_up: false,
      mempool: stats,
      uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
      dataDir,
    };
  };

  const dev = createDevBackend(producer);
  const decoder = new ParallelDecoder(
    {
      chainId: spec.chainId,
      maxTxBytes: cfg.mempool.maxTxBytes,
      workers: cfg.mempool.decodeWorkers ?? ParallelDecoder.defaultWorkers(),
    },
    { common, log: log.child({ module: "decoder" }) },
  );
  const backend = new NodeBackend({
    chain,
    mempool,
    readers,
    log: log.child({ module: "rpc" }),
    metrics,
    clientVersion: `azora/v${VERSION}/${process.platform}-${process.arch}/node${process.versions.node}`,
    decoder,
    status,
    dev,
  });
  const filters = createFilterMethods(backend);
  const methods: MethodTable = {
    ...createWeb3NetMethods(backend),
    ...createEthMethods(backend),
    ...filters.methods,
    ...createSubscriptionMethods(createEthSubscriptionSource(backend), { logger: log.child({ module: "ws" }) }),
    ...createAzoraMethods(backend, mempool),
    ...createDevMethods(dev),
  };
  const server = createRPCServer({
    host: cfg.rpc.host,
    port: cfg.rpc.port,
    methods,
    logger: log.child({ module: "rpc" }),
    bodyLimitBytes: cfg.rpc.bodyLimitBytes,
    batchLimit: cfg.rpc.batchLimit,
    wsMaxConnections: cfg.rpc.wsMaxConnections,
    metrics: { observe: (m, s, ok) => metrics.rpcObserve(m, s, ok) },
    routes: {
      metrics: async () => ({ contentType: metrics.register.contentType, body: await metrics.register.metrics() }),
      health: async () => ({ ok: true, body: { ok: true, height: chain.head.header.number.toString() } }),
      extra: [{ method: "GET", url: "/status", handler: status }],
    },
  });
  let address: RPCServerAddress;
  try {
    address = await server.listen();
  } catch (e) {
    await db.close();
    throw e;
  }
  producer.start();

  let closing: Promise<void> | null = null;
  return {
    rpc: address,
    chain,
    spec,
    dataDir,
    metrics,
    close() {
      closing ??= (async () => {
        await server.close();
        await producer.stop();
        await decoder.close();
        filters.dispose();
        await db.close();
      })();
      return closing;
    },
  };
}
