/**
 * `azora auth …`: run Azora Auth (`serve`) and rotate its signing key (`rotate-key`). Only wiring lives here —
 * flags to config, logger, mailer, output; the work is in `services/auth/`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { AuthConfig, AuthConfigInput } from "../services/auth/index.js";
import { printBanner } from "./banner.js";
import { intArg } from "./cliArgs.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";
import { VERSION } from "./version.js";

const lib = () => import("../services/auth/index.js");

interface ServeFlags {
  config?: string;
  dataDir?: string;
  issuer?: string;
  host?: string;
  port?: number;
  postgres?: string;
  siweDomain?: string;
  chainId?: number;
  rpcUrl?: string;
  mailService?: string;
  mailServiceToken?: string;
  smtpHost?: string;
  smtpPort?: number;
  mailFrom?: string;
  accessTtl?: number;
  argon2MemoryKib?: number;
  argon2Time?: number;
  maxFailures?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
}

async function configFrom(f: ServeFlags): Promise<AuthConfig> {
  const { loadAuthConfigFile, resolveAuthConfig } = await lib();
  const file = f.config === undefined ? undefined : loadAuthConfigFile(f.config);
  const flags: AuthConfigInput = {
    dataDir: f.dataDir,
    issuer: f.issuer,
    http: { host: f.host, port: f.port },
    database: f.postgres === undefined ? undefined : { kind: "postgres", url: f.postgres },
    siwe: { domain: f.siweDomain, chainId: f.chainId, rpcUrl: f.rpcUrl },
    mail: {
      serviceUrl: f.mailService,
      serviceToken: f.mailServiceToken ?? process.env.AZORA_MAIL_SERVICE_TOKEN,
      smtpHost: f.smtpHost,
      smtpPort: f.smtpPort,
      from: f.mailFrom,
    },
    tokens: { accessTtlSec: f.accessTtl },
    password: { memoryCostKiB: f.argon2MemoryKib, timeCost: f.argon2Time, maxFailures: f.maxFailures },
    log: { level: f.logLevel, format: f.logFormat },
  };
  return resolveAuthConfig(file?.input, flags, file?.baseDir);
}

function withServeOptions(c: Command): Command {
  return c
    .option("-c, --config <file>", "auth config JSON (keys in README, Azora Auth; flags override it)")
    .option("--data-dir <dir>", "where auth.sqlite lives (default ./data/auth)")
    .option("--postgres <url>", "use PostgreSQL at this postgres:// URL instead of SQLite")
    .option("--issuer <url>", "public base URL: token issuer and base of mailed links (default http://127.0.0.1:8090)")
    .option("--host <host>", "HTTP listen address (default 127.0.0.1)")
    .option("--port <port>", "HTTP port (default 8090; 0 = any free)", intArg("--port", 0))
    .option("--siwe-domain <host[:port]>", "the domain SIWE messages must name (default 127.0.0.1:8090)")
    .option("--chain-id <id>", "the chain id SIWE messages must name (default 16730)", intArg("--chain-id", 1))
    .option("--rpc-url <url>", "chain JSON-RPC for ERC-1271 contract-wallet signatures")
    .option("--mail-service <url>", "Azora Mail's HTTP URL: verification/reset mails go through its /v1/deliver")
    .option("--mail-service-token <token>", "a deliver token of that service (or env AZORA_MAIL_SERVICE_TOKEN)")
    .option("--smtp-host <host>", "unauthenticated SMTP relay instead (mails are logged only without either)")
    .option("--smtp-port <port>", "SMTP port (default 25)", intArg("--smtp-port", 1))
    .option("--mail-from <address>", "From: of auth mails")
    .option("--access-ttl <seconds>", "access token lifetime (default 900)", intArg("--access-ttl", 30))
    .option("--argon2-memory-kib <KiB>", "argon2id memory cost (default 19456)", intArg("--argon2-memory-kib", 1024))
    .option("--argon2-time <n>", "argon2id time cost (default 2)", intArg("--argon2-time", 1))
    .option("--max-failures <n>", "wrong passwords before a lockout (default 5)", intArg("--max-failures", 1))
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "log format (default: pretty on a terminal)").choices(["json", "pretty"]),
    );
}

export function registerAuthCommands(program: Command): void {
  const auth = program
    .command("auth")
    .description("Azora Auth: wallet (SIWE) and password sign-in, MFA, sessions (see README, Azora Auth)");

  withServeOptions(auth.command("serve").description("Run the Azora Auth HTTP server")).action(
    async (f: ServeFlags) => {
      const cfg = await configFrom(f);
      const { logger, flush } = createLogger(cfg.log);
      const log = logger.child({ module: "auth" });
      const { createAuthCore, createMailServiceMailer, createSMTPMailer, startAuthServer } = await lib();
      const { serviceUrl, serviceToken, smtpHost } = cfg.mail;
      if (serviceUrl !== undefined && serviceToken === undefined)
        throw new InvalidArgumentError("--mail-service: give --mail-service-token or AZORA_MAIL_SERVICE_TOKEN");
      const mailer =
        serviceUrl !== undefined && serviceToken !== undefined
          ? createMailServiceMailer({ url: serviceUrl, token: serviceToken, from: cfg.mail.from })
          : smtpHost !== undefined
            ? createSMTPMailer({ host: smtpHost, port: cfg.mail.smtpPort, from: cfg.mail.from })
            : {
                async send(m: { kind: string; to: string; link: string }) {
                  // No mail service or relay configured: the operator sees the link in the log (development only).
                  log.warn("mail not sent (no mail.serviceUrl or mail.smtpHost); link logged instead", {
                    kind: m.kind,
                    to: m.to,
                    link: m.link,
                  });
                },
              };
      const core = await createAuthCore(cfg, { mailer });
      const svc = await startAuthServer(core, { log, version: VERSION });
      printBanner(`Azora Auth v${VERSION} — ${cfg.database.kind}`, [
        ["API", `${svc.url}/v1/…   OpenAPI ${svc.url}/openapi.json`],
        ["JWKS", `${svc.url}/.well-known/jwks.json   (issuer ${cfg.issuer})`],
        [
          "SIWE",
          `domain ${cfg.siwe.domain}, chain ${cfg.siwe.chainId}${cfg.siwe.rpcUrl === undefined ? ", EOA only" : `, ERC-1271 via ${cfg.siwe.rpcUrl}`}`,
        ],
        ["Health", `${svc.url}/health   Metrics ${svc.url}/metrics`],
      ]);
      stopOnSignals({ close: () => svc.close(), logger: log, flush });
    },
  );

  withServeOptions(
    auth
      .command("rotate-key")
      .description("Make a new access-token signing key now (old keys stay published until their tokens expire)"),
  ).action(async (f: ServeFlags) => {
    const cfg = await configFrom(f);
    const { createAuthCore } = await lib();
    const core = await createAuthCore(cfg, { mailer: { send: async () => {} }, contractCheck: null });
    try {
      await core.keys.rotate();
      const k = await core.keys.current();
      process.stdout.write(`new signing key ${k.kid}\n`);
    } finally {
      await core.close();
    }
  });
}
