// A fresh 4-validator localnet for the bench: `azora init` in a temp dir, `azora start` per node as a child process
// (optionally inside a network namespace), readiness, kill -9 and orderly stop. Every child handle and temp dir is
// tracked so the bench stops exactly what it started (never by name), also when it is interrupted.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { classifyAzora, type LogIssue, type LogIssues, procStat, watchOutput } from "../procs.js";
import { RpcClient, sleep } from "../rpc.js";
import type { NetnsTopology } from "./netns.js";

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();

/** Synchronous last-resort cleanup (process exit / signal): SIGKILL every child still running, remove temp dirs. */
export function killAllStarted(keepDirs: boolean): void {
  for (const c of liveChildren) c.kill("SIGKILL");
  liveChildren.clear();
  if (!keepDirs) for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
}

export interface ValidatorInfo {
  name: string;
  address: string;
  votingPower: bigint;
}

export interface NetNode {
  index: number;
  name: string;
  home: string;
  /** JSON-RPC URL reachable from the bench process (a forwarder in --netns mode). */
  rpcUrl: string;
  wsUrl: string;
  rpc: RpcClient;
  pid: number;
  command: string;
  logFile: string;
  exited(): boolean;
  /** How the process ended (resolves when it has). */
  exitInfo: Promise<string>;
  issues(): LogIssues;
  outputTail(): string;
  /** Cumulative user+system CPU seconds (Linux /proc), or null. */
  cpuSeconds(): number | null;
  rssMiB(): number | null;
  /** kill -9, resolves when the process is gone. */
  kill9(): Promise<string>;
  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<string>;
}

export interface Localnet {
  label: string;
  dir: string;
  emptyBlockIntervalMs: number;
  /** The genesis consensus parameters the network runs with. */
  consensus: Record<string, number>;
  chainId: bigint;
  validators: ValidatorInfo[];
  nodes: NetNode[];
  initCommand: string;
  /** Nodes whose process is still running. */
  live(): NetNode[];
  /** Stops every node (SIGTERM), the netns plumbing, removes the dir unless kept; returns how each node ended. */
  stop(): Promise<string[]>;
  /**
   * Starts the node of home `node<index>` (a full node of `fullNodes`, or a stopped validator again), added to
   * `nodes`; `stop()` of the network stops it. `nodeFlags` replace the network's for this node.
   */
  startHome(index: number, nodeFlags?: string[]): Promise<NetNode>;
}

export interface LocalnetOptions {
  label: string;
  root: string;
  /** azora CLI entry (dist/node/cli.js). */
  cli: string;
  validators: number;
  /** Homes of full nodes (`azora init --full-nodes`), started only by `startFullNode`. */
  fullNodes?: number;
  emptyBlockIntervalMs?: number;
  /** Overrides of genesis `consensus` keys (e.g. timeoutProposeMs), written into every home's genesis copy. */
  consensusOverrides?: Record<string, number>;
  /** Written as every home's config `consensus.minBlockIntervalMs`; undefined/null = left out (the node's default). */
  minBlockIntervalMs?: number | null;
  netns: NetnsTopology | null;
  /**
   * Loopback, but every validator→validator dial goes through a userspace relay (relay.ts) that delays each
   * direction by this many ms: the stand-in for netem where the kernel has none. null = direct.
   */
  relayDelayMs?: number | null;
  /** dist/bench/network/relay.js (required with relayDelayMs). */
  relayScript?: string;
  keep: boolean;
  /** Extra Node.js flags for every `azora start` (e.g. `--cpu-prof --cpu-prof-dir DIR`). */
  nodeFlags?: string[];
  log: (msg: string) => void;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A base port P such that P..P+n-1 (JSON-RPC) and P+1000..P+1000+n-1 (libp2p) are free on 127.0.0.1. */
export async function freeBasePort(n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = (await portFree(base + i)) && (await portFree(base + 1000 + i));
    if (ok) return base;
  }
  throw new Error("no free base port found (tried 200 random bases in 20000–40000)");
}

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** azora's JSON log lines as `bench` reads them (warn and above); plain lines on stderr are issues too. */
function classify(line: string, stream: "stdout" | "stderr"): LogIssue | null {
  if (line.startsWith("{")) return classifyAzora(line);
  return stream === "stderr" && line.trim() !== "" ? { level: "stderr", msg: line.slice(0, 300) } : null;
}

/** Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait), or null off Linux. */
export function machineBusyCpuSeconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already in user)
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return null;
  }
}

