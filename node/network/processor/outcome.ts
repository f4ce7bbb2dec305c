import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { Logger } from "../../../runtime/lib/logger.js";
import { GossipAction, GossipActionError, GossipErrorCode } from "../errors.js";
import type { NetworkMetrics } from "../metrics.js";
import type { GossipTopic } from "../topics.js";

const RESULT: Record<GossipAction, TopicValidatorResult> = {
  [GossipAction.ACCEPT]: TopicValidatorResult.Accept,
  [GossipAction.IGNORE]: TopicValidatorResult.Ignore,
  [GossipAction.REJECT]: TopicValidatorResult.Reject,
};

/**
 * THE one mapping from a gossip handler's outcome to libp2p's Accept / Ignore / Reject, with the
 * metrics and logs for it. `err === undefined` means the handler returned (Accept). A
 * `GossipActionError` carries its action; anything else thrown is a local bug: Ignore, so that an
 * honest peer is never penalised for it, and a warning for the operator.
 */
export function toValidatorResult(
  topic: GossipTopic,
  from: string,
  err: unknown,
  modules: { log: Logger; metrics: NetworkMetrics | null },
): TopicValidatorResult {
  let action: GossipAction;
  let code: string | null;
  if (err === undefined) {
    action = GossipAction.ACCEPT;
    code = null;
  } else if (err instanceof GossipActionError) {
    action = err.action;
    code = err.code;
    // The reason may describe peer-supplied bytes: debug only (Lodestar's policy).
    modules.log.debug("gossip message refused", { topic, peer: from, action, code, reason: err.type.reason });
  } else {
    action = GossipAction.IGNORE;
    code = GossipErrorCode.HANDLER_ERROR;
    modules.log.warn("gossip handler failed", { topic, peer: from }, err);
  }
  modules.metrics?.onGossipOutcome(topic, action, code);
  return RESULT[action];
}
