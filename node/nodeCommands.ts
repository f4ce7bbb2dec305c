/**
 * What `azora dev` and `azora start` run: start the node, print its banner, stop it on a signal or a fatal
 * failure. node/cliProgram.ts holds these commands' definitions and imports this module only when one of them runs
 * (it loads the whole node).
 */
import { resolve } from "node:path";
import type { ChainParams } from "../runtime/params.js";
import { bytesToHex } from "../runtime/primitives/bytes.js";
import { startCPUProfile } from "./cliArgs.js";
import { loadConfigFile, loadHomeConfig, resolveConfig } from "./config.js";
import { devAccounts } from "./dev/accounts.js";
import { createLogger, type LogLevel } from "./logger.js";
import { startDevNode, startNode } from "./node.js";
import { installNodeShutdown } from "./nodeShutdown.js";
import { rpcLimitFlags } from "./rpc/options.js";
import { VERSION } from "./version.js";

function formatAZR(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  return `${whole.toLocaleString("en-US")} AZR`;
}

export interface DevFlags {
  config?: string;
  dataDir?: string;
  genesis?: string;
  rpcHost?: string;
  rpcPort?: number;
  blockTime?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
  syncWrites?: boolean;
  cpuProfile?: string;
  unlockedAccounts?: boolean;
  dumpState?: string;
  loadState?: string;
  /** The `--rpc-*` limit flags (see rpc/options.ts). */
  [rpcLimit: string]: unknown;
}

