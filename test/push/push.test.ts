/**
 * Azora Push end to end on loopback: a real service (fastify + ws + SQLite), access tokens signed with an
 * EdDSA key and checked against a JWKS served over HTTP (as Azora Auth publishes it), real WebSocket clients,
 * a fake browser push service that decrypts what it receives (RFC 8291) with the browser's keys, and a dev
 * node whose value transfers become notifications.
 */
import { createECDH, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Wallet } from "ethers";
import ece from "http_ece";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { nullLogger } from "../../runtime/lib/logger.js";
import { type PushService, resolvePushConfig, startPushService } from "../../services/push/index.js";
import { openPushStore } from "../../services/push/store.js";
import { DEV_KEYS, startInProcessNode, tempDir } from "../utils/devnode.js";

type Key = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
const PUBLISH = "publish-token-0123456789";

let jwks: Server;
let jwksUrl: string;
let signingKey: Key;
let foreignKey: Key;

async function token(
  sub: string,
  extra: Record<string, unknown> = {},
  key: Key = signingKey,
  exp = "5m",
): Promise<string> {
  // As Azora Auth issues them: EdDSA, typ at+jwt, iss, aud, iat, exp, jti.
  return new SignJWT({ ...extra })
    .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
    .setSubject(sub)
    .setIssuer("https://auth.test")
    .setAudience("azora")
    .setJti(randomBytes(8).toString("hex"))
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const k = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  signingKey = k.privateKey;
  foreignKey = (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey;
  const pub: JWK = { ...(await exportJWK(k.publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  jwks = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys: [pub] }));
  });
  jwksUrl = `${await listen(jwks)}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((r) => jwks.close(() => r())));

async function start(dataDir: string, over: Record<string, unknown> = {}): Promise<PushService> {
  const cfg = resolvePushConfig(undefined, {
    dataDir,
    http: { port: 0 },
    auth: { jwksUrl, issuer: "https://auth.test" },
    publishTokens: [PUBLISH],
    ...over,
  });
  return startPushService(cfg, { log: nullLogger, version: "test" });
}

interface Frame {
  type: string;
  channel?: string;
  cursor?: number | null;
  data?: unknown;
  code?: string;
  more?: boolean;
  channels?: string[];
}

/** A WebSocket client that queues frames and lets the test wait for the next one matching a predicate. */
class Client {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.frames.push(JSON.parse(String(d)) as Frame);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(svc: PushService, tok: string, query = ""): Promise<Client> {
    const ws = new WebSocket(`${svc.url.replace("http", "ws")}/v1/ws${query}`, {
      headers: { authorization: `Bearer ${tok}` },
    });
    const c = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("unexpected-response", (_req, res: IncomingMessage) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
    return c;
  }

  /** Frames up to and including the first one matching `pred` (consumed). */
  async until(pred: (f: Frame) => boolean, timeoutMs = 20_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(0, i + 1);
      if (Date.now() > deadline) throw new Error(`no matching frame; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((r) => {
      this.ws.once("close", () => r());
      this.ws.close();
    });
  }
}

