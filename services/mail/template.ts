/**
 * Templates for outbound mail — the web-mail API's and the paid `mail/send` / `mail/campaign` jobs': `{{name}}`
 * placeholders (letters, digits, `_`, `.`, `-`; spaces inside the braces allowed) filled into subject, text and HTML. Values are HTML-escaped
 * in HTML (a recipient's name cannot inject markup), taken as is in text, and refused in the subject if they carry
 * CR/LF (header injection). A placeholder without a value is an error, not an empty string.
 */
import { MailError, MailErrorCode } from "./errors.js";

export interface MailTemplate {
  subject: string;
  text?: string;
  html?: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]{1,64})\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function fill(tpl: string, vars: Readonly<Record<string, string | number>>, encode: (s: string) => string): string {
  return tpl.replace(PLACEHOLDER, (_m, name: string) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined; // not `{{constructor}}` from the prototype
    if (v === undefined) throw new MailError({ code: MailErrorCode.TEMPLATE_VARIABLE, name });
    return encode(String(v));
  });
}

/** The names a template uses, each once, in order of first use. */
export function variablesOf(t: MailTemplate): string[] {
  const out = new Set<string>();
  for (const part of [t.subject, t.text ?? "", t.html ?? ""]) for (const m of part.matchAll(PLACEHOLDER)) out.add(m[1]);
  return [...out];
}

export function renderTemplate(t: MailTemplate, vars: Readonly<Record<string, string | number>>): MailTemplate {
  const subject = fill(t.subject, vars, (s) => s);
  if (/[\r\n]/.test(subject))
    throw new MailError({ code: MailErrorCode.BAD_MESSAGE, reason: "a subject variable contains CR/LF" });
  return {
    subject,
    text: t.text === undefined ? undefined : fill(t.text, vars, (s) => s),
    html: t.html === undefined ? undefined : fill(t.html, vars, escapeHtml),
  };
}
