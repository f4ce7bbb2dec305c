/**
 * `azora mail …`: run the mail service, and print a domain's DNS records. Only wiring lives here — flags to config,
 * logger, output, signals; the work is in `services/mail/`.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { readConfigFile } from "../services/runtime/typedConfig.js";
import { printBanner } from "./banner.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { stopOnSignals } from "./shutdown.js";
import { VERSION } from "./version.js";

const lib = () => import("../services/mail/index.js");
const collect = (v: string, prev: string[] = []) => [...prev, v];

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/** "<address>" or "<address>=<auth sub>". */
function userOf(v: string): { address: string; sub?: string } {
  const [address, sub] = v.split("=", 2);
  return sub === undefined ? { address } : { address, sub };
}

/** "<domain>=<host>:<port>". */
function routesOf(list: string[] | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const r of list) {
    const m = /^([^=]+)=([^:]+:\d+)$/.exec(r);
    if (m === null) throw new InvalidArgumentError(`--route ${r}: expected <domain>=<host>:<port>`);
    out[m[1].toLowerCase()] = m[2];
  }
  return out;
}

interface ServeFlags {
  config?: string;
  dataDir?: string;
  hostname?: string;
  domain?: string[];
  user?: string[];
  mxPort?: number;
  submissionPort?: number;
  httpPort?: number;
  imapPort?: number;
  host?: string;
  imap: boolean;
  dovecot?: string;
  route?: string[];
  authUrl?: string;
  issuer?: string;
  pushUrl?: string;
  pushToken?: string;
  deliverToken?: string[];
  tlsCert?: string;
  tlsKey?: string;
  maxMessageBytes?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
}