export async function runDev(flags: DevFlags): Promise<void> {
  const cfg = resolveConfig(flags.config === undefined ? undefined : loadConfigFile(flags.config), {
    dataDir: flags.dataDir,
    genesisFile: flags.genesis,
    rpc: { host: flags.rpcHost, port: flags.rpcPort, ...rpcLimitFlags(flags) },
    blockTimeMs: flags.blockTime,
    log: { level: flags.logLevel, format: flags.logFormat },
    storage: { syncWrites: flags.syncWrites },
    dev: {
      unlockedAccounts: flags.unlockedAccounts,
      dumpStateFile: flags.dumpState === undefined ? undefined : resolve(flags.dumpState),
      loadStateFile: flags.loadState === undefined ? undefined : resolve(flags.loadState),
    },
  });
  const { logger, flush } = createLogger(cfg.log);
  const stopProfile = flags.cpuProfile === undefined ? null : await startCPUProfile(flags.cpuProfile);
  const fatal = lateFatal();
  const node = await startDevNode(cfg, logger, { onFatal: fatal.hook });
  // Before the banner: whoever waits for it may signal the node at once.
  fatal.bind(installShutdown(node, logger, flush, stopProfile));

  // From DEV_KEYS: no seed derivation (PBKDF2) and no ethers at start.
  const accounts = devAccounts();
  const balances = new Map(node.spec.alloc.map((a) => [bytesToHex(a.address), a.balance]));
  const lines = [
    "",
    `  Azora Chain v${VERSION} — single-validator devnet`,
    "",
    `  Chain ID      ${node.spec.chainId} (${node.spec.networkName})`,
    `  RPC URL       ${node.rpc.url}   (WebSocket: ${node.rpc.wsUrl})`,
    `  Data dir      ${node.dataDir}`,
    `  Head          block ${node.chain.head.header.number} ${bytesToHex(node.chain.head.hash)}`,
    `  Blocks        ${cfg.blockTimeMs === undefined ? `as soon as transactions wait; an empty block every ${nextParams(node).consensus.emptyBlockIntervalMs} ms otherwise` : `every ${cfg.blockTimeMs} ms`}`,
    `  Metrics       ${node.rpc.url}/metrics   Health ${node.rpc.url}/health   Status ${node.rpc.url}/status`,
    "",
    `  Dev accounts (mnemonic: test test test test test test test test test test test junk)${cfg.dev.unlockedAccounts ? ", unlocked: eth_accounts lists them and the node signs for them" : ""}`,
    "  NEVER send real value to these keys: everyone knows them.",
    "",
    ...accounts.map((w, i) => {
      const bal = balances.get(w.address.toLowerCase() as `0x${string}`) ?? 0n;
      return `  (${i}) ${w.address}  ${formatAZR(bal)}\n      key ${w.privateKey}`;
    }),
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  logger.info("node started", { chainId: node.spec.chainId.toString(), rpc: node.rpc.url, dataDir: node.dataDir });
}

/**
 * The node's fatal hook, bound to the shutdown once it is installed (a failure before that fails the
 * start itself, whose error the command prints).
 */
function lateFatal(): { hook: (e: Error) => void; bind(stop: (e: Error) => void): void } {
  let target: ((e: Error) => void) | null = null;
  let early: Error | null = null;
  return {
    hook: (e) => {
      if (target !== null) target(e);
      else early ??= e;
    },
    bind(stop) {
      target = stop;
      if (early !== null) stop(early);
    },
  };
}

export interface StartFlags {
  home: string;
  validatorPasswordFile?: string;
  rpcPort?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
  cpuProfile?: string;
  /** The `--rpc-*` limit flags (see rpc/options.ts). */
  [rpcLimit: string]: unknown;
}

/** `azora start --home DIR`: a validator (or a full node without a validator key) of a network. */
export async function runStart(flags: StartFlags): Promise<void> {
  const home = resolve(flags.home);
  const cfg = loadHomeConfig(home, {
    validatorKeyPasswordFile:
      flags.validatorPasswordFile === undefined ? undefined : resolve(flags.validatorPasswordFile),
    rpc: { port: flags.rpcPort, ...rpcLimitFlags(flags) },
    log: { level: flags.logLevel, format: flags.logFormat },
  });
  const { logger, flush } = createLogger(cfg.log);
  const stopProfile = flags.cpuProfile === undefined ? null : await startCPUProfile(flags.cpuProfile);
  const fatal = lateFatal();
  const node = await startNode(cfg, logger, { kind: "network", home }, { onFatal: fatal.hook });
  // Before the banner: whoever waits for it may signal the node at once.
  fatal.bind(installShutdown(node, logger, flush, stopProfile));
  const status = (await (await fetch(`${node.rpc.url}/status`)).json()) as Record<string, unknown>;
  const lines = [
    "",
    `  Azora Chain v${VERSION} — ${String(status.mode)}`,
    "",
    `  Chain ID      ${node.spec.chainId} (${node.spec.networkName})`,
    `  RPC URL       ${node.rpc.url}   (WebSocket: ${node.rpc.wsUrl})`,
    `  Data dir      ${node.dataDir}`,
    `  Head          block ${node.chain.head.header.number} ${bytesToHex(node.chain.head.hash)}`,
    `  Peer ID       ${String(status.peerId)}`,
    `  P2P           ${(status.p2pAddresses as string[]).join(" ")}`,
    `  Validators    ${node.chain.validators.validators(node.chain.head.header.number + 1n)?.length ?? 0} (empty block every ${nextParams(node).consensus.emptyBlockIntervalMs} ms)`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  logger.info("node started", { chainId: node.spec.chainId.toString(), rpc: node.rpc.url, dataDir: node.dataDir });
}

/** The chain parameters of the height the node works on (genesis, or as governance changed them). */
function nextParams(node: { chain: { head: { header: { number: bigint } }; params: { at(h: bigint): ChainParams } } }) {
  return node.chain.params.at(node.chain.head.header.number + 1n);
}

/** Stops the node on SIGINT/SIGTERM and on a fatal failure (node/nodeShutdown.ts); returns the fatal trigger. */
function installShutdown(
  node: { close(): Promise<void>; chain: { head: { header: { number: bigint } } } },
  logger: ReturnType<typeof createLogger>["logger"],
  flush: () => void,
  stopProfile: (() => Promise<string>) | null,
): (e: Error) => void {
  return installNodeShutdown({
    close: () => node.close(),
    afterClose:
      stopProfile === null ? undefined : async () => logger.info("wrote CPU profile", { file: await stopProfile() }),
    height: () => node.chain.head.header.number.toString(),
    logger,
    flush,
  });
}
