/**
 * The eth_call caches' key (`node/rpc/callKey.ts`), written out field by field, against the JSON.stringify key it
 * replaced: on random requests drawn from a small domain (so that many are equal or differ in one field), two
 * requests get the same key exactly when they got the same reference key.
 */
import { describe, expect, it } from "vitest";
import { callKey } from "../../../../node/rpc/callKey.js";
import type { CallRequest } from "../../../../rpc/types.js";

/** The key before call14c, with the fields in one order (parseCallRequest's order does not vary). */
function referenceKey(req: CallRequest): string {
  const order: (keyof CallRequest)[] = [
    "from",
    "to",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "value",
    "data",
    "nonce",
    "accessList",
    "authorizationList",
    "type",
    "chainId",
  ];
  const sorted: Record<string, unknown> = {};
  for (const k of order) if (req[k] !== undefined) sorted[k] = req[k];
  return JSON.stringify(sorted, (_k, v) =>
    typeof v === "bigint" ? `0x${v.toString(16)}` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
  );
}

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ADDRS = [`0x${"00".repeat(19)}04`, `0x${"ab".repeat(20)}`];
const QUANTITY_FIELDS = [
  "gas",
  "gasPrice",
  "maxFeePerGas",
  "maxPriorityFeePerGas",
  "value",
  "nonce",
  "type",
  "chainId",
];

function randomRequest(r: () => number): CallRequest {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const req: CallRequest = {};
  if (r() < 0.3) req.from = pick(ADDRS);
  const to = r();
  if (to < 0.15) req.to = null;
  else if (to < 0.9) req.to = pick(ADDRS);
  for (const f of QUANTITY_FIELDS) if (r() < 0.15) (req as Record<string, bigint>)[f] = pick([0n, 1n, 16n, 255n]);
  if (r() < 0.8) req.data = pick([new Uint8Array(0), Uint8Array.of(1), Uint8Array.of(1, 0), Uint8Array.of(0x10)]);
  if (r() < 0.1) req.accessList = [{ address: pick(ADDRS), storageKeys: r() < 0.5 ? [] : [`0x${"00".repeat(32)}`] }];
  if (r() < 0.05)
    req.authorizationList = [
      { chainId: 1n, address: pick(ADDRS), nonce: pick([0n, 1n]), yParity: 0n, r: 1n, s: pick([1n, 2n]) },
    ];
  return req;
}

describe("callKey", () => {
  it("is equal for two requests exactly when the JSON.stringify key was (random requests)", () => {
    const r = rng(14);
    const reqs = Array.from({ length: 3000 }, () => randomRequest(r));
    const byKey = new Map<string, string>();
    const byReference = new Map<string, string>();
    let collisions = 0;
    for (const req of reqs) {
      const key = callKey(req);
      const ref = referenceKey(req);
      const seenRef = byKey.get(key);
      if (seenRef !== undefined) {
        collisions++;
        expect(seenRef, `same key ${key}`).toBe(ref);
      }
      const seenKey = byReference.get(ref);
      if (seenKey !== undefined) expect(seenKey, `same reference ${ref}`).toBe(key);
      byKey.set(key, ref);
      byReference.set(ref, key);
    }
    // The domain is small enough that equal requests recur, so both directions are exercised.
    expect(collisions).toBeGreaterThan(100);
    expect(byKey.size).toBeGreaterThan(500);
  });

  it("tells apart what a field boundary could blur: to null, absent and set; data empty and absent", () => {
    const keys = [
      {},
      { to: null },
      { to: ADDRS[0] },
      { data: new Uint8Array(0) },
      { value: 1n },
      { gas: 1n },
      { value: 0x10n },
      { data: Uint8Array.of(0x10) },
    ].map((r) => callKey(r as CallRequest));
    expect(new Set(keys).size).toBe(keys.length);
  });
});
