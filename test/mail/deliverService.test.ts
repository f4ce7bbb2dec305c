/**
 * The `MailSender` port over HTTP (`POST /v1/deliver`), as a paid-mail worker uses it with `--mail-service`: one
 * Azora Mail service signs for alpha.test and routes beta.test to a loopback SMTP sink that refuses one recipient
 * with 550. The reports carry the sink's own replies; a repeated post of the same message sends nobody twice; a
 * wrong token and a foreign sender are refused with their codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import { type MailService, resolveMailConfig, startMailService } from "../../services/mail/index.js";
import { createServiceSender, MailServiceError } from "../../services/mail/jobs/index.js";
import { tempDir } from "../utils/devnode.js";
import { type MailSink, startMailSink } from "../utils/mailSink.js";

const TOKEN = "deliver-token-0123456789abcdef";
let sink: MailSink;
let svc: MailService;

beforeAll(async () => {
  sink = await startMailSink((rcpt) => rcpt.startsWith("nobody@"));
  svc = await startMailService(
    resolveMailConfig(undefined, {
      dataDir: tempDir("mail-deliver"),
      hostname: "mx.alpha.test",
      domains: ["alpha.test"],
      deliverTokens: [TOKEN],
      // No web-mail users here: the JWKS is never fetched.
      auth: { issuer: "http://127.0.0.1:9", jwksUrl: "http://127.0.0.1:9/.well-known/jwks.json" },
      mx: { enabled: false },
      submission: { enabled: false },
      imap: { enabled: false },
      http: { port: 0 },
      outbound: {
        routes: { "beta.test": `127.0.0.1:${sink.port}` },
        baseDelayMs: 200,
        maxDelayMs: 1000,
        maxAttempts: 3,
        connectTimeoutMs: 5000,
      },
    }),
    { log: nullLogger, version: "test" },
  );
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

const message = (id: string, from = "news@alpha.test") => ({
  from,
  to: ["ann@beta.test", "nobody@beta.test"],
  subject: "Course news",
  text: "Hello",
  messageId: `<${id}@alpha.test>`,
});

describe("POST /v1/deliver", () => {
  it("answers with each recipient's final outcome and the remote server's reply, once per message-id", async () => {
    const sender = createServiceSender({ url: svc.url as string, token: TOKEN, waitMs: 20_000 });
    const reports = await sender.deliver(message("campaign.1.0"));
    const by = Object.fromEntries(reports.map((r) => [r.recipient, r]));
    expect(by["ann@beta.test"].status).toBe("delivered");
    expect(by["ann@beta.test"].smtpReply).toMatch(/^250/);
    expect(by["nobody@beta.test"].status).toBe("bounced");
    expect(by["nobody@beta.test"].smtpReply).toMatch(/550/);
    // Posting it again (a restarted worker) returns the recorded outcomes; the sink got the message once.
    const again = await sender.deliver(message("campaign.1.0"));
    expect(again.map((r) => [r.recipient, r.status]).sort()).toEqual(
      reports.map((r) => [r.recipient, r.status]).sort(),
    );
    expect(sink.received.filter((m) => m.messageId.includes("campaign.1.0"))).toHaveLength(1);
  });

  it("refuses a wrong token (401) and a sender outside the service's domains (403)", async () => {
    const wrong = createServiceSender({ url: svc.url as string, token: `${TOKEN}x` });
    await expect(wrong.deliver(message("campaign.2.0"))).rejects.toMatchObject({
      status: 401,
      code: "MAIL_UNAUTHENTICATED",
    });
    const sender = createServiceSender({ url: svc.url as string, token: TOKEN });
    const e = await sender.deliver(message("campaign.3.0", "someone@gamma.test")).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MailServiceError);
    expect((e as MailServiceError).code).toBe("MAIL_SENDER_NOT_ALLOWED");
    expect(
      sink.received.some((m) => m.messageId.includes("campaign.2.0") || m.messageId.includes("campaign.3.0")),
    ).toBe(false);
  });
});
