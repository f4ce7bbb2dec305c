/**
 * Jobs of the market (`#/jobs`) and one job (`#/job/N`): requester, price and escrow, windows and deadlines, the
 * slots and their workers, and the job's state machine drawn from its indexed events.
 */
import { api } from "../api.js";
import { facts, h, table } from "../dom.js";
import { JOB_STAGES, jobTransitions } from "../lifecycles.js";
import { addrLink } from "../links.js";
import type { Job, ModuleEvent } from "../platformApi.js";
import { when } from "../platformFormat.js";
import { stateMachine, tokenAmount } from "../platformViews.js";

const jobLink = (id: number) => h("a", { href: `#/job/${id}` }, `Job ${id}`);

export async function jobsPage(): Promise<HTMLElement> {
  const jobs = await api<Job[]>("/v1/jobs?limit=100");
  return h(
    "article",
    {},
    h("h1", {}, "Jobs"),
    table(
      "Latest jobs",
      ["Job", "Kind", "Status", "Price", "Requester", "Posted"],
      jobs.map((j) => [
        jobLink(j.id),
        h("code", {}, j.kind),
        h("span", { class: "badge" }, j.status),
        tokenAmount(j.price, j.token),
        addrLink(j.requester),
        when(j.postedAt),
      ]),
      "No jobs yet",
    ),
  );
}

export async function jobPage(ref: string): Promise<HTMLElement> {
  const { job: j, events } = await api<{ job: Job; events: ModuleEvent[] }>(`/v1/jobs/${ref}`);
  const describe = (e: ModuleEvent) => {
    const a = e.args;
    switch (e.event) {
      case "JobPosted":
        return `${tokenAmount(String(a.escrowed), j.token)} escrowed by ${String(a.requester)}`;
      case "JobClaimed":
        return `slot ${String(a.slot)} by ${String(a.worker)}, deliver by ${when(Number(a.deliverBy))}`;
      case "ResultSubmitted":
        return `slot ${String(a.slot)}: ${String(a.resultURI)}`;
      case "WorkerPaid":
        return `${tokenAmount(String(a.amount), j.token)} to ${String(a.worker)}`;
      case "JobFinalized":
        return `${tokenAmount(String(a.paidToWorkers), j.token)} paid to workers`;
      case "JobRefunded":
      case "JobCancelled":
        return `${tokenAmount(String(a.amount), j.token)} back to the requester`;
      default:
        return null;
    }
  };
  return h(
    "article",
    {},
    h("h1", {}, `Job ${j.id}`),
    facts([
      ["Status", h("span", { class: "badge" }, j.status)],
      ["Kind", h("code", {}, j.kind)],
      ["Requester", addrLink(j.requester)],
      ["Price per slot", tokenAmount(j.price, j.token)],
      ["Fee", tokenAmount(j.fee, j.token)],
      ["Workers", `${j.redundancy} (verification: ${j.verification})`],
      ["Specification", h("code", { class: "mono wrap" }, j.specURI)],
      ["Posted", when(j.postedAt)],
      ["Claim window ends", when(j.postedAt + j.claimWindow)],
      ["Deliver window", `${j.deliverWindow} s after a claim`],
      [
        "Challenge window ends",
        j.challengeEnds === 0 ? `${j.challengeWindow} s after delivery` : when(j.challengeEnds),
      ],
    ]),
    table(
      "Slots",
      ["Slot", "Worker", "Status", "Deliver by", "Result"],
      j.slots.map((s, i) => [
        String(i),
        s.worker === "0x0000000000000000000000000000000000000000" ? "—" : addrLink(s.worker),
        s.status,
        when(s.deliverBy),
        s.resultURI === "" ? "—" : h("code", { class: "mono wrap" }, s.resultURI),
      ]),
    ),
    stateMachine("job-states", JOB_STAGES, j.status, jobTransitions(j.redundancy, events), describe),
  );
}
