import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { decodeTensors, encodeTensors } from "../../../ai-oracle/engine/tensorContainer.js";
import { BODY_ALIGN, firstDataOffset, readAlignedBody } from "../../../services/runtime/payments/alignedBody.js";

// The metered route's body reader: one buffer, first tensor's data 8-byte aligned, whatever the chunking.
function request(chunks: Uint8Array[], contentLength: number | null): IncomingMessage {
  const s = new PassThrough();
  (s as unknown as { headers: Record<string, string> }).headers =
    contentLength === null ? {} : { "content-length": String(contentLength) };
  queueMicrotask(() => {
    for (const c of chunks) s.write(c);
    s.end();
  });
  return s as unknown as IncomingMessage;
}

const split = (b: Uint8Array, sizes: number[]) => {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(b.subarray(at, at + n));
    at += n;
  }
  if (at < b.length) out.push(b.subarray(at));
  return out;
};

describe("readAlignedBody", () => {
  for (const name of ["x", "ab", "abc", "input_ids"]) {
    const body = encodeTensors([
      { name, dtype: "float32", dims: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 3) },
    ]);
    for (const sizes of [[], [1], [5, 3], [11, 2, 40]]) {
      it(`name ${name}, chunks ${JSON.stringify(sizes)}: same bytes, data aligned, decoded in place`, async () => {
        const b = await readAlignedBody(request(split(body, sizes), body.length), 1 << 20);
        expect(Buffer.from(b).equals(Buffer.from(body))).toBe(true);
        expect((b.byteOffset + firstDataOffset(body)!) % BODY_ALIGN).toBe(0);
        const [t] = decodeTensors(b);
        expect(t.data.buffer).toBe(b.buffer); // a view, no copy
      });
    }
  }

  it("without a content-length: the bytes, concatenated", async () => {
    const body = encodeTensors([{ name: "x", dtype: "int8", dims: [4], data: Int8Array.from([1, 2, 3, 4]) }]);
    const b = await readAlignedBody(request(split(body, [3]), null), 1 << 20);
    expect(Buffer.from(b).equals(Buffer.from(body))).toBe(true);
  });

  it("refuses a body longer or shorter than its content-length, or over the limit", async () => {
    const body = new Uint8Array(100);
    await expect(readAlignedBody(request([body], 50), 1 << 20)).rejects.toMatchObject({ statusCode: 400 });
    await expect(readAlignedBody(request([body], 150), 1 << 20)).rejects.toMatchObject({ statusCode: 400 });
    await expect(readAlignedBody(request([body], 100), 64)).rejects.toMatchObject({ statusCode: 413 });
    await expect(readAlignedBody(request([body], null), 64)).rejects.toMatchObject({ statusCode: 413 });
  });
});
