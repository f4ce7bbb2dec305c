/** Azora Mail: the public surface (the CLI, the mail job handlers and tests import from here only). */
export { createMailAuth, type MailAuth } from "./authClient.js";
export { type MailConfig, MailConfigSchema, resolveMailConfig } from "./config.js";
export { type DkimKey, dnsRecordsFor, loadOrCreateDkimKey, type TxtRecord, zoneLines } from "./dkim.js";
export { type DnsResolver, staticResolver, systemResolver, type ZoneRecords } from "./dns.js";
export { buildDsn, type DsnRecipient, type ParsedDsn, parseDsn } from "./dsn.js";
export { MailError, MailErrorCode } from "./errors.js";
export type { NewMail } from "./mailboxes.js";
export { listMaildir, maildirOf } from "./maildir.js";
export { DeliveryEngine } from "./outbound.js";
export type { DeliveryReport, MailSender, OutboundMessage } from "./ports.js";
export { backoffMs, type RetryPolicy } from "./queue.js";
export { type MailService, startMailService } from "./service.js";
export { escapeHtml, type MailTemplate, renderTemplate } from "./template.js";
