// Starting and stopping the two targets as child processes. Every child handle is tracked so the bench can stop
// exactly the processes it started (never by name), including when it is interrupted.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  type WriteStream,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyStampedLines, NODE_TRACE_ENV } from "./jitTrace.js";
import { RpcClient, sleep } from "./rpc.js";

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** Children still running, killed on exit/interrupt. */
const live = new Set<ChildProcess>();

/** Temp data dirs not yet removed. */
const liveDirs = new Set<string>();

export function killAllStarted(): void {
  for (const c of live) c.kill("SIGKILL");
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
}

export interface LogIssue {
  level: string;
  msg: string;
}

/** What a target's output said that deserves a look: azora's warn/error/fatal lines, anvil's stderr. */
export interface LogIssues {
  counts: Record<string, number>;
  /** The first few distinct messages, with their counts. */
  samples: Array<LogIssue & { count: number }>;
}

export interface TargetProcess {
  name: string;
  url: string;
  command: string;
  pid: number;
  /** Tail of stdout+stderr, for error messages. */
  outputTail(): string;
  issues(): LogIssues;
  exited(): boolean;
  /** Cumulative user+system CPU seconds of the child (Linux /proc), or null if unavailable. */
  cpuSeconds(): number | null;
  /** Resident memory in MiB (Linux /proc), or null. */
  rssMiB(): number | null;
  /** The highest resident memory of the process's life so far in MiB (`VmHWM`, Linux /proc), or null. */
  peakRssMiB(): number | null;
  /** SIGTERM, then SIGKILL after 15 s; resolves with a description of how it ended. */
  stop(): Promise<string>;
}

const LEVEL_NAMES: Record<number, string> = { 40: "warn", 50: "error", 60: "fatal" };
const MAX_SAMPLES = 20;
const TAIL_CHARS = 8000;

/**
 * Keeps the tail of a child's output, counts the lines `classify` calls issues and keeps a few samples of each;
 * every chunk also goes to `file` when given. Lines are split per stream, so stdout and stderr never interleave.
 */
export function watchOutput(
  child: ChildProcess,
  classify: (line: string, stream: "stdout" | "stderr") => LogIssue | null,
  file?: WriteStream,
) {
  let tail = "";
  const partial = { stdout: "", stderr: "" };
  const counts: Record<string, number> = {};
  const samples = new Map<string, LogIssue & { count: number }>();
  const onData = (stream: "stdout" | "stderr") => (d: Buffer) => {
    file?.write(d);
    const s = d.toString("utf8");
    tail = (tail + s).slice(-TAIL_CHARS);
    const lines = (partial[stream] + s).split("\n");
    partial[stream] = lines.pop() ?? "";
    for (const line of lines) {
      const issue = classify(line, stream);
      if (issue === null) continue;
      counts[issue.level] = (counts[issue.level] ?? 0) + 1;
      const key = `${issue.level}:${issue.msg}`;
      const seen = samples.get(key);
      if (seen !== undefined) seen.count++;
      else if (samples.size < MAX_SAMPLES) samples.set(key, { ...issue, count: 1 });
    }
  };
  child.stdout?.on("data", onData("stdout"));
  child.stderr?.on("data", onData("stderr"));
  return {
    tail: () => tail,
    issues: (): LogIssues => ({ counts: { ...counts }, samples: [...samples.values()] }),
  };
}

/** azora logs JSON lines (pino levels); warn and above are issues. The banner is plain text and ignored. */
export function classifyAzora(line: string): LogIssue | null {
  if (!line.startsWith("{")) return null;
  try {
    const o = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    if (typeof o.level !== "number" || o.level < 40) return null;
    const msg = o.err?.message !== undefined ? `${o.msg}: ${o.err.message}` : String(o.msg);
    return { level: LEVEL_NAMES[o.level] ?? String(o.level), msg: msg.slice(0, 300) };
  } catch {
    return null;
  }
}

/** `VmHWM` of a live process in MiB: the kernel's own peak of its resident memory (no sampling needed), or null. */
export function peakRssMiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

