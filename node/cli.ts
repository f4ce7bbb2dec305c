#!/usr/bin/env node
import "./polyfill.js";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { HDNodeWallet } from "ethers";
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC, devAccountPath } from "../genesis/devnet.js";
import type { MarketPreset } from "../genesis/network.js";
import type { ChainParams } from "../runtime/params.js";
import { bytesToHex } from "../runtime/primitives/bytes.js";
import { registerAuthCommands } from "./authCommands.js";
import { loadConfigFile, loadHomeConfig, resolveConfig } from "./config.js";
import { registerDbCommands } from "./dbCommands.js";
import { registerExplorerCommands } from "./explorerCommands.js";
import { registerKeyCommands } from "./keys/commands.js";
import { initNetwork } from "./localnet.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { registerMailCommands } from "./mailCommands.js";
import { startDevNode, startNode } from "./node.js";
import { registerPushCommands } from "./pushCommands.js";
import { addRPCLimitOptions, rpcLimitFlags } from "./rpc/options.js";
import { registerSearchCommands } from "./searchCommands.js";
import { registerServiceCommands } from "./serviceCommands.js";
import { registerStakingCommands } from "./stakingCommands.js";
import { registerStorageCommands } from "./storageCommands.js";
import { VERSION } from "./version.js";

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

function formatAZR(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  return `${whole.toLocaleString("en-US")} AZR`;
}

interface DevFlags {
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

/** V8 CPU profile of the whole run (open the .cpuprofile in Chrome DevTools); written at shutdown. */
async function startCPUProfile(file: string): Promise<() => Promise<string>> {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    return file;
  };
}

