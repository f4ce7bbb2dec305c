/**
 * The `azora` command tree. Every command's definition (name, options, help) is registered here or by its
 * module's register function, but a command's implementation loads only when it runs: `dev` and `start`
 * import nodeCommands.ts (the whole node) in their actions, and each group of other commands lives in a
 * module (with its heavy imports: ethers, services, the chain database…) that is imported only when the
 * command line names one of its commands — or names none (`azora --help`, a typo), to list them all.
 * Importing this module loads commander and a few small modules, nothing else.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import type { MarketPreset } from "../genesis/network.js";
import { intArg } from "./cliArgs.js";
import { LOG_LEVELS } from "./logger.js";
import type { DevFlags, StartFlags } from "./nodeCommands.js";
import { addRPCLimitOptions } from "./rpc/options.js";
import { VERSION } from "./version.js";

function defineProgram(): Command {
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
    .option(
      "--no-sync-writes",
      "do not fsync each block (faster; a power loss may lose recent blocks, a crash does not)",
    )
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
      await (await import("./nodeCommands.js")).runDev(flags);
    });
  addRPCLimitOptions(devCommand);

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
        const { initNetwork } = await import("./localnet.js");
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
    .action(async (o: StartFlags) => (await import("./nodeCommands.js")).runStart(o));
  addRPCLimitOptions(startCommand);

  program
    .command("localnet")
    .description("Run a local network: `init` it if needed, start every node as a child process, stop all on Ctrl-C")
    .option("--out <dir>", "network directory", "./data/localnet")
    .option("--validators <n>", "validators", intArg("--validators", 1, 20), 4)
    .option("--base-port <port>", "JSON-RPC of node i on base+i", intArg("--base-port", 1024, 60000), 8545)
    .action(async (o: { out: string; validators: number; basePort: number }) => {
      const out = resolve(o.out);
      const { initNetwork } = await import("./localnet.js");
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
      const cli = fileURLToPath(new URL("./cli.js", import.meta.url));
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
  return program;
}

/**
 * The command modules, in the order `azora --help` lists them, with the top-level commands each registers
 * (test/unit/node/cliProgram.test.ts checks that these names match what each module registers).
 */
export const COMMAND_MODULES: readonly { commands: readonly string[]; load(): Promise<(program: Command) => void> }[] =
  [
    { commands: ["keys"], load: async () => (await import("./keys/commands.js")).registerKeyCommands },
    {
      commands: ["validator", "stake", "gov"],
      load: async () => (await import("./stakingCommands.js")).registerStakingCommands,
    },
    { commands: ["worker", "job"], load: async () => (await import("./serviceCommands.js")).registerServiceCommands },
    { commands: ["db"], load: async () => (await import("./dbCommands.js")).registerDbCommands },
    { commands: ["storage"], load: async () => (await import("./storageCommands.js")).registerStorageCommands },
    { commands: ["push"], load: async () => (await import("./pushCommands.js")).registerPushCommands },
    { commands: ["auth"], load: async () => (await import("./authCommands.js")).registerAuthCommands },
    { commands: ["mail"], load: async () => (await import("./mailCommands.js")).registerMailCommands },
    { commands: ["search"], load: async () => (await import("./searchCommands.js")).registerSearchCommands },
    { commands: ["explorer"], load: async () => (await import("./explorerCommands.js")).registerExplorerCommands },
  ];

/** The commands defined in this module (their implementations load in their actions). */
export const BUILTIN_COMMANDS: readonly string[] = ["dev", "init", "start", "localnet"];

/**
 * Which command modules `args` (the command line after `azora`) needs: none for a built-in command, the one
 * registering a named command, and all of them when no known command leads the line (`--help`, `help`,
 * `--version`, nothing, a misspelt command that commander should answer with the list or a suggestion).
 */
export function commandModulesFor(args: readonly string[]): typeof COMMAND_MODULES {
  const first = args[0];
  if (first !== undefined && BUILTIN_COMMANDS.includes(first)) return [];
  const owner = COMMAND_MODULES.find((m) => first !== undefined && m.commands.includes(first));
  return owner === undefined ? COMMAND_MODULES : [owner];
}

/** The `azora` program with the commands `args` needs registered (all of them to render the full help). */
export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = defineProgram();
  for (const m of commandModulesFor(args)) (await m.load())(program);
  return program;
}
