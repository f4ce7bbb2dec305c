// --netns: the validators as separate hosts. One network namespace per validator (`eth0` with 10.213.0.<i+1>/24 and
// a netem delay on its egress) plus a bridge namespace joining the veth peers: every packet between two hosts
// crosses exactly one delayed egress, so the one-way delay between any two validators is --delay-ms. Addresses
// exist only inside these namespaces; the host's interfaces are not touched. The bench reaches each node's JSON-RPC
// (127.0.0.1 inside its namespace) through a forwarder started in the namespace on a Unix socket (Unix sockets are
// not namespaced) and a TCP listener on the host's 127.0.0.1; that path is not delayed.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PREFIX = "azbn";
const SUBNET = "10.213.0";

export class NetnsUnavailableError extends Error {}

/** Namespaces created and not yet deleted (deleted on exit, even on failure). */
const createdNamespaces = new Set<string>();
const forwarderChildren = new Set<ChildProcess>();
const socketDirs = new Set<string>();

export interface NetnsHost {
  namespace: string;
  /** The host's address inside the topology. */
  address: string;
}

export interface NetnsTopology {
  hosts: NetnsHost[];
  bridgeNamespace: string;
  delayMs: number;
  description: string;
  /** Starts a forwarder to 127.0.0.1:`port` inside host `index`; returns an http://127.0.0.1:P URL on this host. */
  forwardRpc(index: number, port: number): Promise<string>;
  /** Stops the forwarders of the current network (the namespaces stay). */
  closeForwarders(): Promise<void>;
  /** Stops every forwarder and deletes every namespace (and with them the veths). */
  teardown(): Promise<void>;
}

function ip(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "the `ip` command (iproute2) is not installed" : stderr.trim() || err.message;
      reject(new Error(`ip ${args.join(" ")}: ${why}`));
    });
  });
}

function deleteNamespaceSync(ns: string): void {
  try {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore", timeout: 10_000 });
  } catch {
    // already gone
  }
  createdNamespaces.delete(ns);
}

/** Synchronous last-resort cleanup (process exit / signal). */
export function teardownAllSync(): void {
  for (const c of forwarderChildren) c.kill("SIGKILL");
  forwarderChildren.clear();
  for (const ns of [...createdNamespaces]) deleteNamespaceSync(ns);
  for (const d of socketDirs) rmSync(d, { recursive: true, force: true });
  socketDirs.clear();
}

async function addNamespace(ns: string): Promise<void> {
  await ip(["netns", "add", ns]);
  createdNamespaces.add(ns);
}

async function delNamespace(ns: string): Promise<void> {
  await ip(["netns", "del", ns]).catch(() => undefined);
  createdNamespaces.delete(ns);
}

/** Namespaces left by an earlier run of this bench that was SIGKILLed (their pid is gone): deleted. */
export async function removeStaleNamespaces(log: (m: string) => void): Promise<void> {
  let list: string;
  try {
    list = await ip(["netns", "list"]);
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0];
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m === null || Number(m[1]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      log(`removing stale namespace ${name} (left by a killed bench run, pid ${m[1]})`);
      await delNamespace(name);
    }
  }
}

/**
 * Checks that this machine can run --netns: namespaces, veth pairs, a bridge and (when delayMs > 0) the netem
 * qdisc, on a throwaway namespace. Throws NetnsUnavailableError saying what is missing.
 */
export async function preflight(delayMs: number): Promise<void> {
  if (process.platform !== "linux")
    throw new NetnsUnavailableError(`--netns needs Linux (this is ${process.platform})`);
  const probe = `${PREFIX}${process.pid}-probe`;
  const need = "It needs root (or CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2.";
  try {
    await addNamespace(probe);
  } catch (e) {
    throw new NetnsUnavailableError(`--netns: cannot create a network namespace (${(e as Error).message}). ${need}`);
  }
  try {
    try {
      await ip(["link", "add", "p0", "netns", probe, "type", "veth", "peer", "name", "p1", "netns", probe]);
      await ip(["-n", probe, "link", "add", "br0", "type", "bridge"]);
      await ip(["-n", probe, "link", "set", "p1", "master", "br0"]);
      await ip(["-n", probe, "link", "set", "p0", "up"]);
    } catch (e) {
      throw new NetnsUnavailableError(
        `--netns: cannot create veth pairs or a bridge in a namespace (${(e as Error).message}). ${need}`,
      );
    }
    if (delayMs > 0) {
      try {
        await ip(["netns", "exec", probe, "tc", "qdisc", "add", "dev", "p0", "root", "netem", "delay", `${delayMs}ms`]);
      } catch (e) {
        const msg = (e as Error).message;
        const missing = /qdisc kind is unknown|No such file or directory.*netem|Unknown qdisc/i.test(msg)
          ? "the kernel has no netem qdisc (sch_netem): load it with `modprobe sch_netem` or use a kernel built " +
            "with CONFIG_NET_SCH_NETEM"
          : /tc.*not found|ENOENT|exec of "tc" failed/i.test(msg)
            ? "the `tc` command (iproute2) is not installed"
            : "netem is not usable here";
        throw new NetnsUnavailableError(
          `--netns: cannot add a ${delayMs} ms delay: ${missing}.\n  \`tc qdisc add dev … root netem delay ${delayMs}ms\` ` +
            `said: ${msg.replace(/^ip netns exec \S+ /, "")}\n  (namespaces, veth pairs and bridges work; ` +
            "`--netns --delay-ms 0` runs the namespace topology without delay, and `--relay` adds the delay in " +
            "userspace on loopback)",
        );
      }
    }
  } finally {
    await delNamespace(probe);
  }
}

