import { describe, expect, it } from "vitest";
import { assertCanRead, defaultChannels, parseChannel } from "../../../../services/push/channels.js";
import { PushError } from "../../../../services/push/errors.js";
import { Hub, type Subscriber } from "../../../../services/push/hub.js";
import { openPushStore, type StoredMessage } from "../../../../services/push/store.js";

function subscriber(sub: string, wallet?: string, room = Number.POSITIVE_INFINITY) {
  const got: StoredMessage[] = [];
  const s: Subscriber & { got: StoredMessage[]; evicted?: string } = {
    who: wallet === undefined ? { sub } : { sub, wallet },
    got,
    deliver(m) {
      if (got.length >= room) return false;
      got.push(m);
      return true;
    },
    evict(reason) {
      s.evicted = reason;
    },
  };
  return s;
}

function hub(over: Partial<ConstructorParameters<typeof Hub>[0]> = {}) {
  let t = 1000;
  const store = openPushStore(":memory:");
  const undelivered: StoredMessage[] = [];
  const h = new Hub({
    store,
    now: () => t++,
    maxChannelsPerSubscriber: 4,
    maxReplay: 3,
    maxMessageBytes: 100,
    onUndelivered: (m) => undelivered.push(m),
    ...over,
  });
  return { h, store, undelivered };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as PushError).code;
  }
  return undefined;
};

describe("push channels", () => {
  it("parses the three kinds, normalises wallet addresses, refuses everything else", () => {
    expect(parseChannel("wallet:0xABCDEFabcdef0123456789012345678901234567").name).toBe(
      "wallet:0xabcdefabcdef0123456789012345678901234567",
    );
    expect(parseChannel("topic:course/101").kind).toBe("topic");
    for (const bad of [
      "",
      "user:",
      "room:1",
      "topic:UPPER",
      "wallet:0x12",
      "user:a b",
      `topic:${"a".repeat(200)}`,
      "user:x' OR 1=1 --",
    ])
      expect(
        code(() => parseChannel(bad)),
        bad,
      ).toBe("PUSH_INVALID_CHANNEL");
  });

  it("lets an identity read its own channel, its wallet's and topics, nothing else", () => {
    const who = { sub: "alice", wallet: "0x00000000000000000000000000000000000000aa" };
    for (const c of defaultChannels(who)) expect(() => assertCanRead(who, parseChannel(c))).not.toThrow();
    expect(code(() => assertCanRead(who, parseChannel("user:bob")))).toBe("PUSH_FORBIDDEN");
    expect(code(() => assertCanRead({ sub: "alice" }, parseChannel(`wallet:${who.wallet}`)))).toBe("PUSH_FORBIDDEN");
  });
});

describe("push hub", () => {
  it("stores before sending, fans out to every reader, and reports personal messages nobody received", () => {
    const { h, store, undelivered } = hub();
    const a = subscriber("a");
    const b = subscriber("b");
    h.subscribe(a, ["user:a", "topic:t"]);
    h.subscribe(b, ["topic:t"]);
    expect(h.publish("topic:t", { x: 1 }).delivered).toBe(2);
    expect(h.publish("user:b", { y: 1 }).delivered).toBe(0);
    expect(undelivered.map((m) => m.channel)).toEqual(["user:b"]);
    expect(store.head()).toBe(2);
    expect(a.got.map((m) => m.seq)).toEqual([1]);
  });

  it("replays since the last acknowledgement per channel, in cursor order, at most maxReplay at a time", () => {
    const { h } = hub();
    const first = subscriber("a");
    h.subscribe(first, ["user:a"]);
    for (let i = 0; i < 5; i++) h.publish("user:a", i);
    h.ack(first, 2);
    h.remove(first);
    const again = subscriber("a");
    const r = h.subscribe(again, ["user:a"]);
    expect(r.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(r.more).toBe(false);
    const fresh = subscriber("a");
    const all = h.subscribe(fresh, ["user:a"], 0);
    expect(all.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(all.more).toBe(true);
  });

  it("starts topics never acknowledged from now, and does not let an ack run past the head", () => {
    const { h, store } = hub();
    h.publish("topic:t", "old");
    const s = subscriber("a");
    expect(h.subscribe(s, ["topic:t"]).messages).toEqual([]);
    h.ack(s, 10_000);
    expect(store.acked("a", "topic:t")).toBe(1);
  });

  it("drops a reader that is too far behind, refuses oversized payloads and too many channels, dedupes by key", () => {
    const { h, store } = hub();
    const slow = subscriber("a", undefined, 1);
    h.subscribe(slow, ["topic:t"]);
    h.publish("topic:t", 1);
    expect(h.publish("topic:t", 2).delivered).toBe(0);
    expect(slow.evicted).toMatch(/too far behind/);
    expect(h.connections).toBe(0);
    expect(code(() => h.publish("topic:t", "x".repeat(200)))).toBe("PUSH_TOO_LARGE");
    expect(code(() => h.subscribe(subscriber("b"), ["topic:a", "topic:b", "topic:c", "topic:d", "topic:e"]))).toBe(
      "PUSH_LIMIT",
    );
    expect(h.publish("topic:t", 3, "k").message).not.toBeNull();
    expect(h.publish("topic:t", 3, "k").message).toBeNull();
    expect(store.since(["topic:t"], 0, 10).map((m) => m.data)).toEqual(["1", "2", "3"]);
  });

  it("keeps at most perChannel messages per channel and none older than the cut", () => {
    const { h, store } = hub();
    for (let i = 0; i < 5; i++) h.publish("topic:a", i);
    h.publish("topic:b", "b");
    expect(store.prune(2, 0)).toBe(3);
    expect(store.since(["topic:a"], 0, 10).map((m) => m.data)).toEqual(["3", "4"]);
    expect(store.prune(10, Number.MAX_SAFE_INTEGER)).toBe(3);
    expect(store.since(["topic:a", "topic:b"], 0, 10)).toEqual([]);
    expect(store.head()).toBe(6); // cursors never go back
  });
});

void PushError;
