/**
 * Azora Explorer's web UI: hash routes (`#/`, `#/block/N`, `#/tx/0x…`, `#/address/0x…`) rendered from the `/v1`
 * REST API. The home page refreshes `/v1/blocks` when the explorer's `/v1/live` WebSocket says a batch was indexed
 * (polling once a second when that feed is unavailable), and fetches the latest transactions only when the top block
 * changed.
 */
import { type Child, facts, h, table } from "./dom.js";
import { age, argText, azr, classify, formatUnits, short } from "./format.js";

interface Block {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
  miner: string;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas: string | null;
  txCount: number;
}
interface Decoded {
  name: string;
  signature: string;
  args: Record<string, unknown>;
}
interface Tx {
  hash: string;
  blockNumber: number;
  txIndex: number;
  from: string;
  to: string | null;
  value: string;
  input: string;
  nonce: number;
  gasLimit: string;
  gasPrice: string;
  gasUsed: string;
  status: number;
  contractAddress: string | null;
  methodId: string | null;
  error: string | null;
  timestamp: number;
}
interface Token {
  address: string;
  standard: string;
  name: string | null;
  symbol: string | null;
  decimals: number | null;
}
interface Transfer {
  token: string;
  standard: string;
  from: string;
  to: string;
  tokenId: string | null;
  amount: string;
}
interface InternalCall {
  depth: number;
  type: string;
  from: string;
  to: string | null;
  value: string;
  gasUsed: string;
  error: string | null;
  decoded: Decoded | null;
}
interface TxDetail extends Tx {
  decodedInput: Decoded | null;
  logs: { logIndex: number; address: string; topics: string[]; data: string; decoded: Decoded | null }[];
  internalCalls: InternalCall[];
  transfers: Transfer[];
}
interface Holding {
  token: string;
  tokenId: string;
  balance: string;
  tokenInfo: Token | null;
}
interface AddressDetail {
  address: string;
  balance: string;
  txCount: number;
  isContract: boolean;
  nativeModule: string | null;
  contract: { creator: string; txHash: string; blockNumber: number } | null;
  verification: { match: string; contractName: string; compilerVersion: string } | null;
  token: Token | null;
  tokens: Holding[];
  nfts: Holding[];
}

class NotFound extends Error {}

async function api<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: "application/json" } });
  if (r.status === 404) throw new NotFound(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const main = () => document.getElementById("main") as HTMLElement;

// ---- links and small pieces -------------------------------------------------------------------------------

const blockLink = (n: number) => h("a", { href: `#/block/${n}` }, String(n));
const txLink = (hash: string) => h("a", { href: `#/tx/${hash}`, class: "mono", title: hash }, short(hash));
const addrLink = (a: string | null) =>
  a === null
    ? h("span", { class: "muted" }, "—")
    : h("a", { href: `#/address/${a}`, class: "mono", title: a }, short(a, 6));
const statusBadge = (status: number) =>
  status === 1 ? h("span", { class: "badge ok" }, "Success") : h("span", { class: "badge fail" }, "Failed");

/** A decoded argument: addresses link to their page, everything else is code text. */
const argView = (v: unknown): Child =>
  typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)
    ? h("a", { href: `#/address/${v.toLowerCase()}`, class: "mono wrap" }, v)
    : h("code", {}, argText(v));

function decodedView(d: Decoded | null, raw?: string): Child {
  if (d === null)
    return raw === undefined || raw === "0x" ? h("span", { class: "muted" }, "—") : h("code", { class: "raw" }, raw);
  return h(
    "div",
    { class: "decoded" },
    h("code", {}, d.signature),
    h(
      "ul",
      { class: "args" },
      Object.entries(d.args).map(([k, v]) => h("li", {}, h("span", { class: "arg-name" }, k), " ", argView(v))),
    ),
  );
}

function amountOf(t: { amount: string; tokenId: string | null; standard: string }, info?: Token | null): string {
  if (t.standard === "erc721") return `#${t.tokenId}`;
  const units = formatUnits(t.amount, info?.decimals ?? 0);
  return t.standard === "erc1155" ? `${units} × #${t.tokenId}` : `${units}${info?.symbol ? ` ${info.symbol}` : ""}`;
}

// ---- pages ----------------------------------------------------------------------------------------------------

let stopPolling: (() => void) | null = null;

