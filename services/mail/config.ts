/**
 * Mail service configuration: one TypeBox schema is the type, the defaults, the validation and the README table.
 * Precedence: defaults < config file (JSON) < flags.
 */
import { isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { resolveTypedConfig } from "../runtime/typedConfig.js";

const MiB = 1024 * 1024;
const port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description: `${description} (0 = any free)` });
const listener = (def: number, description: string) =>
  Type.Object(
    {
      enabled: Type.Boolean({ default: true, description: "run this listener" }),
      host: Type.String({ default: "127.0.0.1", description: "listen address" }),
      port: port(def, description),
    },
    { default: {}, additionalProperties: false },
  );

export const MailConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      default: "./data/mail",
      description: "Maildirs (maildir/<domain>/<user>/Maildir), DKIM keys (dkim/), the queue (queue.sqlite)",
    }),
    hostname: Type.String({ default: "localhost", description: "our name in EHLO, banners, Received: and DSNs" }),
    domains: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "mail domains served: their mailboxes receive, their users send (DKIM-signed)",
    }),
    users: Type.Array(
      Type.Object(
        {
          address: Type.String({ description: "mailbox address (its domain must be in `domains`)" }),
          sub: Type.Optional(Type.String({ description: "the Azora Auth account id (push notifications go there)" })),
        },
        { additionalProperties: false },
      ),
      { default: [], description: "mailboxes; the same address signs in to Azora Auth" },
    ),
    dkimSelector: Type.String({ default: "azora", description: "DKIM selector of every domain's key" }),
    deliverTokens: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      description:
        "bearer tokens of paid-mail workers (`azora worker mail/campaign --mail-service`) that may POST /v1/deliver as any sender of `domains`",
    }),
    limits: Type.Object(
      {
        maxMessageBytes: Type.Integer({ minimum: 1024, default: 25 * MiB, description: "largest message (552 above)" }),
        maxRecipients: Type.Integer({ minimum: 1, default: 100, description: "recipients per submitted message" }),
      },
      { default: {}, additionalProperties: false },
    ),
    tls: Type.Object(
      {
        certFile: Type.Optional(
          Type.String({ description: "PEM certificate (chain) for STARTTLS on MX, submission and IMAP" }),
        ),
        keyFile: Type.Optional(Type.String({ description: "PEM private key of that certificate" })),
      },
      {
        default: {},
        additionalProperties: false,
        description:
          "with both files: MX and submission offer STARTTLS, submission and IMAP refuse to authenticate without it",
      },
    ),
    mx: listener(2525, "inbound MX port"),
    submission: listener(2587, "submission port (SMTP AUTH)"),
    http: listener(8795, "JSON API + WebSocket port"),
    imap: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "run Dovecot (IMAP) over the Maildirs" }),
        host: Type.String({ default: "127.0.0.1", description: "IMAP listen address" }),
        port: port(1143, "IMAP port"),
        binary: Type.String({ default: "dovecot", description: "the dovecot executable (Debian: dovecot-imapd)" }),
      },
      { default: {}, additionalProperties: false },
    ),
    outbound: Type.Object(
      {
        routes: Type.Record(Type.String(), Type.String({ pattern: "^[^:]+:\\d+$" }), {
          default: {},
          description: 'next hop per recipient domain instead of its MX, e.g. {"beta.test": "127.0.0.1:2526"}',
        }),
        mxPort: Type.Integer({ minimum: 1, maximum: 65535, default: 25, description: "port of MX hosts from DNS" }),
        baseDelayMs: Type.Integer({ minimum: 1, default: 60_000, description: "first retry delay; doubles each time" }),
        maxDelayMs: Type.Integer({ minimum: 1, default: 4 * 3600_000, description: "longest retry delay" }),
        maxAttempts: Type.Integer({ minimum: 1, default: 12, description: "attempts before a recipient fails" }),
        connectTimeoutMs: Type.Integer({ minimum: 100, default: 30_000, description: "SMTP connect/greeting timeout" }),
        concurrency: Type.Integer({ minimum: 1, default: 8, description: "recipients in flight at once" }),
      },
      { default: {}, additionalProperties: false },
    ),
    dns: Type.Object(
      {
        zone: Type.Optional(
          Type.Record(Type.String(), Type.Record(Type.String(), Type.Array(Type.Unknown())), {
            description:
              "a static zone instead of system DNS ({TXT: {name: [..]}, MX: {..}, A: {..}}): air-gapped setups and tests",
          }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: Type.Object(
      {
        url: Type.Optional(Type.String({ description: "Azora Auth's base URL (password sign-in for SMTP AUTH)" })),
        jwksUrl: Type.Optional(
          Type.String({ description: "Azora Auth's JWKS URL (default <url>/.well-known/jwks.json)" }),
        ),
        issuer: Type.Optional(Type.String({ description: "required `iss` of access tokens (default: url)" })),
        audience: Type.String({ default: "azora", description: "required `aud` of access tokens" }),
      },
      { default: {}, additionalProperties: false },
    ),
    push: Type.Object(
      {
        url: Type.Optional(Type.String({ description: "Azora Push base URL; new mail is published to user:<sub>" })),
        token: Type.Optional(Type.String({ description: "a publish token of that push service" })),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ["trace", "debug", "info", "warn", "error", "fatal", "silent"].map((l) => Type.Literal(l)),
          { default: "info", description: "log level: trace, debug, info, warn, error, fatal, silent" },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type MailConfig = Static<typeof MailConfigSchema>;

export function resolveMailConfig(file: object | undefined, flags: object, baseDir = process.cwd()): MailConfig {
  const cfg = resolveTypedConfig(MailConfigSchema, file, flags);
  if (!isAbsolute(cfg.dataDir)) cfg.dataDir = resolve(baseDir, cfg.dataDir);
  cfg.domains = cfg.domains.map((d) => d.toLowerCase());
  return cfg;
}
