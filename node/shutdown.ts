import type { Logger } from "../runtime/lib/logger.js";

/**
 * How a long-running service command ends: on the first SIGINT or SIGTERM it logs, closes the service, flushes the
 * logs and exits 0 — or 1 if closing failed. Later signals during the close are ignored, so a second Ctrl-C does not
 * cut a store's flush short.
 */
export function stopOnSignals(o: { close: () => Promise<void>; logger: Logger; flush: () => void }): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    o.logger.info("shutting down", { signal });
    try {
      await o.close();
      o.logger.info("stopped cleanly", {});
      o.flush();
      process.exit(0);
    } catch (e) {
      o.logger.error("shutdown failed", {}, e);
      o.flush();
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}
