/**
 * Governance: the proposals (`#/governance`) and one proposal (`#/proposal/N`) with its actions, deposit, periods,
 * the live tally against quorum, threshold and veto, the votes cast, the timelock and execution.
 */
import { api } from "../api.js";
import { facts, h, table } from "../dom.js";
import { azr } from "../format.js";
import { PROPOSAL_STAGES, proposalTransitions } from "../lifecycles.js";
import { addrLink, blockLink, txLink } from "../links.js";
import type { ModuleEvent, Params, Proposal } from "../platformApi.js";
import { bps, percent, when } from "../platformFormat.js";
import { stateMachine } from "../platformViews.js";

const VOTE_OPTION = ["None", "Yes", "No", "NoWithVeto", "Abstain"];

const statusBadge = (s: string) =>
  h(
    "span",
    {
      class: `badge ${s === "Passed" || s === "Executed" ? "ok" : /Rejected|Vetoed|Failed|Expired/.test(s) ? "fail" : ""}`,
    },
    s,
  );

function actionText(a: Proposal["actions"][number]): string {
  switch (a.kind) {
    case "SetParam":
      return `set ${a.key} = ${a.value}`;
    case "SetLearnIssuer":
      return `${a.value === "0" ? "revoke" : "grant"} LEARN issuer ${a.target}`;
    case "TreasurySpend":
      return `pay ${azr(a.value)} to ${a.target}`;
    case "SoftwareUpgrade":
      return `upgrade "${a.key}" at height ${a.value}${a.info ? ` (${a.info})` : ""}`;
    default:
      return `${a.kind} ${a.key} ${a.value}`;
  }
}

export async function governancePage(): Promise<HTMLElement> {
  const { params, proposals } = await api<{ params: Params; proposals: Proposal[] }>("/v1/proposals?limit=100");
  return h(
    "article",
    {},
    h("h1", {}, "Governance"),
    facts([
      ["Minimum deposit", azr(params.minDeposit ?? "0")],
      ["Deposit period", `${params.depositPeriod ?? "—"} s`],
      ["Voting period", `${params.votingPeriod ?? "—"} s`],
      ["Timelock", `${params.timelock ?? "—"} s`],
      [
        "Passing",
        `quorum ${bps(params.quorumBps ?? 0)} of bonded stake, threshold ${bps(params.thresholdBps ?? 0)} Yes, veto ${bps(params.vetoBps ?? 0)}`,
      ],
    ]),
    table(
      "Proposals",
      ["#", "Status", "Actions", "Deposit", "Voting ends", "Proposer"],
      proposals.map((p) => [
        h("a", { href: `#/proposal/${p.id}` }, `Proposal ${p.id}`),
        statusBadge(p.status),
        p.actions.map(actionText).join("; "),
        azr(p.totalDeposit),
        when(p.votingEnd),
        addrLink(p.proposer),
      ]),
      "No proposals yet",
    ),
  );
}

function tallyView(p: Proposal, params: Params, bonded: string): HTMLElement {
  const t = p.tally;
  const total = (BigInt(t.yes) + BigInt(t.no) + BigInt(t.noWithVeto) + BigInt(t.abstain)).toString();
  const nonAbstain = (BigInt(t.yes) + BigInt(t.no) + BigInt(t.noWithVeto)).toString();
  const row = (label: string, v: string) => {
    const id = `tally-${label.toLowerCase()}`;
    const share = BigInt(total) === 0n ? 0 : Number((BigInt(v) * 10_000n) / BigInt(total)) / 10_000;
    return h(
      "li",
      { "data-option": label },
      h("span", { id, class: "option" }, label),
      h("meter", { min: "0", max: "1", value: String(share), "aria-labelledby": id }),
      h("span", { class: "amount" }, `${azr(v)} (${percent(v, total)})`),
    );
  };
  return h(
    "section",
    { id: "tally", "aria-labelledby": "tally-title" },
    h("h2", { id: "tally-title" }, p.status === "VotingPeriod" ? "Tally (live)" : "Tally"),
    h(
      "ul",
      { class: "tally" },
      row("Yes", t.yes),
      row("No", t.no),
      row("NoWithVeto", t.noWithVeto),
      row("Abstain", t.abstain),
    ),
    facts([
      [
        "Turnout",
        `${azr(total)} of ${azr(bonded)} bonded = ${percent(total, bonded)} (quorum ${bps(params.quorumBps ?? 0)})`,
      ],
      ["Yes of non-abstaining", `${percent(t.yes, nonAbstain)} (threshold ${bps(params.thresholdBps ?? 0)})`],
      ["Veto of all votes", `${percent(t.noWithVeto, total)} (veto above ${bps(params.vetoBps ?? 0)})`],
    ]),
  );
}

export async function proposalPage(ref: string): Promise<HTMLElement> {
  const {
    proposal: p,
    params,
    bonded,
    events,
  } = await api<{
    proposal: Proposal;
    params: Params;
    bonded: string;
    events: ModuleEvent[];
  }>(`/v1/proposals/${ref}`);
  const votes = events.filter((e) => e.event === "VoteCast");
  const transitions = proposalTransitions(events.filter((e) => e.event !== "VoteCast"));
  return h(
    "article",
    {},
    h("h1", {}, `Proposal ${p.id}`),
    facts([
      ["Status", statusBadge(p.status)],
      ["Proposer", addrLink(p.proposer)],
      ["Description", h("code", { class: "mono wrap" }, p.descriptionURI === "" ? "—" : p.descriptionURI)],
      ["Deposit", `${azr(p.totalDeposit)} (minimum ${azr(params.minDeposit ?? "0")})`],
      ["Submitted", when(p.submitTime)],
      ["Deposit period ends", when(p.depositEnd)],
      ["Voting period", p.votingStart === 0 ? "not started" : `${when(p.votingStart)} → ${when(p.votingEnd)}`],
      ["Executable from (timelock)", when(p.executableAt)],
    ]),
    table(
      "Actions",
      ["Type", "Action"],
      p.actions.map((a) => [h("code", {}, a.kind), actionText(a)]),
    ),
    tallyView(p, params, bonded),
    table(
      "Votes",
      ["Voter", "Option", "Block", "Transaction"],
      votes.map((e) => [
        addrLink(String(e.args.voter).toLowerCase()),
        VOTE_OPTION[Number(e.args.option)] ?? String(e.args.option),
        blockLink(e.blockNumber),
        txLink(e.txHash),
      ]),
      "No votes yet",
    ),
    stateMachine("lifecycle", PROPOSAL_STAGES, p.status, transitions, (e) =>
      e.event === "DepositAdded"
        ? `${azr(String(e.args.amount))} by ${String(e.args.depositor)}`
        : e.event === "ProposalFailed"
          ? String(e.args.reason)
          : e.event === "DepositClaimed"
            ? `${azr(String(e.args.amount))} back to ${String(e.args.depositor)}`
            : null,
    ),
  );
}
