/**
 * Azora Mail between two domains on loopback, each its own mail server instance with its own data dir: alpha.test
 * (A) and beta.test (B), a real Azora Auth (password, SIWE and TOTP sign-in, JWKS; its verification mails go out
 * through A's `POST /v1/deliver` once A is up) and a real Azora Push. DNS answers come from a zone the test publishes
 * (A's SPF, DKIM key and DMARC policy) through the resolver port: no real DNS.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { ImapFlow } from "imapflow";
import { simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { generate } from "otplib";
import { SiweMessage } from "siwe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { nullLogger } from "../../runtime/lib/logger.js";
import {
  type AuthService,
  createAuthCore,
  createMailServiceMailer,
  type Mailer,
  RecordingMailer,
  resolveAuthConfig,
  startAuthServer,
} from "../../services/auth/index.js";
import {
  dnsRecordsFor,
  listMaildir,
  loadOrCreateDkimKey,
  MailErrorCode,
  type MailService,
  type NewMail,
  resolveMailConfig,
  startMailService,
  staticResolver,
  type ZoneRecords,
} from "../../services/mail/index.js";
import { type PushService, resolvePushConfig, startPushService } from "../../services/push/index.js";
import { tempDir } from "../utils/devnode.js";
import { eventually } from "../utils/workers.js";

const ISSUER = "http://127.0.0.1:8090";
const PUBLISH = "mail-publish-token-0123456789";
const ALICE = "alice@alpha.test";
const BOB = "bob@beta.test";
const PASSWORD = "correct horse battery staple";
/** Signs in with a password and a TOTP code; her account is made after the mail services are up. */
const CAROL = "carol@beta.test";
/** Signs in with a wallet (SIWE) and links this address, a mailbox at A. */
const WALLY = "wally@alpha.test";
const DELIVER = "auth-deliver-token-0123456789";
/** Until A is up, Auth's mails are only recorded (alice and bob register before there is a mail service). */
let authMailer: Mailer;

let auth: AuthService;
let push: PushService;
let a: MailService;
let b: MailService;
const subs: Record<string, string> = {};
const arrived: Record<"a" | "b", NewMail[]> = { a: [], b: [] };
const zone: ZoneRecords = { TXT: {} };

async function register(email: string, mailer: RecordingMailer): Promise<string> {
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${auth.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return (await r.json()) as Record<string, string>;
  };
  const { userId } = await post("/v1/accounts", { email, password: PASSWORD });
  const link = mailer.sent.find((m) => m.to === email && m.kind === "verify-email")?.link ?? "";
  await post("/v1/email/verify", { token: new URL(link).searchParams.get("token") });
  return userId;
}

function mailConfig(name: "a" | "b", over: Record<string, unknown>) {
  return resolveMailConfig(undefined, {
    dataDir: dirs[name],
    hostname: `mx.${name === "a" ? "alpha" : "beta"}.test`,
    mx: { port: 0 },
    submission: { port: 0 },
    http: { port: 0 },
    imap: { enabled: false },
    auth: { url: auth.url, issuer: ISSUER },
    push: { url: push.url, token: PUBLISH },
    outbound: { baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 3, connectTimeoutMs: 5000 },
    ...over,
  });
}

const dirs = { a: tempDir("mail-a"), b: tempDir("mail-b") };

