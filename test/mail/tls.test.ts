/**
 * STARTTLS when the operator gives Azora Mail a certificate (`tls.certFile` / `tls.keyFile`; a self-signed one made
 * with openssl here): submission refuses credentials on a plain connection (538) and takes them after STARTTLS; the
 * MX offers STARTTLS and a sender that upgrades delivers; Dovecot's config requires TLS before authentication.
 * Without a certificate nothing changes (the other mail tests run that way).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "../../runtime/lib/logger.js";
import type { AccessClaims } from "../../services/auth/index.js";
import { dovecotConf } from "../../services/mail/dovecot.js";
import { type MailService, type NewMail, resolveMailConfig, startMailService } from "../../services/mail/index.js";
import { tempDir } from "../utils/devnode.js";
import { eventually } from "../utils/workers.js";

const TOKEN = "token-of-alice";
let svc: MailService;
const dir = tempDir("mail-tls");
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
const arrived: NewMail[] = [];

beforeAll(async () => {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=mx.alpha.test",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  svc = await startMailService(
    resolveMailConfig(undefined, {
      dataDir: join(dir, "data"),
      hostname: "mx.alpha.test",
      domains: ["alpha.test"],
      users: [{ address: "alice@alpha.test" }, { address: "bob@alpha.test" }],
      tls: { certFile, keyFile },
      dns: { zone: { TXT: {} } }, // no real DNS: the MX's SPF/DMARC lookups find nothing
      mx: { port: 0 },
      submission: { port: 0 },
      http: { enabled: false },
      imap: { enabled: false },
    }),
    {
      log: nullLogger,
      version: "test",
      verifyToken: async (t) => {
        if (t !== TOKEN) throw new Error("unknown token");
        return { sub: "alice", email: "alice@alpha.test" } as AccessClaims;
      },
    },
  );
  svc.events.on("mail", (m: NewMail) => arrived.push(m));
}, 60_000);

afterAll(async () => {
  await svc?.close();
});

const transport = (port: number, tls: boolean) =>
  nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    ...(tls ? { requireTLS: true, tls: { rejectUnauthorized: false } } : { ignoreTLS: true }),
    auth: { type: "OAuth2", user: "alice@alpha.test", accessToken: TOKEN },
  });

describe("with a certificate", () => {
  it("submission takes credentials only after STARTTLS", async () => {
    const message = { from: "alice@alpha.test", to: "bob@alpha.test", subject: "over TLS", text: "hi" };
    await expect(transport(svc.submissionPort as number, false).sendMail(message)).rejects.toMatchObject({
      responseCode: 538,
    });
    const info = await transport(svc.submissionPort as number, true).sendMail(message);
    expect(info.response).toMatch(/^250 /);
    await eventually(async () => arrived.find((m) => m.subject === "over TLS"), "mail at bob", 30_000);
  });

  it("the MX offers STARTTLS, and a sender that upgrades delivers", async () => {
    const mx = nodemailer.createTransport({
      host: "127.0.0.1",
      port: svc.mxPort as number,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
    });
    const info = await mx.sendMail({ from: "x@elsewhere.test", to: "bob@alpha.test", subject: "mx tls", text: "x" });
    expect(info.response).toMatch(/^250 /);
    await eventually(async () => arrived.find((m) => m.subject === "mx tls"), "mx mail at bob", 30_000);
  });

  it("Dovecot is configured to require TLS before authentication", () => {
    const conf = dovecotConf({
      dataDir: dir,
      maildirRoot: join(dir, "maildir"),
      host: "127.0.0.1",
      port: 1143,
      binary: "dovecot",
      helperConfig: {},
      tls: { certFile, keyFile },
      log: nullLogger,
      run: join(dir, "run"),
      checkpassword: "/bin/false",
    });
    expect(conf).toMatch(/^ssl = required$/m);
    expect(conf).toContain(`ssl_cert = <${certFile}`);
    expect(conf).toMatch(/^disable_plaintext_auth = yes$/m);
  });
});
