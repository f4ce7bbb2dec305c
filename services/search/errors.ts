import { AzoraError } from "../../runtime/lib/errors.js";

/** What a search call can refuse; the HTTP layer maps each code to a status once (`http/errors.ts`). */
export enum SearchErrorCode {
  /** A query parameter, filter, sort or body that cannot be used (400, with the reason). */
  BAD_REQUEST = "SEARCH_BAD_REQUEST",
  INDEX_NOT_FOUND = "SEARCH_INDEX_NOT_FOUND",
  INDEX_EXISTS = "SEARCH_INDEX_EXISTS",
  DOCUMENT_NOT_FOUND = "SEARCH_DOCUMENT_NOT_FOUND",
  TASK_NOT_FOUND = "SEARCH_TASK_NOT_FOUND",
  /** The query needs an embedding and the index has no embedder (or the model is not loaded). */
  NO_EMBEDDER = "SEARCH_NO_EMBEDDER",
  /** A paid index without a valid receipt (402). */
  PAYMENT_REQUIRED = "SEARCH_PAYMENT_REQUIRED",
  /** The backend is unreachable or refused an operation (503). */
  BACKEND_UNAVAILABLE = "SEARCH_BACKEND_UNAVAILABLE",
}

export type SearchErrorType =
  | { code: SearchErrorCode.BAD_REQUEST; reason: string }
  | { code: SearchErrorCode.INDEX_NOT_FOUND; index: string }
  | { code: SearchErrorCode.INDEX_EXISTS; index: string }
  | { code: SearchErrorCode.DOCUMENT_NOT_FOUND; index: string; id: string }
  | { code: SearchErrorCode.TASK_NOT_FOUND; uid: number }
  | { code: SearchErrorCode.NO_EMBEDDER; index: string; reason: string }
  | { code: SearchErrorCode.PAYMENT_REQUIRED; reason: string }
  | { code: SearchErrorCode.BACKEND_UNAVAILABLE; reason: string };

export class SearchError extends AzoraError<SearchErrorType> {
  constructor(type: SearchErrorType) {
    super(type, describe(type));
  }
}

function describe(t: SearchErrorType): string {
  switch (t.code) {
    case SearchErrorCode.BAD_REQUEST:
      return t.reason;
    case SearchErrorCode.INDEX_NOT_FOUND:
      return `index "${t.index}" not found`;
    case SearchErrorCode.INDEX_EXISTS:
      return `index "${t.index}" already exists`;
    case SearchErrorCode.DOCUMENT_NOT_FOUND:
      return `document "${t.id}" not found in index "${t.index}"`;
    case SearchErrorCode.TASK_NOT_FOUND:
      return `task ${t.uid} not found`;
    case SearchErrorCode.NO_EMBEDDER:
      return `index "${t.index}" cannot embed the query: ${t.reason}`;
    case SearchErrorCode.PAYMENT_REQUIRED:
      return `payment required: ${t.reason}`;
    case SearchErrorCode.BACKEND_UNAVAILABLE:
      return `search backend unavailable: ${t.reason}`;
  }
}

export const badRequest = (reason: string) => new SearchError({ code: SearchErrorCode.BAD_REQUEST, reason });
