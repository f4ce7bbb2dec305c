import { describe, expect, it } from "vitest";
import { cidOf, sha256Hex } from "../../../services/runtime/content/cid.js";
import { SpecErrorCode } from "../../../services/runtime/errors.js";
import {
  encodeSpec,
  inlineSpecURI,
  inputSources,
  loadSpec,
  MAX_INLINE_INPUT_BYTES,
  paramsOf,
  specFor,
  validateSpec,
} from "../../../services/runtime/spec.js";

const opts = { maxBytes: 1 << 20, timeoutMs: 5000 };

describe("job spec documents", () => {
  it("small inputs travel inline; the spec round-trips through a data: specURI", async () => {
    const input = new TextEncoder().encode("short input");
    const { doc, inputHash } = specFor("test/sha256", input, { contentType: "text/plain", params: { sleepMs: 5 } });
    expect(inputHash).toBe(sha256Hex(input));
    expect(doc.azora.input.uris[0].startsWith("data:text/plain;base64,")).toBe(true);
    const uri = inlineSpecURI(doc) as string;
    const loaded = await loadSpec(uri, "test/sha256", opts);
    expect(loaded).toEqual(doc);
    expect(paramsOf(loaded)).toEqual({ sleepMs: 5 });
  });

  it("large inputs are named by hosted URIs, and every claimer's endpoint is a fallback source", () => {
    const input = new Uint8Array(MAX_INLINE_INPUT_BYTES + 1);
    const cid = cidOf(input).toString();
    const { doc, inputHash } = specFor("ai/ocr", input, { hostedURIs: [`http://127.0.0.1:9/blobs/${cid}`] });
    expect(doc.azora.input.uris).toEqual([`http://127.0.0.1:9/blobs/${cid}`]);
    expect(inputSources(doc, inputHash, ["http://w1:8700/", "not a url"])).toEqual([
      `http://127.0.0.1:9/blobs/${cid}`,
      `http://w1:8700/blobs/${cid}`,
    ]);
  });

  it("canonical bytes do not depend on key order", () => {
    const a = specFor("k", new Uint8Array([1]), { params: { b: 1, a: { y: 2, x: 1 } } }).doc;
    const b = { azora: a.azora, a: { x: 1, y: 2 }, b: 1 };
    expect(Buffer.from(encodeSpec(a)).equals(Buffer.from(encodeSpec(b)))).toBe(true);
  });

  it("refuses a mutable (not content-addressed) specURI, a kind mismatch, a malformed document", async () => {
    await expect(loadSpec("http://127.0.0.1:9/spec.json", "k", opts)).rejects.toMatchObject({
      type: { code: SpecErrorCode.NOT_CONTENT_ADDRESSED },
    });
    const { doc } = specFor("ai/ocr", new Uint8Array([1]), {});
    await expect(loadSpec(inlineSpecURI(doc) as string, "ai/embed", opts)).rejects.toMatchObject({
      type: { code: SpecErrorCode.KIND_MISMATCH },
    });
    expect(() => validateSpec({ v: 1, kind: "x" })).toThrowError(/azora/);
    expect(() => validateSpec({ azora: { v: 2, kind: "x", input: { uris: [] } } })).toThrowError(/azora.v/);
    expect(() => specFor("k", new Uint8Array([1]), { params: { azora: 1 } })).toThrowError(/reserved/);
  });
});
