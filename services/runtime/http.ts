/**
 * The worker's HTTP API (fastify): `/health`, Prometheus `/metrics`, the blob route (results and inputs it
 * holds, content-addressed), the job journal for operators (`/jobs`, `/jobs/:id`) and its own OpenAPI
 * description at `/openapi.json`, generated from the route schemas.
 */
import swagger from "@fastify/swagger";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { registerBlobRoutes } from "./content/blobRoutes.js";
import type { BlobStore } from "./content/blobStore.js";
import type { JobRow, JobState, Journal, TxRow } from "./journal.js";
import type { WorkerMetrics } from "./metrics.js";

export interface HealthSource {
  health(): {
    status: "ok" | "starting" | "stopping";
    address: string;
    kinds: string[];
    engines: Record<string, string>;
    headBlock: number | null;
    scannedBlock: number | null;
    activeJobs: number;
    runningJobs: number;
    /** libp2p addresses of its IPFS node (bitswap), when it runs with content storage. */
    ipfs?: string[];
  };
}

const JOB_STATES: JobState[] = [
  "candidate",
  "claiming",
  "claimed",
  "computed",
  "committed",
  "delivered",
  "watching",
  "assigned",
  "done",
];

const JobSchema = Type.Object(
  {
    id: Type.String(),
    role: Type.String({ enum: ["work", "verify"] }),
    kind: Type.String(),
    state: Type.String({ enum: JOB_STATES }),
    outcome: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
    slot: Type.Union([Type.Integer(), Type.Null()]),
    resultHash: Type.Union([Type.String(), Type.Null()]),
    resultCID: Type.Union([Type.String(), Type.Null()]),
    voteHash: Type.Union([Type.String(), Type.Null()]),
    progress: Type.Union([Type.Number(), Type.Null()]),
    progressNote: Type.Union([Type.String(), Type.Null()]),
    runs: Type.Integer(),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

const TxSchema = Type.Object({
  action: Type.String(),
  nonce: Type.Integer(),
  state: Type.String(),
  hashes: Type.Array(Type.String()),
  block: Type.Union([Type.Integer(), Type.Null()]),
  gasUsed: Type.Union([Type.String(), Type.Null()]),
});

function jobJSON(r: JobRow) {
  return {
    id: r.id.toString(),
    role: r.role,
    kind: r.kind,
    state: r.state,
    outcome: r.outcome,
    reason: r.reason,
    slot: r.slot,
    resultHash: r.resultHash,
    resultCID: r.resultCID,
    voteHash: r.voteHash,
    progress: r.progress,
    progressNote: r.progressNote,
    runs: r.runs,
    updatedAt: new Date(r.updatedMs).toISOString(),
  };
}

function txJSON(t: TxRow) {
  return {
    action: t.action,
    nonce: t.nonce,
    state: t.state,
    hashes: t.hashes,
    block: t.block,
    gasUsed: t.gasUsed?.toString() ?? null,
  };
}

export async function createWorkerHTTP(mods: {
  journal: Journal;
  blobs: BlobStore;
  metrics: WorkerMetrics;
  health: HealthSource;
  version: string;
  /** More routes on the same port before it starts (the IPFS gateway, handlers' pages). */
  extraRoutes?: (app: FastifyInstance) => Promise<void>;
}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { maxParamLength: 2048 } });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Azora worker",
        description: "A job-market worker: health, metrics, its job journal and the content-addressed blobs it serves",
        version: mods.version,
      },
    },
  });

  app.get(
    "/health",
    {
      schema: {
        summary: "Liveness and sync state",
        tags: ["operations"],
        response: {
          200: Type.Object({
            status: Type.String({ enum: ["ok", "starting", "stopping"] }),
            address: Type.String(),
            kinds: Type.Array(Type.String()),
            engines: Type.Record(Type.String(), Type.String()),
            headBlock: Type.Union([Type.Integer(), Type.Null()]),
            scannedBlock: Type.Union([Type.Integer(), Type.Null()]),
            activeJobs: Type.Integer(),
            runningJobs: Type.Integer(),
            ipfs: Type.Optional(Type.Array(Type.String())),
          }),
        },
      },
    },
    async () => mods.health.health(),
  );

  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["operations"], produces: ["text/plain"] } },
    async (_req, reply) => {
      reply.header("content-type", mods.metrics.register.contentType);
      return mods.metrics.register.metrics();
    },
  );

  registerBlobRoutes(app, mods.blobs);
  await mods.extraRoutes?.(app);

  app.get(
    "/jobs",
    {
      schema: {
        summary: "Jobs in the journal, newest activity first",
        tags: ["jobs"],
        querystring: Type.Object({
          state: Type.Optional(Type.String({ enum: JOB_STATES })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
        response: { 200: Type.Array(JobSchema) },
      },
    },
    async (req) => {
      const q = req.query as { state?: JobState; limit: number; offset: number };
      return mods.journal.jobs(q).map(jobJSON);
    },
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        summary: "One job: the worker's work and verify records and its transactions",
        tags: ["jobs"],
        params: Type.Object({ id: Type.String({ pattern: "^[0-9]{1,78}$" }) }),
        response: {
          200: Type.Object({ jobs: Type.Array(JobSchema), transactions: Type.Array(TxSchema) }),
          404: Type.Object({ error: Type.String() }),
        },
      },
    },
    async (req, reply) => {
      const id = BigInt((req.params as { id: string }).id);
      const rows = (["work", "verify"] as const)
        .map((role) => mods.journal.getJob(id, role))
        .filter((r): r is JobRow => r !== undefined);
      if (rows.length === 0) return reply.code(404).send({ error: "NOT_FOUND" });
      return { jobs: rows.map(jobJSON), transactions: mods.journal.txsOfJob(id).map(txJSON) };
    },
  );

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  return app;
}
