import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceClient, InferenceHTTPError } from "../../../services/client/inferenceClient.js";
import type { PaymentSession } from "../../../services/client/payments.js";

// The client's side of a metered answer against a stand-in worker (node:http, a free model: no receipt): the output
// is returned only when its bytes hash to the worker's x-azora-result-hash and arrived whole, however the body was
// framed (one write, many, chunked). The real worker and payments are covered by test/e2e/meteredInference.e2e.test.ts.
const MODEL = "ab".repeat(32);
const FREE = JSON.stringify({ payer: "", price: "0", accepted: "0", receipts: 0, vouchered: "0", redeemed: "0" });
const sha = (b: Uint8Array) => `0x${createHash("sha256").update(b).digest("hex")}`;

type Answer = (req: IncomingMessage, res: ServerResponse, input: Buffer) => void;
let answer: Answer = () => {};
let server: Server;
let url = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => answer(req, res, Buffer.concat(parts)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = () => new InferenceClient({ url, payment: {} as PaymentSession, price: 0n });
/** The input reversed, so the test sees the request's bytes went through. */
const reversed = (input: Buffer) => Buffer.from(input).reverse();
const headers = (out: Uint8Array, hash = sha(out)) => ({
  "content-type": "application/octet-stream",
  "x-azora-result-hash": hash,
  "x-azora-payment": FREE,
});
const input = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251);

describe("InferenceClient", () => {
  it("returns the output when it hashes to the worker's result hash, however the body is framed", async () => {
    const framings: [string, (res: ServerResponse, out: Buffer) => void][] = [
      ["one write with a content-length", (res, out) => res.end(out)],
      [
        "many writes with a content-length",
        (res, out) => {
          for (let i = 0; i < out.length; i += 4096) res.write(out.subarray(i, i + 4096));
          res.end();
        },
      ],
      ["chunked, no content-length", (res, out) => res.end(out)],
    ];
    for (const [name, send] of framings) {
      answer = (req, res, body) => {
        expect(req.headers["content-length"]).toBe(String(input.length));
        const out = reversed(body);
        const h: Record<string, string | number> = headers(out);
        if (!name.startsWith("chunked")) h["content-length"] = out.length;
        res.writeHead(200, h);
        send(res, out);
      };
      const r = await client().infer(MODEL, input);
      expect(Buffer.from(r.output).equals(reversed(Buffer.from(input))), name).toBe(true);
      expect(r.resultHash).toBe(sha(r.output));
      expect(r.payment.price).toBe(0n);
    }
  });

  it("refuses an output that does not hash to the worker's result hash", async () => {
    answer = (_req, res, body) => {
      const out = reversed(body);
      const wrong = Buffer.from(out);
      wrong[wrong.length - 1] ^= 1; // the hash of other bytes: one bit differs
      res.writeHead(200, { ...headers(out, sha(wrong)), "content-length": out.length });
      res.end(out);
    };
    const e = await client()
      .infer(MODEL, input)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InferenceHTTPError);
    expect((e as InferenceHTTPError).code).toBe("RESULT_HASH_MISMATCH");
  });

  it("refuses an answer cut short of its content-length (the worker's connection dropped mid-body)", async () => {
    answer = (_req, res, body) => {
      const out = reversed(body);
      const half = out.subarray(0, out.length >> 1);
      // the hash of what is sent: only the length shows the answer is cut
      res.writeHead(200, { ...headers(half), "content-length": out.length });
      res.write(half, () => res.socket?.destroy());
    };
    await expect(client().infer(MODEL, input)).rejects.toThrow();
  });

  it("turns a 4xx answer into an InferenceHTTPError with the worker's code", async () => {
    answer = (_req, res) => {
      const body = JSON.stringify({ code: "METERED_BAD_INPUT:SHAPE", message: "x must be [1, 224, 512]" });
      res.writeHead(400, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    const e = (await client()
      .infer(MODEL, input)
      .catch((x: unknown) => x)) as InferenceHTTPError;
    expect(e).toBeInstanceOf(InferenceHTTPError);
    expect([e.status, e.code]).toEqual([400, "METERED_BAD_INPUT:SHAPE"]);
  });
});
