/**
 * Azora Mail wired together: DKIM keys, the queue, the mailboxes, the delivery engine, the MX and submission
 * listeners, the JSON API + WebSocket, and new-mail notifications to Azora Push. Wiring only; the rules live in
 * the modules it assembles.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import type { SMTPServer } from "smtp-server";
import type { Logger } from "../../runtime/lib/logger.js";
import type { AccessTokenVerifier } from "../auth/index.js";
import { createMailAuth, type MailAuth } from "./authClient.js";
import type { MailConfig } from "./config.js";
import { type DkimKey, loadOrCreateDkimKey } from "./dkim.js";
import { type DnsResolver, staticResolver, systemResolver, type ZoneRecords } from "./dns.js";
import { type Dovecot, mailOwner, startDovecot } from "./dovecot.js";
import { MailError, MailErrorCode } from "./errors.js";
import { buildMailApp } from "./http.js";
import { Mailboxes, type NewMail } from "./mailboxes.js";
import { splitAddress } from "./maildir.js";
import { DeliveryEngine, type Route } from "./outbound.js";
import type { DeliveryReport } from "./ports.js";
import { type MailQueue, openMailQueue } from "./queue.js";
import { createMxServer, createSubmissionServer } from "./smtp.js";

export interface MailServiceDeps {
  log: Logger;
  version: string;
  /** Replaces system DNS (tests; `dns.zone` in the config does the same for processes). */
  resolver?: DnsResolver;
  /** Replaces the JWKS verifier built from `auth` (in-process tests only). */
  verifyToken?: AccessTokenVerifier;
  now?: () => number;
}

export interface MailService {
  cfg: MailConfig;
  engine: DeliveryEngine;
  queue: MailQueue;
  mailboxes: Mailboxes;
  keys: ReadonlyMap<string, DkimKey>;
  auth: MailAuth;
  /** "mail" (NewMail) for each stored message, "final" (DeliveryReport) for each outbound outcome. */
  events: EventEmitter;
  mxPort: number | null;
  submissionPort: number | null;
  /** The JSON API's base URL, when enabled. */
  url: string | null;
  app: FastifyInstance | null;
  /** The Dovecot child (IMAP), when enabled. */
  imap: Dovecot | null;
  close(): Promise<void>;
}

function listen(server: SMTPServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.server.address() as { port: number }).port);
    });
  });
}

function routesOf(cfg: MailConfig): Map<string, Route> {
  const out = new Map<string, Route>();
  for (const [domain, hop] of Object.entries(cfg.outbound.routes)) {
    const i = hop.lastIndexOf(":");
    out.set(domain.toLowerCase(), { host: hop.slice(0, i), port: Number(hop.slice(i + 1)) });
  }
  return out;
}

/** Publishes new mail to Azora Push (`user:<sub>`), best effort: mail is stored whether or not push answers. */
function pushNotifier(cfg: MailConfig, log: Logger): ((m: NewMail) => void) | null {
  const { url, token } = cfg.push;
  if (url === undefined || token === undefined) return null;
  const subs = new Map(cfg.users.filter((u) => u.sub !== undefined).map((u) => [u.address.toLowerCase(), u.sub]));
  return (m) => {
    const sub = subs.get(m.mailbox);
    if (sub === undefined) return;
    const data = {
      kind: m.dsn === undefined ? "mail.new" : "mail.bounce",
      mailbox: m.mailbox,
      id: m.id,
      folder: m.folder,
      from: m.from,
      subject: m.subject,
      ...(m.dsn === undefined ? {} : { bounced: m.dsn.recipients.map((r) => r.recipient) }),
    };
    fetch(`${url.replace(/\/$/, "")}/v1/publish`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ channel: `user:${sub}`, data, dedupeKey: `mail:${m.mailbox}:${m.id}` }),
    })
      .then((r) => {
        if (!r.ok) log.warn("mail: push publish refused", { status: r.status, mailbox: m.mailbox });
      })
      .catch((e: Error) => log.warn("mail: push unreachable", { err: e.message }));
  };
}

