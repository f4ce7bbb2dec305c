import type { CallContext } from "./types.js";

/**
 * The key of per-client quotas (filters, subscriptions, WebSocket connections): the remote address
 * the request came from, IPv4-mapped IPv6 addresses folded to IPv4. Behind a reverse proxy every
 * client has the proxy's address: give the proxy its own limits there.
 */
export function clientKeyOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === "") return "unknown";
  return remoteAddress.startsWith("::ffff:") ? remoteAddress.slice(7) : remoteAddress;
}

export function clientKey(ctx: CallContext): string {
  return clientKeyOf(ctx.remoteAddress);
}

/** Counts what each client holds, against one per-client limit. */
export class PerClientCounter {
  private readonly held = new Map<string, number>();

  constructor(readonly limit: number) {}

  /** True (and counted) when `client` is below its limit. */
  tryAcquire(client: string): boolean {
    const n = this.held.get(client) ?? 0;
    if (n >= this.limit) return false;
    this.held.set(client, n + 1);
    return true;
  }

  release(client: string): void {
    const n = (this.held.get(client) ?? 1) - 1;
    if (n <= 0) this.held.delete(client);
    else this.held.set(client, n);
  }

  count(client: string): number {
    return this.held.get(client) ?? 0;
  }
}
