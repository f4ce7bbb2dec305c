/**
 * The input of `mail/send` and `mail/campaign` jobs (what the job's `inputHash` commits to), as JSON:
 *
 *   {"azora": "mail/campaign", "v": 1, "from": "News <news@a.example>",
 *    "template": {"subject": "Hi {{name}}", "text": "…", "html": "…"},
 *    "vars": {"course": "Solidity 101"},                      // shared by every recipient (optional)
 *    "recipients": [{"to": "ann@b.example", "vars": {"name": "Ann"}}, …]}
 *
 * `mail/send` is one message (shared variables only) to up to MAX_SEND_RECIPIENTS recipients; `mail/campaign`
 * renders one message per recipient (its variables over the shared ones), up to MAX_CAMPAIGN_RECIPIENTS.
 * Every check happens here, before anything is sent: a bad input fails the job with its reason (JobInputError).
 */
import { JobInputError } from "../../runtime/handler.js";
import { MailError } from "../errors.js";
import { type MailTemplate, renderTemplate } from "../template.js";

type TemplateVars = Readonly<Record<string, string>>;

export const MAIL_SEND_KIND = "mail/send";
export const MAIL_CAMPAIGN_KIND = "mail/campaign";
export const MAIL_KINDS = [MAIL_SEND_KIND, MAIL_CAMPAIGN_KIND] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export const MAX_SEND_RECIPIENTS = 50;
export const MAX_CAMPAIGN_RECIPIENTS = 10_000;
export const MAX_INPUT_BYTES = 8 << 20;
const MAX_PART_CHARS = 512 * 1024;
const MAX_SUBJECT_CHARS = 998;
const MAX_VARS = 64;
const MAX_VAR_CHARS = 4096;
/** An RFC 5321 forward-path without the angle brackets: no spaces, brackets or control characters. */
const ADDRESS = /^[^\s@<>",;\\]{1,64}@[A-Za-z0-9.-]{1,253}$/;
/** `from`: an address, or `Name <address>` (no CR/LF). */
const FROM = /^(?:[^\r\n<>]{0,200}<([^\s@<>]{1,64}@[A-Za-z0-9.-]{1,253})>|([^\s@<>]{1,64}@[A-Za-z0-9.-]{1,253}))$/;

export interface Recipient {
  to: string;
  vars: TemplateVars;
}

export interface MailJobInput {
  kind: MailKind;
  from: string;
  /** The domain of `from`: message-ids are made in it. */
  fromDomain: string;
  template: MailTemplate;
  vars: TemplateVars;
  recipients: Recipient[];
}

const bad = (code: string, message: string) => new JobInputError(code, message);

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad("MAIL_INPUT_INVALID", `${what}: an object`);
  const entries = Object.entries(v);
  if (entries.length > MAX_VARS) throw bad("MAIL_INPUT_INVALID", `${what}: at most ${MAX_VARS} variables`);
  const out: Record<string, string> = {};
  for (const [k, x] of entries) {
    if (typeof x !== "string" || x.length > MAX_VAR_CHARS)
      throw bad("MAIL_INPUT_INVALID", `${what}.${k}: a string of at most ${MAX_VAR_CHARS} characters`);
    out[k] = x;
  }
  return out;
}

function part(v: unknown, what: string, max: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.length > max)
    throw bad("MAIL_INPUT_INVALID", `${what}: a string of at most ${max} characters`);
  return v;
}

/** Parses and checks a job's input; renders every message once so a missing variable fails before sending. */
export function decodeMailInput(kind: string, bytes: Uint8Array): MailJobInput {
  if (kind !== MAIL_SEND_KIND && kind !== MAIL_CAMPAIGN_KIND)
    throw bad("MAIL_KIND_UNKNOWN", `not a mail kind: ${kind}`);
  if (bytes.length > MAX_INPUT_BYTES) throw bad("MAIL_INPUT_TOO_LARGE", `input over ${MAX_INPUT_BYTES} bytes`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw bad("MAIL_INPUT_INVALID", "input is not UTF-8 JSON");
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("MAIL_INPUT_INVALID", "not an object");
  if (doc.v !== 1) throw bad("MAIL_INPUT_INVALID", "v: 1 expected");
  if (doc.azora !== kind) throw bad("MAIL_INPUT_INVALID", `azora: "${kind}" expected (the job's kind)`);
  const from = typeof doc.from === "string" ? FROM.exec(doc.from) : null;
  if (from === null) throw bad("MAIL_INPUT_INVALID", "from: an address or Name <address>");
  const fromDomain = (from[1] ?? from[2]).split("@")[1].toLowerCase();
  const t = doc.template as Record<string, unknown> | undefined;
  if (t === null || typeof t !== "object") throw bad("MAIL_INPUT_INVALID", "template: an object");
  const template: MailTemplate = {
    subject: part(t.subject, "template.subject", MAX_SUBJECT_CHARS) ?? "",
    text: part(t.text, "template.text", MAX_PART_CHARS),
    html: part(t.html, "template.html", MAX_PART_CHARS),
  };
  if (template.subject === "") throw bad("MAIL_INPUT_INVALID", "template.subject: required");
  if (template.text === undefined && template.html === undefined)
    throw bad("MAIL_INPUT_INVALID", "template: text or html required");
  const vars = stringRecord(doc.vars, "vars");
  const max = kind === MAIL_SEND_KIND ? MAX_SEND_RECIPIENTS : MAX_CAMPAIGN_RECIPIENTS;
  if (!Array.isArray(doc.recipients) || doc.recipients.length === 0 || doc.recipients.length > max)
    throw bad("MAIL_INPUT_INVALID", `recipients: 1 to ${max} for ${kind}`);
  const seen = new Set<string>();
  const recipients: Recipient[] = doc.recipients.map((r: unknown, i: number) => {
    const o = r as Record<string, unknown> | null;
    if (o === null || typeof o !== "object" || typeof o.to !== "string" || !ADDRESS.test(o.to))
      throw bad("MAIL_INPUT_INVALID", `recipients[${i}].to: an address`);
    const key = o.to.toLowerCase();
    if (seen.has(key)) throw bad("MAIL_RECIPIENT_DUPLICATE", `recipients[${i}]: ${o.to} is listed twice`);
    seen.add(key);
    if (kind === MAIL_SEND_KIND && o.vars !== undefined)
      throw bad("MAIL_INPUT_INVALID", `recipients[${i}].vars: mail/send has shared variables only (use mail/campaign)`);
    return { to: o.to, vars: stringRecord(o.vars, `recipients[${i}].vars`) };
  });
  const input: MailJobInput = { kind, from: doc.from as string, fromDomain, template, vars, recipients };
  try {
    for (const r of kind === MAIL_SEND_KIND ? recipients.slice(0, 1) : recipients) renderFor(input, r);
  } catch (e) {
    if (e instanceof MailError) throw bad(e.code, e.message);
    throw e;
  }
  return input;
}

/** The message of one recipient: its variables over the shared ones. */
export function renderFor(input: MailJobInput, r: Recipient) {
  return renderTemplate(input.template, { ...input.vars, ...r.vars });
}

/** Builds a job input document (what `azora job post mail/campaign --input` takes). */
export function encodeMailInput(
  kind: MailKind,
  doc: { from: string; template: MailTemplate; vars?: TemplateVars; recipients: { to: string; vars?: TemplateVars }[] },
): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ azora: kind, v: 1, ...doc }));
}
