import { rmSync } from "node:fs";
import { parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MailErrorCode } from "../../../../services/mail/errors.js";
import {
  createMailJobHandler,
  createRelaySender,
  DEFAULT_RATE_POLICY,
  decodeDeliveryLog,
  decodeMailInput,
  earnedOf,
  encodeMailInput,
  renderTemplate,
  SendPacer,
  sendDurationSec,
  sendRatePerHour,
} from "../../../../services/mail/jobs/index.js";
import type { JobContext } from "../../../../services/runtime/handler.js";
import { JobInputError } from "../../../../services/runtime/handler.js";
import { tempDir } from "../../../utils/devnode.js";
import { type MailSink, startMailSink } from "../../../utils/mailSink.js";

const AZR = 10n ** 18n;

describe("rate limit follows the stake", () => {
  it("nothing below the minimum stake, then 100 messages an hour per AZR, up to the ceiling", () => {
    expect(sendRatePerHour(0n)).toBe(0);
    expect(sendRatePerHour(10n * AZR - 1n)).toBe(0);
    expect(sendRatePerHour(10n * AZR)).toBe(1_000);
    expect(sendRatePerHour(25n * AZR + AZR / 2n)).toBe(2_500);
    expect(sendRatePerHour(10n ** 30n)).toBe(DEFAULT_RATE_POLICY.maxPerHour);
    expect(sendRatePerHour(50n * AZR, { minStake: 0n, stakeUnit: 10n * AZR, perStakeUnit: 7, maxPerHour: 20 })).toBe(
      20,
    );
  });

  it("how long n messages take at a rate", () => {
    expect(sendDurationSec(0, 0)).toBe(0);
    expect(sendDurationSec(1, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(sendDurationSec(100, 1_000)).toBe(360);
  });

  it("the pacer lets a burst go, then one message per 3,600/rate seconds (virtual clock)", async () => {
    let now = 0;
    const slept: number[] = [];
    const clock = {
      nowMs: () => now,
      sleep: async (ms: number) => {
        slept.push(ms);
        now += ms;
      },
    };
    const p = new SendPacer(3_600, clock, 2); // one a second, bursts of 2
    for (let i = 0; i < 5; i++) await p.take();
    expect(slept).toEqual([1_000, 1_000, 1_000]);
    expect(now).toBe(3_000);
    await expect(new SendPacer(0, clock).take()).rejects.toThrow(/rate 0/);
  });
});

describe("templates and inputs", () => {
  it("fills variables, HTML-escapes them in the HTML part, refuses a missing one and CR/LF in the subject", () => {
    const t = { subject: "Hi {{ name }}", text: "Dear {{name}}, {{course}}", html: "<p>{{name}}</p>" };
    expect(renderTemplate(t, { name: "<Ann & Bob>", course: "x" })).toEqual({
      subject: "Hi <Ann & Bob>",
      text: "Dear <Ann & Bob>, x",
      html: "<p>&lt;Ann &amp; Bob&gt;</p>",
    });
    expect(() => renderTemplate(t, { name: "Ann" })).toThrow(/\{\{course\}\}/);
    expect(() => renderTemplate(t, { name: "A\r\nBcc: x@y", course: "" })).toThrow(/CR\/LF/);
  });

  const doc = (recipients: { to: string; vars?: Record<string, string> }[]) =>
    encodeMailInput("mail/campaign", {
      from: "News <news@a.example>",
      template: { subject: "Hi {{name}}", text: "Hello {{name}}" },
      recipients,
    });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof JobInputError ? e.code : String(e);
    }
    return "ok";
  };

  it("decodes a campaign and refuses bad ones by code, before anything is sent", () => {
    const ok = decodeMailInput("mail/campaign", doc([{ to: "ann@b.example", vars: { name: "Ann" } }]));
    expect(ok.fromDomain).toBe("a.example");
    expect(code(() => decodeMailInput("mail/campaign", doc([{ to: "ann@b.example" }])))).toBe(
      MailErrorCode.TEMPLATE_VARIABLE,
    );
    expect(code(() => decodeMailInput("mail/campaign", doc([{ to: "not an address", vars: { name: "x" } }])))).toBe(
      "MAIL_INPUT_INVALID",
    );
    const twice = [
      { to: "ann@b.example", vars: { name: "A" } },
      { to: "ANN@b.example", vars: { name: "B" } },
    ];
    expect(code(() => decodeMailInput("mail/campaign", doc(twice)))).toBe("MAIL_RECIPIENT_DUPLICATE");
    expect(code(() => decodeMailInput("mail/send", doc([{ to: "ann@b.example", vars: { name: "A" } }])))).toBe(
      "MAIL_INPUT_INVALID",
    );
    expect(code(() => decodeMailInput("mail/campaign", new TextEncoder().encode("{")))).toBe("MAIL_INPUT_INVALID");
    expect(code(() => decodeMailInput("mail/campaign", doc([])))).toBe("MAIL_INPUT_INVALID");
  });
});

