/**
 * Home: the latest blocks and transactions. The page refreshes `/v1/blocks` when the explorer's `/v1/live` WebSocket
 * says a batch was indexed (polling once a second and reconnecting with backoff when that feed is unavailable),
 * and fetches the latest transactions and the charts' series only when the top block changed.
 */
import { api, type Block, type BlockStat, type Tx } from "../api.js";
import { blockCharts } from "../charts.js";
import { h, main } from "../dom.js";
import { age, azr } from "../format.js";
import { addrLink, blockLink, statusBadge, txLink } from "../links.js";

/** Latest blocks and transactions, refreshed live; `leave` receives what stops the feed when the route changes. */
export function homePage(leave: (stop: () => void) => void): HTMLElement {
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
  const chartsBox = h(
    "section",
    { "aria-labelledby": "charts-h", id: "charts" },
    h("h2", { id: "charts-h" }, "Last 60 blocks"),
    h("div", { class: "charts" }),
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
      const stats = await api<BlockStat[]>("/v1/stats/blocks?limit=60");
      if (stopped) return;
      chartsBox.querySelector(".charts")?.replaceChildren(...blockCharts(stats));
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
  // The indexer's feed says when a batch is stored. Without it (refused, dropped, proxy without WebSocket, server
  // restarting) the page polls once a second and retries the feed with exponential backoff (1 s doubling to 30 s,
  // ±20% jitter so a restarted server is not hit by every page at once). `main.dataset.live` says which:
  // "websocket", or "reconnecting" (polling, next attempt at `data-live-retry-ms`).
  let live: WebSocket | null = null;
  let attempt = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    while (!stopped && live === null) {
      await refresh();
      await new Promise((r) => setTimeout(r, 1000));
    }
    polling = false;
  };
  const connect = () => {
    if (stopped) return;
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/live`);
    ws.onopen = () => {
      if (stopped) return ws.close();
      live = ws;
      attempt = 0;
      main().dataset.live = "websocket";
      delete main().dataset.liveRetryMs;
    };
    ws.onmessage = () => void refresh();
    ws.onclose = () => {
      if (stopped) return;
      live = null;
      const delay = Math.round(Math.min(30_000, 1000 * 2 ** attempt) * (0.8 + Math.random() * 0.4));
      attempt = Math.min(attempt + 1, 16);
      main().dataset.live = "reconnecting";
      main().dataset.liveRetryMs = String(delay);
      retry = setTimeout(connect, delay);
      void poll();
    };
  };
  connect();
  const onVisible = () => {
    if (!document.hidden) void refresh();
  };
  document.addEventListener("visibilitychange", onVisible);
  void refresh();
  leave(() => {
    stopped = true;
    clearTimeout(retry);
    live?.close();
    document.removeEventListener("visibilitychange", onVisible);
    delete main().dataset.live;
    delete main().dataset.liveRetryMs;
  });
  return h(
    "div",
    { class: "home" },
    h("h1", {}, "Azora chain"),
    chartsBox,
    h("div", { class: "columns" }, blocksBox, txsBox),
  );
}
