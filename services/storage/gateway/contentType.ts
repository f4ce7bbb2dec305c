/**
 * The Content-Type of served content: from the file name's extension when the path has one, else from the
 * first bytes (magic numbers for the media types the platform serves: images, video and HLS, audio, PDF,
 * JSON, HTML, text). A content-addressed file has no stored type, so this is what gateways do (Kubo: the
 * extension, then Go's http.DetectContentType).
 */
import mime from "mime";

export const SNIFF_BYTES = 512;
const OCTET = "application/octet-stream";

/** Types for extensions `mime` maps differently from what players and browsers expect. */
const OVERRIDES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  m4s: "video/iso.segment",
};

export function typeFromName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const dot = name.lastIndexOf(".");
  if (dot <= 0 || dot === name.length - 1) return undefined;
  const ext = name.slice(dot + 1).toLowerCase();
  const t = OVERRIDES[ext] ?? mime.getType(ext) ?? undefined;
  return t === undefined ? undefined : withCharset(t);
}

function withCharset(t: string): string {
  return t.startsWith("text/") || t === "application/json" || t === "application/javascript" || t === "image/svg+xml"
    ? `${t}; charset=utf-8`
    : t;
}

function startsWith(b: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

export function sniffType(head: Uint8Array): string {
  if (head.length === 0) return "text/plain; charset=utf-8";
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) return "image/gif";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WAVE"), 8)) return "audio/wav";
  if (startsWith(head, ascii("%PDF-"))) return "application/pdf";
  if (startsWith(head, ascii("ftyp"), 4)) return "video/mp4";
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return "video/webm";
  if (startsWith(head, ascii("OggS"))) return "audio/ogg";
  if (startsWith(head, ascii("ID3"))) return "audio/mpeg";
  if (startsWith(head, ascii("#EXTM3U"))) return "application/vnd.apple.mpegurl";
  // MPEG-TS: a sync byte every 188 bytes
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return "video/mp2t";
  const text = decodeText(head);
  if (text === undefined) return OCTET;
  const t = text.trimStart();
  const lower = t.slice(0, 64).toLowerCase();
  if (lower.startsWith("<!doctype html") || lower.startsWith("<html")) return "text/html; charset=utf-8";
  if (lower.startsWith("<svg") || (lower.startsWith("<?xml") && t.includes("<svg"))) return "image/svg+xml";
  if ((t.startsWith("{") || t.startsWith("[")) && looksLikeJSON(t, head.length < SNIFF_BYTES))
    return "application/json; charset=utf-8";
  return "text/plain; charset=utf-8";
}

/** UTF-8 without control characters other than tab/newline/CR; the sniff window may cut a character. */
function decodeText(head: Uint8Array): string | undefined {
  let s: string;
  try {
    s = new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(s) ? undefined : s;
}

/** Whole document in the window: it must parse. Cut off: a JSON-looking start is enough. */
function looksLikeJSON(t: string, complete: boolean): boolean {
  if (!complete) return /^[[{]\s*("|\{|\[|\]|\}|-?\d|true|false|null)/.test(t);
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}
