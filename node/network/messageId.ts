import { createHash, hash } from "node:crypto";

/**
 * Gossipsub message ids, the same bytes as before with less work per received copy. Every copy of a
 * gossip message (the original and each relayed duplicate: 3 per vote per validator in a full mesh)
 * has its id computed and turned into a map key before gossipsub can tell it is a duplicate; in the
 * in-process gossip bench those two steps were ~9 % of the CPU per message (issue 14).
 *
 * - The id stays sha256(topic ‖ 0x00 ‖ data), so nodes of older builds agree on it (IHAVE/IWANT and
 *   IDONTWANT carry ids). A small payload is hashed in one call over one joined buffer, with the topic's
 *   prefix bytes made once; a large one (a proposal) is streamed into the hash, not copied.
 * - The map key is the id's bytes as a latin1 string (one char per byte: injective, native), instead of
 *   gossipsub's default multibase base64 written in JavaScript. Keys never leave the process.
 */

/** Payloads up to this size are copied behind the prefix and hashed in one call; larger ones are streamed. */
const ONE_SHOT_MAX_BYTES = 16 * 1024;

/** The id function for gossipsub's `msgIdFn`; prefixes of `topics` are made once, others per call. */
export function createMessageIdFn(topics: readonly string[]): (msg: { topic: string; data: Uint8Array }) => Uint8Array {
  const prefixes = new Map<string, Buffer>(topics.map((t) => [t, topicPrefix(t)]));
  return (msg) => {
    const prefix = prefixes.get(msg.topic) ?? topicPrefix(msg.topic);
    if (msg.data.byteLength <= ONE_SHOT_MAX_BYTES) return hash("sha256", Buffer.concat([prefix, msg.data]), "buffer");
    return createHash("sha256").update(prefix).update(msg.data).digest();
  };
}

/** gossipsub's `msgIdToStrFn`: the id's bytes as a latin1 string (a process-local map key). */
export function messageIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("latin1");
}

function topicPrefix(topic: string): Buffer {
  return Buffer.concat([Buffer.from(topic, "utf8"), Buffer.from([0])]);
}
