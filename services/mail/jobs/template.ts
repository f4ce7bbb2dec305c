/**
 * Templates of `mail/send` and `mail/campaign` jobs: a subject, a text and/or an HTML body with `{{name}}`
 * variables (letters, digits, `_`, `.`, `-`; spaces inside the braces allowed). The HTML body gets its values
 * HTML-escaped; the subject has CR/LF refused (header injection). A variable missing from both the recipient's
 * and the campaign's variables is an input error, found before anything is sent. Pure.
 */

export interface MailTemplate {
  subject: string;
  text?: string;
  html?: string;
}

export interface RenderedMail {
  subject: string;
  text?: string;
  html?: string;
}

export type TemplateVars = Readonly<Record<string, string>>;

export class TemplateError extends Error {
  override readonly name = "TemplateError";
  constructor(
    readonly code: "TEMPLATE_VARIABLE_MISSING" | "TEMPLATE_HEADER_INJECTION",
    message: string,
  ) {
    super(message);
  }
}

const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]{1,64})\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHTML = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

function fill(part: string, vars: TemplateVars, encode: (s: string) => string): string {
  return part.replace(VARIABLE, (_, name: string) => {
    const v = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (v === undefined) throw new TemplateError("TEMPLATE_VARIABLE_MISSING", `variable {{${name}}} has no value`);
    return encode(v);
  });
}

/** The names a template uses, each once, in order of first use. */
export function variablesOf(t: MailTemplate): string[] {
  const out = new Set<string>();
  for (const part of [t.subject, t.text ?? "", t.html ?? ""]) for (const m of part.matchAll(VARIABLE)) out.add(m[1]);
  return [...out];
}

export function renderTemplate(t: MailTemplate, vars: TemplateVars): RenderedMail {
  const subject = fill(t.subject, vars, (s) => s);
  if (/[\r\n]/.test(subject)) throw new TemplateError("TEMPLATE_HEADER_INJECTION", "the subject contains CR or LF");
  return {
    subject,
    text: t.text === undefined ? undefined : fill(t.text, vars, (s) => s),
    html: t.html === undefined ? undefined : fill(t.html, vars, escapeHTML),
  };
}
