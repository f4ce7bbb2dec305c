// `node dist/bench/httpFloor.js [--requests N] [--rounds R] [--conns C] [--gap-ms G] [--servers LIST]`: the server-side
// CPU of one small JSON-RPC request over keep-alive HTTP, for the JSON-RPC server (rpc/server.ts, with a stub method table, so
// only the transport and the JSON-RPC layer are measured) next to its floors: a bare node:http server answering a
// fixed body, and a bare node:net server answering fixed bytes per request (the socket and the event loop alone).
//
// Each server runs in its own child process; this process drives it with C raw-socket clients (one request in flight
// per connection, headers as node:http's client sends them) and divides the child's CPU time (process.cpuUsage: all
// its threads) by the requests answered. Servers and methods are interleaved round by round, so load on the shared
// machine falls on all alike. `--servers` takes `net`, `http`, `rpc` (this checkout's server), `rpc=FILE` (another
// build's dist/rpc/server.js, for an A/B against a base; both with their JSON-RPC front if they have one), `rpcnet`
// (the first sketch of that front, rpc/transport/httpFront.ts: the JSON-RPC layer behind a bare node:net front, no
// Node HTTP) and `azora` (a dev node), comma-separated.
import { fork } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { repoRoot } from "../contracts/artifacts.js";
import { handleRawBody } from "../rpc/jsonrpc.js";
import { positiveInt, readFlags, UsageError } from "./args.js";
import { startAzora } from "./procs.js";
import { median, round } from "./stats.js";

const HELP = `Usage: node dist/bench/httpFloor.js [--requests N] [--rounds R] [--conns C] [--gap-ms G] [--servers LIST]
What a request costs at the HTTP layers under the node's RPC (bare node:net, node:http, the RPC server, azora dev),
interleaved rounds, CPU per request.
  --requests N   timed requests per server, method and round (default 20000; as many untimed first in round 1)
  --rounds R     interleaved rounds (default 5); the median is printed
  --conns C      keep-alive connections, one request in flight on each (default 8)
  --gap-ms G     wait G ms after each answer before the next request on a connection (default 0: back to back).
                 With gaps the server idles between requests, as a node does under the bench's senders and its
                 block watcher (eth_blockNumber, 5 ms apart): each request then pays a wake-up with cold caches.
  --servers L    comma-separated: net, http, rpc, rpc=PATH/TO/dist/rpc/server.js, rpcnet (a sketch of the
                 JSON-RPC layer behind a bare node:net front, for what one would save), azora (a fresh \`azora dev\`
                 of this checkout; /proc CPU, 10 ms ticks), azora=PATH/TO/dist/node/cli.js (default net,http,rpc)
  --methods L    comma-separated subset of eth_chainId, eth_getTransactionReceipt, eth_sendRawTransaction, eth_call
                 (default all; eth_call: a balanceOf-sized call to the identity precompile at latest)
  --cpu-prof D   write a V8 CPU profile of each server into directory D`;

/** How long an azora target is left without requests, each round, to read its idle CPU. */
const IDLE_MS = 3000;
const TX_HASH = `0x${"ab".repeat(32)}`;
/** A signed EIP-1559 value transfer's size (~115 bytes); its content does not matter to the stub. */
const RAW_TX = `0x02f872${"5a".repeat(113)}`;

/** The JSON-RPC bodies measured: the bench's submissions, its polls, and a trivial call. */
const METHODS: Record<string, string> = {
  eth_chainId: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
  eth_getTransactionReceipt: JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "eth_getTransactionReceipt",
    params: [TX_HASH],
  }),
  eth_sendRawTransaction: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendRawTransaction", params: [RAW_TX] }),
  // The bench's eth_call phase in shape (a balanceOf's 36 bytes of data, at latest) to the identity precompile, so a
  // fresh node answers it without a deployment; after the first, a dev node answers it from its eth_call cache.
  eth_call: JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "eth_call",
    params: [{ to: `0x${"00".repeat(19)}04`, data: `0x70a08231${"00".repeat(12)}${"5a".repeat(20)}` }, "latest"],
  }),
};