function homePage(): HTMLElement {
  const blocksBox = h(
    "section",
    { "aria-labelledby": "latest-blocks" },
    h("h2", { id: "latest-blocks" }, "Latest blocks"),
  );
  const txsBox = h(
    "section",
    { "aria-labelledby": "latest-txs" },
    h("h2", { id: "latest-txs" }, "Latest transactions"),
  );
  const blocksList = h("ol", { class: "feed", "aria-live": "polite", id: "blocks-feed" });
  const txsList = h("ol", { class: "feed", id: "txs-feed" });
  blocksBox.append(blocksList);
  txsBox.append(txsList);
  let top = -1;
  let stopped = false;

  const tick = async () => {
    if (document.hidden) return;
    const blocks = await api<Block[]>("/v1/blocks?limit=10");
    if (stopped) return;
    const now = Date.now();
    blocksList.replaceChildren(
      ...blocks.map((b) =>
        h(
          "li",
          { "data-block": String(b.number) },
          h("span", { class: "lead" }, "Block ", blockLink(b.number)),
          h("span", {}, `${b.txCount} tx${b.txCount === 1 ? "" : "s"}`),
          h(
            "span",
            { class: "muted" },
            h("time", { datetime: new Date(b.timestamp * 1000).toISOString() }, age(b.timestamp, now)),
          ),
        ),
      ),
    );
    if (blocks.length > 0 && blocks[0].number !== top) {
      top = blocks[0].number;
      const txs = await api<Tx[]>("/v1/txs?limit=10");
      if (stopped) return;
      txsList.replaceChildren(
        ...txs.map((t) =>
          h(
            "li",
            { "data-tx": t.hash },
            h("span", { class: "lead" }, txLink(t.hash)),
            h("span", {}, "from ", addrLink(t.from), " to ", addrLink(t.to ?? t.contractAddress)),
            h("span", {}, azr(t.value), " ", t.status === 1 ? "" : statusBadge(t.status)),
          ),
        ),
      );
    }
  };
  // One refresh at a time; a signal arriving during one asks for another after it.
  let busy = false;
  let again = false;
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await tick().catch((e: unknown) => console.warn("explorer: refresh failed", e));
      } while (again && !stopped);
    } finally {
      busy = false;
    }
  };
  const poll = async () => {
    while (!stopped) {
      await refresh();
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  // The indexer's feed says when a batch is stored; without it (refused, proxy without WebSocket, server gone),
  // poll once a second.
  const live = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/live`);
  live.onopen = () => {
    if (!stopped) main().dataset.live = "websocket";
  };
  live.onmessage = () => void refresh();
  live.onclose = () => {
    if (stopped) return;
    main().dataset.live = "polling";
    void poll();
  };
  const onVisible = () => {
    if (!document.hidden) void refresh();
  };
  document.addEventListener("visibilitychange", onVisible);
  void refresh();
  stopPolling = () => {
    stopped = true;
    live.close();
    document.removeEventListener("visibilitychange", onVisible);
    delete main().dataset.live;
  };
  return h("div", { class: "home" }, h("h1", {}, "Azora chain"), h("div", { class: "columns" }, blocksBox, txsBox));
}

async function blockPage(ref: string): Promise<HTMLElement> {
  const { block: b, txs } = await api<{ block: Block; txs: Tx[] }>(`/v1/blocks/${ref}`);
  return h(
    "article",
    {},
    h("h1", {}, `Block ${b.number}`),
    facts([
      ["Hash", h("code", { class: "mono wrap" }, b.hash)],
      ["Parent", b.number === 0 ? "—" : h("a", { href: `#/block/${b.number - 1}`, class: "mono wrap" }, b.parentHash)],
      ["Time", new Date(b.timestamp * 1000).toISOString()],
      ["Proposer", addrLink(b.miner)],
      ["Gas used", `${BigInt(b.gasUsed).toLocaleString("en-US")} of ${BigInt(b.gasLimit).toLocaleString("en-US")}`],
      ["Base fee", b.baseFeePerGas === null ? "—" : `${formatUnits(b.baseFeePerGas, 9)} gwei`],
      ["Transactions", String(b.txCount)],
    ]),
    table(
      "Transactions",
      ["Hash", "From", "To", "Value", "Status"],
      txs.map((t) => [
        txLink(t.hash),
        addrLink(t.from),
        addrLink(t.to ?? t.contractAddress),
        azr(t.value),
        statusBadge(t.status),
      ]),
      "No transactions in this block",
    ),
  );
}

