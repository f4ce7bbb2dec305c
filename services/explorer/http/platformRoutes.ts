/**
 * The platform pages' API under `/v1`: validators (staking), proposals (governance), escrows and jobs (the market),
 * each a module's current view read through the node (`platform.ts`, cached per block) plus its history from the
 * indexed events (`platformStore.ts`), and the search that also finds tokens, validators, proposals and — when Azora
 * Search is configured — full-text hits (`fullText.ts`).
 */
import { type TSchema, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { ExplorerError, ExplorerErrorCode } from "../errors.js";
import type { FullTextIndex } from "../fullText.js";
import { ESCROW, GOVERNANCE, JOB_MARKET, type PlatformReader, STAKING } from "../platform.js";
import type { PlatformStore } from "../platformStore.js";
import { Address, ErrorBody, Token } from "./schemas.js";

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Decimal = Type.String({ pattern: "^-?[0-9]+$", description: "a decimal integer (wei)" });
const Params = Type.Record(Type.String(), Decimal);
const Id = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }) });
const Limit = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }) });

const Event = Type.Object({
  txHash: Type.String(),
  blockNumber: Type.Integer(),
  logIndex: Type.Integer(),
  timestamp: Nullable(Type.Integer()),
  event: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
});

const Validator = Type.Object({
  operator: Type.String(),
  moniker: Type.String(),
  consensusAddress: Type.String(),
  consensusPubKey: Type.String(),
  commissionBps: Type.Integer(),
  tokens: Decimal,
  selfStake: Decimal,
  delegated: Decimal,
  unbonding: Decimal,
  power: Type.Integer(),
  active: Type.Boolean(),
  jailed: Type.Boolean(),
  tombstoned: Type.Boolean(),
  jailedUntil: Type.Integer(),
  missedBlocks: Type.Integer({ description: "missed in the current downtime window" }),
});

const Proposal = Type.Object({
  id: Type.Integer(),
  proposer: Type.String(),
  status: Type.String(),
  actions: Type.Array(
    Type.Object({
      kind: Type.String(),
      key: Type.String(),
      value: Decimal,
      target: Type.String(),
      info: Type.String(),
    }),
  ),
  descriptionURI: Type.String(),
  submitTime: Type.Integer(),
  depositEnd: Type.Integer(),
  votingStart: Type.Integer(),
  votingEnd: Type.Integer(),
  executableAt: Type.Integer(),
  totalDeposit: Decimal,
  tally: Type.Object({ yes: Decimal, no: Decimal, noWithVeto: Decimal, abstain: Decimal }),
});

const Escrow = Type.Object({
  id: Type.Integer(),
  payer: Type.String(),
  payee: Type.String(),
  arbiter: Type.String(),
  token: Type.String(),
  amount: Decimal,
  deadline: Type.Integer(),
  terms: Type.String(),
  status: Type.String(),
});

const Job = Type.Object({
  id: Type.Integer(),
  requester: Type.String(),
  status: Type.String(),
  kind: Type.String(),
  specURI: Type.String(),
  token: Type.String(),
  price: Decimal,
  redundancy: Type.Integer(),
  verification: Type.String(),
  arbiter: Type.String(),
  postedAt: Type.Integer(),
  claimWindow: Type.Integer(),
  deliverWindow: Type.Integer(),
  challengeWindow: Type.Integer(),
  challengeEnds: Type.Integer(),
  fee: Decimal,
  slots: Type.Array(
    Type.Object({
      worker: Type.String(),
      status: Type.String(),
      claimedAt: Type.Integer(),
      deliverBy: Type.Integer(),
      resultHash: Type.String(),
      resultURI: Type.String(),
    }),
  ),
  challenger: Type.String(),
});

const FullTextHit = Type.Object({
  kind: Type.String({ enum: ["contract", "token", "proposal"] }),
  ref: Type.String({ description: "the address or proposal number the hit links to" }),
  title: Type.String(),
  snippet: Type.Array(Type.Object({ text: Type.String(), match: Type.Boolean() }), {
    description: "a cropped excerpt in runs; match = words the query matched",
  }),
});

/** Events that move a proposal, an escrow or a job (the market's module also logs worker and payment events). */
export const PROPOSAL_EVENTS = [
  "ProposalSubmitted",
  "DepositAdded",
  "VotingStarted",
  "VoteCast",
  "ProposalExecuted",
  "ProposalFailed",
  "DepositClaimed",
] as const;
export const JOB_EVENTS = [
  "JobPosted",
  "JobClaimed",
  "ResultCommitted",
  "RevealOpened",
  "ResultSubmitted",
  "ResultMetered",
  "JobAccepted",
  "JobChallenged",
  "VerifierVoted",
  "DisputeResolved",
  "JobFinalized",
  "WorkerPaid",
  "FeePaid",
  "JobRefunded",
  "JobCancelled",
  "WorkerSlashed",
  "ChallengerSlashed",
  "JobResumed",
  "ClaimExpired",
] as const;

const HISTORY = 500;
const notFound = (what: string) => new ExplorerError({ code: ExplorerErrorCode.NOT_FOUND, what });

