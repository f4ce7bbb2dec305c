/**
 * Azora Explorer's web UI: hash routes (`#/`, `#/block/N`, `#/tx/0x…`, `#/address/0x…`), each a page module in
 * `pages/` rendered from the `/v1` REST API, and the search box.
 */
import { api, NotFound, type Tx } from "./api.js";
import { h, main } from "./dom.js";
import { classify } from "./format.js";
import { addressPage } from "./pages/address.js";
import { blockPage } from "./pages/block.js";
import { escrowPage, escrowsPage } from "./pages/escrows.js";
import { governancePage, proposalPage } from "./pages/governance.js";
import { homePage } from "./pages/home.js";
import { jobPage, jobsPage } from "./pages/jobs.js";
import { searchPage } from "./pages/search.js";
import { collectionPage, tokenPage } from "./pages/token.js";
import { txPage } from "./pages/tx.js";
import { validatorPage, validatorsPage } from "./pages/validators.js";

/** A page: its route argument (may be "") and where to register what stops when the route changes. */
type Page = (arg: string, leave: (stop: () => void) => void) => HTMLElement | Promise<HTMLElement>;

function messagePage(title: string, text: string): HTMLElement {
  return h(
    "article",
    {},
    h("h1", {}, title),
    h("p", {}, text),
    h("p", {}, h("a", { href: "#/" }, "Back to the latest blocks")),
  );
}

/** What a page leaves running (a live feed, timers): stopped when the route changes. */
let leaving: (() => void)[] = [];
const leave = (stop: () => void) => void leaving.push(stop);

/**
 * `#/<name>/<arg>` → page. A page that needs its argument falls back to home without one. A new page adds one line
 * here.
 */
const routes: Record<string, { needsArg: boolean; page: Page }> = {
  block: { needsArg: true, page: (arg) => blockPage(arg) },
  tx: { needsArg: true, page: (arg) => txPage(arg) },
  address: { needsArg: true, page: (arg) => addressPage(arg) },
  token: { needsArg: true, page: (arg) => tokenPage(arg) },
  collection: { needsArg: true, page: (arg) => collectionPage(arg) },
  validators: { needsArg: false, page: () => validatorsPage() },
  validator: { needsArg: true, page: (arg) => validatorPage(arg) },
  governance: { needsArg: false, page: () => governancePage() },
  proposal: { needsArg: true, page: (arg) => proposalPage(arg) },
  escrows: { needsArg: false, page: () => escrowsPage() },
  escrow: { needsArg: true, page: (arg) => escrowPage(arg) },
  jobs: { needsArg: false, page: () => jobsPage() },
  job: { needsArg: true, page: (arg) => jobPage(arg) },
  search: { needsArg: true, page: (arg) => searchPage(arg) },
};

async function render(): Promise<void> {
  for (const stop of leaving) stop();
  leaving = [];
  delete main().dataset.route;
  const [, kind = "", arg = ""] = location.hash.replace(/^#/, "").split("/");
  const route = Object.hasOwn(routes, kind) ? routes[kind] : undefined;
  let page: HTMLElement;
  try {
    page = route && (arg !== "" || !route.needsArg) ? await route.page(arg, leave) : homePage(leave);
  } catch (e) {
    page =
      e instanceof NotFound
        ? messagePage("Not found", `Nothing indexed matches ${arg}. It may not be indexed yet.`)
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
    // Names, monikers, "proposal 3" and full text: the search page asks the API.
    if (q.trim() !== "") go(`#/search/${encodeURIComponent(q.trim())}`);
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