/** The flat, depth-first call list as nested lists: each call under the last shallower one. */
function callTree(calls: InternalCall[]): HTMLElement {
  const root = h("ul", { class: "calls", role: "tree", "aria-label": "Internal calls" });
  const stack: HTMLElement[] = [root];
  for (const c of calls) {
    const item = h(
      "li",
      { role: "treeitem", "aria-level": String(c.depth + 1) },
      h(
        "div",
        { class: "call" },
        h("span", { class: "badge" }, c.type),
        " ",
        addrLink(c.from),
        " → ",
        addrLink(c.to),
        c.value !== "0" ? ` ${azr(c.value)}` : "",
        c.decoded ? [" ", h("code", {}, c.decoded.name)] : "",
        c.error ? [" ", h("span", { class: "badge fail" }, c.error)] : "",
      ),
    );
    stack.length = Math.min(stack.length, c.depth + 1);
    stack[stack.length - 1].append(item);
    const sub = h("ul", { role: "group" });
    item.append(sub);
    stack.push(sub);
  }
  for (const ul of root.querySelectorAll("ul")) if (ul.childElementCount === 0) ul.remove();
  return root;
}

async function txPage(hash: string): Promise<HTMLElement> {
  const t = await api<TxDetail>(`/v1/txs/${hash}`);
  const tokens = new Map<string, Token | null>();
  await Promise.all(
    [...new Set(t.transfers.map((x) => x.token))].map(async (a) =>
      tokens.set(a, await api<Token>(`/v1/tokens/${a}`).catch(() => null)),
    ),
  );
  return h(
    "article",
    {},
    h("h1", {}, "Transaction"),
    t.status === 1
      ? null
      : h(
          "p",
          { class: "alert", role: "alert", id: "revert-reason" },
          h("strong", {}, "Reverted: "),
          t.error ?? "no reason given",
        ),
    facts([
      ["Hash", h("code", { class: "mono wrap" }, t.hash)],
      ["Status", statusBadge(t.status)],
      ["Block", blockLink(t.blockNumber)],
      ["Time", new Date(t.timestamp * 1000).toISOString()],
      ["From", addrLink(t.from)],
      [t.to === null ? "Created" : "To", addrLink(t.to ?? t.contractAddress)],
      ["Value", azr(t.value)],
      ["Gas used", `${BigInt(t.gasUsed).toLocaleString("en-US")} of ${BigInt(t.gasLimit).toLocaleString("en-US")}`],
      ["Gas price", `${formatUnits(t.gasPrice, 9)} gwei`],
      ["Nonce", String(t.nonce)],
    ]),
    h("section", { id: "input" }, h("h2", {}, "Input"), decodedView(t.decodedInput, t.input)),
    table(
      "Token transfers",
      ["Token", "From", "To", "Amount"],
      t.transfers.map((x) => {
        const info = tokens.get(x.token);
        return [
          h("a", { href: `#/address/${x.token}` }, info?.symbol ?? short(x.token, 6)),
          addrLink(x.from),
          addrLink(x.to),
          amountOf(x, info),
        ];
      }),
      "No token transfers",
    ),
    h(
      "section",
      { id: "internal-calls" },
      h("h2", {}, "Internal calls"),
      t.internalCalls.length === 0 ? h("p", { class: "muted" }, "None") : callTree(t.internalCalls),
    ),
    h(
      "section",
      { id: "logs" },
      h("h2", {}, `Logs (${t.logs.length})`),
      t.logs.length === 0
        ? h("p", { class: "muted" }, "None")
        : h(
            "ol",
            { class: "logs" },
            t.logs.map((l) =>
              h(
                "li",
                {},
                h("div", {}, "Emitted by ", addrLink(l.address)),
                l.decoded === null
                  ? h(
                      "ul",
                      { class: "args" },
                      [...l.topics, l.data].map((x) => h("li", {}, h("code", { class: "raw" }, x))),
                    )
                  : decodedView(l.decoded),
              ),
            ),
          ),
    ),
  );
}

