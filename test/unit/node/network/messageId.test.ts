import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMessageIdFn, messageIdKey } from "../../../../node/network/messageId.js";
import { GOSSIP_TOPICS, stringifyTopic } from "../../../../node/network/topics.js";
import { PRNG } from "../../../utils/prng.js";

/** The id as every earlier build computes it; nodes of both must agree (IHAVE/IWANT/IDONTWANT carry ids). */
function referenceId(topic: string, data: Uint8Array): Uint8Array {
  return createHash("sha256")
    .update(topic)
    .update(new Uint8Array([0]))
    .update(data)
    .digest();
}

function randomBytes(rng: PRNG, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

describe("gossip message ids (messageId.ts)", () => {
  const topics = GOSSIP_TOPICS.map((t) => stringifyTopic(4242n, t));
  const idOf = createMessageIdFn(topics);

  it("are sha256(topic ‖ 0x00 ‖ data) for known and unknown topics, small, empty and streamed payloads", () => {
    const rng = new PRNG(14);
    const sizes = [0, 1, 250, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 200_000];
    for (const topic of [...topics, "/azora/1/other/1", "ü/topic"]) {
      for (const size of sizes) {
        const data = randomBytes(rng, size);
        expect(Buffer.from(idOf({ topic, data })).toString("hex")).toBe(
          Buffer.from(referenceId(topic, data)).toString("hex"),
        );
      }
    }
    // A view into a larger buffer (gossipsub hands out subarrays of the RPC): only the view is hashed.
    const big = randomBytes(rng, 1000);
    const view = big.subarray(100, 400);
    expect(Buffer.from(idOf({ topic: topics[0], data: view })).equals(Buffer.from(referenceId(topics[0], view)))).toBe(
      true,
    );
  });

  it("give one key per id: distinct ids, distinct keys; views of equal bytes, equal keys", () => {
    const rng = new PRNG(15);
    const keys = new Set<string>();
    const ids: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++)
      ids.push(idOf({ topic: topics[i % topics.length], data: randomBytes(rng, 1 + (i % 300)) }));
    // Ids that differ in one byte only, at every position (a key that drops or folds bytes collides here).
    for (let pos = 0; pos < 32; pos++) {
      for (const v of [0, 0x7f, 0x80, 0xff]) {
        const id = new Uint8Array(32);
        id[pos] = v;
        ids.push(id);
      }
    }
    const distinct = new Set(ids.map((id) => Buffer.from(id).toString("hex")));
    for (const id of ids) keys.add(messageIdKey(id));
    expect(keys.size).toBe(distinct.size);
    const backing = new Uint8Array(64);
    backing.set(ids[0], 16);
    expect(messageIdKey(backing.subarray(16, 48))).toBe(messageIdKey(ids[0]));
  });
});
