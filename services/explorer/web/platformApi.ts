/**
 * The platform pages' `/v1` shapes (validators, proposals, escrows, jobs, search), as `http/platformRoutes.ts`
 * answers them. Kept apart from `api.ts` (the chain pages') so the two grow without touching each other.
 */
import type { Escrow, Job, ModuleEvent, Proposal, Validator } from "../types.js";
import type { Token } from "./api.js";

export type { Escrow, Job, ModuleEvent, Proposal, Validator };

export type Params = Record<string, string>;

export interface SearchResult {
  tokens: Token[];
  validators: { operator: string; moniker: string }[];
  proposals: { id: number; status: string }[];
  fullText:
    | {
        kind: "contract" | "token" | "proposal";
        ref: string;
        title: string;
        snippet: { text: string; match: boolean }[];
      }[]
    | null;
  fullTextError: string | null;
}