/** azora node processes on this machine that this bench did not start (their CPU use skews the figures). */
export function foreignAzoraProcesses(): string[] {
  const mine = new Set<number>([process.pid]);
  for (const c of liveChildren) if (c.pid !== undefined) mine.add(c.pid);
  const out: string[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    if (mine.has(Number(d))) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").join(" ").trim();
      if (/node\/cli\.js (start|dev|localnet)/.test(cmd)) out.push(`${d}: ${cmd.slice(0, 160)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Spawns one `azora start` and waits for its banner (the RPC URL). */
async function startNode(
  index: number,
  home: string,
  cli: string,
  cwd: string,
  dir: string,
  netns: NetnsTopology | null,
  nodeFlags: string[],
): Promise<NetNode> {
  const nodeArgs = [...nodeFlags, cli, "start", "--home", home, "--log-format", "json"];
  const [cmd, args] =
    netns === null
      ? [process.execPath, nodeArgs]
      : ["ip", ["netns", "exec", netns.hosts[index].namespace, process.execPath, ...nodeArgs]];
  const logFile = join(dir, `node${index}.log`);
  const file = createWriteStream(logFile);
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  liveChildren.add(child);
  const out = watchOutput(child, classify, file);
  let done = false;
  const exitInfo = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      liveChildren.delete(child);
      file.end();
      resolve(signal !== null ? `signal ${signal}` : `exit code ${code}`);
    });
    child.once("error", (e) => {
      if (child.pid !== undefined) return;
      done = true;
      liveChildren.delete(child);
      file.end();
      resolve(`failed to start (${e.message})`);
    });
  });
  const command = `${cmd} ${args.join(" ")}`;
  let innerUrl: string;
  try {
    innerUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node${index} did not print its RPC URL within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      const check = () => {
        const m = /RPC URL\s+(http:\/\/[\d.]+:\d+)/.exec(out.tail());
        if (m !== null) {
          clearTimeout(timer);
          child.stdout?.off("data", check);
          resolve(m[1]);
        }
      };
      child.stdout?.on("data", check);
      void exitInfo.then((how) => {
        clearTimeout(timer);
        reject(new Error(`node${index} ${how} before starting`));
      });
    });
  } catch (e) {
    child.kill("SIGKILL");
    await exitInfo;
    throw new Error(`${(e as Error).message}\n--- output of node${index} ---\n${out.tail()}`);
  }
  const rpcUrl = netns === null ? innerUrl : await netns.forwardRpc(index, Number(new URL(innerUrl).port));
  const pid = child.pid ?? -1;
  const stopWith = async (signal: NodeJS.Signals): Promise<string> => {
    if (done) return `had already exited (${await exitInfo})`;
    child.kill(signal);
    if (signal === "SIGKILL") return exitInfo;
    const timedOut = sleep(STOP_TIMEOUT_MS).then(() => null);
    const how = await Promise.race([exitInfo, timedOut]);
    if (how !== null) return how;
    child.kill("SIGKILL");
    return `did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM; killed (${await exitInfo})`;
  };
  const rpc = new RpcClient(rpcUrl, 30_000);
  return {
    index,
    name: `node${index}`,
    home,
    rpcUrl,
    wsUrl: rpcUrl.replace(/^http/, "ws"),
    rpc,
    pid,
    command,
    logFile,
    exited: () => done,
    exitInfo,
    issues: out.issues,
    outputTail: out.tail,
    cpuSeconds: () => {
      const f = procStat(pid);
      return f === null ? null : (Number(f[11]) + Number(f[12])) / 100;
    },
    rssMiB: () => {
      const f = procStat(pid);
      return f === null ? null : (Number(f[21]) * 4) / 1024;
    },
    kill9: () => stopWith("SIGKILL"),
    stop: () => stopWith("SIGTERM"),
  };
}

/** `azora init` (with a free base port) and `azora start` for every node; resolves when all printed their banner. */
export async function startLocalnet(o: LocalnetOptions): Promise<Localnet> {
  const dir = mkdtempSync(join(tmpdir(), `azora-netbench-${o.label}-`));
  liveDirs.add(dir);
  const cli = o.cli;
  const nodes: NetNode[] = [];
  let relay: ChildProcess | null = null;
  const stopRelay = () => {
    if (relay !== null && relay.exitCode === null) relay.kill("SIGTERM");
    if (relay !== null) liveChildren.delete(relay);
    relay = null;
  };
  const cleanupDir = () => {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
  };
  try {
    const fullNodes = o.fullNodes ?? 0;
    const base = await freeBasePort(o.validators + fullNodes);
    const initArgs = [
      cli,
      "init",
      "--out",
      join(dir, "net"),
      "--validators",
      String(o.validators),
      ...(fullNodes > 0 ? ["--full-nodes", String(fullNodes)] : []),
      "--base-port",
      String(base),
      ...(o.emptyBlockIntervalMs !== undefined ? ["--empty-block-interval", String(o.emptyBlockIntervalMs)] : []),
    ];
    await run(process.execPath, initArgs, o.root);
    const genesis = JSON.parse(readFileSync(join(dir, "net/genesis.json"), "utf8")) as {
      chainId: number;
      consensus: Record<string, number> & { emptyBlockIntervalMs: number };
      validators: Array<{ name: string }>;
    };
    const homes = Array.from({ length: o.validators }, (_, i) => join(dir, "net", `node${i}`));
    const overrides = Object.entries(o.consensusOverrides ?? {});
    if (overrides.length > 0) {
      for (const [k, v] of overrides) {
        if (!(k in genesis.consensus)) throw new Error(`genesis consensus has no key ${k}`);
        genesis.consensus[k] = v;
      }
      const text = `${JSON.stringify(genesis, null, 2)}\n`;
      for (const f of [join(dir, "net/genesis.json"), ...homes.map((h) => join(h, "genesis.json"))])
        writeFileSync(f, text);
    }
    if (o.minBlockIntervalMs != null) {
      for (const h of homes) {
        const c = JSON.parse(readFileSync(join(h, "config.json"), "utf8")) as NodeConfig;
        c.consensus = { minBlockIntervalMs: o.minBlockIntervalMs };
        writeFileSync(join(h, "config.json"), `${JSON.stringify(c, null, 2)}\n`);
      }
    }
    if (o.netns !== null) {
      // Each host listens for libp2p on its namespace address and dials the others there.
      const cfgs = homes.map((h) => JSON.parse(readFileSync(join(h, "config.json"), "utf8")) as NodeConfig);
      const ports = cfgs.map((c) => Number(/\/tcp\/(\d+)/.exec(c.p2p.listen[0])?.[1]));
      const peerIds = homes.map(
        (h) => (JSON.parse(readFileSync(join(h, "node_key.json"), "utf8")) as { peerId: string }).peerId,
      );
      const topo = o.netns;
      cfgs.forEach((c, i) => {
        c.p2p.listen = [`/ip4/${topo.hosts[i].address}/tcp/${ports[i]}`];
        c.p2p.bootstrap = cfgs
          .map((_, j) => j)
          .filter((j) => j !== i)
          .map((j) => `/ip4/${topo.hosts[j].address}/tcp/${ports[j]}/p2p/${peerIds[j]}`);
        writeFileSync(join(homes[i], "config.json"), `${JSON.stringify(c, null, 2)}\n`);
      });
    }
    if (o.relayDelayMs != null) relay = await startRelays(homes, o.relayDelayMs, o.relayScript as string);
    const started = await Promise.allSettled(
      homes.map((h, i) => startNode(i, h, cli, o.root, dir, o.netns, o.nodeFlags ?? [])),
    );
    for (const s of started) if (s.status === "fulfilled") nodes.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    nodes.sort((a, b) => a.index - b.index);
    const status = await nodes[0].rpc.call<{
      validators: Array<{ name: string; address: string; votingPower: string }>;
    }>("azora_status");
    const net: Localnet = {
      label: o.label,
      dir,
      emptyBlockIntervalMs: genesis.consensus.emptyBlockIntervalMs,
      consensus: genesis.consensus,
      chainId: BigInt(genesis.chainId),
      validators: status.validators.map((v) => ({
        name: v.name,
        address: v.address.toLowerCase(),
        votingPower: BigInt(v.votingPower),
      })),
      nodes,
      initCommand: `node ${initArgs.join(" ")}`,
      live: () => nodes.filter((n) => !n.exited()),
      stop: async () => {
        const how = await Promise.all(nodes.map((n) => n.stop()));
        for (const n of nodes) n.rpc.close();
        await o.netns?.closeForwarders();
        stopRelay();
        cleanupDir();
        return how;
      },
      startHome: async (index, nodeFlags = o.nodeFlags ?? []) => {
        if (index < 0 || index >= o.validators + fullNodes) throw new Error(`the network has no home node${index}`);
        const n = await startNode(index, join(dir, "net", `node${index}`), cli, o.root, dir, o.netns, nodeFlags);
        nodes.push(n);
        return n;
      },
    };
    return net;
  } catch (e) {
    await Promise.all(nodes.map((n) => n.kill9()));
    for (const n of nodes) n.rpc.close();
    await o.netns?.closeForwarders();
    stopRelay();
    cleanupDir();
    throw e;
  }
}

interface NodeConfig {
  p2p: { listen: string[]; bootstrap: string[] };
  [k: string]: unknown;
}

export interface NodeStatus {
  height: string;
  consensusHeight: string;
  round: number;
  step: string;
  catching_up: boolean;
  peers: Array<{ id: string }>;
  lastSignedHeight?: string;
}

/** One line per live node: committed height, consensus height/round/step, peers — evidence when the chain stalls. */
export async function statusLine(net: Localnet): Promise<string> {
  const live = net.live();
  const st = await Promise.all(
    live.map((n) =>
      n.rpc
        .call<NodeStatus>("azora_status")
        .then(
          (s) =>
            `${n.name} height ${s.height} (at ${s.consensusHeight} round ${s.round} ${s.step}, ${s.peers.length} peers` +
            `${s.catching_up ? ", catching up" : ""})`,
        )
        .catch((e: unknown) => `${n.name}: ${(e as Error).message}`),
    ),
  );
  return st.join("; ");
}

/**
 * Waits until every live node has all other live nodes as peers, is not catching up, has committed at least
 * `minHeight`, and the heights agree within 2. Throws with the last statuses after `timeoutMs`.
 */
export async function waitReady(net: Localnet, minHeight: number, timeoutMs: number): Promise<NodeStatus[]> {
  const deadline = performance.now() + timeoutMs;
  let last: Array<NodeStatus | string> = [];
  for (;;) {
    const live = net.live();
    if (live.length < net.nodes.length && live.length === 0) throw new Error("every node exited");
    last = await Promise.all(
      live.map((n) => n.rpc.call<NodeStatus>("azora_status").catch((e: unknown) => (e as Error).message)),
    );
    const ok = last.every(
      (s) =>
        typeof s !== "string" && s.peers.length >= live.length - 1 && !s.catching_up && Number(s.height) >= minHeight,
    );
    if (ok) {
      const hs = (last as NodeStatus[]).map((s) => Number(s.height));
      if (Math.max(...hs) - Math.min(...hs) <= 2) return last as NodeStatus[];
    }
    const dead = net.nodes.filter((n) => n.exited());
    if (dead.length > 0 && dead.length === net.nodes.length) throw new Error("every node exited");
    if (performance.now() > deadline) {
      const desc = last.map((s, i) =>
        typeof s === "string"
          ? `${live[i].name}: ${s}`
          : `${live[i].name}: height ${s.height} (at ${s.consensusHeight} round ${s.round} ${s.step}), ` +
            `peers ${s.peers.length}, catching_up ${s.catching_up}`,
      );
      throw new Error(`network not ready within ${timeoutMs / 1000} s: ${desc.join("; ")}`);
    }
    await sleep(200);
  }
}

/**
 * Points every node's bootstrap peers at relays (one per ordered pair: node i dials node j through its own relay)
 * and starts the relay process; resolves once it listens. Both directions of every connection are delayed,
 * whichever side dialled.
 */
async function startRelays(homes: string[], delayMs: number, script: string): Promise<ChildProcess> {
  const cfgs = homes.map((h) => JSON.parse(readFileSync(join(h, "config.json"), "utf8")) as NodeConfig);
  const ports = cfgs.map((c) => Number(/\/tcp\/(\d+)/.exec(c.p2p.listen[0])?.[1]));
  const peerIds = homes.map(
    (h) => (JSON.parse(readFileSync(join(h, "node_key.json"), "utf8")) as { peerId: string }).peerId,
  );
  const pairs: string[] = [];
  let next = 40_000 + Math.floor(Math.random() * 10_000);
  for (let i = 0; i < homes.length; i++) {
    const bootstrap: string[] = [];
    for (let j = 0; j < homes.length; j++) {
      if (j === i) continue;
      while (!(await portFree(next))) next++;
      pairs.push(`${next}:${ports[j]}`);
      bootstrap.push(`/ip4/127.0.0.1/tcp/${next}/p2p/${peerIds[j]}`);
      next++;
    }
    cfgs[i].p2p.bootstrap = bootstrap;
    writeFileSync(join(homes[i], "config.json"), `${JSON.stringify(cfgs[i], null, 2)}\n`);
  }
  const child = spawn(process.execPath, [script, String(delayMs), ...pairs], { stdio: ["ignore", "pipe", "inherit"] });
  liveChildren.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`relay exited with code ${code} before it was ready`)));
  });
  return child;
}
