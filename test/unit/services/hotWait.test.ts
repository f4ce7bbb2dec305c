import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Http1Pool } from "../../../services/client/http1.js";
import { HotWait, hotWaitAfterAnswers } from "../../../services/runtime/hotWait.js";

// The bounded hot wait (issue 8): the event loop polls without blocking for a bounded time and serves I/O meanwhile;
// the worker polls after a lone /v1/infer answer until the next request or its bound; a lone client call polls only
// shortly before its answer is due and stops at the answer; 0 turns either off. No timing thresholds: waits are
// checked by what ran (turns) and whether they ended, with bounds far above the waits themselves.

const servers: Server[] = [];
const pools: Http1Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<[Server, string]> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => handler(req, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

function pool(origin: string): Http1Pool {
  const p = new Http1Pool(origin);
  pools.push(p);
  return p;
}

/** Resolves once `wait` has ended; rejects if it still runs after `ms` (far above any wait in these tests). */
async function ended(wait: HotWait, ms = 3000): Promise<void> {
  const stop = Date.now() + ms;
  while (wait.active) {
    if (Date.now() > stop) throw new Error("the hot wait did not end");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe("HotWait", () => {
  it("polls for a bounded time and ends; 0 does nothing", async () => {
    const w = new HotWait();
    w.extend(0);
    expect(w.active).toBe(false);
    await tick();
    expect(w.turns).toBe(0);
    w.extend(5000);
    expect(w.active).toBe(true);
    await ended(w);
    expect(w.turns).toBeGreaterThan(0);
  });

  it("serves I/O while it polls, and stop() ends it at the next turn", async () => {
    const [, origin] = await listen((_req, res) => res.end("pong"));
    const p = pool(origin);
    const w = new HotWait();
    w.extend(10_000_000); // 10 s: only stop() ends it within the test
    const r = await p.post("/x", {}, Buffer.alloc(1000));
    expect(r.body.toString()).toBe("pong");
    expect(w.active).toBe(true);
    expect(w.turns).toBeGreaterThan(1); // the loop turned (polled) while the call was served
    w.stop();
    await tick();
    await tick();
    expect(w.active).toBe(false);
  });
});

describe("hotWaitAfterAnswers (the worker)", () => {
  it("polls after a lone /v1/infer answer, until the next request; not after other routes; 0 = off", async () => {
    const [server, origin] = await listen((_req, res) => res.end("ok"));
    const wait = hotWaitAfterAnswers(server, 10_000_000, (req) => req.url?.startsWith("/v1/infer/") === true);
    const p = pool(origin);
    await p.post("/v1/infer/0xaa", {}, Buffer.alloc(100));
    expect(wait.active).toBe(true); // the server's response closed before its bytes reached us
    // a request arriving ends it (its work keeps the loop busy), and an answer to another route does not restart it
    await p.post("/health", {}, Buffer.alloc(1));
    await ended(wait);
    const turns = wait.turns;
    expect(turns).toBeGreaterThan(0);

    const [off, offOrigin] = await listen((_req, res) => res.end("ok"));
    const none = hotWaitAfterAnswers(off, 0, () => true);
    await pool(offOrigin).post("/v1/infer/0xaa", {}, Buffer.alloc(100));
    expect(none.active).toBe(false);
    await tick();
    expect(none.turns).toBe(0);
  });

  it("ends at its bound when no request comes", async () => {
    const [server, origin] = await listen((_req, res) => res.end("ok"));
    const wait = hotWaitAfterAnswers(server, 20_000, () => true);
    await pool(origin).post("/v1/infer/0xaa", {}, Buffer.alloc(100));
    await ended(wait);
    expect(wait.turns).toBeGreaterThan(0);
  });

  it("does not poll while another request is in flight", async () => {
    let hold: (() => void) | null = null;
    const [server, origin] = await listen((req, res) => {
      if (req.url === "/slow") hold = () => res.end("slow");
      else res.end("ok");
    });
    const wait = hotWaitAfterAnswers(server, 10_000_000, () => true);
    const slow = pool(origin).post("/slow", {}, Buffer.alloc(1));
    while (hold === null) await new Promise((r) => setTimeout(r, 2));
    await pool(origin).post("/v1/infer/0xaa", {}, Buffer.alloc(1));
    expect(wait.active).toBe(false);
    (hold as () => void)();
    await slow;
    expect(wait.active).toBe(true); // the last one out starts it
    wait.stop();
    await ended(wait);
  });
});

describe("Http1Pool hotWaitUs (the client)", () => {
  /** A server answering `ms` after the request's end (a model run). */
  const slowServer = (ms: number) => listen((_req, res) => setTimeout(() => res.end("done"), ms));

  it("a lone call polls before its answer is due and stops at the answer; the first call only learns when", async () => {
    const [, origin] = await slowServer(40);
    const p = pool(origin);
    // 60 ms: polling starts 30 ms before the answer is due (~40 ms after the request), i.e. ~10 ms after it
    await p.post("/m", {}, Buffer.alloc(100), undefined, 60_000);
    expect(p.hotWait.turns).toBe(0); // nothing known yet about when the answer comes
    await p.post("/m", {}, Buffer.alloc(100), undefined, 60_000);
    expect(p.hotWait.turns).toBeGreaterThan(0);
    await tick();
    await tick();
    expect(p.hotWait.active).toBe(false); // stopped by the answer, not by its 60 ms bound
  });

  it("0 is off, and calls in flight together do not poll", async () => {
    const [, origin] = await slowServer(30);
    const off = pool(origin);
    for (let i = 0; i < 3; i++) await off.post("/m", {}, Buffer.alloc(10), undefined, 0);
    expect(off.hotWait.turns).toBe(0);

    const p = pool(origin);
    await p.post("/m", {}, Buffer.alloc(10), undefined, 50_000); // learns when answers come
    await Promise.all([1, 2, 3].map(() => p.post("/m", {}, Buffer.alloc(10), undefined, 50_000)));
    expect(p.hotWait.turns).toBe(0);
  });
});