export async function startMailService(cfg: MailConfig, deps: MailServiceDeps): Promise<MailService> {
  const log = deps.log;
  const now = deps.now ?? Date.now;
  for (const u of cfg.users)
    if (!cfg.domains.includes(splitAddress(u.address)[1]))
      throw new MailError({ code: MailErrorCode.CONFIG, reason: `user ${u.address} is not in one of \`domains\`` });
  const resolver =
    deps.resolver ?? (cfg.dns.zone === undefined ? systemResolver : staticResolver(cfg.dns.zone as ZoneRecords));
  const keys = new Map(cfg.domains.map((d) => [d, loadOrCreateDkimKey(cfg.dataDir, d, cfg.dkimSelector)]));
  if ((cfg.tls.certFile === undefined) !== (cfg.tls.keyFile === undefined))
    throw new MailError({ code: MailErrorCode.CONFIG, reason: "tls needs both certFile and keyFile" });
  const tls =
    cfg.tls.certFile === undefined || cfg.tls.keyFile === undefined
      ? undefined
      : { cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) };
  const queue = openMailQueue(join(cfg.dataDir, "queue.sqlite"));
  const events = new EventEmitter();
  const notifyPush = pushNotifier(cfg, log);
  const maildirRoot = join(cfg.dataDir, "maildir");
  const mailboxes = new Mailboxes({
    root: maildirRoot,
    owner: cfg.imap.enabled ? mailOwner() : null,
    domains: cfg.domains,
    users: cfg.users.map((u) => u.address),
    queue,
    log,
    now,
    onNewMail: (m) => {
      events.emit("mail", m);
      notifyPush?.(m);
    },
  });
  const engine = new DeliveryEngine({
    queue,
    resolver,
    keys,
    hostname: cfg.hostname,
    routes: routesOf(cfg),
    mxPort: cfg.outbound.mxPort,
    retry: cfg.outbound,
    connectTimeoutMs: cfg.outbound.connectTimeoutMs,
    concurrency: cfg.outbound.concurrency,
    deliverLocal: (rcpt, raw) => mailboxes.store(rcpt, raw),
    log,
    now,
    onFinal: (r: DeliveryReport) => events.emit("final", r),
  });
  const auth = createMailAuth(cfg.auth, deps.verifyToken);
  const servers: SMTPServer[] = [];
  let mxPort: number | null = null;
  let submissionPort: number | null = null;
  let imap: Dovecot | null = null;
  let app: FastifyInstance | null = null;
  let url: string | null = null;
  const register = new Registry();
  let onVerdict: ((v: { action: string }) => void) | undefined;
  try {
    if (cfg.mx.enabled) {
      const mx = createMxServer({
        hostname: cfg.hostname,
        tls,
        maxMessageBytes: cfg.limits.maxMessageBytes,
        mailboxes,
        resolver,
        log,
        onVerdict: (v) => onVerdict?.(v),
      });
      servers.push(mx);
      mxPort = await listen(mx, cfg.mx.host, cfg.mx.port);
    }
    if (cfg.submission.enabled) {
      const sub = createSubmissionServer({
        hostname: cfg.hostname,
        tls,
        maxMessageBytes: cfg.limits.maxMessageBytes,
        maxRecipients: cfg.limits.maxRecipients,
        engine,
        auth,
        log,
      });
      servers.push(sub);
      submissionPort = await listen(sub, cfg.submission.host, cfg.submission.port);
    }
    if (cfg.http.enabled) {
      const built = await buildMailApp(
        {
          auth,
          mailboxes,
          engine,
          queue,
          events,
          log,
          version: deps.version,
          maxMessageBytes: cfg.limits.maxMessageBytes,
          deliverTokens: cfg.deliverTokens,
        },
        register,
      );
      app = built.app;
      onVerdict = (v) => built.metrics.inbound.inc({ action: v.action });
      await app.listen({ host: cfg.http.host, port: cfg.http.port });
      const addr = app.server.address() as { port: number };
      url = `http://${cfg.http.host.includes(":") ? `[${cfg.http.host}]` : cfg.http.host}:${addr.port}`;
    }
    if (cfg.imap.enabled)
      imap = await startDovecot({
        dataDir: cfg.dataDir,
        maildirRoot,
        host: cfg.imap.host,
        port: cfg.imap.port,
        binary: cfg.imap.binary,
        helperConfig: { auth: cfg.auth, users: cfg.users.map((u) => u.address.toLowerCase()) },
        tls:
          cfg.tls.certFile === undefined || cfg.tls.keyFile === undefined
            ? undefined
            : { certFile: resolvePath(cfg.tls.certFile), keyFile: resolvePath(cfg.tls.keyFile) },
        log,
      });
  } catch (e) {
    await app?.close();
    for (const s of servers) s.close();
    queue.close();
    throw e;
  }
  engine.start();
  log.info("mail: service started", {
    domains: cfg.domains,
    mxPort,
    submissionPort,
    imapPort: imap?.port ?? null,
    url,
  });
  return {
    cfg,
    engine,
    queue,
    mailboxes,
    keys,
    auth,
    events,
    mxPort,
    submissionPort,
    imap,
    url,
    app,
    async close() {
      await imap?.stop();
      await app?.close();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await engine.stop();
      queue.close();
    },
  };
}