async function tokenOf(email: string): Promise<string> {
  const r = await fetch(`${auth.url}/v1/password/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  return ((await r.json()) as { accessToken: string }).accessToken;
}

async function api(svc: MailService, method: string, path: string, token?: string, body?: unknown) {
  const r = await fetch(`${svc.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely; the assertions check them
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

function smtp(port: number, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, ...extra });
}

function stored(svc: MailService, mailbox: string, m: NewMail): string {
  const dir = m.folder === "Junk" ? join(svc.mailboxes.maildir(mailbox), ".Junk") : svc.mailboxes.maildir(mailbox);
  const f = listMaildir(dir).find((x) => x.name === m.id);
  if (f === undefined) throw new Error(`${m.id} not in ${dir}`);
  return readFileSync(join(dir, f.folder, f.name), "utf8");
}

async function authCall(path: string, body: unknown, token?: string) {
  const r = await fetch(`${auth.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely; the assertions check them
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

/** Sign-In with Ethereum against the test's Auth (its default SIWE domain and chain id). */
async function siweSignIn(wallet: Wallet): Promise<string> {
  const { nonce } = (await authCall("/v1/siwe/nonce", {})).body;
  const now = Date.now();
  const message = new SiweMessage({
    domain: "127.0.0.1:8090",
    address: wallet.address,
    uri: "http://127.0.0.1:8090/login",
    version: "1",
    chainId: 16730,
    nonce,
    issuedAt: new Date(now).toISOString(),
    expirationTime: new Date(now + 600_000).toISOString(),
  }).prepareMessage();
  const r = await authCall("/v1/siwe/verify", { message, signature: await wallet.signMessage(message) });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.accessToken;
}

/** The verification mail Auth sent to `to`, as it was stored in the mailbox by `svc` (parsed: the link is QP-encoded). */
async function verificationMail(svc: MailService, to: string) {
  const list = svc === a ? arrived.a : arrived.b;
  const m = await eventually(
    async () => list.find((x) => x.mailbox === to && x.subject === "Confirm your email for Azora"),
    `verification mail for ${to}`,
    60_000,
  );
  const raw = stored(svc, to, m);
  const parsed = await simpleParser(raw);
  const link = /https?:\/\/\S+\/verify-email\?token=[\w-]+/.exec(parsed.text ?? "")?.[0];
  if (link === undefined) throw new Error(`no link in ${parsed.text}`);
  return { raw, parsed, token: new URL(link).searchParams.get("token") as string };
}

async function imapSubjects(svc: MailService, login: { user: string; pass?: string; accessToken?: string }) {
  const client = new ImapFlow({
    host: "127.0.0.1",
    port: svc.imap?.port as number,
    secure: false,
    auth: login,
    logger: false,
  });
  await client.connect();
  try {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const subjects: string[] = [];
      for await (const msg of client.fetch("1:*", { envelope: true })) subjects.push(msg.envelope?.subject ?? "");
      return subjects;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

beforeAll(async () => {
  const mailer = new RecordingMailer();
  authMailer = mailer;
  const authCfg = resolveAuthConfig(undefined, {
    issuer: ISSUER,
    dataDir: tempDir("mail-auth"),
    http: { host: "127.0.0.1", port: 0 },
    password: { memoryCostKiB: 1024, timeCost: 1, parallelism: 1 },
    rateLimit: { max: 1000 },
  });
  const relay: Mailer = { send: (m) => authMailer.send(m) };
  auth = await startAuthServer(await createAuthCore(authCfg, { mailer: relay }), { log: nullLogger, version: "test" });
  subs[ALICE] = await register(ALICE, mailer);
  subs[BOB] = await register(BOB, mailer);
  push = await startPushService(
    resolvePushConfig(undefined, {
      dataDir: tempDir("mail-push"),
      http: { port: 0 },
      auth: { jwksUrl: `${auth.url}/.well-known/jwks.json`, issuer: ISSUER },
      publishTokens: [PUBLISH],
      webPush: { enabled: false },
    }),
    { log: nullLogger, version: "test" },
  );
  // A's DNS as its operator publishes it (`azora mail dns-records`): SPF lists 127.0.0.1 only, DMARC says reject.
  const key = loadOrCreateDkimKey(dirs.a, "alpha.test", "azora");
  for (const r of dnsRecordsFor(key, { spfMechanisms: ["ip4:127.0.0.1"], dmarcPolicy: "reject" }))
    (zone.TXT as Record<string, unknown[]>)[r.name] = [r.value];
  // gamma.test (no server here) publishes SPF and DMARC p=quarantine: forged mail from it lands in Junk.
  Object.assign(zone.TXT as Record<string, unknown[]>, {
    "gamma.test": ["v=spf1 ip4:127.0.0.1 -all"],
    "_dmarc.gamma.test": ["v=DMARC1; p=quarantine"],
  });
  const resolver = staticResolver(zone);
  b = await startMailService(
    mailConfig("b", {
      domains: ["beta.test"],
      users: [{ address: BOB, sub: subs[BOB] }, { address: CAROL }],
      limits: { maxMessageBytes: 64 * 1024 },
      imap: { enabled: true, port: 0 },
    }),
    { log: nullLogger, version: "test", resolver },
  );
  a = await startMailService(
    mailConfig("a", {
      domains: ["alpha.test"],
      users: [{ address: ALICE, sub: subs[ALICE] }, { address: WALLY }],
      deliverTokens: [DELIVER],
      outbound: {
        routes: { "beta.test": `127.0.0.1:${b.mxPort}` },
        baseDelayMs: 200,
        maxDelayMs: 1000,
        maxAttempts: 3,
        connectTimeoutMs: 5000,
      },
    }),
    { log: nullLogger, version: "test", resolver },
  );
  a.events.on("mail", (m: NewMail) => arrived.a.push(m));
  b.events.on("mail", (m: NewMail) => arrived.b.push(m));
  authMailer = createMailServiceMailer({ url: a.url as string, token: DELIVER, from: "Azora Auth <auth@alpha.test>" });
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await push?.close();
  await auth?.close();
});

describe("alpha.test → beta.test", { timeout: 240_000 }, () => {
  it("a user signed in with a password submits; B verifies SPF, DKIM and DMARC as pass, stores it and pushes it", async () => {
    const info = await smtp(a.submissionPort as number, { auth: { user: ALICE, pass: PASSWORD } }).sendMail({
      from: `Alice <${ALICE}>`,
      to: BOB,
      subject: "hello from alpha",
      text: "plain body",
    });
    expect(info.response).toMatch(/^250 /);
    const m = await eventually(
      async () => arrived.b.find((x) => x.subject === "hello from alpha"),
      "mail at B",
      60_000,
    );
    expect(m.folder).toBe("INBOX");
    const raw = stored(b, BOB, m);
    const ar = /^Authentication-Results:[\s\S]*?(?=\r\n\S)/m.exec(raw)?.[0] ?? "";
    expect(ar).toMatch(/spf=pass/);
    expect(ar).toMatch(/dkim=pass header\.i=@alpha\.test header\.s=azora/);
    expect(ar).toMatch(/dmarc=pass/);
    expect(raw).toContain("plain body");
    const report = await a.engine.finalReports(info.messageId);
    expect(report).toMatchObject([{ recipient: BOB, status: "delivered" }]);
    expect(report[0].smtpReply).toMatch(/^250 /);
    const pushed = await eventually(
      async () => push.store.since([`user:${subs[BOB]}`], 0, 10).find((x) => x.data.includes(m.id)),
      "push notification for bob",
      30_000,
    );
    expect(JSON.parse(pushed.data)).toMatchObject({ kind: "mail.new", mailbox: BOB, subject: "hello from alpha" });
  });

  it("submission drops the Bcc: header (the envelope carries Bcc recipients) and the message still passes DKIM", async () => {
    const raw = [
      `From: ${ALICE}`,
      "To: undisclosed-recipients:;",
      `Bcc: ${BOB}`,
      "Subject: blind copy",
      `Message-ID: <bcc-1@alpha.test>`,
      "",
      "hidden",
      "",
    ].join("\r\n");
    await smtp(a.submissionPort as number, { auth: { user: ALICE, pass: PASSWORD } }).sendMail({
      envelope: { from: ALICE, to: [BOB] },
      raw,
    });
    const m = await eventually(async () => arrived.b.find((x) => x.subject === "blind copy"), "bcc at B", 60_000);
    const stored_ = stored(b, BOB, m);
    expect(stored_).not.toMatch(/^Bcc:/im);
    expect(stored_).toMatch(/dkim=pass/);
  });

  it("bob reads it over IMAP (Dovecot over B's Maildirs), signed in with his password or an access token", async () => {
    const read = async (auth: { user: string; pass?: string; accessToken?: string }) => {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port: b.imap?.port as number,
        secure: false,
        auth,
        logger: false,
      });
      await client.connect();
      try {
        const lock = await client.getMailboxLock("INBOX");
        try {
          const subjects: string[] = [];
          for await (const msg of client.fetch("1:*", { envelope: true })) subjects.push(msg.envelope?.subject ?? "");
          return subjects;
        } finally {
          lock.release();
        }
      } finally {
        await client.logout();
      }
    };
    expect(await read({ user: BOB, pass: PASSWORD })).toContain("hello from alpha");
    const signIn = await fetch(`${auth.url}/v1/password/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: BOB, password: PASSWORD }),
    });
    const { accessToken } = (await signIn.json()) as { accessToken: string };
    expect(await read({ user: BOB, accessToken })).toContain("hello from alpha");
    await expect(read({ user: BOB, pass: "wrong password" })).rejects.toThrow();
    // Alice's token is no key to bob's mailbox.
    await expect(read({ user: BOB, accessToken: accessToken.split(".").reverse().join(".") })).rejects.toThrow();
  });

  it("web mail: bob lists, reads and deletes over the JSON API, and his WebSocket announces new mail", async () => {
    const token = await tokenOf(BOB);
    const ws = new WebSocket(`${b.url?.replace("http", "ws")}/v1/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const frames: Record<string, unknown>[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    await eventually(async () => frames.find((f) => f.type === "ready"), "ws ready", 30_000);
    await a.engine.deliver({ from: ALICE, to: [BOB], subject: "for the web", html: "<b>web</b>" });
    const note = await eventually(async () => frames.find((f) => f.subject === "for the web"), "ws frame", 30_000);
    ws.close();
    const list = await api(b, "GET", "/v1/messages", token);
    expect(list.status).toBe(200);
    expect(list.body.messages.map((m: { subject: string }) => m.subject)).toContain("for the web");
    const read = await api(b, "GET", `/v1/messages/${note.id}`, token);
    expect(read.body).toMatchObject({ subject: "for the web", html: expect.stringContaining("<b>web</b>") });
    expect(read.body.authenticationResults).toMatch(/dmarc=pass/);
    expect((await api(b, "DELETE", `/v1/messages/${note.id}`, token)).body).toEqual({ deleted: true });
    expect((await api(b, "GET", `/v1/messages/${note.id}`, token)).status).toBe(404);
    expect((await api(b, "GET", "/v1/messages")).status).toBe(401);
    // Alice's token does not open bob's server: she has no mailbox there.
    expect((await api(b, "GET", "/v1/messages", await tokenOf(ALICE))).status).toBe(404);
  });

  it("the JSON send API fills template variables, HTML-escaped in the HTML part", async () => {
    const sent = await api(a, "POST", "/v1/send", await tokenOf(ALICE), {
      to: [BOB],
      subject: "Hi {{name}}",
      text: "Hello {{name}}",
      html: "<p>Hello {{name}}</p>",
      vars: { name: "<i>Bob</i>" },
    });
    expect(sent.status).toBe(202);
    const m = await eventually(async () => arrived.b.find((x) => x.subject === "Hi <i>Bob</i>"), "templated", 30_000);
    const read = await api(b, "GET", `/v1/messages/${m.id}`, await tokenOf(BOB));
    expect(read.body.html).toContain("<p>Hello &lt;i&gt;Bob&lt;/i&gt;</p>");
    expect(read.body.text).toContain("Hello <i>Bob</i>");
    // B stores before it answers 250, so A records the outcome a moment after B has the message.
    const aliceToken = await tokenOf(ALICE);
    const outbox = await eventually(
      async () => {
        const r = await api(a, "GET", `/v1/outbox/${encodeURIComponent(sent.body.messageId)}`, aliceToken);
        return r.body.recipients?.[0]?.status === "queued" ? undefined : r;
      },
      "outcome recorded at A",
      30_000,
    );
    expect(outbox.body.recipients).toMatchObject([{ recipient: BOB, status: "delivered" }]);
  });

  it("MailSender.deliver resolves with one final report per recipient, and is idempotent by Message-ID", async () => {
    const msg = {
      from: ALICE,
      to: [BOB],
      subject: "via the port",
      text: "t",
      html: "<p>h</p>",
      messageId: "job-7.0@alpha.test",
    };
    const first = await a.engine.deliver(msg);
    expect(first).toMatchObject([{ recipient: BOB, status: "delivered", messageId: "<job-7.0@alpha.test>" }]);
    const again = await a.engine.deliver(msg);
    expect(again).toEqual(first);
    expect(arrived.b.filter((x) => x.subject === "via the port")).toHaveLength(1);
  });

  it("a message to an unknown user bounces back to A as a DSN, which A parses and suppresses the address", async () => {
    const reports = await a.engine.deliver({ from: ALICE, to: ["nobody@beta.test"], subject: "to nobody", text: "x" });
    expect(reports).toMatchObject([{ status: "bounced" }]);
    expect(reports[0].smtpReply).toMatch(/^550 5\.1\.1/);
    const dsn = await eventually(async () => arrived.a.find((x) => x.dsn !== undefined), "DSN at alice", 30_000);
    expect(dsn.mailbox).toBe(ALICE);
    expect(dsn.dsn?.recipients).toMatchObject([{ recipient: "nobody@beta.test", action: "failed", status: "5.1.1" }]);
    expect(stored(a, ALICE, dsn)).toContain("multipart/report; report-type=delivery-status");
    expect(a.queue.suppression("nobody@beta.test")).toBeDefined();
    // Suppressed now: the next message to it is not even attempted.
    const next = await a.engine.deliver({ from: ALICE, to: ["nobody@beta.test"], subject: "again", text: "x" });
    expect(next[0].smtpReply).toMatch(/suppression list/);
    await eventually(
      async () => push.store.since([`user:${subs[ALICE]}`], 0, 10).find((x) => x.data.includes("mail.bounce")),
      "bounce notification for alice",
      30_000,
    );
  });

  it("a bounce from another MTA over SMTP suppresses the address only when it answers a message bob sent", async () => {
    const dsn = (messageId: string, failed: string) =>
      [
        "From: MAILER-DAEMON@mx.elsewhere.test",
        `To: ${BOB}`,
        "Subject: Undelivered Mail Returned to Sender",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        "",
        "--B",
        "Content-Type: text/plain",
        "",
        "gone",
        "--B",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.elsewhere.test",
        "",
        `Final-Recipient: rfc822; ${failed}`,
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 unknown user",
        "",
        "--B",
        "Content-Type: text/rfc822-headers",
        "",
        `From: ${BOB}`,
        `Message-ID: ${messageId}`,
        "--B--",
        "",
      ].join("\r\n");
    // Bob's earlier message to carol, accepted by a relay (250) that bounces it later: a late bounce.
    b.queue.enqueue(
      { messageId: "<sent-1@beta.test>", envelopeFrom: BOB, raw: Buffer.from("x"), createdAt: Date.now() },
      ["carol@elsewhere.test"],
    );
    const [row] = b.queue.recipients("<sent-1@beta.test>");
    b.queue.record({
      ...row,
      status: "delivered",
      lastReply: "250 relayed",
      mx: "relay",
      at: Date.now(),
      attempted: true,
    });
    const relay = smtp(b.mxPort as number, { name: "mx.elsewhere.test" });
    await relay.sendMail({
      envelope: { from: "", to: [BOB] },
      raw: dsn("<never-sent@beta.test>", "dave@elsewhere.test"),
    });
    await relay.sendMail({ envelope: { from: "", to: [BOB] }, raw: dsn("<sent-1@beta.test>", "carol@elsewhere.test") });
    const bounces = await eventually(
      async () => {
        const list = arrived.b.filter((x) => x.dsn !== undefined);
        return list.length === 2 ? list : undefined;
      },
      "two bounces at bob",
      30_000,
    );
    expect(bounces.map((m) => m.dsn?.recipients[0].recipient)).toEqual(["dave@elsewhere.test", "carol@elsewhere.test"]);
    expect(b.queue.suppression("carol@elsewhere.test")?.reason).toMatch(/^5\.1\.1/);
    expect(b.queue.suppression("dave@elsewhere.test")).toBeUndefined();
  });

  it("a forged From: (alpha.test, unsigned, from a host SPF does not list) fails DMARC and is rejected per p=reject", async () => {
    const before = listMaildir(b.mailboxes.maildir(BOB)).length;
    const forged = smtp(b.mxPort as number, { localAddress: "127.0.0.2", name: "evil.test" }).sendMail({
      envelope: { from: ALICE, to: [BOB] },
      from: ALICE,
      to: BOB,
      subject: "send me your keys",
      text: "x",
    });
    await expect(forged).rejects.toMatchObject({ responseCode: 550, response: expect.stringMatching(/DMARC/) });
    expect(listMaildir(b.mailboxes.maildir(BOB)).length).toBe(before);
  });

  it("a forged From: of a domain with p=quarantine is accepted into Junk, marked dmarc=fail", async () => {
    await smtp(b.mxPort as number, { localAddress: "127.0.0.2", name: "evil.test" }).sendMail({
      envelope: { from: "billing@gamma.test", to: [BOB] },
      from: "billing@gamma.test",
      to: BOB,
      subject: "invoice overdue",
      text: "x",
    });
    const m = await eventually(async () => arrived.b.find((x) => x.subject === "invoice overdue"), "junk", 30_000);
    expect(m.folder).toBe("Junk");
    const raw = stored(b, BOB, m);
    expect(raw).toMatch(/spf=fail/);
    expect(raw).toMatch(/dmarc=fail/);
    expect(listMaildir(b.mailboxes.maildir(BOB)).some((f) => f.name === m.id)).toBe(false);
  });
});

describe("Azora Auth through Azora Mail: SIWE and password + TOTP users", { timeout: 240_000 }, () => {
  it("Auth's verification mail goes out through A's /v1/deliver, lands DKIM-signed in carol's Maildir at B, and its link verifies her", async () => {
    expect((await authCall("/v1/accounts", { email: CAROL, password: PASSWORD })).status).toBe(201);
    const mail = await verificationMail(b, CAROL);
    expect(mail.parsed.from?.value[0].address).toBe("auth@alpha.test");
    expect(mail.parsed.headers.get("x-azora-auth")).toBe("verify-email");
    expect(mail.raw).toMatch(/dkim=pass header\.i=@alpha\.test/);
    expect(mail.raw).toMatch(/dmarc=pass/);
    const before = await authCall("/v1/password/sign-in", { email: CAROL, password: PASSWORD });
    expect(before.body.error).toBe("AUTH_EMAIL_NOT_VERIFIED");
    expect((await authCall("/v1/email/verify", { token: mail.token })).status).toBe(200);
    const after = await authCall("/v1/password/sign-in", { email: CAROL, password: PASSWORD });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    // The link works once.
    expect((await authCall("/v1/email/verify", { token: mail.token })).status).not.toBe(200);
    // Azora Mail refuses a wrong deliver token and a sender outside its domains; the mailer rejects.
    const authMail = { kind: "verify-email", to: CAROL, subject: "s", text: "t", link: "x" } as const;
    const wrongToken = { url: a.url as string, token: "not-a-deliver-token-0123", from: "auth@alpha.test" };
    await expect(createMailServiceMailer(wrongToken).send(authMail)).rejects.toThrow(/HTTP 401/);
    await expect(
      createMailServiceMailer({ ...wrongToken, token: DELIVER, from: "auth@gamma.test" }).send(authMail),
    ).rejects.toThrow(/HTTP 403/);
  });

  it("wally signs in with SIWE, links his mailbox, sends to carol over submission (XOAUTH2); carol, with password + TOTP, reads it over IMAP", async () => {
    // Carol turns TOTP on. Enrolment spends the current time step, sign-in below the next one (a step is used once).
    const carol = (await authCall("/v1/password/sign-in", { email: CAROL, password: PASSWORD })).body.accessToken;
    const { secret } = (await authCall("/v1/mfa/totp/setup", {}, carol)).body;
    const now = () => Math.floor(Date.now() / 1000);
    const enabled = await authCall("/v1/mfa/totp/enable", { code: await generate({ secret, epoch: now() }) }, carol);
    expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);

    // Wally has only a wallet; he links wally@alpha.test, which Auth verifies by a mail through A into his Maildir.
    const wallet = new Wallet(Wallet.createRandom().privateKey);
    const first = await siweSignIn(wallet);
    expect((await authCall("/v1/me/email", { email: WALLY }, first)).status).toBe(202);
    expect((await authCall("/v1/email/verify", { token: (await verificationMail(a, WALLY)).token })).status).toBe(200);
    // A token from a new SIWE sign-in carries the verified email: the key to his mailbox.
    const wallyToken = await siweSignIn(wallet);
    const info = await smtp(a.submissionPort as number, {
      auth: { type: "OAuth2", user: WALLY, accessToken: wallyToken },
    }).sendMail({ from: WALLY, to: CAROL, subject: "signed with a wallet", text: "from a SIWE account" });
    expect(info.response).toMatch(/^250 /);
    const m = await eventually(
      async () => arrived.b.find((x) => x.subject === "signed with a wallet"),
      "at carol",
      60_000,
    );
    expect(m.mailbox).toBe(CAROL);
    expect(stored(b, CAROL, m)).toMatch(/dkim=pass header\.i=@alpha\.test/);

    // Her password alone opens nothing now (SMTP AUTH and IMAP exchange it at this route): Auth asks for a code.
    const signIn = await authCall("/v1/password/sign-in", { email: CAROL, password: PASSWORD });
    expect(signIn.body).toMatchObject({ error: "AUTH_MFA_REQUIRED", methods: ["totp"] });
    const code = await generate({ secret, epoch: now() + 30 });
    const done = await authCall("/v1/mfa/totp/verify", { mfaToken: signIn.body.mfaToken, code });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await imapSubjects(b, { user: CAROL, accessToken: done.body.accessToken })).toContain(
      "signed with a wallet",
    );
  });
});

describe("refusals", { timeout: 120_000 }, () => {
  it("the MX is no open relay: a domain it does not serve gets 550 at RCPT", async () => {
    const r = smtp(b.mxPort as number).sendMail({ from: ALICE, to: "victim@elsewhere.test", subject: "s", text: "x" });
    await expect(r).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringMatching(/relay access denied/),
    });
  });

  it("an unknown user gets 550 at RCPT, an oversized message 552", async () => {
    const r = smtp(b.mxPort as number).sendMail({ from: ALICE, to: "ghost@beta.test", subject: "s", text: "x" });
    await expect(r).rejects.toMatchObject({ responseCode: 550, response: expect.stringMatching(/no such user/) });
    const big = smtp(b.mxPort as number).sendMail({
      from: ALICE,
      to: BOB,
      subject: "big",
      text: "y".repeat(200 * 1024),
    });
    await expect(big).rejects.toMatchObject({ responseCode: 552 });
  });

  it("submission without AUTH, with a wrong password, or as someone else is refused", async () => {
    const mail = { from: ALICE, to: BOB, subject: "s", text: "x" };
    await expect(smtp(a.submissionPort as number).sendMail(mail)).rejects.toMatchObject({ responseCode: 530 });
    await expect(
      smtp(a.submissionPort as number, { auth: { user: ALICE, pass: "wrong password" } }).sendMail(mail),
    ).rejects.toMatchObject({ responseCode: 535 });
    await expect(
      smtp(a.submissionPort as number, { auth: { user: ALICE, pass: PASSWORD } }).sendMail({
        ...mail,
        from: "ceo@alpha.test",
      }),
    ).rejects.toMatchObject({ responseCode: 553 });
  });

  it("header injection through the JSON send API or the MailSender port is refused and nothing is queued", async () => {
    const before = a.queue.counts();
    const token = await tokenOf(ALICE);
    const viaApi = [
      { to: [BOB], subject: "hi\r\nBcc: victim@elsewhere.test", text: "x" },
      { to: [BOB], subject: "hi", headers: { "X-A": "1\nBcc: v@e.test" }, text: "x" },
      { to: ["bob@beta.test>\r\nBcc: v@e.test"], subject: "hi", text: "x" },
    ];
    for (const body of viaApi) {
      const r = await api(a, "POST", "/v1/send", token, body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe(MailErrorCode.BAD_MESSAGE);
    }
    const forgedToken = `${token.split(".").slice(0, 2).join(".")}.`;
    expect((await api(a, "POST", "/v1/send", forgedToken, { to: [BOB], subject: "x" })).status).toBe(401);
    await expect(
      a.engine.deliver({ from: ALICE, to: [BOB], subject: "hi\r\nBcc: victim@elsewhere.test", text: "x" }),
    ).rejects.toMatchObject({ code: MailErrorCode.BAD_MESSAGE });
    await expect(
      a.engine.deliver({ from: ALICE, to: [BOB], subject: "hi", headers: { "X-A": "1\nBcc: v@e.test" }, text: "x" }),
    ).rejects.toMatchObject({ code: MailErrorCode.BAD_MESSAGE });
    expect(a.queue.counts()).toEqual(before);
  });
});
