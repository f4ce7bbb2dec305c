/** The pure parts of Azora Mail: DSN build/parse, the retry schedule, template escaping, header-injection guard. */
import { describe, expect, it } from "vitest";
import { type DkimKey, dnsRecordsFor, zoneLines } from "../../../../services/mail/dkim.js";
import { lookupMx, staticResolver } from "../../../../services/mail/dns.js";
import { buildDsn, enhancedStatusOf, parseDsn } from "../../../../services/mail/dsn.js";
import { MailErrorCode } from "../../../../services/mail/errors.js";
import { assertNoHeaderInjection, mailboxAddress, withoutHeader } from "../../../../services/mail/outbound.js";
import type { OutboundMessage } from "../../../../services/mail/ports.js";
import { backoffMs } from "../../../../services/mail/queue.js";
import { escapeHtml, renderTemplate } from "../../../../services/mail/template.js";

const dsnInput = {
  reportingDomain: "alpha.test",
  to: "alice@alpha.test",
  originalHeaders: "From: alice@alpha.test\r\nMessage-ID: <m1@alpha.test>\r\nSubject: hi",
  originalMessageId: "<m1@alpha.test>",
  arrivalDate: new Date("2026-12-05T12:00:00Z"),
  recipients: [
    {
      recipient: "nobody@beta.test",
      action: "failed",
      status: "5.1.1",
      diagnostic: "550 5.1.1 <nobody@beta.test>: no such user here",
      remoteMta: "mx.beta.test",
    },
  ],
  now: new Date("2026-12-05T12:00:01Z"),
};

describe("DSN (RFC 3464)", () => {
  it("round-trips: what buildDsn writes, parseDsn reads back per recipient", async () => {
    const raw = buildDsn(dsnInput);
    expect(raw).toMatch(/^Content-Type: multipart\/report; report-type=delivery-status; boundary=/m);
    expect(raw).toContain("\r\nAuto-Submitted: auto-replied\r\n");
    expect(await parseDsn(raw)).toEqual({
      originalMessageId: "<m1@alpha.test>",
      reportingMta: "alpha.test",
      recipients: [
        {
          recipient: "nobody@beta.test",
          action: "failed",
          status: "5.1.1",
          diagnostic: "550 5.1.1 <nobody@beta.test>: no such user here",
          remoteMta: "mx.beta.test",
        },
      ],
    });
  });

  it("reads a Postfix-style bounce with several recipients and folded fields", async () => {
    const raw = [
      "From: MAILER-DAEMON@mx.example",
      "To: alice@alpha.test",
      "Subject: Undelivered Mail Returned to Sender",
      "MIME-Version: 1.0",
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      "",
      "--B",
      "Content-Type: text/plain",
      "",
      "sorry",
      "--B",
      "Content-Description: Delivery report",
      "Content-Type: message/delivery-status",
      "",
      "Reporting-MTA: dns; mx.example",
      "",
      "Final-Recipient: rfc822; A@Example.org",
      "Action: failed",
      "Status: 5.2.2",
      "Diagnostic-Code: smtp; 552 5.2.2 mailbox",
      "    full",
      "",
      "Final-Recipient: rfc822; b@example.org",
      "Action: delayed",
      "Status: 4.4.1",
      "--B--",
      "",
    ].join("\r\n");
    const d = await parseDsn(raw);
    expect(d?.reportingMta).toBe("mx.example");
    expect(d?.recipients).toEqual([
      {
        recipient: "a@example.org",
        action: "failed",
        status: "5.2.2",
        diagnostic: "552 5.2.2 mailbox full",
        remoteMta: undefined,
      },
      { recipient: "b@example.org", action: "delayed", status: "4.4.1", diagnostic: undefined, remoteMta: undefined },
    ]);
  });

  it("is null for a message that is not a delivery-status report", async () => {
    expect(await parseDsn("From: a@b.test\r\nSubject: x\r\n\r\nhello\r\n")).toBeNull();
  });

  it("takes the enhanced status from a reply, else its class", () => {
    expect(enhancedStatusOf("550 5.1.1 no such user")).toBe("5.1.1");
    expect(enhancedStatusOf("554 transaction failed")).toBe("5.0.0");
    expect(enhancedStatusOf("connection refused")).toBe("5.0.0");
  });
});

describe("retry schedule", () => {
  const p = { baseDelayMs: 60_000, maxDelayMs: 4 * 3600_000, maxAttempts: 12 };
  it("doubles from the base and stops at the cap", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, p))).toEqual([60_000, 120_000, 240_000, 480_000, 960_000]);
    expect(backoffMs(9, p)).toBe(4 * 3600_000);
    expect(backoffMs(1000, p)).toBe(4 * 3600_000);
    expect(backoffMs(0, p)).toBe(0);
  });
});

