import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { CLI, REPO_ROOT, tempDir } from "./devnode.js";

/**
 * A local BFT network of real `azora` processes for e2e tests: `azora init` into a temp dir on free
 * ports, `azora start` per node, kill -9 / SIGTERM / restart by ChildProcess handle (never by name),
 * JSON-RPC helpers and bounded polling. Every process started here is also killed by a process
 * 'exit' hook, so a crashed test run leaves nothing behind.
 */

/** Offset from a node's RPC port to its libp2p port (what `azora init` uses). */
export const P2P_OFFSET = 1000;
/**
 * Base ports are drawn below Linux's ephemeral range (32768+), so outgoing connections of other
 * processes cannot take our listen ports between the free check and the nodes binding them.
 */
const BASE_PORT_MIN = 20_000;
const BASE_PORT_MAX = 31_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `fn` every `intervalMs` until it returns something other than undefined/false/null and
 * returns that; throws naming `what` (with the last value or error) after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as T;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail =
        last instanceof Error ? last.message : JSON.stringify(last, (_, x) => (typeof x === "bigint" ? `${x}` : x));
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(intervalMs);
  }
}

export class RPCError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One JSON-RPC call over HTTP; throws RPCError for an error response. */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error !== undefined) throw new RPCError(body.error.code, `${method}: ${body.error.message}`);
  return body.result as T;
}

/** A JSON-RPC batch (chunks of 500); results in call order, errors thrown. */
export async function rpcBatch<T = unknown>(url: string, calls: { method: string; params: unknown[] }[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < calls.length; i += 500) {
    const chunk = calls.slice(i, i + 500);
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chunk.map((c, j) => ({ jsonrpc: "2.0", id: i + j, method: c.method, params: c.params }))),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { id: number; result?: T; error?: { code: number; message: string } }[];
    const byId = new Map(body.map((b) => [b.id, b]));
    for (let j = 0; j < chunk.length; j++) {
      const b = byId.get(i + j);
      if (b === undefined) throw new Error(`batch: no answer for ${chunk[j].method}`);
      if (b.error !== undefined) throw new RPCError(b.error.code, `${chunk[j].method}: ${b.error.message}`);
      out.push(b.result as T);
    }
  }
  return out;
}

export interface NodeStatus {
  height: string;
  hash: string;
  stateRoot: string;
  consensusHeight: string;
  round: number;
  step: string;
  lastSignedHeight: string;
  mode: "validator" | "full node";
  catching_up: boolean;
  peers: { id: string; address: string }[];
  peerId: string;
  p2pAddresses: string[];
}

export interface BlockSummary {
  number: string;
  hash: string;
  stateRoot: string;
  transactions: string[];
}

/** Is `port` free on 127.0.0.1 right now (bind and close)? */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A random base port whose RPC range [base, base+n) and P2P range [base+1000, base+1000+n) are free. */
export async function findFreeBasePort(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = BASE_PORT_MIN + Math.floor(Math.random() * (BASE_PORT_MAX - BASE_PORT_MIN));
    const ports = Array.from({ length: n }, (_, i) => [base + i, base + P2P_OFFSET + i]).flat();
    let ok = true;
    for (const p of ports) {
      if (!(await portFree(p))) {
        ok = false;
        break;
      }
    }
    if (ok) return base;
  }
  throw new Error("no free port range found");
}

function runCLI(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    track(child);
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`azora ${args[0]} exited ${code}:\n${out}`)),
    );
  });
}

/** Keeps the last `max` characters of a process's output (logs of a long run stay bounded). */
class OutputTail {
  private text = "";
  constructor(private readonly max = 256 * 1024) {}
  push(s: string): void {
    this.text += s;
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max);
  }
  get value(): string {
    return this.text;
  }
}

export class AddressInUseError extends Error {}

/** One node of the network: its home, ports and (while running) its process. */
export class NetNode {
  child: ChildProcess | null = null;
  private exited: Promise<number | null> | null = null;
  private out = new OutputTail();
  /** Output of earlier runs (restarts), for failure messages. */
  private previous = "";

