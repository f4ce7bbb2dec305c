/**
 * Validators (`#/validators`) and one validator (`#/validator/0x…`): bonded stake (self + delegated), voting
 * power, commission, uptime over the downtime window, jailed / tombstoned, active; a validator's staking history
 * from the indexed events. Current values are the staking module's views at the indexed height.
 */
import { api } from "../api.js";
import { type Child, facts, h, table } from "../dom.js";
import { azr } from "../format.js";
import { addrLink, blockLink, txLink } from "../links.js";
import type { ModuleEvent, Params, Validator } from "../platformApi.js";
import { bps, when } from "../platformFormat.js";

/** Signed share of the downtime window: (window − missed) / window. */
function uptime(v: Validator, params: Params): string {
  const window = Number(params.signedBlocksWindow ?? 0);
  if (window === 0) return "—";
  const signed = Math.max(0, window - v.missedBlocks);
  return `${((signed / window) * 100).toFixed(2)} % (${v.missedBlocks} missed of ${window})`;
}

function statusOf(v: Validator): Child {
  if (v.tombstoned) return h("span", { class: "badge fail" }, "Tombstoned");
  if (v.jailed) return h("span", { class: "badge fail" }, "Jailed");
  return v.active ? h("span", { class: "badge ok" }, "Active") : h("span", { class: "badge" }, "Inactive");
}

const validatorLink = (v: Validator) =>
  h("a", { href: `#/validator/${v.operator}` }, v.moniker === "" ? v.operator : v.moniker);

export async function validatorsPage(): Promise<HTMLElement> {
  const { params, totals, validators } = await api<{ params: Params; totals: Params; validators: Validator[] }>(
    "/v1/validators",
  );
  return h(
    "article",
    {},
    h("h1", {}, "Validators"),
    facts([
      ["Validators", `${validators.filter((v) => v.active).length} active of ${validators.length}`],
      ["Bonded (active set)", azr(totals.bonded ?? "0")],
      ["Slashed since genesis", azr(totals.slashed ?? "0")],
      ["Maximum active", String(params.maxValidators ?? "—")],
      [
        "Downtime window",
        `${params.signedBlocksWindow ?? "—"} blocks, at least ${bps(params.minSignedBps ?? 0)} signed`,
      ],
    ]),
    table(
      "Validators by stake",
      ["Validator", "Status", "Stake", "Self", "Delegated", "Power", "Commission", "Uptime"],
      validators.map((v) => [
        validatorLink(v),
        statusOf(v),
        azr(v.tokens),
        azr(v.selfStake),
        azr(v.delegated),
        String(v.power),
        bps(v.commissionBps),
        uptime(v, params),
      ]),
      "No validators registered",
    ),
  );
}

function eventText(e: ModuleEvent): string {
  const a = e.args;
  const amount = (k: string) => (typeof a[k] === "string" ? azr(a[k] as string) : "");
  switch (e.event) {
    case "ValidatorCreated":
      return `created with ${amount("selfStake")} self-stake, commission ${bps(String(a.commissionBps))}`;
    case "ValidatorEdited":
      return `commission ${bps(String(a.commissionBps))}, moniker "${String(a.moniker)}"`;
    case "Delegated":
      return `${amount("amount")} delegated by ${String(a.delegator)}`;
    case "Undelegated":
      return `${amount("amount")} unbonding for ${String(a.delegator)} until ${when(Number(a.completionTime))}`;
    case "Redelegated":
      return `${amount("amount")} moved ${String(a.from)} → ${String(a.to)}`;
    case "RewardsWithdrawn":
      return `${amount("amount")} rewards withdrawn by ${String(a.delegator)}`;
    case "CommissionWithdrawn":
      return `${amount("amount")} commission withdrawn`;
    case "Unjailed":
      return "left jail";
    default:
      return "";
  }
}

export async function validatorPage(address: string): Promise<HTMLElement> {
  const {
    validator: v,
    params,
    events,
  } = await api<{ validator: Validator; params: Params; events: ModuleEvent[] }>(`/v1/validators/${address}`);
  return h(
    "article",
    {},
    h("h1", {}, `Validator ${v.moniker === "" ? v.operator : v.moniker}`),
    facts([
      ["Operator", addrLink(v.operator)],
      ["Status", statusOf(v)],
      ["Bonded stake", azr(v.tokens)],
      ["Self-stake", azr(v.selfStake)],
      ["Delegated", azr(v.delegated)],
      ["Unbonding", azr(v.unbonding)],
      ["Voting power", String(v.power)],
      ["Commission", bps(v.commissionBps)],
      ["Uptime", uptime(v, params)],
      v.jailed ? ["Jailed until", when(v.jailedUntil)] : null,
      ["Consensus address", h("code", { class: "mono wrap" }, v.consensusAddress)],
      ["Consensus key", h("code", { class: "mono wrap" }, v.consensusPubKey)],
    ]),
    h(
      "p",
      { class: "muted" },
      "Slashes show in the bonded stake and the jailed or tombstoned status; the staking module emits no event for " +
        "them, so the history below lists what it does log.",
    ),
    table(
      "Staking history",
      ["Event", "Details", "Block", "Transaction"],
      events.map((e) => [h("code", {}, e.event), eventText(e), blockLink(e.blockNumber), txLink(e.txHash)]),
      "No indexed staking events (a genesis validator has none)",
    ),
  );
}
