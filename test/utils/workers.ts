import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { CLI, REPO_ROOT } from "./devnode.js";

/** A free TCP port on 127.0.0.1 (bound then released; the worker binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** A real `azora worker` child process (built CLI). */
export interface WorkerProcess {
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** JSON log lines so far. */
  logs(): Record<string, unknown>[];
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill9(): Promise<void>;
  stop(): Promise<number | null>;
}

export interface WorkerArgs {
  kinds: string[];
  rpc: string;
  devAccount: number;
  dataDir: string;
  port?: number;
  extra?: string[];
}

export async function spawnWorker(a: WorkerArgs): Promise<WorkerProcess> {
  const port = a.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [
      CLI,
      "worker",
      ...a.kinds,
      "--rpc",
      a.rpc,
      "--dev-account",
      String(a.devAccount),
      "--data-dir",
      a.dataDir,
      "--http-port",
      String(port),
      "--log-format",
      "json",
      "--log-level",
      "debug",
      ...(a.extra ?? []),
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  const lines: Record<string, unknown>[] = [];
  let partial = "";
  const onData = (d: Buffer) => {
    const s = d.toString();
    out += s;
    partial += s;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      if (!p.startsWith("{")) continue;
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const url = `http://127.0.0.1:${port}`;
  // ready once /health answers ok (registration and model loading happen before)
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode} before starting:\n${out}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && ((await r.json()) as { status: string }).status === "ok") break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 120_000) {
      child.kill("SIGKILL");
      throw new Error(`worker did not become healthy within 120 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    dataDir: a.dataDir,
    child,
    output: () => out,
    logs: () => lines,
    async waitForLog(pred, what, timeoutMs = 120_000) {
      const t0 = Date.now();
      for (;;) {
        const hit = lines.find(pred);
        if (hit !== undefined) return hit;
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`no log line "${what}" within ${timeoutMs} ms:\n${out.slice(-4000)}`);
        if (child.exitCode !== null)
          throw new Error(`worker exited (${child.exitCode}) waiting for "${what}":\n${out.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined (generous timeout; no fixed sleeps in tests). */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
