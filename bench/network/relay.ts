// A TCP relay that delays every byte by a fixed time in each direction: the bench's stand-in for `tc netem` on
// kernels without sch_netem (e.g. Firecracker guests). One process serves every validator↔validator link of a
// localnet: `node relay.js <delayMs> <listenPort>:<targetPort> …` listens on 127.0.0.1:<listenPort> for each pair
// and connects each accepted socket to 127.0.0.1:<targetPort>. Prints "ready" once every listener is up; exits on
// SIGTERM/SIGINT. Order is kept per direction; the delay is applied to each chunk as it arrives, as netem does to
// each packet on egress, so a one-way delay of D gives an RTT of 2·D.
import { createConnection, createServer, type Server, type Socket } from "node:net";

function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  const queue: { at: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let ended = false;
  const drain = () => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].at <= now + 0.5) to.write(queue.shift()?.chunk as Buffer);
    if (queue.length > 0) timer = setTimeout(drain, Math.max(0, queue[0].at - performance.now()));
    else if (ended) to.end();
  };
  from.on("data", (chunk: Buffer) => {
    queue.push({ at: performance.now() + delayMs, chunk });
    if (timer === null) timer = setTimeout(drain, delayMs);
  });
  from.on("end", () => {
    ended = true;
    if (timer === null) drain();
  });
}

function relay(listenPort: number, targetPort: number, delayMs: number): Promise<Server> {
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: "127.0.0.1", port: targetPort });
    inbound.setNoDelay(true);
    outbound.setNoDelay(true);
    delayedPipe(inbound, outbound, delayMs);
    delayedPipe(outbound, inbound, delayMs);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", close);
    outbound.on("error", close);
    inbound.on("close", close);
    outbound.on("close", close);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, "127.0.0.1", () => resolve(server));
  });
}

async function main(): Promise<void> {
  const [delayArg, ...pairs] = process.argv.slice(2);
  const delayMs = Number(delayArg);
  if (!Number.isFinite(delayMs) || delayMs < 0 || pairs.length === 0) {
    process.stderr.write("usage: relay.js <delayMs> <listenPort>:<targetPort> …\n");
    process.exit(2);
  }
  const servers = await Promise.all(
    pairs.map((p) => {
      const [l, t] = p.split(":").map(Number);
      return relay(l, t, delayMs);
    }),
  );
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdout.write("ready\n");
}

void main();