async function addressPage(address: string): Promise<HTMLElement> {
  const [a, txs] = await Promise.all([
    api<AddressDetail>(`/v1/addresses/${address}`),
    api<Tx[]>(`/v1/addresses/${address}/txs?limit=25`),
  ]);
  const kind = a.nativeModule ? `Native module: ${a.nativeModule}` : a.isContract ? "Contract" : "Account";
  return h(
    "article",
    {},
    h("h1", {}, kind),
    facts([
      ["Address", h("code", { class: "mono wrap" }, a.address)],
      ["Balance", azr(a.balance)],
      ["Transactions", String(a.txCount)],
      a.token
        ? ["Token", `${a.token.name ?? "?"} (${a.token.symbol ?? "?"}), ${a.token.standard.toUpperCase()}`]
        : null,
      a.contract ? ["Created by", [addrLink(a.contract.creator), " in ", txLink(a.contract.txHash)]] : null,
      a.isContract && !a.nativeModule
        ? [
            "Source",
            a.verification
              ? `verified (${a.verification.match} match), ${a.verification.contractName}`
              : "not verified",
          ]
        : null,
    ] satisfies ([string, Child] | null)[]),
    table(
      "Tokens",
      ["Token", "Balance"],
      a.tokens.map((t) => [
        h("a", { href: `#/address/${t.token}` }, t.tokenInfo?.name ?? short(t.token, 6)),
        `${formatUnits(t.balance, t.tokenInfo?.decimals ?? 0)}${t.tokenInfo?.symbol ? ` ${t.tokenInfo.symbol}` : ""}`,
      ]),
      "No tokens",
    ),
    table(
      "NFTs",
      ["Collection", "Token ID", "Amount"],
      a.nfts.map((t) => [
        h("a", { href: `#/address/${t.token}` }, t.tokenInfo?.name ?? short(t.token, 6)),
        `#${t.tokenId}`,
        t.balance,
      ]),
      "No NFTs",
    ),
    table(
      "Transactions",
      ["Hash", "Block", "From", "To", "Value", "Status"],
      txs.map((t) => [
        txLink(t.hash),
        blockLink(t.blockNumber),
        addrLink(t.from),
        addrLink(t.to ?? t.contractAddress),
        azr(t.value),
        statusBadge(t.status),
      ]),
      "No transactions",
    ),
  );
}

// ---- routing and search ---------------------------------------------------------------------------------------

function messagePage(title: string, text: string): HTMLElement {
  return h(
    "article",
    {},
    h("h1", {}, title),
    h("p", {}, text),
    h("p", {}, h("a", { href: "#/" }, "Back to the latest blocks")),
  );
}

async function render(): Promise<void> {
  stopPolling?.();
  stopPolling = null;
  delete main().dataset.route;
  const [, kind, arg] = location.hash.replace(/^#/, "").split("/");
  let page: HTMLElement;
  try {
    if (kind === "block" && arg) page = await blockPage(arg);
    else if (kind === "tx" && arg) page = await txPage(arg);
    else if (kind === "address" && arg) page = await addressPage(arg);
    else page = homePage();
  } catch (e) {
    page =
      e instanceof NotFound
        ? messagePage("Not found", `Nothing indexed matches ${arg ?? ""}. It may not be indexed yet.`)
        : messagePage("Error", e instanceof Error ? e.message : String(e));
  }
  main().replaceChildren(page);
  // Which route is on screen (for tests and styles): set once the page has rendered.
  main().dataset.route = location.hash || "#/";
  const title = page.querySelector("h1")?.textContent;
  document.title = title ? `${title} · Azora Explorer` : "Azora Explorer";
}

/** Show `hash`: a hashchange renders it, or render again when it is already the current route. */
function go(hash: string): void {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

async function search(q: string): Promise<void> {
  const target = classify(q);
  if (target === null) {
    main().replaceChildren(messagePage("Search", `"${q}" is not a block number, a transaction hash or an address.`));
    return;
  }
  if (target.kind === "block") go(`#/block/${target.ref}`);
  else if (target.kind === "address") go(`#/address/${target.address}`);
  else {
    // 32 bytes: a transaction hash, else a block hash.
    const isTx = await api<Tx>(`/v1/txs/${target.hash}`).then(
      () => true,
      () => false,
    );
    go(isTx ? `#/tx/${target.hash}` : `#/block/${target.hash}`);
  }
}

function start(): void {
  const form = document.getElementById("search") as HTMLFormElement;
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = form.elements.namedItem("q") as HTMLInputElement;
    void search(input.value).then(() => input.blur());
  });
  window.addEventListener("hashchange", () => {
    void render().then(() => main().focus());
  });
  void render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
