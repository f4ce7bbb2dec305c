import { statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageService } from "../../services/storage/index.js";
import { bodyOf, jsonOf, pngBytes, seededBytes, startStorage, tempDir } from "./fixtures.js";

/**
 * The gateway and uploads over real HTTP on loopback, backed by an in-process Helia node with its blocks on
 * disk: types, CID ETags, caching, ranges (also across 1 MiB block boundaries), HEAD, directories, raw
 * blocks, 413s and a tus upload resumed after its connection was cut.
 */

const MiB = 1024 * 1024;
const PLAIN_MAX = 64 * 1024;
const TUS_MAX = 4 * MiB;
/** Generous for local reads on a loaded machine; the one test that waits for it pays it once. */
const RETRIEVAL_TIMEOUT_MS = 5_000;

let svc: StorageService;
let url: string;
const dataDir = tempDir("gateway");
const big = seededBytes(3 * MiB + 12345, "big"); // four 1 MiB leaves under a DAG-PB root
const png = pngBytes();
const meta = new TextEncoder().encode(JSON.stringify({ name: "Azora #1", image: "image.png" }));
let bigCID: string;
let pngCID: string;
let dirCID: string;

beforeAll(async () => {
  svc = await startStorage(
    { uploads: { plainMaxBytes: PLAIN_MAX, maxBytes: TUS_MAX }, gateway: { retrievalTimeoutMs: RETRIEVAL_TIMEOUT_MS } },
    dataDir,
  );
  url = svc.url;
  bigCID = (await svc.backend.addFile(big)).toString();
  pngCID = (await svc.backend.addFile(png)).toString();
  dirCID = (
    await svc.backend.addTree([
      { path: "site/index.html", content: new TextEncoder().encode("<!doctype html><h1>home</h1>") },
      { path: "site/app.js", content: new TextEncoder().encode("console.log(1)") },
      { path: "nft/meta.json", content: meta },
      { path: "nft/image.png", content: png },
      { path: "nft/a b&<c>.txt", content: new TextEncoder().encode("odd name") },
      { path: "hls/seg_000.ts", content: seededBytes(188 * 4, "ts") },
    ])
  ).toString();
});

afterAll(async () => {
  await svc?.close();
});

const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  fetch(`${url}${path}`, { headers, method, redirect: "manual" });

