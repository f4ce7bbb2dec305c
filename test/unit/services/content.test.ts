import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 as mfSha256 } from "multiformats/hashes/sha2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerBlobRoutes } from "../../../services/runtime/content/blobRoutes.js";
import { createFileBlobStore } from "../../../services/runtime/content/blobStore.js";
import {
  cidFromSha256,
  cidInURI,
  cidOf,
  parseCID,
  sha256Hex,
  sha256OfCID,
} from "../../../services/runtime/content/cid.js";
import { fetchURI, fetchVerified, toDataURI } from "../../../services/runtime/content/fetcher.js";
import { ContentError, ContentErrorCode } from "../../../services/runtime/errors.js";
import { tempDir } from "../../utils/devnode.js";

const bytes = new TextEncoder().encode("hello azora");

describe("content addressing", () => {
  it("cidOf is CIDv1 raw/sha2-256, the same as multiformats computes", async () => {
    const expected = CID.createV1(raw.code, await mfSha256.digest(bytes));
    expect(cidOf(bytes).toString()).toBe(expected.toString());
    expect(cidOf(bytes).toString().startsWith("bafkrei")).toBe(true);
  });

  it("a sha256 and its CID convert into each other", () => {
    const h = sha256Hex(bytes);
    expect(cidFromSha256(h).toString()).toBe(cidOf(bytes).toString());
    expect(sha256OfCID(cidOf(bytes))).toBe(h);
  });

  it("parseCID refuses other codecs and garbage", () => {
    const dagPB = CID.createV1(0x70, cidOf(bytes).multihash);
    expect(() => parseCID(dagPB.toString())).toThrowError(ContentError);
    try {
      parseCID("not-a-cid");
    } catch (e) {
      expect((e as ContentError).code).toBe(ContentErrorCode.INVALID_CID);
    }
  });

  it("cidInURI finds the CID in ipfs:// and /blobs/ URLs only", () => {
    const c = cidOf(bytes).toString();
    expect(cidInURI(`ipfs://${c}`)?.toString()).toBe(c);
    expect(cidInURI(`http://127.0.0.1:8700/blobs/${c}`)?.toString()).toBe(c);
    expect(cidInURI(`https://example.test/x/blobs/${c}?a=1`)?.toString()).toBe(c);
    expect(cidInURI(`http://127.0.0.1/files/${c}`)).toBeUndefined();
    expect(cidInURI("data:application/json,{}")).toBeUndefined();
  });
});

describe("blob store and route", () => {
  const dir = tempDir("blobs");
  const store = createFileBlobStore(dir);

  it("put is idempotent and get returns the bytes and type", async () => {
    const a = await store.put(bytes, "text/plain");
    const b = await store.put(bytes, "text/plain");
    expect(a).toEqual(b);
    const got = await store.get(a.cid);
    expect(Buffer.from(got?.bytes ?? []).toString()).toBe("hello azora");
    expect(got?.info.contentType).toBe("text/plain");
    expect(await store.get(cidOf(new Uint8Array([1])))).toBeUndefined();
  });

  it("GET /blobs/:cid serves bytes with type and ETag; 404 unknown; 400 bad CID", async () => {
    const app = Fastify();
    registerBlobRoutes(app, store);
    const { cid } = await store.put(bytes, "text/plain");
    const ok = await app.inject({ method: "GET", url: `/blobs/${cid}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe("hello azora");
    expect(ok.headers["content-type"]).toBe("text/plain");
    expect(ok.headers.etag).toBe(`"${cid}"`);
    const head = await app.inject({ method: "HEAD", url: `/blobs/${cid}` });
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers["content-length"])).toBe(bytes.length);
    expect((await app.inject({ method: "GET", url: `/blobs/${cidOf(new Uint8Array([9]))}` })).statusCode).toBe(404);
    expect((await app.inject({ method: "GET", url: "/blobs/nope" })).statusCode).toBe(400);
    await app.close();
  });
});

describe("fetchVerified", () => {
  let server: Server;
  let base: string;
  const served: Record<string, Uint8Array> = {
    "/good": bytes,
    "/liar": new TextEncoder().encode("hello azor4"),
    "/big": new Uint8Array(5000),
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served[req.url ?? ""];
      if (body === undefined) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader("content-type", "text/plain");
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const opts = { maxBytes: 4096, timeoutMs: 5000 };

  it("skips a source whose bytes hash differently and takes the next", async () => {
    const got = await fetchVerified([`${base}/liar`, `${base}/missing`, `${base}/good`], sha256Hex(bytes), opts);
    expect(got.source).toBe(`${base}/good`);
    expect(Buffer.from(got.bytes).toString()).toBe("hello azora");
  });

  it("HASH_MISMATCH when the only source lies; FETCH_FAILED when none answers", async () => {
    await expect(fetchVerified([`${base}/liar`], sha256Hex(bytes), opts)).rejects.toMatchObject({
      type: { code: ContentErrorCode.HASH_MISMATCH },
    });
    await expect(fetchVerified([`${base}/missing`], sha256Hex(bytes), opts)).rejects.toMatchObject({
      type: { code: ContentErrorCode.FETCH_FAILED },
    });
  });

  it("TOO_LARGE past maxBytes", async () => {
    await expect(fetchURI(`${base}/big`, opts)).rejects.toMatchObject({ type: { code: ContentErrorCode.TOO_LARGE } });
  });

  it("data: URIs and ipfs:// through gateways", async () => {
    const got = await fetchVerified([toDataURI(bytes, "text/plain")], sha256Hex(bytes), opts);
    expect(Buffer.from(got.bytes).toString()).toBe("hello azora");
    await expect(fetchURI("ftp://x/y", opts)).rejects.toMatchObject({
      type: { code: ContentErrorCode.UNSUPPORTED_URI },
    });
    const app = Fastify({ forceCloseConnections: true });
    const store = createFileBlobStore(tempDir("gw"));
    registerBlobRoutes(app, store);
    const { cid } = await store.put(bytes);
    await app.listen({ host: "127.0.0.1", port: 0 });
    const gw = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const viaIpfs = await fetchVerified([`ipfs://${cid}`], sha256Hex(bytes), { ...opts, gateways: [gw] });
    expect(viaIpfs.source).toBe(`${gw}/blobs/${cid}`);
    await app.close();
  });
});
