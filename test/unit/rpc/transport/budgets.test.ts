import { describe, expect, it } from "vitest";
import {
  echo,
  MAX_ECHO_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  ServerError,
  toJSONRPCError,
} from "../../../../rpc/errors.js";
import { handleMessage } from "../../../../rpc/jsonrpc.js";
import { defineMethod, type MethodTable } from "../../../../rpc/types.js";

/**
 * The limits one request or batch works within (issue 16): a byte budget for the response(s), a
 * time budget, and a cost budget per batch. Calls past a limit are answered with the limit's error
 * without running, so a batch of expensive calls costs its budget, not 1,000 calls' worth.
 */

const ctx = { transport: "http" as const };

function counting(): { table: MethodTable; runs: () => number } {
  let runs = 0;
  const table: MethodTable = {
    // A result of about `n` bytes once serialised.
    big: defineMethod([{ name: "n", type: "any" }], ([n]) => {
      runs++;
      return "x".repeat(Number(n));
    }),
    // Charges its estimate before building, as eth_getLogs does.
    charged: defineMethod([{ name: "n", type: "any" }], ([n], c) => {
      runs++;
      c.budget?.chargeBytes(Number(n));
      return "x".repeat(Number(n));
    }),
    costly: defineMethod(
      [],
      () => {
        runs++;
        return 1;
      },
      { cost: 10 },
    ),
    slow: defineMethod([{ name: "ms", type: "any" }], async ([ms], c) => {
      runs++;
      await new Promise((r) => setTimeout(r, Number(ms)));
      c.budget?.checkTime();
      return ms;
    }),
  };
  return { table, runs: () => runs };
}

const batchOf = (n: number, method: string, params: unknown[] = []) =>
  Array.from({ length: n }, (_, id) => ({ jsonrpc: "2.0", id, method, params }));

describe("response byte budget (rpc.maxResponseBytes)", () => {
  it("a single response over the limit is -32003 `response too large`", async () => {
    const { table } = counting();
    expect(
      await handleMessage({ jsonrpc: "2.0", id: 1, method: "big", params: [5000] }, table, ctx, {
        maxResponseBytes: 4096,
      }),
    ).toEqual({
      jsonrpc: "2.0",
      id: 1,
      error: { code: -32003, message: "response too large" },
    });
    expect(
      await handleMessage({ jsonrpc: "2.0", id: 1, method: "big", params: [100] }, table, ctx, {
        maxResponseBytes: 4096,
      }),
    ).toMatchObject({
      result: "x".repeat(100),
    });
  });

  it("a batch stops building once its responses reach the limit: the rest answer -32003 without running", async () => {
    const { table, runs } = counting();
    const res = (await handleMessage(batchOf(1000, "big", [1000]), table, ctx, { maxResponseBytes: 10_000 })) as {
      result?: string;
      error?: { code: number };
    }[];
    expect(res).toHaveLength(1000);
    const answered = res.filter((r) => r.result !== undefined).length;
    expect(answered).toBeGreaterThan(5);
    expect(answered).toBeLessThan(10);
    expect(res.filter((r) => r.error?.code === -32003)).toHaveLength(1000 - answered);
    // Only the calls already running when the budget ran out were built; the others never ran.
    expect(runs()).toBeLessThan(answered + 5);
  });

  it("a method that charges before building is refused before it builds", async () => {
    const { table } = counting();
    const res = (await handleMessage(batchOf(3, "charged", [6000]), table, ctx, { maxResponseBytes: 10_000 })) as {
      error?: { code: number };
    }[];
    expect(res.map((r) => r.error?.code ?? "ok")).toEqual(["ok", -32003, -32003]);
  });
});

describe("batch cost budget (rpc.batchMaxCost)", () => {
  it("calls past the budget answer -32005 without running; cheap calls cost 1", async () => {
    const { table, runs } = counting();
    const res = (await handleMessage(batchOf(10, "costly"), table, ctx, { batchMaxCost: 45 })) as {
      result?: number;
      error?: { code: number; message: string };
    }[];
    expect(res.filter((r) => r.result === 1)).toHaveLength(4);
    expect(res.slice(4).map((r) => r.error)).toEqual(
      Array(6).fill({ code: -32005, message: "batch cost budget exceeded (limit 45)" }),
    );
    expect(runs()).toBe(4);
    const cheap = (await handleMessage(batchOf(45, "big", [1]), table, ctx, { batchMaxCost: 45 })) as unknown[];
    expect(cheap.every((r) => (r as { result?: string }).result === "x")).toBe(true);
  });
});

describe("time budget (rpc.requestTimeoutMs)", () => {
  it("calls of a batch not started when the time is up answer -32002 `request timed out`", async () => {
    const { table, runs } = counting();
    const res = (await handleMessage(batchOf(40, "slow", [30]), table, ctx, { requestTimeoutMs: 100 })) as {
      result?: number;
      error?: { code: number; message: string };
    }[];
    const timedOut = res.filter((r) => r.error?.code === -32002);
    expect(timedOut.length).toBeGreaterThan(20);
    for (const r of timedOut) expect(r.error?.message).toBe("request timed out");
    expect(runs()).toBeLessThan(40);
  });
});

describe("echoed client input", () => {
  it("a 4 MB method name comes back cut to 64 characters", async () => {
    const name = "m".repeat(4 * 1024 * 1024);
    const res = (await handleMessage({ jsonrpc: "2.0", id: 1, method: name }, {}, ctx)) as {
      error: { code: number; message: string };
    };
    expect(res.error.code).toBe(-32601);
    expect(res.error.message).toBe(`the method ${"m".repeat(MAX_ECHO_LENGTH)}… does not exist/is not available`);
  });

  it("echo() cuts, and no error message is longer than 4 KiB", () => {
    expect(echo("abc")).toBe("abc");
    expect(echo("a".repeat(100))).toHaveLength(MAX_ECHO_LENGTH + 1);
    const long = toJSONRPCError(new ServerError("y".repeat(10_000)));
    expect(long.message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH + 1);
    expect(long.message.endsWith("…")).toBe(true);
  });
});