describe("GET /ipfs/<cid>", () => {
  it("serves a multi-block file whole, with ETag = CID, immutable caching and its length", async () => {
    const res = await get(`/ipfs/${bigCID}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(`"${bigCID}"`);
    expect(res.headers.get("cache-control")).toBe("public, max-age=29030400, immutable");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("x-ipfs-path")).toBe(`/ipfs/${bigCID}`);
    expect(Buffer.from(await bodyOf(res)).equals(Buffer.from(big))).toBe(true);
  });

  it("types content by its bytes without a name, and by the extension in a path", async () => {
    expect((await get(`/ipfs/${pngCID}`)).headers.get("content-type")).toBe("image/png");
    const m = await get(`/ipfs/${dirCID}/nft/meta.json`);
    expect(m.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(JSON.parse(await m.text())).toEqual({ name: "Azora #1", image: "image.png" });
    expect((await get(`/ipfs/${dirCID}/site/app.js`)).headers.get("content-type")).toBe(
      "text/javascript; charset=utf-8",
    );
    expect((await get(`/ipfs/${dirCID}/hls/seg_000.ts`)).headers.get("content-type")).toBe("video/mp2t");
    expect((await get(`/ipfs/${pngCID}?filename=cat.png&download=true`)).headers.get("content-disposition")).toBe(
      'attachment; filename="cat.png"',
    );
  });

  it("ETag of a path is the CID it resolves to; If-None-Match gives 304", async () => {
    const res = await get(`/ipfs/${dirCID}/nft/image.png`);
    expect(res.headers.get("etag")).toBe(`"${pngCID}"`);
    const again = await get(`/ipfs/${dirCID}/nft/image.png`, { "if-none-match": `"${pngCID}"` });
    expect(again.status).toBe(304);
    expect((await bodyOf(again)).length).toBe(0);
  });

  it("HEAD answers the same headers and no body", async () => {
    const res = await get(`/ipfs/${bigCID}`, {}, "HEAD");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(big.length));
    expect(res.headers.get("etag")).toBe(`"${bigCID}"`);
    expect((await bodyOf(res)).length).toBe(0);
  });

  it("400 for a bad CID, 404 for a missing path, 400 for `..`", async () => {
    const bad = await get("/ipfs/not-a-cid");
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).error).toBe("STORAGE_INVALID_CID");
    const missing = await get(`/ipfs/${dirCID}/nft/nope.json`);
    expect(missing.status).toBe(404);
    expect((await jsonOf(missing)).error).toBe("STORAGE_PATH_NOT_FOUND");
    // fetch() would normalise `..` away; send the path as is
    expect(await rawStatus(`/ipfs/${dirCID}/nft/../site`)).toBe(400);
  });

  it("a CID no peer provides is 504 once the retrieval timeout passes", async () => {
    const absent = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode("absent"))).toString();
    const res = await get(`/ipfs/${absent}`);
    expect(res.status).toBe(504);
    expect(await jsonOf(res)).toMatchObject({ error: "STORAGE_TIMEOUT" });
  });
});

describe("byte ranges", () => {
  const range = async (r: string, path = `/ipfs/${bigCID}`) => get(path, { range: r });

  it("a single range is 206 with Content-Range, also across a 1 MiB block boundary", async () => {
    for (const [start, end] of [
      [0, 99],
      [MiB - 10, MiB + 9],
      [3 * MiB - 1, 3 * MiB + 100],
      [big.length - 1, big.length - 1],
    ]) {
      const res = await range(`bytes=${start}-${end}`);
      expect(res.status, `${start}-${end}`).toBe(206);
      expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${big.length}`);
      expect(res.headers.get("content-length")).toBe(String(end - start + 1));
      expect(Buffer.from(await bodyOf(res)).equals(Buffer.from(big.subarray(start, end + 1))), `${start}-${end}`).toBe(
        true,
      );
    }
  });

  it("open-ended and suffix ranges", async () => {
    const open = await range(`bytes=${big.length - 50}-`);
    expect(open.status).toBe(206);
    expect(Buffer.from(await bodyOf(open)).equals(Buffer.from(big.subarray(big.length - 50)))).toBe(true);
    const suffix = await range("bytes=-20");
    expect(suffix.headers.get("content-range")).toBe(`bytes ${big.length - 20}-${big.length - 1}/${big.length}`);
    expect(Buffer.from(await bodyOf(suffix)).equals(Buffer.from(big.subarray(big.length - 20)))).toBe(true);
  });

  it("416 with `bytes */size` for a range past the end", async () => {
    const res = await range(`bytes=${big.length}-`);
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${big.length}`);
  });

  it("several ranges, or an If-Range for another version, get the whole file", async () => {
    const multi = await range("bytes=0-1,10-11");
    expect(multi.status).toBe(200);
    expect((await bodyOf(multi)).length).toBe(big.length);
    const stale = await get(`/ipfs/${bigCID}`, { range: "bytes=0-9", "if-range": `"${pngCID}"` });
    expect(stale.status).toBe(200);
    await stale.body?.cancel();
    const fresh = await get(`/ipfs/${bigCID}`, { range: "bytes=0-9", "if-range": `"${bigCID}"` });
    expect(fresh.status).toBe(206);
    await fresh.body?.cancel();
  });

  it("HEAD with a range reports the partial length", async () => {
    const res = await get(`/ipfs/${bigCID}`, { range: "bytes=5-14" }, "HEAD");
    expect(res.status).toBe(206);
    expect(res.headers.get("content-length")).toBe("10");
  });
});

describe("directories and raw blocks", () => {
  it("redirects a directory to its trailing-slash URL, keeping the query", async () => {
    const res = await get(`/ipfs/${dirCID}/site?x=1`);
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe(`/ipfs/${dirCID}/site/?x=1`);
  });

  it("serves index.html for a directory that has one", async () => {
    const res = await get(`/ipfs/${dirCID}/site/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await res.text()).toContain("<h1>home</h1>");
  });

  it("lists a directory without index.html (HTML, names escaped; JSON on Accept)", async () => {
    const html = await (await get(`/ipfs/${dirCID}/nft/`)).text();
    expect(html).toContain(`href="/ipfs/${dirCID}/nft/meta.json"`);
    expect(html).toContain("a b&amp;&lt;c&gt;.txt");
    expect(html).not.toContain("<c>");
    const json = await jsonOf(await get(`/ipfs/${dirCID}/nft/`, { accept: "application/json" }));
    expect(json.entries.map((e: { name: string }) => e.name).sort()).toEqual(["a b&<c>.txt", "image.png", "meta.json"]);
    expect(json.entries.find((e: { name: string }) => e.name === "image.png")).toMatchObject({
      cid: pngCID,
      size: png.length,
    });
    const top = await jsonOf(await get(`/ipfs/${dirCID}/`, { accept: "application/json" }));
    expect(top.entries.map((e: { type: string }) => e.type).sort()).toEqual(["directory", "directory", "directory"]);
  });

  it("?format=raw returns the block itself, which hashes to its CID", async () => {
    const res = await get(`/ipfs/${pngCID}?format=raw`);
    expect(res.headers.get("content-type")).toBe("application/vnd.ipld.raw");
    expect(res.headers.get("etag")).toBe(`"${pngCID}.raw"`);
    const block = await bodyOf(res);
    const cid = CID.parse(pngCID);
    expect(Buffer.from((await sha256.digest(block)).digest).equals(Buffer.from(cid.multihash.digest))).toBe(true);
    // the root of a multi-block file is a DAG-PB node, not the content
    const root = await bodyOf(await get(`/ipfs/${bigCID}`, { accept: "application/vnd.ipld.raw" }));
    expect(root.length).toBeLessThan(1024);
  });
});