export function registerMailCommands(program: Command): void {
  const mail = program
    .command("mail")
    .description("Azora Mail: SMTP in and out with SPF/DKIM/DMARC, bounces, IMAP via Dovecot (see README, Azora Mail)");

  mail
    .command("serve")
    .description("Run the mail service: inbound MX, submission, the outbound queue, IMAP (Dovecot), the JSON API")
    .option("-c, --config <file>", "mail config JSON (keys in services/mail/README.md; flags override it)")
    .option("--data-dir <dir>", "Maildirs, DKIM keys, the queue (default ./data/mail)")
    .option("--hostname <name>", "our name in EHLO, Received: and DSNs (default localhost)")
    .option("--domain <domain>", "a mail domain served (repeatable)", collect)
    .option("--user <address[=sub]>", "a mailbox, optionally with its Azora Auth account id (repeatable)", collect)
    .option("--host <host>", "listen address of every listener (default 127.0.0.1)")
    .option("--mx-port <port>", "inbound MX port (default 2525; 0 = any free)", nonNegativeInt("--mx-port"))
    .option(
      "--submission-port <port>",
      "submission port, SMTP AUTH (default 2587; 0 = any free)",
      nonNegativeInt("--submission-port"),
    )
    .option("--http-port <port>", "JSON API + WebSocket port (default 8795)", nonNegativeInt("--http-port"))
    .option("--imap-port <port>", "IMAP port of the Dovecot child (default 1143)", nonNegativeInt("--imap-port"))
    .option("--no-imap", "do not run Dovecot")
    .option("--dovecot <path>", "the dovecot executable (default dovecot)")
    .option("--route <domain=host:port>", "next hop for a recipient domain instead of its MX (repeatable)", collect)
    .option("--auth-url <url>", "Azora Auth's base URL (password sign-in, JWKS)")
    .option("--issuer <iss>", "required `iss` of access tokens (default --auth-url)")
    .option("--push-url <url>", "Azora Push base URL: new mail becomes a notification")
    .option("--push-token <token>", "a publish token of that push service")
    .option("--tls-cert <file>", "PEM certificate: STARTTLS on MX, submission and IMAP (auth only after it)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option(
      "--deliver-token <token>",
      "a token paid-mail workers (azora worker --mail-service) present to POST /v1/deliver (repeatable; ≥ 16 chars)",
      collect,
    )
    .option(
      "--max-message-bytes <n>",
      "largest message accepted (default 25 MiB)",
      nonNegativeInt("--max-message-bytes"),
    )
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(
      new Option("--log-format <format>", "log format (default: pretty on a terminal, else JSON)").choices([
        "json",
        "pretty",
      ]),
    )
    .action(async (f: ServeFlags) => {
      const { resolveMailConfig, startMailService } = await lib();
      const listener = (port: number | undefined) => ({ host: f.host, port });
      const cfg = resolveMailConfig(f.config === undefined ? undefined : readConfigFile(f.config), {
        dataDir: f.dataDir,
        hostname: f.hostname,
        domains: f.domain,
        users: f.user?.map(userOf),
        mx: listener(f.mxPort),
        submission: listener(f.submissionPort),
        http: listener(f.httpPort),
        imap: { ...listener(f.imapPort), enabled: f.imap === false ? false : undefined, binary: f.dovecot },
        outbound: { routes: routesOf(f.route) },
        auth: { url: f.authUrl, issuer: f.issuer },
        push: { url: f.pushUrl, token: f.pushToken },
        deliverTokens: f.deliverToken,
        tls: { certFile: f.tlsCert, keyFile: f.tlsKey },
        limits: { maxMessageBytes: f.maxMessageBytes },
        log: { level: f.logLevel },
      });
      const { logger, flush } = createLogger({ level: cfg.log.level as LogLevel, format: f.logFormat });
      const svc = await startMailService(cfg, { log: logger.child({ module: "mail" }), version: VERSION });
      printBanner(`Azora Mail v${VERSION}   domains ${cfg.domains.join(", ") || "(none: --domain)"}`, [
        ["MX", svc.mxPort === null ? "off" : `smtp://${cfg.mx.host}:${svc.mxPort}`],
        [
          "Submission",
          svc.submissionPort === null
            ? "off"
            : `smtp://${cfg.submission.host}:${svc.submissionPort}   (AUTH PLAIN/LOGIN/XOAUTH2 against Azora Auth)`,
        ],
        [
          "IMAP",
          svc.imap === null ? "off" : `imap://${cfg.imap.host}:${svc.imap.port}   (Dovecot pid ${svc.imap.pid})`,
        ],
        [
          "API",
          svc.url === null
            ? "off"
            : `${svc.url}/openapi.json   WebSocket ${svc.url.replace(/^http/, "ws")}/v1/ws   Metrics ${svc.url}/metrics`,
        ],
        ["Data dir", cfg.dataDir],
      ]);
      stopOnSignals({ close: () => svc.close(), logger, flush });
    });

  mail
    .command("dns-records")
    .description("Print the SPF, DKIM and DMARC TXT records to publish for a domain (creates its DKIM key if missing)")
    .argument("<domain>", "the mail domain")
    .option("--data-dir <dir>", "where the DKIM keys live (default ./data/mail)", "./data/mail")
    .option("--selector <s>", "DKIM selector (default azora)", "azora")
    .option(
      "--spf <mechanism>",
      'an SPF mechanism allowed to send, e.g. "ip4:203.0.113.7" (repeatable; default mx)',
      collect,
    )
    .addOption(
      new Option("--dmarc-policy <p>", "DMARC policy (default quarantine)")
        .choices(["none", "quarantine", "reject"])
        .default("quarantine"),
    )
    .option("--dmarc-report-to <address>", "where DMARC aggregate reports go (rua)")
    .option("--json", "print JSON instead of zone-file lines")
    .action(
      async (
        domain: string,
        f: {
          dataDir: string;
          selector: string;
          spf?: string[];
          dmarcPolicy: "none" | "quarantine" | "reject";
          dmarcReportTo?: string;
          json?: boolean;
        },
      ) => {
        const { dnsRecordsFor, loadOrCreateDkimKey, zoneLines } = await lib();
        const { resolve } = await import("node:path");
        const key = loadOrCreateDkimKey(resolve(f.dataDir), domain.toLowerCase(), f.selector);
        const records = dnsRecordsFor(key, {
          spfMechanisms: f.spf,
          dmarcPolicy: f.dmarcPolicy,
          dmarcReportTo: f.dmarcReportTo,
        });
        process.stdout.write(
          f.json === true ? `${JSON.stringify(records, null, 2)}\n` : `${zoneLines(records).join("\n")}\n`,
        );
      },
    );
}
