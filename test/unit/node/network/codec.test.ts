import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGossipTopic, stringifyProtocol, stringifyTopic } from "../../../../node/network/index.js";
import {
  decodeBlocksRequest,
  decodeChunk,
  decodeDirectRequest,
  decodeErrorMessage,
  decodeStatus,
  decodeStatusRequest,
  encodeBlocksRequest,
  encodeChunk,
  encodeDirectRequest,
  encodeErrorChunk,
  encodeStatus,
  encodeStatusRequest,
  MAX_ERROR_MESSAGE_BYTES,
  ResponseCode,
} from "../../../../node/network/reqresp/codec.js";
import { CodecError } from "../../../../runtime/primitives/codecError.js";

const topic = fc.constantFrom("tx" as const, "proposal" as const, "vote" as const, "evidence" as const);

describe("topics", () => {
  it("are /azora/<chainId>/<name>/1, built in one place", () => {
    expect(stringifyTopic(4242n, "vote")).toBe("/azora/4242/vote/1");
    expect(stringifyProtocol(1n, "blocks")).toBe("/azora/1/blocks/1");
    expect(isGossipTopic("proposal")).toBe(true);
    expect(isGossipTopic("votes")).toBe(false);
  });
});

describe("request-response codec", () => {
  it("round-trips every message", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (from, count) => {
        expect(decodeBlocksRequest(encodeBlocksRequest(from, count))).toEqual({ from, count });
      }),
    );
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 600 }),
        (h, hash, commit) => {
          expect(decodeStatus(encodeStatus({ height: h, hash, commit }))).toEqual({ height: h, hash, commit });
        },
      ),
    );
    fc.assert(
      fc.property(topic, fc.uint8Array({ maxLength: 300 }), (t, data) => {
        expect(decodeDirectRequest(encodeDirectRequest(t, data))).toEqual({ topic: t, data });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ResponseCode.REJECTED }), fc.uint8Array({ maxLength: 64 }), (code, p) => {
        expect(decodeChunk(encodeChunk(code, p))).toEqual({ code, payload: p });
      }),
    );
    expect(() => decodeStatusRequest(encodeStatusRequest())).not.toThrow();
  });

  it("decoders throw only CodecError, whatever the bytes", () => {
    const decoders = [decodeBlocksRequest, decodeStatus, decodeStatusRequest, decodeDirectRequest, decodeChunk];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        for (const decode of decoders) {
          try {
            decode(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(CodecError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses non-canonical and out-of-range fields", () => {
    expect(() => decodeBlocksRequest(Uint8Array.from([0xc3, 0x00, 0x01, 0x02]))).toThrow(CodecError); // 0x00 = leading zero
    expect(() => decodeBlocksRequest(encodeBlocksRequest(1n, 1).subarray(0, 2))).toThrow(CodecError);
    expect(() =>
      decodeStatus(encodeStatus({ height: 1n, hash: new Uint8Array(31), commit: new Uint8Array(0) })),
    ).toThrow(CodecError);
    expect(() => decodeChunk(Uint8Array.from([ResponseCode.REJECTED + 1]))).toThrow(CodecError);
    expect(() => decodeChunk(new Uint8Array(0))).toThrow(CodecError);
  });

  it("caps error texts at 256 bytes", () => {
    const chunk = encodeErrorChunk(ResponseCode.SERVER_ERROR, "x".repeat(1000));
    expect(chunk.length).toBe(1 + MAX_ERROR_MESSAGE_BYTES);
    expect(decodeErrorMessage(decodeChunk(chunk).payload)).toBe("x".repeat(MAX_ERROR_MESSAGE_BYTES));
  });
});
