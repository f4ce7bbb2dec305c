/**
 * Views the platform pages share: a state machine drawn stage by stage (alternatives stacked) with the current state marked and the transitions that
 * happened (with their transactions), times, percentages and amounts in a module's token.
 */
import { type Child, h, table } from "./dom.js";
import { formatUnits } from "./format.js";
import type { Stages, Transition } from "./lifecycles.js";
import { blockLink, txLink } from "./links.js";
import type { ModuleEvent } from "./platformApi.js";

const ZERO = "0x0000000000000000000000000000000000000000";
const LEARN = "0x0000000000000000000000000000000000000a02";

/** An amount in the module's payment token: AZR for address(0), LEARN for the LEARN module. */
export function tokenAmount(wei: string, token: string): string {
  const t = token.toLowerCase();
  const symbol = t === ZERO ? "AZR" : t === LEARN ? "LEARN" : t;
  return `${formatUnits(wei, 18)} ${symbol}`;
}

/**
 * The state machine: every state in order, the ones passed through marked, the current one highlighted (and
 * announced as the current step), then the history — each event with the state it led to and its transaction.
 */
export function stateMachine(
  id: string,
  stages: Stages,
  current: string,
  transitions: Transition[],
  describe: (e: ModuleEvent) => Child = () => null,
): HTMLElement {
  const visited = new Set(transitions.flatMap((t) => (t.to === null ? [] : [t.to])));
  return h(
    "section",
    { id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, "State machine"),
    h(
      "ol",
      { class: "stages", "aria-label": "States" },
      stages.map((stage) =>
        h(
          "li",
          { class: "stage" },
          h(
            "ul",
            { class: "states" },
            stage.map((s) =>
              h(
                "li",
                {
                  class: s === current ? "state current" : visited.has(s) ? "state visited" : "state",
                  "data-state": s,
                  "aria-current": s === current ? "step" : undefined,
                },
                s,
                s === current ? h("span", { class: "visually-hidden" }, " (current)") : null,
              ),
            ),
          ),
        ),
      ),
    ),
    table(
      "Transitions",
      ["Event", "State", "Details", "Block", "Transaction"],
      transitions.map((t) => [
        h("code", {}, t.event.event),
        t.to === null ? h("span", { class: "muted" }, "—") : h("span", { class: "badge state-to" }, t.to),
        describe(t.event),
        blockLink(t.event.blockNumber),
        txLink(t.event.txHash),
      ]),
      "No indexed events yet",
    ),
  );
}
