import { createHash } from "node:crypto";

/**
 * Fails at load when a function of the pinned @ethereumjs/evm that `portFile` ports line for line has changed: its
 * source text must hash to `pinnedSha256`, else the port is stale (update the port and the hash together).
 */
export function assertPinnedSource(what: string, fn: unknown, pinnedSha256: string, portFile: string): void {
  const fingerprint = createHash("sha256").update(String(fn)).digest("hex");
  if (fingerprint !== pinnedSha256) {
    throw new Error(
      `@ethereumjs/evm's ${what} changed (sha256 ${fingerprint}): ${portFile} is a port of it and must be updated`,
    );
  }
}
