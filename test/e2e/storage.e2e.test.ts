import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, seededBytes } from "../storage/fixtures.js";
import { CLI, REPO_ROOT, tempDir } from "../utils/devnode.js";

/**
 * `azora storage` as operators run it: two `serve` processes on loopback, the second dialling the first, so
 * content uploaded to one is fetched by CID from the other over bitswap; `add` gives the CID the gateway
 * gives; `get` writes what verifies and refuses — leaving nothing behind — a block a gateway tampered with.
 */

interface Served {
  url: string;
  p2p: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [CLI, "storage", "serve", "--port", "0", "--log-format", "json", ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d) => {
    out += d.toString();
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const [url, p2p] = await new Promise<[string, string]>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`storage serve did not start within 120 s:\n${out}`)), 120_000);
    const check = () => {
      const g = /Gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      const p = /P2P\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/.exec(out);
      if (g !== null && p !== null) {
        clearTimeout(timer);
        res([g[1], p[1]]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`storage serve exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    p2p,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d) => {
      stderr += d.toString();
    });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A gateway that relays to `upstream` but flips one byte of every raw-codec block (file leaves) it serves
 * as `?format=raw` — what a lying or corrupt host would send.
 */
async function tamperingProxy(upstream: string): Promise<{ url: string; tampered: () => number; server: Server }> {
  let tampered = 0;
  const server = createServer(async (req, res) => {
    const up = await fetch(`${upstream}${req.url}`, { headers: { accept: req.headers.accept ?? "*/*" } });
    const body = new Uint8Array(await up.arrayBuffer());
    const cid = /^\/ipfs\/(\w+)/.exec(req.url ?? "")?.[1];
    if (up.ok && cid !== undefined && req.url?.includes("format=raw") && CID.parse(cid).code === raw.code) {
      body[body.length >> 1] ^= 0xff;
      tampered++;
    }
    res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/octet-stream" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tampered: () => tampered, server };
}

let a: Served;
let b: Served;
const clip = seededBytes(2_600_000, "clip"); // three 1 MiB leaves
let upload: { cid: string; wrapper: string; path: string };

beforeAll(async () => {
  a = await serve(["--data-dir", tempDir("storage-a"), "--p2p-listen", "/ip4/127.0.0.1/tcp/0"]);
  b = await serve(["--data-dir", tempDir("storage-b"), "--p2p-listen", "/ip4/127.0.0.1/tcp/0", "--peer", a.p2p]);
  const res = await fetch(`${a.url}/upload?filename=clip.bin`, { method: "POST", body: clip });
  expect(res.status).toBe(200);
  upload = await jsonOf(res);
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe("two storage nodes", () => {
  it("content uploaded to one is served by CID by the other, fetched over bitswap", async () => {
    const res = await fetch(`${b.url}${upload.path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${upload.cid}"`);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(clip))).toBe(true);
    // B now holds the blocks itself: a range of the last leaf comes back without A
    const tail = await fetch(`${b.url}/ipfs/${upload.cid}`, { headers: { range: "bytes=2599990-" } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(Buffer.from(clip.subarray(2_599_990)))).toBe(true);
  });
});

describe("azora storage add / get", () => {
  it("add prints the CID the gateway gives the same file, wrapped in a directory or not", async () => {
    const dir = tempDir("storage-add");
    writeFileSync(join(dir, "clip.bin"), clip);
    const file = await run(["storage", "add", join(dir, "clip.bin"), "--data-dir", tempDir("storage-repo")]);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout.trim()).toBe(upload.cid);
    const wrapped = await run([
      "storage",
      "add",
      "--wrap",
      join(dir, "clip.bin"),
      "--data-dir",
      tempDir("storage-repo"),
    ]);
    expect(wrapped.stdout.trim()).toBe(upload.wrapper);
  });

  it("add of a directory and get of its CID from the same repo give back the tree", async () => {
    const src = tempDir("storage-tree");
    mkdirSync(join(src, "img"));
    writeFileSync(join(src, "meta.json"), '{"name":"x"}');
    writeFileSync(join(src, "img", "a.bin"), clip.subarray(0, 1_500_000));
    const repo = tempDir("storage-tree-repo");
    const added = await run(["storage", "add", src, "--data-dir", repo]);
    expect(added.code, added.stderr).toBe(0);
    const cid = added.stdout.trim();
    expect(CID.parse(cid).code).toBe(0x70); // dag-pb: a directory node
    const out = join(tempDir("storage-tree-out"), "tree");
    const got = await run(["storage", "get", cid, "--data-dir", repo, "-o", out, "-q"]);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toContain("directory");
    expect(readFileSync(join(out, "meta.json"), "utf8")).toBe('{"name":"x"}');
    expect(readFileSync(join(out, "img", "a.bin")).equals(Buffer.from(clip.subarray(0, 1_500_000)))).toBe(true);
  });

  it("get writes a file that verified block by block", async () => {
    const out = join(tempDir("storage-get"), "clip.bin");
    const r = await run(["storage", "get", upload.cid, "--gateway", b.url, "-o", out, "-q"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("blocks verified");
    expect(readFileSync(out).equals(Buffer.from(clip))).toBe(true);
  });

  it("get refuses a tampered block and writes nothing", async () => {
    const proxy = await tamperingProxy(a.url);
    try {
      const dir = tempDir("storage-get-bad");
      const out = join(dir, "clip.bin");
      const r = await run(["storage", "get", upload.cid, "--gateway", proxy.url, "-o", out, "-q"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("STORAGE_HASH_MISMATCH");
      expect(proxy.tampered()).toBeGreaterThan(0);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir), "no partial file left").toEqual([]);
    } finally {
      proxy.server.close();
    }
  });
});
