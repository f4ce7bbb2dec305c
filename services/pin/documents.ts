/**
 * The documents of a `storage/pin` job: the request (the job's input, so its sha256 — the on-chain `inputHash` —
 * binds the job to one CID and size), the receipt (the result: what the worker holds), and the challenge
 * evidence (the position a challenger asks for). All JSON, canonical (fixed key order), sizes as decimal
 * strings so no reader rounds them.
 */
import { CID } from "multiformats/cid";
import { PinError, PinErrorCode } from "./errors.js";

export const PIN_KIND = "storage/pin";
export const REQUEST_CONTENT_TYPE = "application/vnd.azora.pin-request+json";
export const RECEIPT_CONTENT_TYPE = "application/vnd.azora.pin-receipt+json";

/** What to pin: the root and the DAG's span (the root block commits to it; the worker checks before claiming). */
export interface PinRequest {
  cid: CID;
  dagBytes: bigint;
}

/** What the worker holds: the same root and span, and the DAG's distinct blocks. */
export interface PinReceipt {
  cid: CID;
  dagBytes: bigint;
  blocks: number;
}

const bad = (reason: string) => new PinError({ code: PinErrorCode.BAD_REQUEST, reason });

function parseJSON(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw bad(`${what} is not UTF-8 JSON`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function cidField(v: unknown, what: string): CID {
  if (typeof v !== "string" || v.length > 200) throw bad(`${what}.cid`);
  try {
    return CID.parse(v);
  } catch {
    throw bad(`${what}.cid is not a CID`);
  }
}

/** A non-negative integer below 2^64, given as a decimal string (or a safe JSON integer). */
export function uintField(v: unknown, name: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^[0-9]{1,20}$/.test(v) && BigInt(v) < 2n ** 64n) return BigInt(v);
  throw bad(`${name} must be a non-negative integer (a decimal string)`);
}

export function encodeRequest(r: PinRequest): Uint8Array {
  // fixed key order: the same request always has the same sha256 (the job's inputHash)
  return new TextEncoder().encode(
    JSON.stringify({ v: 1, kind: PIN_KIND, cid: r.cid.toString(), dagBytes: r.dagBytes.toString() }),
  );
}

export function decodeRequest(bytes: Uint8Array): PinRequest {
  const o = parseJSON(bytes, "pin request");
  if (o.v !== 1 || o.kind !== PIN_KIND) throw bad("pin request: v must be 1 and kind storage/pin");
  const dagBytes = uintField(o.dagBytes, "dagBytes");
  if (dagBytes === 0n) throw bad("dagBytes must be positive");
  return { cid: cidField(o.cid, "pin request"), dagBytes };
}

export function encodeReceipt(r: PinReceipt): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      kind: PIN_KIND,
      cid: r.cid.toString(),
      dagBytes: r.dagBytes.toString(),
      blocks: r.blocks,
    }),
  );
}

export function decodeReceipt(bytes: Uint8Array): PinReceipt {
  const o = parseJSON(bytes, "pin receipt");
  if (o.v !== 1 || o.kind !== PIN_KIND) throw bad("pin receipt: v must be 1 and kind storage/pin");
  if (typeof o.blocks !== "number" || !Number.isSafeInteger(o.blocks) || o.blocks < 1) throw bad("receipt.blocks");
  return { cid: cidField(o.cid, "pin receipt"), dagBytes: uintField(o.dagBytes, "dagBytes"), blocks: o.blocks };
}

/**
 * The evidence URI a challenger posts with `challenge(id, evidenceURI)`: the position whose block the worker
 * must prove it holds. Inline (`data:`), so every verifier reads the same position from the challenge's log.
 */
export function evidenceURI(position: bigint): string {
  return `data:application/json,${encodeURIComponent(JSON.stringify({ position: position.toString() }))}`;
}

/**
 * The challenged position, reduced modulo the DAG's span (any number names a block). Evidence that names none
 * — a challenger that did not say — challenges position 0, the root block: still a check the worker holds it.
 */
export function positionOf(evidence: string | undefined, dagBytes: bigint): bigint {
  if (dagBytes === 0n) return 0n;
  if (evidence === undefined || !evidence.startsWith("data:")) return 0n;
  const comma = evidence.indexOf(",");
  if (comma < 0 || evidence.length > 1024) return 0n;
  const meta = evidence.slice(5, comma);
  const body = evidence.slice(comma + 1);
  try {
    const text = meta.endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
    const o = JSON.parse(text) as { position?: unknown };
    return uintField(o?.position, "position") % dagBytes;
  } catch {
    return 0n;
  }
}