/** Fields of /proc/<pid>/stat after the command name (field 3 on), or null when the process is gone or off Linux. */
export function procStat(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are space separated.
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_KIB = 4;

function track(
  name: string,
  command: string,
  child: ChildProcess,
  url: string,
  out: ReturnType<typeof watchOutput>,
  exitedP: Promise<string>,
  isExited: () => boolean,
  cleanup: () => void,
): TargetProcess {
  const pid = child.pid ?? -1;
  return {
    name,
    url,
    command,
    pid,
    outputTail: out.tail,
    issues: out.issues,
    exited: isExited,
    cpuSeconds: () => {
      const f = procStat(pid);
      // After the ")": state is index 0, utime is field 14 -> index 11, stime index 12.
      return f === null ? null : (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    },
    rssMiB: () => {
      const f = procStat(pid);
      return f === null ? null : (Number(f[21]) * PAGE_KIB) / 1024; // rss (field 24) in pages
    },
    peakRssMiB: () => peakRssMiB(pid),
    stop: async () => {
      if (isExited()) {
        cleanup();
        return `had already exited (${await exitedP})`;
      }
      child.kill("SIGTERM");
      const timer = sleep(STOP_TIMEOUT_MS).then(() => null);
      let how = await Promise.race([exitedP, timer]);
      if (how === null) {
        child.kill("SIGKILL");
        how = `did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM; killed (${await exitedP})`;
      }
      cleanup();
      return how;
    },
  };
}

function exitTracker(child: ChildProcess) {
  let done = false;
  const p = new Promise<string>((res) => {
    child.once("exit", (code, signal) => {
      done = true;
      live.delete(child);
      res(signal !== null ? `signal ${signal}` : `exit code ${code}`);
    });
    // A spawn failure (e.g. ENOENT) emits "error" and may never emit "exit".
    child.once("error", (e) => {
      if (child.pid !== undefined) return;
      done = true;
      live.delete(child);
      res(`failed to start (${e.message})`);
    });
  });
  return { p, isExited: () => done };
}

export async function startAzora(cli: string, cwd: string, extraArgs: string[]): Promise<TargetProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "azora-bench-"));
  const args = [cli, "dev", "--data-dir", dataDir, "--rpc-port", "0", "--log-format", "json", ...extraArgs];
  // Node's own flags for the dev node (e.g. "--trace-gc" or "--cpu-prof"): for looking inside a bench run's node
  // without changing what the bench measures by default.
  const child = spawn(process.execPath, [...splitFlags(process.env[NODE_FLAGS_ENV]), ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  live.add(child);
  const traceFile = process.env[NODE_TRACE_ENV];
  if (traceFile !== undefined && traceFile !== "" && child.stdout !== null) copyStampedLines(child.stdout, traceFile);
  const out = watchOutput(child, classifyAzora);
  const { p: exitedP, isExited } = exitTracker(child);
  liveDirs.add(dataDir);
  const cleanup = () => {
    rmSync(dataDir, { recursive: true, force: true });
    liveDirs.delete(dataDir);
  };
  const command = `node ${args.join(" ")}`;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`azora did not print its RPC URL within ${STARTUP_TIMEOUT_MS / 1000} s`)),
        STARTUP_TIMEOUT_MS,
      );
      const check = () => {
        const m = /RPC URL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out.tail());
        if (m !== null) {
          clearTimeout(timer);
          child.stdout?.off("data", check);
          resolve(m[1]);
        }
      };
      child.stdout?.on("data", check);
      void exitedP.then((how) => {
        clearTimeout(timer);
        reject(new Error(`azora ${how} before starting`));
      });
    });
    return track("azora", command, child, url, out, exitedP, isExited, cleanup);
  } catch (e) {
    child.kill("SIGKILL");
    await exitedP;
    cleanup();
    throw new Error(`${(e as Error).message}\n--- output ---\n${out.tail()}`);
  }
}

/** The platform's anvil binary from the @foundry-rs/anvil npm package. */
export function findAnvil(repoRoot: string): string {
  const scope = join(repoRoot, "node_modules/@foundry-rs");
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const preferred = join(scope, `anvil-${process.platform}-${arch}/bin/anvil`);
  if (existsSync(preferred)) return preferred;
  if (existsSync(scope)) {
    for (const d of readdirSync(scope)) {
      const p = join(scope, d, "bin/anvil");
      if (d.startsWith("anvil-") && existsSync(p)) return p;
    }
  }
  throw new Error(
    `anvil binary not found (looked for ${preferred}); is the @foundry-rs/anvil devDependency installed?`,
  );
}