describe("the handler over a real relay sender and SMTP sink", () => {
  let sink: MailSink;
  const dir = tempDir("mail-jobs-unit");
  beforeAll(async () => {
    sink = await startMailSink((rcpt) => rcpt.startsWith("bounce"));
  });
  afterAll(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ctx = (): JobContext => ({ signal: new AbortController().signal, progress: () => {} });
  const campaign = (n: number, bounced: number) =>
    encodeMailInput("mail/campaign", {
      from: "news@a.example",
      template: { subject: "Hi {{name}}", text: "Hello {{name}}", html: "<b>{{name}}</b>" },
      recipients: Array.from({ length: n }, (_, i) => ({
        to: i < bounced ? `bounce${i}@b.example` : `user${i}@b.example`,
        vars: { name: `User ${i}` },
      })),
    });

  it("delivers, logs each recipient's SMTP reply, meters delivered/total, and never sends a message-id twice", async () => {
    const sender = createRelaySender({ host: sink.host, port: sink.port, dir, attempts: 1 });
    const handler = createMailJobHandler({ sender, stakeOf: async () => 1_000n * AZR });
    const input = campaign(10, 3);
    const job = { id: 7n, kind: "mail/campaign", spec: {}, input };
    expect(await handler.admit?.(job, new AbortController().signal)).toBeUndefined();
    const out = await handler.run(job, ctx());
    const log = decodeDeliveryLog(out.bytes);
    expect(log.total).toBe(10);
    expect(log.delivered).toBe(7);
    expect(log.entries[0]).toMatchObject({ recipient: "bounce0@b.example", status: "bounced" });
    expect(log.entries[0].smtpReply).toMatch(/^550/);
    expect(log.entries[9]).toMatchObject({ recipient: "user9@b.example", status: "delivered", mx: sink.url.slice(7) });
    expect(log.entries[9].smtpReply).toMatch(/^250 2\.0\.0 OK queued as/);
    expect(sink.received.map((m) => m.subject)).toContain("Hi User 9");
    const price = parseEther("0.01") * 10n;
    expect(handler.meter?.(out.bytes, price)).toBe(parseEther("0.01") * 7n);
    expect(earnedOf(out.bytes, price)).toBe(parseEther("0.07"));
    sender.close();

    // A second run (a restart) with a new sender over the same journal sends nothing again.
    const again = createRelaySender({ host: sink.host, port: sink.port, dir, attempts: 1 });
    const before = sink.received.length;
    const out2 = await createMailJobHandler({ sender: again, stakeOf: async () => 1_000n * AZR }).run(job, ctx());
    expect(sink.received.length).toBe(before);
    expect(decodeDeliveryLog(out2.bytes).entries).toEqual(log.entries);
    again.close();
    const ids = sink.received.map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("admit refuses a worker staked below the minimum, and a campaign its rate cannot send in time", async () => {
    const sender = createRelaySender({ host: sink.host, port: sink.port, dir: `${dir}/b`, attempts: 1 });
    const job = { id: 8n, kind: "mail/campaign", spec: {}, input: campaign(100, 0) };
    const low = createMailJobHandler({ sender, stakeOf: async () => 9n * AZR });
    expect(await low.admit?.(job, new AbortController().signal)).toMatch(/below the sending minimum/);
    await expect(low.run(job, ctx())).rejects.toThrow(/below the sending minimum/);
    // 10 AZR: 1,000 an hour; 100 messages take 360 s, over a 60 s limit
    const slow = createMailJobHandler({ sender, stakeOf: async () => 10n * AZR, maxSendSec: 60 });
    expect(await slow.admit?.(job, new AbortController().signal)).toMatch(/100 messages take 360 s/);
    // …and within 80 % of the job's deliver window: 360 s of sending fits a 600 s window, not a 400 s one
    const roomy = createMailJobHandler({ sender, stakeOf: async () => 10n * AZR });
    expect(await roomy.admit?.(job, new AbortController().signal, { deliverWindowSec: 600 })).toBeUndefined();
    expect(await roomy.admit?.(job, new AbortController().signal, { deliverWindowSec: 400 })).toMatch(/limit 320 s/);
    expect(sink.received.filter((m) => m.messageId.includes("campaign.8.")).length).toBe(0);
    sender.close();
  });
});