export function registerPlatformRoutes(
  app: FastifyInstance,
  mods: { reader: PlatformReader; platform: PlatformStore; fullText: FullTextIndex | null },
): void {
  const { reader, platform, fullText } = mods;

  app.get(
    "/v1/validators",
    {
      schema: {
        summary: "Validators by bonded stake, with the staking parameters (downtime window) and totals",
        tags: ["platform"],
        response: { 200: Type.Object({ params: Params, totals: Params, validators: Type.Array(Validator) }) },
      },
    },
    async () => {
      const [params, totals, validators] = await Promise.all([
        reader.stakingParams(),
        reader.stakingTotals(),
        reader.validators(),
      ]);
      return { params, totals, validators };
    },
  );

  app.get(
    "/v1/validators/:address",
    {
      schema: {
        summary: "A validator now, and its history from the staking module's events",
        tags: ["platform"],
        params: Type.Object({ address: Address }),
        response: {
          200: Type.Object({ validator: Validator, params: Params, events: Type.Array(Event) }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const address = (req.params as { address: string }).address.toLowerCase();
      const validator = await reader.validator(address);
      if (validator === null) throw notFound(`validator ${address}`);
      const [params, events] = await Promise.all([
        reader.stakingParams(),
        platform.moduleEvents(STAKING, { address }, { limit: HISTORY }),
      ]);
      return { validator, params, events };
    },
  );

  app.get(
    "/v1/proposals",
    {
      schema: {
        summary: "Governance proposals, newest first, with the governance parameters",
        tags: ["platform"],
        querystring: Limit,
        response: { 200: Type.Object({ params: Params, proposals: Type.Array(Proposal) }) },
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      const [params, proposals] = await Promise.all([reader.governanceParams(), reader.proposals(limit)]);
      return { params, proposals };
    },
  );

  app.get(
    "/v1/proposals/:id",
    {
      schema: {
        summary: "A proposal: actions, deposit, periods, live tally with the bonded stake quorum counts against, votes",
        tags: ["platform"],
        params: Id,
        response: {
          200: Type.Object({
            proposal: Proposal,
            params: Params,
            bonded: Decimal,
            events: Type.Array(Event),
          }),
          404: ErrorBody,
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const proposal = await reader.proposal(id);
      if (proposal === null) throw notFound(`proposal ${id}`);
      const [params, totals, events] = await Promise.all([
        reader.governanceParams(),
        reader.stakingTotals(),
        platform.moduleEvents(GOVERNANCE, { id: BigInt(id) }, { events: PROPOSAL_EVENTS, limit: HISTORY }),
      ]);
      return { proposal, params, bonded: totals.bonded, events };
    },
  );

  app.get(
    "/v1/escrows",
    {
      schema: {
        summary: "Escrows, newest first",
        tags: ["platform"],
        querystring: Limit,
        response: { 200: Type.Array(Escrow) },
      },
    },
    async (req) => reader.escrows((req.query as { limit: number }).limit),
  );

  app.get(
    "/v1/escrows/:id",
    {
      schema: {
        summary: "An escrow and the transitions it went through",
        tags: ["platform"],
        params: Id,
        response: { 200: Type.Object({ escrow: Escrow, events: Type.Array(Event) }), 404: ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const escrow = await reader.escrow(id);
      if (escrow === null) throw notFound(`escrow ${id}`);
      return { escrow, events: await platform.moduleEvents(ESCROW, { id: BigInt(id) }, { limit: HISTORY }) };
    },
  );

  app.get(
    "/v1/jobs",
    {
      schema: {
        summary: "Jobs of the market, newest first",
        tags: ["platform"],
        querystring: Limit,
        response: { 200: Type.Array(Job) },
      },
    },
    async (req) => reader.jobs((req.query as { limit: number }).limit),
  );

  app.get(
    "/v1/jobs/:id",
    {
      schema: {
        summary: "A job, its slots and the transitions it went through",
        tags: ["platform"],
        params: Id,
        response: { 200: Type.Object({ job: Job, events: Type.Array(Event) }), 404: ErrorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const job = await reader.job(id);
      if (job === null) throw notFound(`job ${id}`);
      return {
        job,
        events: await platform.moduleEvents(JOB_MARKET, { id: BigInt(id) }, { events: JOB_EVENTS, limit: HISTORY }),
      };
    },
  );

  app.get(
    "/v1/search",
    {
      schema: {
        summary:
          "Search by name: tokens and collections (name or symbol), validators (moniker), a proposal by number " +
          '("proposal 3"), and full-text hits from Azora Search when configured (null when not)',
        tags: ["platform"],
        querystring: Type.Object({ q: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: {
          200: Type.Object({
            tokens: Type.Array(Token),
            validators: Type.Array(Type.Object({ operator: Type.String(), moniker: Type.String() })),
            proposals: Type.Array(Type.Object({ id: Type.Integer(), status: Type.String() })),
            fullText: Nullable(Type.Array(FullTextHit)),
            fullTextError: Nullable(Type.String({ description: "why Azora Search did not answer" })),
          }),
        },
      },
    },
    async (req) => {
      const q = (req.query as { q: string }).q.trim();
      const needle = q.toLowerCase();
      const proposalRef = /^(?:proposal\s*|#)?([0-9]{1,9})$/i.exec(q);
      const [tokens, validators, proposal, ft] = await Promise.all([
        platform.searchTokens(q, 20),
        // Monikers live in the staking module, not the store: the (cached) list filtered here.
        reader.validators().then(
          (all) => all.filter((v) => needle !== "" && v.moniker.toLowerCase().includes(needle)),
          () => [],
        ),
        proposalRef && /^(proposal|#)/i.test(q)
          ? reader.proposal(Number(proposalRef[1])).catch(() => null)
          : Promise.resolve(null),
        fullText === null
          ? Promise.resolve(null)
          : fullText.search(q, 20).then(
              (hits) => ({ hits, error: null }),
              (e: Error) => ({ hits: null, error: e.message }),
            ),
      ]);
      return {
        tokens,
        validators: validators.map((v) => ({ operator: v.operator, moniker: v.moniker })),
        proposals: proposal === null ? [] : [{ id: proposal.id, status: proposal.status }],
        fullText: ft?.hits ?? null,
        fullTextError: ft?.error ?? null,
      };
    },
  );
}
