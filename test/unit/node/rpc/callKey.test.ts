/**
 * The eth_call cache key (`callKey` in node/rpc/nodeBackend.ts): requests of the common shape (`to`,
 * `data`, at most `from`) are keyed by hand, the others by JSON text. On random requests as
 * `parseCallRequest` makes them, two requests must get one key exactly when their JSON keys (the
 * plain path, a canonical form of the parsed request) are equal: a key shared by two different
 * requests would answer one with the other's cached result.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callKey } from "../../../../node/rpc/nodeBackend.js";
import { parseCallRequest } from "../../../../rpc/params.js";
import type { CallRequest } from "../../../../rpc/types.js";

/** The plain path: the parsed request as JSON text, bytes and quantities as hex. */
function plainKey(req: CallRequest): string {
  return JSON.stringify(req, (_k, v) =>
    typeof v === "bigint" ? `0x${v.toString(16)}` : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v,
  );
}

// Few distinct values per field, so that equal and nearly equal requests come up often.
const address = fc.constantFrom(
  "0x00000000000000000000000000000000000000aa",
  "0x00000000000000000000000000000000000000bb",
  "0x00000000000000000000000000000000000000AA",
);
const data = fc.constantFrom("0x", "0x70a08231", "0x70a0823100", "0x0070a08231", "0x70a08232");
const quantity = fc.constantFrom("0x0", "0x1", "0x10");

const fields = {
  from: address,
  to: fc.oneof(address, fc.constant(null)),
  data,
  input: data,
  value: quantity,
  gas: quantity,
};
type Field = keyof typeof fields;
const request = fc.record(fields, { requiredKeys: [] });
/** A request and one near it: one field set, changed or removed (most pairs then differ in one field only). */
const pair = fc
  .tuple(request, fc.constantFrom(...(Object.keys(fields) as Field[])), fc.boolean(), request)
  .map(([a, field, remove, other]) => {
    const b: Record<string, unknown> = { ...a };
    if (remove || other[field] === undefined) delete b[field];
    else b[field] = other[field];
    return [a, b] as const;
  });

function parsed(raw: Record<string, unknown>): CallRequest | undefined {
  try {
    return parseCallRequest(raw);
  } catch {
    return undefined; // e.g. data and input both set and different
  }
}

describe("callKey", () => {
  it("gives two parsed requests one key exactly when they are the same request", () => {
    fc.assert(
      fc.property(fc.oneof(pair, fc.tuple(request, request)), ([a, b]) => {
        const ra = parsed(a);
        const rb = parsed(b);
        fc.pre(ra !== undefined && rb !== undefined);
        expect(callKey(ra) === callKey(rb)).toBe(plainKey(ra) === plainKey(rb));
      }),
      { numRuns: 5000 },
    );
  });

  it("keys a subarray's bytes, not its whole buffer", () => {
    const whole = Uint8Array.from([1, 2, 3, 4]);
    const to = "0x00000000000000000000000000000000000000aa";
    expect(callKey({ to, data: whole.subarray(1, 3) })).toBe(callKey({ to, data: Uint8Array.from([2, 3]) }));
    expect(callKey({ to, data: whole.subarray(1, 3) })).not.toBe(callKey({ to, data: whole }));
  });
});
