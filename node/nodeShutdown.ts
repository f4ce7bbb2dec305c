import type { Logger } from "../runtime/lib/logger.js";

/** How long a close after SIGINT/SIGTERM may take before the node exits anyway. */
export const SIGNAL_SHUTDOWN_MS = 30_000;
/** How long a close after a fatal failure may take before the node exits anyway. */
export const FATAL_SHUTDOWN_MS = 10_000;

/** Where the shutdown meets the process (the real one by default; tests pass their own). */
export interface ShutdownPorts {
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  /** Resolves after `ms` without holding the process open. */
  after(ms: number): Promise<void>;
  exit(code: number): void;
  stderr(text: string): void;
}

export interface NodeShutdownOptions {
  close(): Promise<void>;
  /** Runs after a completed close (e.g. writing a CPU profile); its failure makes the exit code 1. */
  afterClose?: () => Promise<void>;
  /** Head height for the last log line. */
  height(): string;
  logger: Logger;
  flush(): void;
  ports?: ShutdownPorts;
  signalDeadlineMs?: number;
  fatalDeadlineMs?: number;
}

const processPorts: ShutdownPorts = {
  onSignal: (signal, handler) => void process.on(signal, handler),
  after: (ms) => new Promise((res) => setTimeout(res, ms).unref()),
  exit: (code) => process.exit(code),
  stderr: (text) => void process.stderr.write(text),
};

/**
 * How a node process ends: on SIGINT/SIGTERM it closes and exits 0; on a fatal failure (the returned trigger) it
 * closes and exits 1, the cause on stderr as well as in the log. Either close is bounded — an HTTP client's
 * keep-alive connection can hold the RPC server's close for its whole timeout, and a close stuck on anything else
 * must not leave a node running that its operator asked to stop — and a second signal during the close exits at
 * once. Exiting without finishing the close is no worse than `kill -9`, which the node survives: every block write
 * is one atomic batch and the signer's state is synced before a vote leaves.
 */
export function installNodeShutdown(o: NodeShutdownOptions): (failure: Error) => void {
  const ports = o.ports ?? processPorts;
  let stopping = false;
  const leave = (code: number, failure: Error | null) => {
    o.flush();
    if (failure !== null) ports.stderr(`azora: stopped: ${failure.message}\n`);
    ports.exit(code);
  };
  const stop = async (signal: string, failure: Error | null) => {
    stopping = true;
    if (failure === null) o.logger.info("shutting down", { signal });
    else o.logger.error("stopping after a fatal failure", { reason: failure.message }, failure);
    const limitMs =
      failure === null ? (o.signalDeadlineMs ?? SIGNAL_SHUTDOWN_MS) : (o.fatalDeadlineMs ?? FATAL_SHUTDOWN_MS);
    let code = failure === null ? 0 : 1;
    try {
      const closed = o.close().then(() => "closed" as const);
      const outcome = await Promise.race([closed, ports.after(limitMs).then(() => "timeout" as const)]);
      if (outcome === "timeout") throw new Error(`shutdown did not finish within ${limitMs} ms`);
      await o.afterClose?.();
      o.logger.info(failure === null ? "stopped cleanly" : "stopped", { height: o.height() });
    } catch (e) {
      o.logger.error("shutdown failed", {}, e);
      code = 1;
    }
    leave(code, failure);
  };
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (!stopping) return void stop(signal, null);
    o.logger.warn("second signal during shutdown: exiting without waiting for the close", { signal });
    leave(1, null);
  };
  ports.onSignal("SIGINT", () => onSignal("SIGINT"));
  ports.onSignal("SIGTERM", () => onSignal("SIGTERM"));
  return (e) => {
    if (!stopping) void stop("fatal", e);
  };
}
