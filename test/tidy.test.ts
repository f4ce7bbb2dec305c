import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Architecture rules as a test (after TigerBeetle's tidy.zig): import direction between folders,
 * and no clock, randomness or environment in the deterministic core.
 */
const ROOT = resolve(import.meta.dirname, "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "artifacts") continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\s*\(\s*"([^"]+)"\s*\)/g)) {
    specs.push(m[1] ?? m[2]);
  }
  return specs;
}

/** folder → folders (relative to the repo root) its files may import from. npm packages are always fine. */
const ALLOWED: Record<string, string[]> = {
  runtime: ["runtime"],
  consensus: ["consensus", "runtime/primitives", "runtime/lib"],
  genesis: ["genesis", "runtime"],
  rpc: ["rpc", "runtime/primitives", "runtime/lib"],
  contracts: ["contracts"],
  services: [
    "services",
    "rpc/client",
    "runtime/primitives",
    "runtime/lib",
    "contracts",
    // the worker's metered front (services/runtime/payments/meteredFront.ts) runs on the RPC port's keep-alive front
    "rpc/transport/httpFront.js",
    "rpc/transport/httpHead.js",
  ],
  "ai-oracle": ["ai-oracle", "services/runtime", "rpc/client", "runtime/primitives", "runtime/lib", "contracts"],
  // node is the composition root: the one CLI starts workers and services too.
  node: ["node", "runtime", "consensus", "rpc", "genesis", "contracts", "services", "ai-oracle"],
  // bench measures the runtime in-process too (bench/execution.ts), so it may use all of it, and the node's
  // chain pipeline (bench/heights.ts: the per-height work on a real chain, without processes or network).
  bench: [
    "bench",
    "contracts",
    "consensus",
    "genesis",
    "runtime",
    "node/version.js",
    "node/polyfill.js",
    "node/chain",
    "node/consensus/app.js",
    // bench/consensusDiskSyncs.ts measures one validator's per-height WAL and signer work directly
    "node/consensus/signer.js",
    "node/consensus/wal.js",
    // bench/receiptFormat.ts: a receipt formatted with the recipient read from raw bytes vs decoded
    "node/rpc/txRecipient.js",
    "rpc/backend.js",
    "rpc/format.js",
    // bench/httpFloor.ts: the JSON-RPC layer behind bare transports, next to the full server
    "rpc/jsonrpc.js",
    "rpc/server.js",
    "node/crypto",
    "node/db",
    "node/mempool",
    "node/sync",
    // bench/pipeline.ts: the dev node's admission → commit pipeline in process (issue 14's per-tx CPU goal)
    "node/config.js",
    "node/metrics.js",
    "node/producer",
    "node/state",
    "node/txStages.js",
    "ai-oracle",
    "services",
  ],
};

describe("tidy", () => {
  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only from ${allowed.join(", ")}`, () => {
      let dir: string;
      try {
        dir = join(ROOT, folder);
        statSync(dir);
      } catch {
        return; // folder not created yet
      }
      for (const file of sources(dir)) {
        for (const spec of importsOf(file)) {
          if (!spec.startsWith(".")) continue; // npm package or node: builtin
          const target = relative(ROOT, resolve(file, "..", spec));
          const ok = allowed.some((a) => target === a || target.startsWith(`${a}/`));
          expect(ok, `${relative(ROOT, file)} imports ${target}`).toBe(true);
        }
      }
    });
  }

  it("runtime/ and consensus/ read no clock, randomness, timers or environment", () => {
    const banned =
      /\b(Date\.now|new Date\(|Math\.random|setTimeout|setInterval|process\.env|performance\.now|randomBytes)\b/;
    for (const folder of ["runtime", "consensus"]) {
      for (const file of sources(join(ROOT, folder))) {
        const lines = readFileSync(file, "utf8").split("\n");
        lines.forEach((line, i) => {
          if (line.trim().startsWith("//") || line.trim().startsWith("*")) return;
          expect(banned.test(line), `${relative(ROOT, file)}:${i + 1}: ${line.trim()}`).toBe(false);
        });
      }
    }
  });

  it("index.ts files export explicit names only (no export *)", () => {
    for (const folder of Object.keys(ALLOWED)) {
      let files: string[] = [];
      try {
        files = sources(join(ROOT, folder)).filter((f) => f.endsWith("index.ts"));
      } catch {
        continue;
      }
      for (const f of files) expect(/export \*/.test(readFileSync(f, "utf8")), relative(ROOT, f)).toBe(false);
    }
  });
});
