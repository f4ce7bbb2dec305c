import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CallTimeline, POOLED_FLAG, POOLED_SUFFIX, SEGMENTS } from "../../../bench/callTimeline.js";
import { Http1Pool } from "../../../services/client/http1.js";
import {
  CALL_TRACE_ENV,
  CALL_TRACE_HEADER,
  formatStamps,
  monoUs,
  parseStamps,
} from "../../../services/runtime/callTrace.js";

// The lone call's cross-process timeline (issue 8): stamps on one monotonic clock, carried in a header, tiled into
// segments by the bench.
describe("call trace stamps", () => {
  it("round-trips through the header, dropping missing and non-finite stamps", () => {
    const s = { head: 1234567.8, body: 1234999.1, none: undefined, bad: Number.NaN };
    const h = formatStamps(s);
    expect(h).toBe("head=1234567.8,body=1234999.1");
    expect(parseStamps(h)).toEqual({ head: 1234567.8, body: 1234999.1 });
    expect(parseStamps(undefined)).toEqual({});
    expect(parseStamps("junk,=3,x=y,ok=2")).toEqual({ ok: 2 });
  });

  it("is one clock across processes: a child's stamp falls between two of ours", async () => {
    const { execFileSync } = await import("node:child_process");
    const before = monoUs();
    const child = Number(
      execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.hrtime.bigint()))"]),
    );
    const after = monoUs();
    expect(child / 1e3).toBeGreaterThan(before);
    expect(child / 1e3).toBeLessThan(after);
  });
});

describe("CallTimeline", () => {
  const stamps = ["start", "write", "head", "bodyLast", "body", "handler", "held", "model0", "model1", "ran", "reply"];
  const full = (): Record<string, number> => {
    const t: Record<string, number> = {};
    stamps.forEach((k, i) => {
      t[k] = 1000 + i * 100 * (i + 1); // growing gaps
    });
    t.first = t.reply + 300;
    t.end = t.first + 50;
    t.sent = t.write + 400;
    return t;
  };

  it("tiles a call into segments that sum to its total", () => {
    const tl = new CallTimeline();
    tl.add(full());
    const s = tl.summary();
    const sum = SEGMENTS.reduce((a, [name]) => a + s[name].p50, 0);
    expect(sum).toBeCloseTo(s.total.p50, 6);
    expect(s.sent.p50).toBeCloseTo(0.4, 6); // overlapping: reported, not part of the sum
    expect(s.commit).toBeUndefined(); // a free call has no journal row
  });

  it("splits the upload at the body's next read, and gives a paid call's upload after its check", () => {
    const tl = new CallTimeline();
    const t = full();
    t.bodyNext = t.head + 250; // the loop held 0.25 ms after the head (a receipt's check), then read on
    t.holdDone = t.head + 200;
    tl.add(t);
    const s = tl.summary();
    expect(s.upload_wait.p50).toBeCloseTo(0.25, 6);
    expect(s.upload_wait.p50 + s.upload_read.p50).toBeCloseTo(s.upload.p50, 6);
    expect(s.upload_after_check.p50).toBeCloseTo(s.upload.p50 - 0.2, 6);
    expect(Object.keys(s)).not.toContain("upload_wait@pooled");
  });

  it("keeps the segments of a call whose model ran on an inference thread apart (`@pooled`)", () => {
    const tl = new CallTimeline();
    tl.add(full());
    const pooled = full();
    pooled.model1 += 5000; // a slower run on the thread: 5 ms more
    pooled.ran += 5000;
    pooled.reply += 5000;
    pooled.first += 5000;
    pooled.end += 5000;
    pooled[POOLED_FLAG] = 1;
    tl.add(pooled);
    const s = tl.summary();
    expect(tl.calls).toBe(2);
    expect(s[`model${POOLED_SUFFIX}`].p50).toBeCloseTo(s.model.p50 + 5, 6);
    expect(s.model).toMatchObject({ p50: s.model.p90, mean: s.model.p50 }); // the inline call's alone
    expect(s[`total${POOLED_SUFFIX}`].p50).toBeCloseTo(s.total.p50 + 5, 6);
  });

  it("skips a call whose trace misses a stamp (a worker without tracing), and reports p50 / p90", () => {
    const tl = new CallTimeline();
    const partial = full();
    delete partial.held;
    tl.add(partial);
    tl.add(undefined);
    expect(tl.calls).toBe(0);
    for (let i = 1; i <= 10; i++) {
      const t = full();
      t.end = t.first + i * 1000; // read: 1..10 ms
      tl.add(t);
    }
    expect(tl.calls).toBe(10);
    expect(tl.summary().read).toMatchObject({ p50: 5, p90: 9 });
  });
});

describe("Http1Pool with the trace on", () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-length": 2, [CALL_TRACE_HEADER]: formatStamps({ head: monoUs() }) });
        res.end("ok");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  afterEach(() => {
    delete process.env[CALL_TRACE_ENV];
  });

  it("stamps the client's side in order, and only when asked", async () => {
    const pool = new Http1Pool(url);
    try {
      const off = await pool.post("/", {}, new Uint8Array(1000));
      expect(off.trace).toBeUndefined();
      process.env[CALL_TRACE_ENV] = "1";
      const r = await pool.post("/", {}, new Uint8Array(300_000));
      const t = r.trace!;
      const server = parseStamps(r.headers[CALL_TRACE_HEADER]).head;
      expect(t.start).toBeLessThanOrEqual(t.write);
      expect(t.write).toBeLessThanOrEqual(t.sent);
      expect(t.write).toBeLessThan(server);
      expect(server).toBeLessThan(t.first);
      expect(t.first).toBeLessThanOrEqual(t.end);
    } finally {
      pool.close();
    }
  });
});
