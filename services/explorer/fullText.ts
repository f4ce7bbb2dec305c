/**
 * Full-text search through Azora Search (services/search), when the explorer is configured with its URL: what is
 * worth searching — verified contracts (name and sources), tokens and collections (name, symbol), governance
 * proposals (description URI and actions) — is pushed into one index after each indexed batch, and the search page
 * shows its ranked hits. Documents are upserted by id, so a restart that pushes everything again changes nothing.
 */

import type { Logger } from "../../runtime/lib/logger.js";
import { SearchClient } from "../client/searchClient.js";
import type { SQLDriver } from "./db/driver.js";
import type { PlatformReader } from "./platform.js";

export interface FullTextHit {
  kind: "contract" | "token" | "proposal";
  ref: string;
  title: string;
  /** A cropped excerpt, split into runs; `match` marks the words the query matched. */
  snippet: { text: string; match: boolean }[];
}

// Highlight marks that cannot occur in indexed text (control characters), so no source text is taken for markup.
const PRE = "\u0002";
const POST = "\u0003";

/** `a \u0002b\u0003 c` → runs [a ][b: match][ c]. */
export function snippetRuns(formatted: string): FullTextHit["snippet"] {
  const out: FullTextHit["snippet"] = [];
  for (const [i, part] of formatted.split(new RegExp(`[${PRE}${POST}]`)).entries()) {
    if (part !== "") out.push({ text: part, match: i % 2 === 1 });
  }
  return out;
}

export interface FullTextIndex {
  /** Pushes what changed since the last sync (idempotent). */
  sync(): Promise<void>;
  search(q: string, limit: number): Promise<FullTextHit[]>;
}

interface Doc {
  id: string;
  kind: FullTextHit["kind"];
  ref: string;
  title: string;
  body: string;
}

/** A verified source file is indexed up to this many characters (the index is for finding, not for reading). */
const MAX_BODY = 64 * 1024;
const SETTINGS = { searchableAttributes: ["title", "body"], filterableAttributes: ["kind"] };

function sourcesOf(input: string): string {
  try {
    const sources = (JSON.parse(input) as { sources?: Record<string, { content?: string }> }).sources ?? {};
    return Object.entries(sources)
      .map(([path, s]) => `${path}\n${s.content ?? ""}`)
      .join("\n")
      .slice(0, MAX_BODY);
  } catch {
    return input.slice(0, MAX_BODY);
  }
}

export function createFullTextIndex(opts: {
  url: string;
  apiKey?: string;
  index: string;
  db: SQLDriver;
  reader: PlatformReader;
  log: Logger;
}): FullTextIndex {
  const client = new SearchClient({ url: opts.url, apiKey: opts.apiKey });
  // High-water marks of what was pushed, in memory: after a restart everything is pushed once more (upserts).
  let ready = false;
  let tokensFrom = -1;
  let verifiedFrom = -1;
  let proposalsDone = 0;
  let running: Promise<void> | null = null;

  async function ensureIndex(): Promise<void> {
    if (ready) return;
    try {
      await client.createIndex(opts.index, SETTINGS);
    } catch (e) {
      // 409: it exists already (a restart, or another explorer on the same search service).
      if ((e as { status?: number }).status !== 409) throw e;
    }
    ready = true;
  }

  async function pushOnce(): Promise<void> {
    await ensureIndex();
    const docs: Doc[] = [];
    const tokens = await opts.db.all<{
      address: string;
      name: string | null;
      symbol: string | null;
      first_block: number;
    }>("SELECT address, name, symbol, first_block FROM tokens WHERE first_block > ? ORDER BY first_block", [
      tokensFrom,
    ]);
    for (const t of tokens) {
      if (t.name === null && t.symbol === null) continue;
      docs.push({
        id: `token-${t.address}`,
        kind: "token",
        ref: t.address,
        title: [t.name, t.symbol].filter((s) => s !== null).join(" · "),
        body: `${t.name ?? ""} ${t.symbol ?? ""}`,
      });
    }
    const verified = await opts.db.all<{ address: string; contract_name: string; input: string; verified_at: number }>(
      "SELECT address, contract_name, input, verified_at FROM verifications WHERE verified_at > ? ORDER BY verified_at",
      [verifiedFrom],
    );
    for (const v of verified) {
      docs.push({
        id: `contract-${v.address}`,
        kind: "contract",
        ref: v.address,
        title: v.contract_name,
        body: sourcesOf(v.input),
      });
    }
    const count = await opts.reader.proposalCount().catch(() => proposalsDone);
    const proposals = [];
    for (let id = proposalsDone + 1; id <= count; id++) {
      const p = await opts.reader.proposal(id);
      if (p !== null) proposals.push(p);
    }
    for (const p of proposals) {
      docs.push({
        id: `proposal-${p.id}`,
        kind: "proposal",
        ref: String(p.id),
        title: `Proposal ${p.id}`,
        body: [p.descriptionURI, ...p.actions.map((a) => `${a.kind} ${a.key} ${a.value} ${a.info}`.trim())].join("\n"),
      });
    }
    if (docs.length > 0) await client.addDocuments(opts.index, docs, { batch: 500 });
    if (tokens.length > 0) tokensFrom = Number(tokens[tokens.length - 1].first_block);
    if (verified.length > 0) verifiedFrom = Number(verified[verified.length - 1].verified_at);
    proposalsDone = Math.max(proposalsDone, count);
  }

  return {
    sync() {
      // One push at a time; a batch indexed meanwhile is picked up by the next call.
      running ??= pushOnce()
        .catch((e) => opts.log.warn("azora search sync failed; retrying after the next batch", {}, e))
        .finally(() => {
          running = null;
        });
      return running;
    },
    async search(q, limit) {
      await ensureIndex();
      const r = await client.search(opts.index, {
        q,
        limit,
        attributesToCrop: ["body"],
        attributesToHighlight: ["body"],
        highlightPreTag: PRE,
        highlightPostTag: POST,
        cropLength: 24,
      });
      return r.hits.map((h) => {
        const formatted = (h._formatted ?? {}) as Record<string, unknown>;
        return {
          kind: h.kind as FullTextHit["kind"],
          ref: String(h.ref),
          title: String(h.title),
          snippet: snippetRuns(String(formatted.body ?? h.body ?? "").slice(0, 400)),
        };
      });
    },
  };
}