/** Creates the bridge namespace and one namespace per host; on any failure everything created is deleted. */
export async function createTopology(n: number, delayMs: number, forwardScript: string): Promise<NetnsTopology> {
  const tag = `${PREFIX}${process.pid}`;
  const bridge = `${tag}-br`;
  const hosts: NetnsHost[] = Array.from({ length: n }, (_, i) => ({
    namespace: `${tag}-n${i}`,
    address: `${SUBNET}.${i + 1}`,
  }));
  const all = [bridge, ...hosts.map((h) => h.namespace)];
  try {
    await addNamespace(bridge);
    await ip(["-n", bridge, "link", "set", "lo", "up"]);
    await ip(["-n", bridge, "link", "add", "br0", "type", "bridge"]);
    await ip(["-n", bridge, "link", "set", "br0", "up"]);
    for (let i = 0; i < n; i++) {
      const ns = hosts[i].namespace;
      await addNamespace(ns);
      // Created directly inside the two namespaces: nothing ever appears in the host's namespace.
      await ip(["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", `v${i}`, "netns", bridge]);
      await ip(["-n", bridge, "link", "set", `v${i}`, "master", "br0"]);
      await ip(["-n", bridge, "link", "set", `v${i}`, "up"]);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
      await ip(["-n", ns, "addr", "add", `${hosts[i].address}/24`, "dev", "eth0"]);
      await ip(["-n", ns, "link", "set", "eth0", "up"]);
      if (delayMs > 0)
        await ip(["netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", `${delayMs}ms`]);
    }
  } catch (e) {
    for (const ns of all) await delNamespace(ns);
    throw e;
  }

  const sockDir = mkdtempSync(join(tmpdir(), "azora-netbench-fwd-"));
  socketDirs.add(sockDir);
  let current: Array<{ child: ChildProcess; server: Server; sockets: Set<Socket> }> = [];
  let seq = 0;

  const closeForwarders = async () => {
    const list = current;
    current = [];
    await Promise.all(
      list.map(async (f) => {
        for (const s of f.sockets) s.destroy();
        await new Promise<void>((r) => f.server.close(() => r()));
        if (f.child.exitCode === null && f.child.signalCode === null) {
          const gone = new Promise<void>((r) => f.child.once("exit", () => r()));
          f.child.kill("SIGTERM");
          await gone;
        }
        forwarderChildren.delete(f.child);
      }),
    );
  };

  return {
    hosts,
    bridgeNamespace: bridge,
    delayMs,
    description:
      `${n} namespaces (${hosts.map((h) => `${h.namespace} ${h.address}`).join(", ")}) on a bridge in ${bridge}, ` +
      (delayMs > 0 ? `netem delay ${delayMs} ms on each host's egress (one way host→host)` : "no netem delay"),
    forwardRpc: async (index, port) => {
      const sock = join(sockDir, `f${seq++}.sock`);
      const child = spawn(
        "ip",
        ["netns", "exec", hosts[index].namespace, process.execPath, forwardScript, sock, String(port)],
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      forwarderChildren.add(child);
      let out = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`forwarder in ${hosts[index].namespace} did not start`)),
          10_000,
        );
        const onData = (d: Buffer) => {
          out += d.toString();
          if (out.includes("ready")) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`forwarder in ${hosts[index].namespace} exited (${code}): ${out}`));
        });
      });
      const sockets = new Set<Socket>();
      const server = createServer((client) => {
        const upstream = connect(sock);
        sockets.add(client);
        sockets.add(upstream);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      current.push({ child, server, sockets });
      const addr = server.address();
      return `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
    },
    closeForwarders,
    teardown: async () => {
      await closeForwarders();
      for (const ns of all) await delNamespace(ns);
      rmSync(sockDir, { recursive: true, force: true });
      socketDirs.delete(sockDir);
    },
  };
}
