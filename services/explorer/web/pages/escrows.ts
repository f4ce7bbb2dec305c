/**
 * Escrows (`#/escrows`) and one escrow (`#/escrow/N`): parties, amount, deadline, and its state machine — Active,
 * then Disputed or straight to Released / Refunded, a dispute ending Released, Refunded or Resolved by the arbiter.
 */
import { api } from "../api.js";
import { facts, h, table } from "../dom.js";
import { ESCROW_STAGES, escrowTransitions } from "../lifecycles.js";
import { addrLink } from "../links.js";
import type { Escrow, ModuleEvent } from "../platformApi.js";
import { when } from "../platformFormat.js";
import { stateMachine, tokenAmount } from "../platformViews.js";

const escrowLink = (id: number) => h("a", { href: `#/escrow/${id}` }, `Escrow ${id}`);

export async function escrowsPage(): Promise<HTMLElement> {
  const escrows = await api<Escrow[]>("/v1/escrows?limit=100");
  return h(
    "article",
    {},
    h("h1", {}, "Escrows"),
    table(
      "Latest escrows",
      ["Escrow", "Status", "Amount", "Payer", "Payee", "Deadline"],
      escrows.map((e) => [
        escrowLink(e.id),
        h("span", { class: "badge" }, e.status),
        tokenAmount(e.amount, e.token),
        addrLink(e.payer),
        addrLink(e.payee),
        when(e.deadline),
      ]),
      "No escrows yet",
    ),
  );
}

export async function escrowPage(ref: string): Promise<HTMLElement> {
  const { escrow: e, events } = await api<{ escrow: Escrow; events: ModuleEvent[] }>(`/v1/escrows/${ref}`);
  return h(
    "article",
    {},
    h("h1", {}, `Escrow ${e.id}`),
    facts([
      ["Status", h("span", { class: "badge" }, e.status)],
      ["Amount", tokenAmount(e.amount, e.token)],
      ["Payer", addrLink(e.payer)],
      ["Payee", addrLink(e.payee)],
      ["Arbiter", e.arbiter === "0x0000000000000000000000000000000000000000" ? "none" : addrLink(e.arbiter)],
      ["Deadline", when(e.deadline)],
      ["Terms", h("code", { class: "mono wrap" }, e.terms)],
    ]),
    stateMachine("escrow-states", ESCROW_STAGES, e.status, escrowTransitions(events), (ev) =>
      ev.event === "EscrowResolved"
        ? `${tokenAmount(String(ev.args.toPayee), e.token)} to the payee, ${tokenAmount(String(ev.args.toPayer), e.token)} to the payer`
        : typeof ev.args.amount === "string"
          ? tokenAmount(ev.args.amount, e.token)
          : null,
    ),
  );
}
