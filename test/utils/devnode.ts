import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RPCConfig, resolveConfig } from "../../node/config.js";
import { createLogger } from "../../node/logger.js";
import { type RunningNode, startDevNode } from "../../node/node.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(REPO_ROOT, "dist/node/cli.js");

export { DEV_KEYS } from "../../genesis/devnet.js";
export const DEV_CHAIN_ID = 16730n;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `azora-${prefix}-`));
}

/**
 * An in-process dev node on an ephemeral port with a fresh LevelDB (fast; for RPC method tests). It
 * runs without fsyncs (`--no-sync-writes`): durability is tested with real processes (`spawnNode`),
 * and a test that mines 10,000 blocks should not wait for two disk syncs per block.
 */
export async function startInProcessNode(
  opts: { dataDir?: string; blockTimeMs?: number; rpc?: Partial<RPCConfig> } = {},
): Promise<RunningNode & { url: string; wsUrl: string; cleanup: () => Promise<void> }> {
  const dataDir = opts.dataDir ?? tempDir("node");
  const cfg = resolveConfig(undefined, {
    dataDir,
    rpc: { ...opts.rpc, port: 0 },
    blockTimeMs: opts.blockTimeMs,
    log: { level: "silent" },
    storage: { syncWrites: false },
  });
  const { logger } = createLogger({ level: "silent", format: "json" });
  const node = await startDevNode(cfg, logger);
  return {
    ...node,
    url: node.rpc.url,
    wsUrl: node.rpc.wsUrl,
    cleanup: async () => {
      await node.close();
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A real `azora dev` child process (built CLI), on a port the node picks itself (`--rpc-port 0`). */
export interface NodeProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown code runs (crash test). */
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnNode(
  dataDir: string,
  extraArgs: string[] = [],
  startTimeoutMs = 30_000,
): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [CLI, "dev", "--data-dir", dataDir, "--rpc-port", "0", "--log-format", "json", ...extraArgs],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // a node that never started must not outlive the test that spawned it
      rej(new Error(`node did not start within ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
    const check = () => {
      const m = /RPC URL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        res(m[1]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`node exited with ${code} before starting:\n${out}`));
    });
  });
  return {
    url,
    wsUrl: url.replace("http://", "ws://"),
    child,
    output: () => out,
    kill9: async () => {
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A finished `azora …` run: exit code and everything it printed (stdout and stderr). */
export interface CLIRun {
  code: number | null;
  output: string;
}

/**
 * Runs the built CLI to completion (`azora db …`, or a node expected to refuse to start); kills it
 * after `timeoutMs` and says so in the output.
 */
export function runCLI(args: string[], timeoutMs = 60_000): Promise<CLIRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d) => {
    output += d.toString();
  });
  return new Promise((res) => {
    const timer = setTimeout(() => {
      output += `\n[runCLI: killed after ${timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      res({ code, output });
    });
  });
}
