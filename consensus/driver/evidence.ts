import type { Logger } from "../../runtime/lib/logger.js";
import type { CoreVote } from "../core/types.js";
import { MessageError, type MessageVerifier } from "../messages/index.js";
import { encodeEvidence, type SignedVote } from "../wire.js";
import type { AppPort, InboundVerdict, NetworkPort } from "./ports.js";

/** Equivocations remembered (reported once each); older ones are forgotten first. */
const MAX_REMEMBERED = 4096;

/**
 * Equivocation: two signed votes of one validator for one height, round and type. The state machine
 * finds them (`evidence` outputs); this reports each once — to the app, which records it in a block,
 * and to peers — and admits peers' evidence after checking both signatures.
 */
export class EvidenceReporter {
  private readonly seen = new Set<string>();

  constructor(private readonly m: { app: AppPort; network: NetworkPort; admission: MessageVerifier; log: Logger }) {}

  /** From the state machine: both votes carry their signed wire form. */
  report(first: CoreVote, second: CoreVote): void {
    const a = first.signed as SignedVote | undefined;
    const b = second.signed as SignedVote | undefined;
    if (a === undefined || b === undefined) return;
    const key = `${a.validatorIndex}/${a.height}/${a.round}/${a.type}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.seen.size > MAX_REMEMBERED) this.seen.delete(this.seen.values().next().value as string);
    this.m.log.warn("validator equivocated", {
      validator: a.validatorIndex,
      height: a.height.toString(),
      round: a.round,
    });
    const encoded = encodeEvidence({ a, b });
    this.m.app.addEvidence(encoded);
    void this.m.network.publish("evidence", encoded).catch(() => undefined);
  }

  /** Evidence gossiped by a peer: both votes verified and conflicting, else refused. */
  receive(data: Uint8Array): InboundVerdict {
    try {
      this.m.admission.decodeEvidence(data);
    } catch (e) {
      if (!(e instanceof MessageError)) throw e;
      return { action: e.peerFault ? "reject" : "ignore", code: e.code, reason: e.type.reason };
    }
    this.m.app.addEvidence(data);
    return { action: "accept" };
  }
}