  constructor(
    readonly index: number,
    readonly home: string,
    readonly rpcPort: number,
    readonly p2pPort: number,
    /** Node.js runtime flags put before the CLI (e.g. `--inspect=127.0.0.1:0`). */
    readonly nodeArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.rpcPort}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  output(): string {
    return this.previous + this.out.value;
  }

  /** `azora start --home <home> [extraArgs]`; resolves once the banner shows the RPC URL. */
  async start(timeoutMs = 60_000, extraArgs: string[] = []): Promise<void> {
    if (this.child !== null) throw new Error(`node${this.index} is already running`);
    this.previous += this.out.value;
    this.out = new OutputTail();
    const argv = [...this.nodeArgs, CLI, "start", "--home", this.home, "--log-format", "json", ...extraArgs];
    const child = spawn(process.execPath, argv, {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    track(child);
    this.child = child;
    this.exited = new Promise((res) =>
      child.once("exit", (code) => {
        if (this.child === child) this.child = null;
        res(code);
      }),
    );
    const out = this.out;
    child.stdout?.on("data", (d) => out.push(d.toString()));
    child.stderr?.on("data", (d) => out.push(d.toString()));
    const exited = this.exited;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`node${this.index} did not start within ${timeoutMs} ms:\n${out.value.slice(-4000)}`));
      }, timeoutMs);
      const check = () => {
        if (/RPC URL\s+http:\/\/127\.0\.0\.1:\d+/.test(out.value)) {
          cleanup();
          resolve();
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        const text = out.value;
        const E = /EADDRINUSE/.test(text) ? AddressInUseError : Error;
        reject(new E(`node${this.index} exited with ${code} before starting:\n${text.slice(-4000)}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off("data", check);
      };
      child.stdout?.on("data", check);
      void exited.then(onExit);
      check();
    });
  }

  /** The running process's inspector WebSocket URL (started with `--inspect=127.0.0.1:0` in `nodeArgs`). */
  inspectorUrl(): string {
    const urls = [...this.out.value.matchAll(/Debugger listening on (ws:\/\/\S+)/g)];
    if (urls.length === 0) throw new Error(`node${this.index} has no inspector (start it with --inspect)`);
    return urls[urls.length - 1][1];
  }

  /** SIGKILL (no shutdown code runs) and wait for the exit. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM; SIGKILL after `graceMs` if it has not exited. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  status(): Promise<NodeStatus> {
    return rpc<NodeStatus>(this.url, "azora_status");
  }

  async height(): Promise<bigint> {
    return BigInt((await this.status()).height);
  }

  /** Blocks [from, to] (hash, stateRoot, tx hashes) in one batch. */
  async blocks(from: bigint, to: bigint): Promise<BlockSummary[]> {
    const calls = [];
    for (let n = from; n <= to; n++)
      calls.push({ method: "eth_getBlockByNumber", params: [`0x${n.toString(16)}`, false] });
    return rpcBatch<BlockSummary>(this.url, calls);
  }

  /** The node key (libp2p identity) and validator key of this home, as `azora init` wrote them. */
  nodeKey(): { seed: `0x${string}`; peerId: string } {
    return JSON.parse(readFileSync(join(this.home, "node_key.json"), "utf8"));
  }

  validatorKey(): { seed: `0x${string}`; publicKey: `0x${string}` } {
    return JSON.parse(readFileSync(join(this.home, "validator_key.json"), "utf8"));
  }

  /** The multiaddr other nodes dial this one at. */
  multiaddr(): string {
    return `/ip4/127.0.0.1/tcp/${this.p2pPort}/p2p/${this.nodeKey().peerId}`;
  }
}

export interface NetworkOptions {
  validators: number;
  fullNodes?: number;
  emptyBlockIntervalMs?: number;
  /** Nodes to start right away (default: every validator). */
  start?: number[];
  /** Node.js runtime flags for every node process. */
  nodeArgs?: string[];
}

export class TestNetwork {
  private constructor(
    readonly dir: string,
    readonly nodes: NetNode[],
    readonly chainId: bigint,
  ) {}

  /**
   * `azora init` on a free port range, then starts `opts.start` (default all validators). A node
   * that fails with EADDRINUSE (a port taken between the check and the bind) makes it start over on
   * another range.
   */
  static async create(opts: NetworkOptions): Promise<TestNetwork> {
    const total = opts.validators + (opts.fullNodes ?? 0);
    for (let attempt = 1; ; attempt++) {
      const base = await findFreeBasePort(total);
      const dir = tempDir("net");
      const args = ["init", "--out", dir, "--validators", `${opts.validators}`, "--base-port", `${base}`];
      if (opts.fullNodes !== undefined) args.push("--full-nodes", `${opts.fullNodes}`);
      if (opts.emptyBlockIntervalMs !== undefined) args.push("--empty-block-interval", `${opts.emptyBlockIntervalMs}`);
      let net: TestNetwork | null = null;
      try {
        await runCLI(args);
        const genesis = JSON.parse(readFileSync(join(dir, "genesis.json"), "utf8")) as { chainId: number | string };
        const nodes = Array.from(
          { length: total },
          (_, i) => new NetNode(i, join(dir, `node${i}`), base + i, base + P2P_OFFSET + i, opts.nodeArgs),
        );
        net = new TestNetwork(dir, nodes, BigInt(genesis.chainId));
        const toStart = opts.start ?? Array.from({ length: opts.validators }, (_, i) => i);
        await Promise.all(toStart.map((i) => nodes[i].start()));
        return net;
      } catch (e) {
        if (net !== null) await net.destroy();
        else rmSync(dir, { recursive: true, force: true });
        if (!(e instanceof AddressInUseError) || attempt >= 5) throw e;
      }
    }
  }

  node(i: number): NetNode {
    return this.nodes[i];
  }

  running(): NetNode[] {
    return this.nodes.filter((n) => n.running);
  }

  /** The index of node i's validator key in the genesis validator set. */
  validatorIndexOf(i: number): number {
    const genesis = JSON.parse(readFileSync(join(this.dir, "genesis.json"), "utf8")) as {
      validators: { publicKey: string }[];
    };
    const pub = this.nodes[i].validatorKey().publicKey.toLowerCase();
    const idx = genesis.validators.findIndex((v) => v.publicKey.toLowerCase() === pub);
    if (idx < 0) throw new Error(`node${i}'s key is not in the validator set`);
    return idx;
  }

  /** Waits until every node in `nodes` has a head ≥ `height`; returns their heads. */
  async waitForHeight(nodes: NetNode[], height: bigint, timeoutMs: number): Promise<bigint[]> {
    try {
      return await waitFor(
        `${nodes.map((n) => `node${n.index}`).join(",")} at height ≥ ${height}`,
        async () => {
          const hs = await Promise.all(nodes.map((n) => n.height()));
          return hs.every((h) => h >= height) ? hs : undefined;
        },
        timeoutMs,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${await this.describe()}`);
    }
  }

  /** One line per running node: head, consensus height/round/step, last signed height, peers. */
  async describe(): Promise<string> {
    const lines = await Promise.all(
      this.running().map(async (n) => {
        try {
          const s = await n.status();
          return `node${n.index}: head ${s.height}, consensus ${s.consensusHeight}/${s.round}/${s.step}, signed ${s.lastSignedHeight}, catching_up ${s.catching_up}, peers ${s.peers.length}`;
        } catch (e) {
          return `node${n.index}: ${(e as Error).message}`;
        }
      }),
    );
    return lines.join("\n");
  }

  /** Stops every running node (SIGTERM, then SIGKILL after a grace period). */
  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  /** Kills every node and deletes the network directory. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill9()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Writes each node's whole output to `<AZORA_E2E_LOGS>/<label>-node<i>.log` when that variable
   * is set (debugging a failure); a no-op otherwise.
   */
  saveLogs(label: string): void {
    const dir = process.env.AZORA_E2E_LOGS;
    if (dir === undefined || dir === "") return;
    mkdirSync(dir, { recursive: true });
    for (const n of this.nodes) writeFileSync(join(dir, `${label}-node${n.index}.log`), n.output());
  }

  /** Last lines of each node's output (for failure messages). */
  logs(lines = 30): string {
    return this.nodes
      .map((n) => `--- node${n.index} ---\n${n.output().trimEnd().split("\n").slice(-lines).join("\n")}`)
      .join("\n");
  }
}