describe("uploads", () => {
  it("POST /upload imports as UnixFS: the CID is the one `add` gives; ?filename keeps the name", async () => {
    const body = seededBytes(40_000, "plain");
    const res = await fetch(`${url}/upload`, { method: "POST", body, headers: { "content-type": "image/png" } });
    expect(res.status).toBe(200);
    const r = await jsonOf(res);
    expect(r.cid).toBe((await svc.backend.addFile(body)).toString());
    expect(r.size).toBe(body.length);
    expect(await svc.backend.isPinned(CID.parse(r.cid))).toBe(true);
    const named = await jsonOf(await fetch(`${url}/upload?filename=cat.png`, { method: "POST", body: png }));
    expect(named.cid).toBe(pngCID);
    expect(named.path).toBe(`/ipfs/${named.wrapper}/cat.png`);
    expect((await get(named.path)).headers.get("content-type")).toBe("image/png");
  });

  it("413 with the limit for a plain upload over plainMaxBytes, declared or streamed", async () => {
    const res = await fetch(`${url}/upload`, { method: "POST", body: seededBytes(PLAIN_MAX + 1) });
    expect(res.status).toBe(413);
    const e = await jsonOf(res);
    expect(e).toMatchObject({ error: "STORAGE_TOO_LARGE", limitBytes: PLAIN_MAX });
    expect(e.message).toContain("/uploads/");
    // no Content-Length: the cap applies while streaming
    const chunks = [seededBytes(PLAIN_MAX, "a"), seededBytes(10, "b")];
    const streamed = await fetch(`${url}/upload`, {
      method: "POST",
      body: new ReadableStream({
        pull(c) {
          const next = chunks.shift();
          if (next === undefined) c.close();
          else c.enqueue(next);
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it("tus: 413 when Upload-Length exceeds maxBytes", async () => {
    const res = await fetch(`${url}/uploads`, {
      method: "POST",
      headers: { "tus-resumable": "1.0.0", "upload-length": String(TUS_MAX + 1) },
    });
    expect(res.status).toBe(413);
    expect(await jsonOf(res)).toMatchObject({ error: "STORAGE_TOO_LARGE", limitBytes: TUS_MAX });
  });

  it("tus: an upload cut mid-chunk resumes from the offset the server reports and yields the file's CID", async () => {
    const file = seededBytes(3 * MiB + 777, "tus");
    const tus = { "tus-resumable": "1.0.0" };
    const created = await fetch(`${url}/uploads`, {
      method: "POST",
      headers: {
        ...tus,
        "upload-length": String(file.length),
        "upload-metadata": `filename ${Buffer.from("clip.bin").toString("base64")}`,
      },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location") as string, `${url}/uploads/`).toString();
    const patch = (offset: number, body: Uint8Array) =>
      fetch(location, {
        method: "PATCH",
        headers: { ...tus, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
        body,
      });

    const first = await patch(0, file.subarray(0, MiB));
    expect(first.status).toBe(204);
    expect(first.headers.get("upload-offset")).toBe(String(MiB));

    // the second chunk announces 2 MiB but the connection dies after 512 KiB, once the server has stored some
    const id = location.split("/").pop() as string;
    await cutPatch(location, MiB, file.subarray(MiB, 3 * MiB), 512 * 1024, () => {
      try {
        return statSync(join(dataDir, "uploads", id)).size > MiB;
      } catch {
        return false;
      }
    });

    const head = await fetch(location, { method: "HEAD", headers: tus });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get("upload-offset"));
    expect(offset, "bytes that arrived before the cut are kept").toBeGreaterThan(MiB);
    expect(offset).toBeLessThanOrEqual(MiB + 512 * 1024);

    const last = await patch(offset, file.subarray(offset));
    expect(last.status).toBe(204);
    const cid = last.headers.get("azora-cid");
    const expected = (await svc.backend.addFile(file)).toString();
    expect(cid).toBe(expected);

    const record = await jsonOf(await fetch(`${url}/uploads/${id}`));
    expect(record).toMatchObject({ cid: expected, size: file.length });
    const served = await get(record.path);
    expect(Buffer.from(await bodyOf(served)).equals(Buffer.from(file))).toBe(true);
  });
});

describe("upload auth", () => {
  it("with uploads.authToken set, uploads need the bearer token; reads do not", async () => {
    const token = "t0ken-for-the-upload-routes";
    const locked = await startStorage({ uploads: { authToken: token } }, tempDir("auth"));
    try {
      const body = seededBytes(100, "auth");
      expect((await fetch(`${locked.url}/upload`, { method: "POST", body })).status).toBe(401);
      expect(
        (
          await fetch(`${locked.url}/upload`, {
            method: "POST",
            body,
            headers: { authorization: "Bearer wrong-token-of-same-len" },
          })
        ).status,
      ).toBe(401);
      const tus = await fetch(`${locked.url}/uploads`, {
        method: "POST",
        headers: { "tus-resumable": "1.0.0", "upload-length": "10" },
      });
      expect(tus.status).toBe(401);
      const ok = await fetch(`${locked.url}/upload`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${locked.url}/ipfs/${(await jsonOf(ok)).cid}`)).status).toBe(200);
    } finally {
      await locked.close();
    }
  });
});

describe("operations", () => {
  it("/health, /metrics and the OpenAPI description", async () => {
    expect(await jsonOf(await get("/health"))).toMatchObject({ status: "ok", backend: "helia" });
    await (await get(`/ipfs/${bigCID}`, { range: "bytes=0-0" })).arrayBuffer();
    await (await fetch(`${url}/upload`, { method: "POST", body: seededBytes(10, "m") })).arrayBuffer();
    const metrics = await (await get("/metrics")).text();
    expect(metrics).toMatch(/azora_storage_gateway_requests_total\{route="\/ipfs\/\*",status="206"\} \d+/);
    expect(metrics).toMatch(/azora_storage_uploads_total\{method="plain",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/azora_storage_gateway_sent_bytes_total \d+/);
    const api = await jsonOf(await get("/openapi.json"));
    expect(Object.keys(api.paths)).toEqual(
      expect.arrayContaining(["/ipfs/{*}", "/upload", "/uploads", "/uploads/{id}", "/health"]),
    );
  });
});

/**
 * Sends a PATCH whose body stops after `sendBytes` of the announced `body`, waits until `stored()` says the
 * server wrote some of it (a connection cut before the server reads anything loses nothing worth testing),
 * then destroys the connection.
 */
function cutPatch(
  location: string,
  offset: number,
  body: Uint8Array,
  sendBytes: number,
  stored: () => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(location, {
      method: "PATCH",
      headers: {
        "tus-resumable": "1.0.0",
        "content-type": "application/offset+octet-stream",
        "upload-offset": String(offset),
        "content-length": String(body.length),
      },
    });
    req.on("error", () => resolve());
    req.on("response", (res) => {
      res.resume();
      resolve();
    });
    req.write(body.subarray(0, sendBytes));
    const deadline = Date.now() + 60_000;
    const poll = setInterval(() => {
      if (stored()) {
        clearInterval(poll);
        req.destroy();
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        req.destroy();
        reject(new Error("the server stored none of the cut chunk within 60 s"));
      }
    }, 10);
  });
}

/** Status of a GET sent with the path exactly as given (no URL normalisation). */
function rawStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: "GET" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}