async function publish(
  svc: PushService,
  channel: string,
  data: unknown,
  opts: { token?: string; dedupeKey?: string } = {},
) {
  const res = await fetch(`${svc.url}/v1/publish`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${opts.token ?? PUBLISH}` },
    body: JSON.stringify({ channel, data, dedupeKey: opts.dedupeKey }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      cursor: number | null;
      delivered: number;
      duplicate: boolean;
      error?: { code: string };
    },
  };
}

const messages = (fs: Frame[]) => fs.filter((f) => f.type === "message");

describe("Azora Push", () => {
  it("refuses connections without a valid Azora Auth access token: none, alg none, a foreign key, expired, wrong issuer, not an access token", async () => {
    const svc = await start(tempDir("push"));
    try {
      const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ sub: "alice", iss: "https://auth.test", exp: 9e9 })).toString("base64url")}.`;
      const wrongIssuer = await new SignJWT({})
        .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "at+jwt" })
        .setAudience("azora")
        .setJti("j")
        .setIssuedAt()
        .setSubject("alice")
        .setIssuer("https://evil.test")
        .setExpirationTime("5m")
        .sign(signingKey);
      for (const bad of [
        "",
        none,
        await token("alice", {}, foreignKey),
        await token("alice", {}, signingKey, "-1m"),
        wrongIssuer,
        // Signed by the right key but not an access token (an ID token, an MFA ticket): no `at+jwt` type.
        await new SignJWT({})
          .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
          .setSubject("alice")
          .setIssuer("https://auth.test")
          .setAudience("azora")
          .setJti("j")
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(signingKey),
      ]) {
        await expect(Client.open(svc, bad)).rejects.toThrow(/HTTP 401/);
      }
      const res = await fetch(`${svc.url}/v1/messages`, { headers: { authorization: `Bearer ${none}` } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PUSH_UNAUTHENTICATED");
      expect(svc.store.head()).toBe(0);
    } finally {
      await svc.close();
    }
  });

  it("delivers live, replays what was not acknowledged after a reconnect and after a restart, in cursor order", async () => {
    const dir = tempDir("push");
    let svc = await start(dir);
    const alice = await token("alice");
    try {
      let a = await Client.open(svc, alice);
      const welcome = await a.until((f) => f.type === "replayed");
      expect(welcome[0]).toMatchObject({ type: "welcome", channels: ["user:alice"] });
      expect(messages(welcome)).toEqual([]);

      const p1 = await publish(svc, "user:alice", { n: 1 });
      const p2 = await publish(svc, "user:alice", { n: 2 });
      expect(p1.body.delivered).toBe(1);
      const live = messages(await a.until((f) => f.type === "message" && (f.data as { n: number }).n === 2));
      expect(live.map((m) => [m.cursor, m.data])).toEqual([
        [p1.body.cursor, { n: 1 }],
        [p2.body.cursor, { n: 2 }],
      ]);
      a.send({ type: "ack", cursor: p1.body.cursor }); // only the first
      a.send({ type: "ping" });
      await a.until((f) => f.type === "pong"); // the ack (sent before) has been handled
      await a.close();

      expect((await publish(svc, "user:alice", { n: 3 })).body.delivered).toBe(0);
      a = await Client.open(svc, alice);
      let replay = messages(await a.until((f) => f.type === "replayed"));
      expect(replay.map((m) => (m.data as { n: number }).n)).toEqual([2, 3]);
      a.send({ type: "ack", cursor: replay[0].cursor });
      a.send({ type: "ping" });
      await a.until((f) => f.type === "pong");
      await a.close();

      await svc.close();
      svc = await start(dir);
      const p4 = await publish(svc, "user:alice", { n: 4 });
      expect(p4.body.cursor).toBeGreaterThan(p2.body.cursor as number);
      a = await Client.open(svc, alice);
      replay = messages(await a.until((f) => f.type === "replayed"));
      expect(replay.map((m) => (m.data as { n: number }).n)).toEqual([3, 4]);
      // An explicit cursor overrides the acknowledgements.
      await a.close();
      a = await Client.open(svc, alice, `?since=0`);
      replay = messages(await a.until((f) => f.type === "replayed"));
      expect(replay.map((m) => (m.data as { n: number }).n)).toEqual([1, 2, 3, 4]);
      await a.close();
    } finally {
      await svc.close();
    }
  });

  it("keeps channels apart: topics fan out to everyone subscribed, another user's channel is refused, bad input gets its error", async () => {
    const svc = await start(tempDir("push"), { limits: { maxMessageBytes: 1024 } });
    try {
      const a = await Client.open(svc, await token("alice"));
      const b = await Client.open(svc, await token("bob"));
      await a.until((f) => f.type === "replayed");
      await b.until((f) => f.type === "replayed");
      a.send({ type: "subscribe", channels: ["user:bob"] });
      expect((await a.until((f) => f.type === "error")).at(-1)).toMatchObject({ code: "PUSH_FORBIDDEN" });
      a.send({ type: "subscribe", channels: ["wallet:0x00000000000000000000000000000000000000a1"] });
      expect((await a.until((f) => f.type === "error")).at(-1)).toMatchObject({ code: "PUSH_FORBIDDEN" });
      a.send("not json" as unknown as object);
      expect((await a.until((f) => f.type === "error")).at(-1)).toMatchObject({ code: "PUSH_BAD_FRAME" });
      for (const c of [a, b]) {
        c.send({ type: "subscribe", channels: ["topic:course/101"] });
        await c.until((f) => f.type === "subscribed");
      }
      const p = await publish(svc, "topic:course/101", { text: "lesson 2 is out" });
      expect(p.body.delivered).toBe(2);
      for (const c of [a, b])
        expect(messages(await c.until((f) => f.type === "message"))[0].data).toEqual({ text: "lesson 2 is out" });
      expect((await publish(svc, "user:bob", { secret: true })).body.delivered).toBe(1);
      await b.until((f) => f.type === "message");
      expect(a.frames.filter((f) => f.type === "message")).toEqual([]);

      // Publishing: the same dedupe key once; oversized, unknown channel, no token — each its error, nothing stored.
      expect((await publish(svc, "topic:course/101", 1, { dedupeKey: "k" })).body.duplicate).toBe(false);
      expect((await publish(svc, "topic:course/101", 1, { dedupeKey: "k" })).body).toMatchObject({
        duplicate: true,
        cursor: null,
      });
      const head = svc.store.head();
      expect(await publish(svc, "topic:x", "y".repeat(2000))).toMatchObject({
        status: 413,
        body: { error: { code: "PUSH_TOO_LARGE" } },
      });
      expect(await publish(svc, "room:1", 1)).toMatchObject({
        status: 400,
        body: { error: { code: "PUSH_INVALID_CHANNEL" } },
      });
      expect(await publish(svc, "topic:x", 1, { token: "wrong-token-0123456789" })).toMatchObject({ status: 401 });
      expect(await publish(svc, "user:x' OR 1=1 --", 1)).toMatchObject({ status: 400 });
      expect(svc.store.head()).toBe(head);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await svc.close();
    }
  });

  it("sends Web Push (VAPID, aes128gcm) to a closed browser, which decrypts it; a 410 removes the subscription", async () => {
    const svc = await start(tempDir("push"));
    // The browser's side: a P-256 key pair and an auth secret, as PushManager.subscribe() makes them.
    const browser = createECDH("prime256v1");
    browser.generateKeys();
    const authSecret = randomBytes(16);
    const received: { headers: IncomingMessage["headers"]; body: Buffer }[] = [];
    let status = 201;
    const pushService = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.statusCode = status;
        res.end();
      });
    });
    const endpoint = `${await listen(pushService)}/push/abc`;
    try {
      const alice = await token("alice");
      const key = (await (await fetch(`${svc.url}/v1/webpush/key`)).json()) as { publicKey: string };
      const reg = await fetch(`${svc.url}/v1/webpush/subscriptions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
        body: JSON.stringify({
          endpoint,
          keys: { p256dh: browser.getPublicKey().toString("base64url"), auth: authSecret.toString("base64url") },
        }),
      });
      expect(reg.status).toBe(201);
      const bad = await fetch(`${svc.url}/v1/webpush/subscriptions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
        body: JSON.stringify({ endpoint: "file:///etc/passwd", keys: { p256dh: "x", auth: "y" } }),
      });
      expect(bad.status).toBe(400);

      await publish(svc, "user:alice", { type: "mail.new", subject: "hello" });
      await svc.webPush?.idle();
      expect(received).toHaveLength(1);
      const [got] = received;
      expect(got.headers["content-encoding"]).toBe("aes128gcm");
      expect(got.headers.authorization).toMatch(new RegExp(`^vapid t=[^,]+, k=${key.publicKey}$`));
      const plain = ece.decrypt(got.body, {
        version: "aes128gcm",
        privateKey: browser,
        authSecret: authSecret.toString("base64url"),
      });
      expect(JSON.parse(plain.toString())).toMatchObject({
        channel: "user:alice",
        data: { type: "mail.new", subject: "hello" },
      });

      // A live connection gets it instead of Web Push.
      const a = await Client.open(svc, alice);
      await a.until((f) => f.type === "replayed");
      await publish(svc, "user:alice", { n: 2 });
      await a.until((f) => f.type === "message");
      await a.close();
      await svc.webPush?.idle();
      expect(received).toHaveLength(1);

      status = 410; // the browser unsubscribed
      await publish(svc, "user:alice", { n: 3 });
      await svc.webPush?.idle();
      expect(received).toHaveLength(2);
      expect(svc.store.webPushFor("user:alice")).toEqual([]);
    } finally {
      await svc.close();
      await new Promise<void>((r) => pushService.close(() => r()));
    }
  });

  it("turns the chain's value transfers into notifications on the recipient's wallet channel, once across restarts", async () => {
    const node = await startInProcessNode({ blockTimeMs: 200 });
    const dir = tempDir("push");
    const payer = new Wallet(DEV_KEYS[0]);
    const payee = Wallet.createRandom().address;
    let svc = await start(dir, { chain: { rpcUrl: node.url, pollMs: 100 } });
    try {
      const c = await Client.open(svc, await token("carol", { wallet: payee }));
      const welcome = await c.until((f) => f.type === "replayed");
      expect(welcome[0].channels).toEqual(["user:carol", `wallet:${payee.toLowerCase()}`]);
      const rpc = async (method: string, params: unknown[]) => {
        const r = (await (
          await fetch(node.url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
          })
        ).json()) as { result: unknown; error?: unknown };
        if (r.error !== undefined) throw new Error(JSON.stringify(r.error));
        return r.result;
      };
      const nonce = Number(await rpc("eth_getTransactionCount", [payer.address, "pending"]));
      const chainId = BigInt((await rpc("eth_chainId", [])) as string);
      const raw = await payer.signTransaction({
        to: payee,
        value: 12345n,
        nonce,
        gasLimit: 21000,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        chainId,
        type: 2,
      });
      const hash = (await rpc("eth_sendRawTransaction", [raw])) as string;
      const [note] = messages(await c.until((f) => f.type === "message", 30_000));
      expect(note).toMatchObject({
        channel: `wallet:${payee.toLowerCase()}`,
        data: { type: "payment.received", token: "AZR", amount: "12345", from: payer.address.toLowerCase(), tx: hash },
      });
      await c.close();

      // Restart from an earlier block: the same transfer is read again and not published twice.
      await svc.close();
      const block = (note.data as { block: number }).block;
      const store = openPushStore(join(dir, "push.sqlite"));
      store.setMeta("chain.next", String(block));
      store.close();
      svc = await start(dir, { chain: { rpcUrl: node.url, pollMs: 100 } });
      const tip = Number(await rpc("eth_blockNumber", []));
      const deadline = Date.now() + 20_000;
      while ((svc.follower?.next ?? 0) <= tip && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(svc.follower?.next).toBeGreaterThan(tip);
      expect(svc.store.since([`wallet:${payee.toLowerCase()}`], 0, 10)).toHaveLength(1);
    } finally {
      await svc.close();
      await node.cleanup();
    }
  });
});
