import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { encodeSigned, receiptHeader, VOUCHER_REQUEST_HEADER } from "../../client/payments.js";
import type { SearchEngine } from "../engine.js";
import { SearchError, SearchErrorCode } from "../errors.js";
import type { SearchMetrics } from "../metrics.js";
import type { PaidQueries } from "../payments/paidQueries.js";
import type { TaskRow } from "../store.js";
import { parseSearchParams } from "./params.js";

/**
 * The HTTP API (Meilisearch-shaped): indexes with settings, documents (batches as tasks), search, suggestions,
 * tasks, and paid queries. Schemas here are what `/openapi.json` describes.
 */
export interface RouteDeps {
  engine: SearchEngine;
  metrics: SearchMetrics | null;
  paid: PaidQueries | null;
  apiKey?: string;
}

const Name = Type.Object({ name: Type.String() });
const Err = Type.Object({ code: Type.String(), message: Type.String() });
const Task = Type.Object(
  {
    taskUid: Type.Integer(),
    indexUid: Type.String(),
    status: Type.String({ enum: ["enqueued", "processing", "succeeded", "failed"] }),
    type: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    error: Type.Union([Type.String(), Type.Null()]),
    enqueuedAt: Type.String(),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
const anyObject = Type.Record(Type.String(), Type.Unknown());

export const taskView = (t: TaskRow): Static<typeof Task> => ({
  taskUid: t.uid,
  indexUid: t.index,
  status: t.status,
  type: t.type,
  details: t.details,
  error: t.error,
  enqueuedAt: t.enqueuedAt,
  startedAt: t.startedAt,
  finishedAt: t.finishedAt,
});

export async function registerSearchRoutes(app: FastifyInstance, d: RouteDeps): Promise<void> {
  const { engine } = d;
  const isOperator = (req: FastifyRequest) =>
    d.apiKey === undefined || req.headers.authorization === `Bearer ${d.apiKey}`;
  const operatorOnly = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!isOperator(req)) {
      return reply
        .status(401)
        .send({ code: "SEARCH_UNAUTHORIZED", message: "this route needs the API key (Authorization: Bearer …)" });
    }
  };
  const write = { preHandler: operatorOnly };

  app.get(
    "/indexes",
    {
      schema: {
        summary: "List indexes",
        tags: ["indexes"],
        response: { 200: Type.Object({ results: Type.Array(anyObject) }) },
      },
    },
    async () => ({ results: await engine.store.listIndexes() }),
  );
  app.post(
    "/indexes",
    {
      ...write,
      schema: {
        summary: "Create an index",
        tags: ["indexes"],
        body: Type.Object({ name: Type.String(), settings: Type.Optional(anyObject) }),
        response: { 201: anyObject, 400: Err, 409: Err },
      },
    },
    async (req, reply) => {
      const b = req.body as { name: string; settings?: unknown };
      return reply.status(201).send(await engine.createIndex(b.name, b.settings ?? {}));
    },
  );
  app.get(
    "/indexes/:name",
    {
      schema: {
        summary: "An index: settings and stats",
        tags: ["indexes"],
        params: Name,
        response: { 200: anyObject, 404: Err },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      return { ...(await engine.requireIndex(name)), stats: await engine.stats(name) };
    },
  );
  app.delete(
    "/indexes/:name",
    { ...write, schema: { summary: "Delete an index and its documents", tags: ["indexes"], params: Name } },
    async (req, reply) => {
      await engine.deleteIndex((req.params as { name: string }).name);
      return reply.status(204).send();
    },
  );
  app.get(
    "/indexes/:name/settings",
    {
      schema: {
        summary: "An index's settings",
        tags: ["indexes"],
        params: Name,
        response: { 200: anyObject, 404: Err },
      },
    },
    async (req) => (await engine.requireIndex((req.params as { name: string }).name)).settings,
  );
  app.patch(
    "/indexes/:name/settings",
    {
      ...write,
      schema: {
        summary: "Change settings (a task; re-indexes when the layout changes)",
        tags: ["indexes"],
        params: Name,
        body: anyObject,
        response: { 202: Task, 400: Err },
      },
    },
    async (req, reply) =>
      reply.status(202).send(taskView(await engine.updateSettings((req.params as { name: string }).name, req.body))),
  );

  const docsBody = Type.Array(anyObject, { description: "documents; each needs the primary key (default `id`)" });
  app.post(
    "/indexes/:name/documents",
    {
      ...write,
      schema: {
        summary: "Add or replace documents by id (a task)",
        tags: ["documents"],
        params: Name,
        body: docsBody,
        response: { 202: Task, 400: Err },
      },
    },
    async (req, reply) =>
      reply
        .status(202)
        .send(taskView(await engine.addDocuments((req.params as { name: string }).name, req.body, "replace"))),
  );
  app.put(
    "/indexes/:name/documents",
    {
      ...write,
      schema: {
        summary: "Update documents by id, merging fields (a task)",
        tags: ["documents"],
        params: Name,
        body: docsBody,
        response: { 202: Task, 400: Err },
      },
    },
    async (req, reply) =>
      reply
        .status(202)
        .send(taskView(await engine.addDocuments((req.params as { name: string }).name, req.body, "update"))),
  );
  app.get(
    "/indexes/:name/documents/:id",
    { schema: { summary: "One document", tags: ["documents"], response: { 200: anyObject, 404: Err } } },
    async (req) => {
      const p = req.params as { name: string; id: string };
      return engine.getDocument(p.name, p.id);
    },
  );
  app.delete(
    "/indexes/:name/documents/:id",
    { ...write, schema: { summary: "Delete a document (a task)", tags: ["documents"], response: { 202: Task } } },
    async (req, reply) => {
      const p = req.params as { name: string; id: string };
      return reply.status(202).send(taskView(await engine.deleteDocuments(p.name, [p.id])));
    },
  );
  app.post(
    "/indexes/:name/documents/delete-batch",
    {
      ...write,
      schema: {
        summary: "Delete documents by id (a task)",
        tags: ["documents"],
        params: Name,
        body: Type.Array(Type.Union([Type.String(), Type.Integer()])),
        response: { 202: Task },
      },
    },
    async (req, reply) =>
      reply.status(202).send(taskView(await engine.deleteDocuments((req.params as { name: string }).name, req.body))),
  );

  const search = async (req: FastifyRequest, reply: FastifyReply, raw: Record<string, unknown>) => {
    const { name } = req.params as { name: string };
    const info = await engine.requireIndex(name);
    const price = BigInt(info.settings.pricePerQuery);
    let voucherRequest: object | null = null;
    if (d.paid !== null && price > 0n && !(d.apiKey !== undefined && isOperator(req))) {
      const charged = await d.paid.charge(receiptHeader(req.headers), price);
      voucherRequest = charged.voucherRequest;
    }
    const params = parseSearchParams(raw);
    const started = performance.now();
    const out = await engine.search(name, params);
    const ranking =
      !params.hybrid && params.vector === undefined ? "keyword" : params.hybrid === 1 ? "semantic" : "hybrid";
    d.metrics?.queries.observe({ ranking }, (performance.now() - started) / 1000);
    if (voucherRequest !== null) reply.header(VOUCHER_REQUEST_HEADER, encodeSigned(voucherRequest, ""));
    return out;
  };
  const searchSchema = (summary: string) => ({
    summary,
    tags: ["search"],
    params: Name,
    response: { 200: anyObject, 400: Err, 402: Err, 404: Err },
  });
  app.get(
    "/indexes/:name/search",
    {
      schema: {
        ...searchSchema(
          "Search: q, filter, facets (a,b), limit, offset, page, hitsPerPage, sort (f:asc,g:desc), hybrid (semantic ratio 0–1), attributesToHighlight, attributesToCrop, cropLength, highlightPreTag, highlightPostTag, matchingStrategy (all|last), prefix, showRankingScore",
        ),
        querystring: Type.Record(Type.String(), Type.Unknown()),
      },
    },
    (req, reply) => search(req, reply, req.query as Record<string, unknown>),
  );
  app.post(
    "/indexes/:name/search",
    { schema: { ...searchSchema("Search with a JSON body (the same keys, typed)"), body: anyObject } },
    (req, reply) => search(req, reply, req.body as Record<string, unknown>),
  );
  app.get(
    "/indexes/:name/suggest",
    {
      schema: {
        summary: "Completions of the query's last word, most frequent first",
        tags: ["search"],
        params: Name,
        querystring: Type.Object({
          q: Type.String({ maxLength: 512 }),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: { 200: anyObject, 400: Err, 404: Err },
      },
    },
    async (req) => {
      const q = req.query as { q: string; limit?: number };
      return engine.suggest((req.params as { name: string }).name, q.q, q.limit ?? 10);
    },
  );

  app.get(
    "/tasks",
    {
      schema: {
        summary: "Tasks, newest first",
        tags: ["tasks"],
        querystring: Type.Object({
          index: Type.Optional(Type.String()),
          status: Type.Optional(Type.String({ enum: ["enqueued", "processing", "succeeded", "failed"] })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          from: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
        response: { 200: Type.Object({ results: Type.Array(Task) }) },
      },
    },
    async (req) => {
      const q = req.query as { index?: string; status?: TaskRow["status"]; limit?: number; from?: number };
      return { results: (await engine.store.listTasks({ ...q, limit: q.limit ?? 20 })).map(taskView) };
    },
  );
  app.get(
    "/tasks/:uid",
    {
      schema: {
        summary: "A task's status",
        tags: ["tasks"],
        params: Type.Object({ uid: Type.Integer({ minimum: 0 }) }),
        response: { 200: Task, 404: Err },
      },
    },
    async (req) => taskView(await engine.task((req.params as { uid: number }).uid)),
  );

  app.get(
    "/payments",
    {
      schema: {
        summary: "Paid queries: the payee, chain and each payer's receipts, vouchers and redemptions",
        tags: ["payments"],
        response: { 200: anyObject },
      },
    },
    async () =>
      d.paid === null
        ? { enabled: false }
        : { enabled: true, payee: d.paid.payee, voucherEvery: d.paid.voucherEvery, payers: d.paid.summary() },
  );
  app.post(
    "/payments/vouchers",
    {
      schema: {
        summary: "Hand in a signed voucher (base64url JSON, as asked for in x-azora-voucher-request)",
        tags: ["payments"],
        body: Type.Object({ voucher: Type.String({ maxLength: 4096 }) }),
        response: { 200: anyObject, 400: Err },
      },
    },
    async (req) => {
      if (d.paid === null) throw new SearchError({ code: SearchErrorCode.BAD_REQUEST, reason: "payments are off" });
      const r = d.paid.acceptVoucher((req.body as { voucher: string }).voucher);
      return { payer: r.payer, valueAggregate: r.valueAggregate.toString() };
    },
  );
}