async function runDev(flags: DevFlags): Promise<void> {
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

  const accounts = Array.from({ length: DEV_ACCOUNT_COUNT }, (_, i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
  );
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

const program = new Command()
  .name("azora")
  .description("Azora Chain node: BFT consensus, an EVM with native ledger modules, Ethereum JSON-RPC")
  .version(VERSION, "-v, --version")
  .showHelpAfterError();

const devCommand = program
  .command("dev")
  .description("Run a single-validator devnet with funded dev accounts (what `npm start` runs)")
  .option("-c, --config <file>", "JSON config file (keys as in README; flags override it)")
  .option("--data-dir <dir>", "where the chain's LevelDB lives (default ./data/dev)")
  .option("--genesis <file>", "genesis JSON (default: the built-in devnet genesis)")
  .option("--rpc-host <host>", "JSON-RPC listen address (default 127.0.0.1)")
  .option("--rpc-port <port>", "JSON-RPC port, HTTP and WebSocket (default 8545)", intArg("--rpc-port", 0, 65535))
  .option(
    "--block-time <ms>",
    "make a block every <ms> ms; without it a block is made as soon as transactions wait (and an empty one every few seconds)",
    intArg("--block-time", 1, 3_600_000),
  )
  .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
  .addOption(
    new Option("--log-format <format>", "log format (default: pretty on a terminal, else JSON)").choices([
      "json",
      "pretty",
    ]),
  )
  .option("--no-sync-writes", "do not fsync each block (faster; a power loss may lose recent blocks, a crash does not)")
  .option("--cpu-profile <file>", "record a V8 CPU profile of the run and write it to <file> on shutdown")
  .option(
    "--no-unlocked-accounts",
    "do not unlock the 10 dev accounts (eth_accounts empty; eth_sendTransaction and the signing methods refuse them)",
  )
  .option(
    "--dump-state <file>",
    "write the head state to <file> at shutdown (what anvil_dumpState returns: azora's own format, not Anvil's)",
  )
  .option(
    "--load-state <file>",
    "at start, when <file> exists, replace the head state with its state (a --dump-state or anvil_dumpState output)",
  )
  .action(async (opts: DevFlags & { syncWrites: boolean; unlockedAccounts: boolean }) => {
    // commander sets syncWrites/unlockedAccounts=true by default; only pass them when the flag was given.
    const flags: DevFlags = {
      ...opts,
      syncWrites: opts.syncWrites === false ? false : undefined,
      unlockedAccounts: opts.unlockedAccounts === false ? false : undefined,
    };
    await runDev(flags);
  });
addRPCLimitOptions(devCommand);

interface StartFlags {
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
async function runStart(flags: StartFlags): Promise<void> {
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

/** How long a shutdown after a fatal failure may take before the process exits anyway. */
const FATAL_SHUTDOWN_MS = 10_000;

/**
 * Stops the node on SIGINT/SIGTERM (exit 0) and on a fatal failure (exit 1, the cause on stderr as
 * well as in the log); returns the fatal trigger.
 */
function installShutdown(
  node: { close(): Promise<void>; chain: { head: { header: { number: bigint } } } },
  logger: ReturnType<typeof createLogger>["logger"],
  flush: () => void,
  stopProfile: (() => Promise<string>) | null,
): (e: Error) => void {
  let stopping = false;
  const stop = async (signal: string, failure: Error | null) => {
    if (stopping) return;
    stopping = true;
    if (failure === null) logger.info("shutting down", { signal });
    else logger.error("stopping after a fatal failure", { reason: failure.message }, failure);
    let code = failure === null ? 0 : 1;
    try {
      // After a failure, shutdown is bounded: an HTTP client's keep-alive connection can hold the RPC
      // server's close for its whole timeout, and exiting without closing is no worse than a crash,
      // which the node survives (every block write is one atomic batch).
      const deadline =
        failure === null
          ? null
          : new Promise<"timeout">((res) => setTimeout(() => res("timeout"), FATAL_SHUTDOWN_MS).unref());
      const closed = node.close().then(() => "closed" as const);
      if ((await (deadline === null ? closed : Promise.race([closed, deadline]))) === "timeout") {
        throw new Error(`shutdown did not finish within ${FATAL_SHUTDOWN_MS} ms`);
      }
      if (stopProfile !== null) logger.info("wrote CPU profile", { file: await stopProfile() });
      logger.info(failure === null ? "stopped cleanly" : "stopped", {
        height: node.chain.head.header.number.toString(),
      });
    } catch (e) {
      logger.error("shutdown failed", {}, e);
      code = 1;
    }
    flush();
    if (failure !== null) process.stderr.write(`azora: stopped: ${failure.message}\n`);
    process.exit(code);
  };
  process.on("SIGINT", () => void stop("SIGINT", null));
  process.on("SIGTERM", () => void stop("SIGTERM", null));
  return (e) => void stop("fatal", e);
}

program
  .command("init")
  .description("Write a genesis and one home per node (keys, config with bootstrap peers) for a local network")
  .requiredOption("--out <dir>", "where to write genesis.json and node0 … node{N-1}")
  .option("--validators <n>", "validators (each gets an ed25519 key)", intArg("--validators", 1, 100), 4)
  .option("--full-nodes <n>", "extra nodes without a validator key", intArg("--full-nodes", 0, 100), 0)
  .option(
    "--base-port <port>",
    "node i serves JSON-RPC on base+i and libp2p on base+1000+i",
    intArg("--base-port", 1024, 60000),
    8545,
  )
  .option("--chain-id <id>", "chain id of the new network", intArg("--chain-id", 1, 2 ** 31), 16731)
  .option(
    "--empty-block-interval <ms>",
    "genesis consensus.emptyBlockIntervalMs: how often an idle chain makes a block (default 3000)",
    intArg("--empty-block-interval", 10, 3_600_000),
  )
  .addOption(
    new Option(
      "--market-preset <preset>",
      "job market parameters in genesis: devnet (windows up to 1 h) or production (up to 7 days, 30-day unbonding)",
    )
      .choices(["devnet", "production"])
      .default("devnet"),
  )
  .action(
    async (o: {
      out: string;
      validators: number;
      fullNodes: number;
      basePort: number;
      chainId: number;
      emptyBlockInterval?: number;
      marketPreset: MarketPreset;
    }) => {
      const r = await initNetwork({ ...o, p2pOffset: 1000, emptyBlockIntervalMs: o.emptyBlockInterval });
      process.stdout.write(
        `wrote ${r.genesisFile}\n${r.homes.map((h, i) => `  ${h}  (RPC ${r.rpcUrls[i]})`).join("\n")}\n` +
          `start each with: azora start --home <home>\n`,
      );
    },
  );

const startCommand = program
  .command("start")
  .description("Run a validator, or a full node when the home has no validator key (see `azora init`)")
  .requiredOption("--home <dir>", "node home written by `azora init` (config.json, keys, genesis)")
  .option("--rpc-port <port>", "override the config's JSON-RPC port", intArg("--rpc-port", 0, 65535))
  .option(
    "--validator-password-file <file>",
    "password of an encrypted validator key, first line of <file> (else config validatorKeyPasswordFile, AZORA_VALIDATOR_KEY_PASSWORD, or asked on the terminal)",
  )
  .addOption(new Option("--log-level <level>", "log level").choices(LOG_LEVELS))
  .addOption(new Option("--log-format <format>", "log format").choices(["json", "pretty"]))
  .option("--cpu-profile <file>", "record a V8 CPU profile of the run and write it to <file> on shutdown")
  .action((o: StartFlags) => runStart(o));
addRPCLimitOptions(startCommand);

program
  .command("localnet")
  .description("Run a local network: `init` it if needed, start every node as a child process, stop all on Ctrl-C")
  .option("--out <dir>", "network directory", "./data/localnet")
  .option("--validators <n>", "validators", intArg("--validators", 1, 20), 4)
  .option("--base-port <port>", "JSON-RPC of node i on base+i", intArg("--base-port", 1024, 60000), 8545)
  .action(async (o: { out: string; validators: number; basePort: number }) => {
    const out = resolve(o.out);
    if (!existsSync(join(out, "genesis.json"))) {
      await initNetwork({
        out,
        validators: o.validators,
        fullNodes: 0,
        basePort: o.basePort,
        chainId: 16731,
        p2pOffset: 1000,
      });
    }
    const cli = fileURLToPath(import.meta.url);
    const children: ChildProcess[] = [];
    for (let i = 0; i < o.validators; i++) {
      const child = spawn(process.execPath, [cli, "start", "--home", join(out, `node${i}`), "--log-format", "json"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const prefix = `[node${i}] `;
      for (const stream of [child.stdout, child.stderr]) {
        stream?.on("data", (d: Buffer) => process.stdout.write(d.toString().replace(/^(?=.)/gm, prefix)));
      }
      children.push(child);
    }
    process.stdout.write(
      `localnet: ${o.validators} validators, JSON-RPC on 127.0.0.1:${o.basePort}–${o.basePort + o.validators - 1}; Ctrl-C stops them all\n`,
    );
    const stopAll = () => {
      for (const c of children) c.kill("SIGTERM");
    };
    process.on("SIGINT", stopAll);
    process.on("SIGTERM", stopAll);
    await Promise.all(children.map((c) => new Promise((r) => c.once("exit", r))));
  });

registerKeyCommands(program);
registerStakingCommands(program);
registerServiceCommands(program);
registerDbCommands(program);

// Last resort: every known failure path is handled where it happens; anything reaching these is a
// bug, and exits non-zero with its cause instead of leaving a half-running node.
process.on("unhandledRejection", (e: unknown) => {
  process.stderr.write(`azora: unhandled rejection (a bug): ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
registerStorageCommands(program);
registerPushCommands(program);
registerAuthCommands(program);
registerMailCommands(program);
registerSearchCommands(program);
registerExplorerCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  process.stderr.write(`azora: ${process.env.AZORA_DEBUG ? err.stack : err.message}\n`);
  process.exit(1);
});
