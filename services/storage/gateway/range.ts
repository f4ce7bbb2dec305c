/**
 * HTTP range requests (RFC 9110 §14): one `bytes=` range is served as 206; a range that starts past the end
 * is 416; several ranges, other units or a malformed header are ignored (the full 200 response, which the
 * RFC allows), as are ranges made stale by an `If-Range` that names another validator.
 */
export type RangeDecision =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return { kind: "full" }; // multi-range, other unit or garbage: ignore
  const [, first, last] = m;
  if (first === "" && last === "") return { kind: "full" };
  if (first === "") {
    // suffix range: the last N bytes
    const n = Number(last);
    if (n === 0) return { kind: "unsatisfiable" };
    if (size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { kind: "unsatisfiable" };
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: "full" }; // invalid (last < first): ignore the header
  return { kind: "partial", start, end };
}

/** `If-Range` holds an entity tag or a date; ours are strong ETags, so only an exact match keeps the range. */
export function ifRangeAllows(ifRange: string | undefined, etag: string): boolean {
  return ifRange === undefined || ifRange.trim() === etag;
}

/** `If-None-Match` names our ETag (strong or weak form) or `*`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v.replace(/^W\//, "") === bare;
  });
}