/** A request as node:http's client (the bench's RpcClient, viem's and ethers' transports) writes it. */
function requestBytes(port: number, body: string): Buffer {
  return Buffer.from(
    `POST / HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `Host: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n${body}`,
  );
}

// --- the child: one server ----------------------------------------------------------------------------------------

const FIXED_BODY = '{"jsonrpc":"2.0","id":1,"result":"0x7a69"}';
const FIXED_RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${FIXED_BODY.length}\r\n` +
    `access-control-allow-origin: *\r\nConnection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n${FIXED_BODY}`,
);

const stub = (result: unknown, params: Array<{ name: string; type: "hash" | "data" | "callRequest" }>) => ({
  params,
  handler: () => result,
});
/** The methods measured, answering at once: what is left is the transport and the JSON-RPC layer. */
const STUB_METHODS = {
  eth_chainId: stub("0x7a69", []),
  eth_getTransactionReceipt: stub(null, [{ name: "hash", type: "hash" }]),
  eth_sendRawTransaction: stub(TX_HASH, [{ name: "tx", type: "data" }]),
  eth_call: {
    params: [
      { name: "transaction", type: "callRequest" as const },
      { name: "block", type: "blockTagOrHash" as const, optional: true },
    ],
    handler: () => `0x70a08231${"00".repeat(12)}${"5a".repeat(20)}`,
  },
};

/** Offset just past one complete request (headers + Content-Length body) at the start of `buf`, or -1. */
function requestEnd(buf: Buffer): number {
  const head = buf.indexOf("\r\n\r\n");
  if (head < 0) return -1;
  const m = /content-length: *(\d+)/i.exec(buf.toString("latin1", 0, head));
  const end = head + 4 + (m === null ? 0 : Number(m[1]));
  return buf.length >= end ? end : -1;
}

/** A node:net server calling `onRequest` with each complete request's body (keep-alive, Content-Length bodies). */
async function netServer(onRequest: (socket: Socket, body: string) => void): Promise<number> {
  const server = createNetServer((socket) => {
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (let end = requestEnd(pending); end >= 0; end = requestEnd(pending)) {
        const body = pending.toString("utf8", pending.indexOf("\r\n\r\n") + 4, end);
        pending = pending.subarray(end);
        onRequest(socket, body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function serve(kind: string): Promise<number> {
  if (kind === "net") return netServer((socket) => socket.write(FIXED_RESPONSE));
  if (kind === "http") {
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(200, {
          "content-type": "application/json; charset=utf-8",
          "content-length": FIXED_BODY.length,
          "access-control-allow-origin": "*",
        });
        res.end(FIXED_BODY);
      });
    });
    server.keepAliveTimeout = 72_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }
  if (kind === "rpcnet") {
    // A sketch of a JSON-RPC front on node:net (no Node HTTP): for measuring what it could save, not for serving.
    return netServer((socket, body) => {
      void handleRawBody(body, STUB_METHODS, { transport: "http", remoteAddress: socket.remoteAddress }).then(
        (out = "") => {
          socket.write(
            `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ` +
              `${Buffer.byteLength(out)}\r\naccess-control-allow-origin: *\r\nDate: ${new Date().toUTCString()}\r\n` +
              `Connection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n${out}`,
          );
        },
      );
    });
  }
  const file = kind === "rpc" ? fileURLToPath(new URL("../rpc/server.js", import.meta.url)) : kind.slice(4);
  const mod = (await import(pathToFileURL(file).href)) as typeof import("../rpc/server.js");
  const server = mod.createRPCServer({ host: "127.0.0.1", port: 0, methods: STUB_METHODS });
  return (await server.listen()).port;
}

// --- the parent: load and CPU ------------------------------------------------------------------------------------

/** A server under load: its port, its process's CPU seconds so far (all threads), and how to stop it. */
interface Target {
  label: string;
  port: number;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function startTarget(kind: string, profileDir: string | undefined): Promise<Target> {
  if (kind === "azora" || kind.startsWith("azora=")) {
    const cli = kind === "azora" ? `${repoRoot()}/dist/node/cli.js` : kind.slice(6);
    const proc = await startAzora(cli, repoRoot(), []);
    return {
      label: kind,
      port: Number(new URL(proc.url).port),
      cpu: async () => proc.cpuSeconds() ?? Number.NaN,
      stop: async () => void (await proc.stop()),
    };
  }
  const proc = fork(fileURLToPath(import.meta.url), ["--serve", kind], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv:
      profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-interval", "100"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once("message", (m: { port: number }) => resolve(m.port));
    proc.once("exit", (code) => reject(new Error(`server ${kind} exited with ${code}`)));
  });
  return {
    label: kind,
    port,
    cpu: () =>
      new Promise((resolve) => {
        proc.once("message", (m: { cpu: number }) => resolve(m.cpu));
        proc.send("cpu");
      }),
    // Not a kill: --cpu-prof writes its profile on exit.
    stop: async () => void proc.send("exit"),
  };
}

/** `requests` requests over `conns` keep-alive sockets, one in flight on each; resolves when all are answered. */
async function drive(port: number, body: string, requests: number, conns: number, gapMs: number): Promise<void> {
  const request = requestBytes(port, body);
  let sent = 0;
  const one = (socket: Socket) =>
    new Promise<void>((resolve, reject) => {
      let pending: Buffer = Buffer.alloc(0);
      const next = () => {
        if (sent >= requests) {
          socket.end();
          resolve();
          return;
        }
        sent++;
        socket.write(request);
      };
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const end = requestEnd(pending);
        if (end < 0) return;
        if (!pending.subarray(0, 12).toString("latin1").startsWith("HTTP/1.1 200")) {
          reject(new Error(`unexpected response: ${pending.toString("latin1", 0, 200)}`));
          return;
        }
        pending = pending.subarray(end);
        if (gapMs > 0) setTimeout(next, gapMs);
        else next();
      });
      next();
    });
  const sockets = await Promise.all(
    Array.from(
      { length: conns },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(port, "127.0.0.1", () => resolve(s));
          s.setNoDelay(true);
          s.once("error", reject);
        }),
    ),
  );
  await Promise.all(sockets.map(one));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--serve") {
    const port = await serve(argv[1]);
    process.on("message", (m) => {
      if (m === "exit") process.exit(0);
      const u = process.cpuUsage();
      process.send?.({ cpu: (u.user + u.system) / 1e6 });
    });
    process.send?.({ port });
    return;
  }
  let requests = 20_000;
  let rounds = 5;
  let conns = 8;
  let gapMs = 0;
  let servers = ["net", "http", "rpc"];
  let profileDir: string | undefined;
  let methods = Object.keys(METHODS);
  const ok = readFlags(argv, (flag, next) => {
    if (flag === "--requests") requests = positiveInt(flag, next());
    else if (flag === "--rounds") rounds = positiveInt(flag, next(), 1000);
    else if (flag === "--conns") conns = positiveInt(flag, next(), 1000);
    else if (flag === "--gap-ms") gapMs = positiveInt(flag, next(), 10_000);
    else if (flag === "--servers") servers = next().split(",");
    else if (flag === "--cpu-prof") profileDir = next();
    else if (flag === "--methods") methods = next().split(",");
    else throw new UsageError(`unknown option ${flag}`);
  });
  if (!ok) {
    console.log(HELP);
    return;
  }
  for (const s of servers) {
    if (!["net", "http", "rpc", "rpcnet", "azora"].includes(s) && !s.startsWith("rpc=") && !s.startsWith("azora="))
      throw new UsageError(`unknown server ${s}`);
  }
  for (const m of methods) if (!Object.hasOwn(METHODS, m)) throw new UsageError(`unknown method ${m}`);
  const children = await Promise.all(servers.map((s) => startTarget(s, profileDir)));
  try {
    const micros = new Map<string, number[]>();
    const idle = new Map<string, number[]>();
    for (let r = 0; r <= rounds; r++) {
      // A node is not idle when no request comes (timers, block production, V8's background threads): its CPU per
      // second of wall time, which a bench charges to its transactions in proportion to how long a phase lasts.
      for (const child of children) {
        if (!child.label.startsWith("azora") || r === 0) continue;
        const cpu0 = await child.cpu();
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        const list = idle.get(child.label) ?? [];
        list.push((((await child.cpu()) - cpu0) * 1e3) / (IDLE_MS / 1e3));
        idle.set(child.label, list);
      }
      for (const method of methods) {
        const body = METHODS[method];
        // ABBA order: whichever server runs second in a round does not always get the same slot.
        for (const child of r % 2 === 0 ? children : [...children].reverse()) {
          // The floors answer every body alike: one method is enough for them.
          if ((child.label === "net" || child.label === "http") && method !== methods[0]) continue;
          const cpu0 = await child.cpu();
          await drive(child.port, body, requests, conns, gapMs);
          const cpu1 = await child.cpu();
          if (r === 0) continue; // warm-up round
          const key = `${child.label}\t${method}`;
          const list = micros.get(key) ?? [];
          list.push(((cpu1 - cpu0) * 1e6) / requests);
          micros.set(key, list);
        }
      }
    }
    console.log(`server CPU µs per request, median of ${rounds} rounds (each round's figure in brackets),`);
    console.log(
      `${requests} requests per round, ${conns} keep-alive connections, ${gapMs} ms between requests on each`,
    );
    for (const [label, list] of idle) {
      console.log(
        `${label}\tno requests: CPU ms per s\t${round(median(list), 1)}\t[${list.map((x) => round(x, 1)).join(" ")}]`,
      );
    }
    // Each figure over the first server's on the same method and round: the pairs share the machine's load.
    const base = children[0].label;
    for (const [key, list] of micros) {
      const [label, method] = key.split("\t");
      const ref = micros.get(`${base}\t${method}`);
      const ratio =
        label === base || ref === undefined ? "" : `\t×${round(median(list.map((x, i) => x / ref[i])), 3)} of ${base}`;
      console.log(`${key}\t${round(median(list), 1)}\t[${list.map((x) => round(x, 1)).join(" ")}]${ratio}`);
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

main().catch((e) => {
  console.error(e instanceof UsageError ? `${e.message}\n${HELP}` : e);
  process.exitCode = 1;
});