export function anvilVersion(bin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, ["--version"], { timeout: 10_000 }, (err, stdout) => {
      if (err !== null) reject(new Error(`\`anvil --version\` failed: ${err.message}`));
      else resolve(stdout.trim().split("\n").join("; "));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `automine`: a block per transaction, as Anvil does by default (the transfer phases use `--block-time 1`). */
export async function startAnvil(
  bin: string,
  extraArgs: string[],
  opts: { automine?: boolean } = {},
): Promise<TargetProcess> {
  const port = await freePort();
  const blockTime = opts.automine === true ? [] : ["--block-time", "1"];
  const args = ["--host", "127.0.0.1", "--port", String(port), ...blockTime, "--silent", ...extraArgs];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  const out = watchOutput(child, (line) => (line.trim() === "" ? null : { level: "output", msg: line.slice(0, 300) }));
  const { p: exitedP, isExited } = exitTracker(child);
  const url = `http://127.0.0.1:${port}`;
  const rpc = new RpcClient(url, 2000);
  try {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      if (isExited()) throw new Error(`anvil ${await exitedP} before starting`);
      try {
        await rpc.call("eth_chainId");
        break;
      } catch {
        if (Date.now() > deadline)
          throw new Error(`anvil did not answer on ${url} within ${STARTUP_TIMEOUT_MS / 1000} s`);
        await sleep(100);
      }
    }
  } catch (e) {
    child.kill("SIGKILL");
    await Promise.race([exitedP, sleep(5000)]);
    throw new Error(`${(e as Error).message}\n--- output ---\n${out.tail()}`);
  } finally {
    rpc.close();
  }
  return track("anvil", `${bin} ${args.join(" ")}`, child, url, out, exitedP, isExited, () => undefined);
}

/**
 * `azora worker <kinds> …` as a child process (services phase): its own data dir, HTTP API on a free port; resolves
 * once `/health` says ok (registered on the market, models loaded).
 */
/** Node flags for the bench's `azora dev` node, space-separated (e.g. "--trace-gc"). */
export const NODE_FLAGS_ENV = "AZORA_BENCH_NODE_FLAGS";
/** Node flags for the bench's `azora worker` processes, space-separated (e.g. "--trace-gc"). */
export const WORKER_NODE_FLAGS_ENV = "AZORA_BENCH_WORKER_NODE_FLAGS";
/** A file that gets a copy of the bench's workers' stdout and stderr (appended). */
export const WORKER_LOG_ENV = "AZORA_BENCH_WORKER_LOG";

const splitFlags = (s: string | undefined): string[] => (s ?? "").split(/\s+/).filter((f) => f !== "");

export async function startAzoraWorker(
  cli: string,
  cwd: string,
  rpcUrl: string,
  kinds: string[],
  extraArgs: string[],
): Promise<TargetProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), "azora-bench-worker-"));
  const port = await freePort();
  // Node's own flags for the worker (e.g. "--trace-gc"), and a file that gets a copy of its output: for looking
  // inside a bench run's worker without changing what the bench measures by default.
  const nodeFlags = splitFlags(process.env[WORKER_NODE_FLAGS_ENV]);
  const args = [cli, "worker", ...kinds, "--rpc", rpcUrl, "--data-dir", dataDir, "--http-port", String(port)];
  args.push("--log-format", "json", ...extraArgs);
  const child = spawn(process.execPath, [...nodeFlags, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  live.add(child);
  const logPath = process.env[WORKER_LOG_ENV];
  const out = watchOutput(child, classifyAzora, logPath ? createWriteStream(logPath, { flags: "a" }) : undefined);
  const { p: exitedP, isExited } = exitTracker(child);
  liveDirs.add(dataDir);
  const cleanup = () => {
    rmSync(dataDir, { recursive: true, force: true });
    liveDirs.delete(dataDir);
  };
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (isExited()) {
      cleanup();
      throw new Error(`azora worker ${await exitedP} before starting:\n${out.tail()}`);
    }
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && ((await r.json()) as { status?: string }).status === "ok") break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 4 * STARTUP_TIMEOUT_MS) {
      child.kill("SIGKILL");
      await exitedP;
      cleanup();
      throw new Error(`azora worker not healthy within ${(4 * STARTUP_TIMEOUT_MS) / 1000} s:\n${out.tail()}`);
    }
    await sleep(200);
  }
  return track("azora worker", `node ${args.join(" ")}`, child, url, out, exitedP, isExited, cleanup);
}
