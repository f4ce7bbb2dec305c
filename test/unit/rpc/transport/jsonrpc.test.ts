import { describe, expect, it } from "vitest";
import {
  decodeRevertReason,
  ExecutionRevertedError,
  InternalError,
  InvalidParamsError,
  LimitExceededError,
  MethodNotFoundError,
  ResourceNotFoundError,
  RPCErrorCode,
  ServerError,
  TxRejectedError,
  toJSONRPCError,
} from "../../../../rpc/errors.js";
import { hexToBytes } from "../../../../rpc/hex.js";
import {
  handleMessage,
  handleRawBody,
  serializeMessage,
  toHexData,
  toHexQuantity,
  toJSONValue,
} from "../../../../rpc/jsonrpc.js";
import type { CallContext } from "../../../../rpc/types.js";
import { AzoraError } from "../../../../runtime/lib/errors.js";
import { createCaptureLogger, createDummyMethods, FakeSubscriptionSource, REVERT_BOOM } from "./helpers.js";

const ctx: CallContext = { transport: "http" };
const table = createDummyMethods(new FakeSubscriptionSource());

describe("hex helpers and serialisation", () => {
  it("toHexQuantity / toHexData", () => {
    expect(toHexQuantity(0n)).toBe("0x0");
    expect(toHexQuantity(255)).toBe("0xff");
    expect(toHexQuantity(2n ** 64n)).toBe("0x10000000000000000");
    expect(() => toHexQuantity(-1n)).toThrow(RangeError);
    expect(toHexData(new Uint8Array([0, 1, 0xab]))).toBe("0x0001ab");
    expect(toHexData(new Uint8Array(0))).toBe("0x");
    expect(hexToBytes("0x0001ab")).toEqual(new Uint8Array([0, 1, 0xab]));
  });

  it("toJSONValue never throws on bigint and keeps JSON semantics", () => {
    expect(toJSONValue({ a: 1n, b: [-5n, new Uint8Array([1])], c: undefined, d: Number.NaN, e: new Date(0) })).toEqual({
      a: "0x1",
      b: ["-0x5", "0x01"],
      d: null,
      e: "1970-01-01T00:00:00.000Z",
    });
    expect(serializeMessage({ x: 10n })).toBe('{"x":"0xa"}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toJSONValue(cyclic)).toThrow(RangeError);
    const proto = JSON.parse('{"__proto__":{"x":1}}');
    expect(JSON.stringify(toJSONValue(proto))).toBe('{"__proto__":{"x":1}}');
  });
});

describe("errors", () => {
  it("maps typed errors to JSON-RPC codes", () => {
    expect(toJSONRPCError(new InvalidParamsError("bad"))).toEqual({ code: -32602, message: "bad" });
    expect(toJSONRPCError(new MethodNotFoundError("a_b"))).toEqual({
      code: -32601,
      message: "the method a_b does not exist/is not available",
    });
    expect(toJSONRPCError(new TxRejectedError("nonce too low"))).toEqual({ code: -32000, message: "nonce too low" });
    expect(toJSONRPCError(new ServerError("header not found"))).toEqual({ code: -32000, message: "header not found" });
    expect(toJSONRPCError(new ResourceNotFoundError("gone"))).toEqual({ code: -32001, message: "gone" });
    expect(toJSONRPCError(new LimitExceededError("too many"))).toEqual({ code: -32005, message: "too many" });
    expect(toJSONRPCError(new InternalError())).toEqual({ code: -32603, message: "internal error" });
    expect(toJSONRPCError(new Error("leak"))).toEqual({ code: -32603, message: "internal error" });
    expect(toJSONRPCError("str")).toEqual({ code: -32603, message: "internal error" });
    expect(toJSONRPCError({ code: 1, message: "x" })).toEqual({ code: -32603, message: "internal error" });
  });

  it("errors are AzoraErrors with a string code and structured data", () => {
    const e = new TxRejectedError("nonce too low");
    expect(e).toBeInstanceOf(AzoraError);
    expect(e.code).toBe(RPCErrorCode.TX_REJECTED);
    expect(e.type).toEqual({ code: RPCErrorCode.TX_REJECTED, reason: "nonce too low" });
    expect(e.jsonRpcCode).toBe(-32000);
    expect(e.name).toBe("TxRejectedError");
  });

  it("ExecutionRevertedError decodes Error(string) and Panic(uint256)", () => {
    expect(toJSONRPCError(new ExecutionRevertedError(REVERT_BOOM))).toEqual({
      code: 3,
      message: "execution reverted: boom",
      data: REVERT_BOOM,
    });
    expect(toJSONRPCError(new ExecutionRevertedError())).toEqual({
      code: 3,
      message: "execution reverted",
      data: "0x",
    });
    expect(toJSONRPCError(new ExecutionRevertedError("0xdeadbeef"))).toEqual({
      code: 3,
      message: "execution reverted",
      data: "0xdeadbeef",
    });
    const panic = `0x4e487b71${"00".repeat(31)}11`;
    expect(new ExecutionRevertedError(panic).message).toBe("execution reverted: arithmetic underflow or overflow");
    expect(new ExecutionRevertedError(hexToBytes(panic), "custom").message).toBe("execution reverted: custom");
    expect(decodeRevertReason(hexToBytes(`0x4e487b71${"00".repeat(31)}99`) ?? new Uint8Array())).toBe(
      "unknown panic code: 0x99",
    );
    // Truncated Error(string) payload.
    expect(decodeRevertReason(hexToBytes(REVERT_BOOM.slice(0, 140)) ?? new Uint8Array())).toBeUndefined();
  });
});

describe("handleMessage / handleRawBody (transport-agnostic)", () => {
  it("parse error text is exact", async () => {
    expect(await handleRawBody("{", table, ctx)).toBe(
      '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}',
    );
  });

  it("single, notification and batch", async () => {
    expect(await handleMessage({ jsonrpc: "2.0", id: "a", method: "test_echo", params: ["0x1"] }, table, ctx)).toEqual({
      jsonrpc: "2.0",
      id: "a",
      result: "0x1",
    });
    expect(await handleMessage({ jsonrpc: "2.0", method: "test_echo", params: ["0x1"] }, table, ctx)).toBeUndefined();
    expect(
      await handleRawBody('[{"jsonrpc":"2.0","method":"test_echo","params":["0x1"]}]', table, ctx),
    ).toBeUndefined();
    expect(await handleMessage([], table, ctx)).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "empty batch" },
    });
    const big = Array.from({ length: 4 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId" }));
    expect(await handleMessage(big, table, ctx, { batchLimit: 3 })).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32600, message: "batch too large" },
    });
    expect(await handleMessage(big, table, ctx, { batchLimit: 4 })).toHaveLength(4);
  });

  it("handler result that cannot be serialised → -32603, logged", async () => {
    const logger = createCaptureLogger();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const res = await handleMessage(
      { jsonrpc: "2.0", id: 1, method: "bad" },
      { bad: { params: [], handler: () => cyclic } },
      ctx,
      { logger },
    );
    expect(res).toEqual({ jsonrpc: "2.0", id: 1, error: { code: -32603, message: "internal error" } });
    expect(logger.entries.some((e) => e.level === "error" && e.ctx?.method === "bad")).toBe(true);
  });

  it("typed errors are not logged at error level", async () => {
    const logger = createCaptureLogger();
    await handleMessage({ jsonrpc: "2.0", id: 1, method: "test_revert" }, table, ctx, { logger });
    expect(logger.entries.filter((e) => e.level === "error")).toEqual([]);
  });

  it("unexpected errors in notifications are logged but not answered", async () => {
    const logger = createCaptureLogger();
    expect(await handleMessage({ jsonrpc: "2.0", method: "test_throw" }, table, ctx, { logger })).toBeUndefined();
    expect(logger.entries.some((e) => e.level === "error" && e.ctx?.method === "test_throw")).toBe(true);
  });
});
