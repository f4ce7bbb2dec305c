/**
 * Result documents the runtime itself produces. A job whose input the handler refuses (JobInputError) still
 * ends with a result: a canonical error document naming only the bounded code, so a replay verifier that
 * refuses the same input produces the same bytes and the honest worker is paid for the check, not slashed
 * as a no-show.
 */
import { JobInputError, type JobOutput } from "./handler.js";
import { canonicalJSON } from "./spec.js";

export const ERROR_RESULT_CONTENT_TYPE = "application/vnd.azora.job-error+json";

export function errorResult(code: string, detail?: string): JobOutput {
  return {
    bytes: new TextEncoder().encode(canonicalJSON({ error: detail === undefined ? { code } : { code, detail } })),
    contentType: ERROR_RESULT_CONTENT_TYPE,
  };
}

/** The error code of an error result, if `bytes` is one. */
export function errorCodeOf(bytes: Uint8Array): string | undefined {
  if (bytes.length > 1024) return undefined;
  try {
    const d = JSON.parse(new TextDecoder().decode(bytes)) as { error?: { code?: unknown } };
    return typeof d.error?.code === "string" ? d.error.code : undefined;
  } catch {
    return undefined;
  }
}

export function isJobInputError(e: unknown): e is JobInputError {
  return e instanceof JobInputError || (e as { name?: string } | null)?.name === "JobInputError";
}
