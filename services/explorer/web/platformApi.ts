/**
 * The platform pages' `/v1` shapes (validators, proposals, escrows, jobs, search), as `http/platformRoutes.ts`
 * answers them. Kept apart from `api.ts` (the chain pages') so the two grow without touching each other.
 */
import type { Token } from "./api.js";

export type Params = Record<string, string>;

export interface ModuleEvent {
  txHash: string;
  blockNumber: number;
  logIndex: number;
  timestamp: number | null;
  event: string;
  args: Record<string, unknown>;
}

export interface Validator {
  operator: string;
  moniker: string;
  consensusAddress: string;
  consensusPubKey: string;
  commissionBps: number;
  tokens: string;
  selfStake: string;
  delegated: string;
  unbonding: string;
  power: number;
  active: boolean;
  jailed: boolean;
  tombstoned: boolean;
  jailedUntil: number;
  missedBlocks: number;
}

export interface Proposal {
  id: number;
  proposer: string;
  status: string;
  actions: { kind: string; key: string; value: string; target: string; info: string }[];
  descriptionURI: string;
  submitTime: number;
  depositEnd: number;
  votingStart: number;
  votingEnd: number;
  executableAt: number;
  totalDeposit: string;
  tally: { yes: string; no: string; noWithVeto: string; abstain: string };
}

export interface Escrow {
  id: number;
  payer: string;
  payee: string;
  arbiter: string;
  token: string;
  amount: string;
  deadline: number;
  terms: string;
  status: string;
}

export interface Job {
  id: number;
  requester: string;
  status: string;
  kind: string;
  specURI: string;
  token: string;
  price: string;
  redundancy: number;
  verification: string;
  arbiter: string;
  postedAt: number;
  claimWindow: number;
  deliverWindow: number;
  challengeWindow: number;
  challengeEnds: number;
  fee: string;
  slots: {
    worker: string;
    status: string;
    claimedAt: number;
    deliverBy: number;
    resultHash: string;
    resultURI: string;
  }[];
  challenger: string;
}

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