describe("templates", () => {
  it("escapes variables in HTML only, and refuses CR/LF in the subject and missing variables", () => {
    const t = { subject: "Hi {{name}}", text: "Hello {{name}}", html: "<p>Hello {{ name }}</p>" };
    expect(renderTemplate(t, { name: `<script>"x"&'y'` })).toEqual({
      subject: `Hi <script>"x"&'y'`,
      text: `Hello <script>"x"&'y'`,
      html: "<p>Hello &lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;</p>",
    });
    expect(() => renderTemplate(t, { name: "a\r\nBcc: x@y.test" })).toThrow(
      expect.objectContaining({ code: MailErrorCode.BAD_MESSAGE }),
    );
    expect(() => renderTemplate(t, {})).toThrow(expect.objectContaining({ code: MailErrorCode.TEMPLATE_VARIABLE }));
    expect(() => renderTemplate({ subject: "{{constructor}}" }, {})).toThrow(
      expect.objectContaining({ code: MailErrorCode.TEMPLATE_VARIABLE }),
    );
    expect(escapeHtml("a&b")).toBe("a&amp;b");
  });
});

describe("header injection guard", () => {
  const ok = { from: "a@alpha.test", to: ["b@beta.test"], subject: "s" };
  it("refuses CR/LF in every caller-given header and malformed recipients", () => {
    const bad: OutboundMessage[] = [
      { ...ok, subject: "s\r\nBcc: x@y.test" },
      { ...ok, from: "a@alpha.test\nBcc: x@y.test" },
      { ...ok, to: ["b@beta.test\r\nBcc: x@y.test"] },
      { ...ok, to: ["not an address"] },
      { ...ok, headers: { "X-Ok": "v\rBcc: x" } },
      { ...ok, headers: { "X: Bad": "v" } },
      { ...ok, messageId: "<m@a>\r\nBcc: x" },
    ];
    for (const m of bad)
      expect(() => assertNoHeaderInjection(m)).toThrow(expect.objectContaining({ code: MailErrorCode.BAD_MESSAGE }));
    expect(() => assertNoHeaderInjection({ ...ok, headers: { "X-Campaign": "7" } })).not.toThrow();
    expect(mailboxAddress("Ann <Ann@Alpha.test>")).toBe("ann@alpha.test");
    expect(() => mailboxAddress("a@b.test, c@d.test")).toThrow();
  });
});

describe("DNS", () => {
  it("prints SPF, DKIM and DMARC records, split into 255-byte strings", () => {
    const key: DkimKey = { domain: "alpha.test", selector: "azora", privateKeyPem: "", publicKeyB64: "A".repeat(400) };
    const r = dnsRecordsFor(key, { spfMechanisms: ["ip4:203.0.113.7"], dmarcPolicy: "reject" });
    expect(r.map((x) => x.name)).toEqual(["alpha.test", "azora._domainkey.alpha.test", "_dmarc.alpha.test"]);
    expect(r[0].value).toBe("v=spf1 ip4:203.0.113.7 -all");
    expect(r[2].value).toBe("v=DMARC1; p=reject; adkim=s; aspf=r");
    expect(zoneLines(r)[1]).toMatch(/^azora\._domainkey\.alpha\.test\. IN TXT "v=DKIM1; k=rsa; p=A+" "A+"$/);
  });

  it("orders MX by preference and falls back to the domain itself", async () => {
    const resolver = staticResolver({
      MX: {
        "a.test": [
          { exchange: "mx2.a.test", priority: 20 },
          { exchange: "mx1.a.test", priority: 10 },
        ],
      },
    });
    expect((await lookupMx(resolver, "a.test")).map((m) => m.exchange)).toEqual(["mx1.a.test", "mx2.a.test"]);
    expect(await lookupMx(resolver, "b.test")).toEqual([{ exchange: "b.test", priority: 0 }]);
  });
});

describe("withoutHeader", () => {
  it("drops every occurrence of a top-level field with its folded lines, and nothing in the body", () => {
    const raw =
      "From: a@b.test\r\nBcc: x@y.test,\r\n z@y.test\r\nSubject: s\r\nbcc: w@y.test\r\n\r\nBcc: in the body\r\n";
    expect(withoutHeader(Buffer.from(raw), "Bcc").toString()).toBe(
      "From: a@b.test\r\nSubject: s\r\n\r\nBcc: in the body\r\n",
    );
  });
});
