import { describe, expect, it } from "vitest";
import { SyncFailure, SyncPeers } from "../../../../node/sync/index.js";

describe("SyncPeers", () => {
  it("believes only proven heights, and picks only peers proven at least as far as asked", () => {
    const p = new SyncPeers();
    p.polled("a", 0);
    expect(p.pick(1n, 0)).toBeNull();
    expect(p.target(0)).toBe(-1n);
    p.proven("a", 10n);
    p.proven("a", 7n); // never goes down
    expect(p.provenHeight("a")).toBe(10n);
    expect(p.pick(11n, 0)).toBeNull();
    expect(p.pick(10n, 0)).toBe("a");
    expect(p.target(0)).toBe(10n);
  });

  it("rotates: consecutive requests go to the least recently used proven peer", () => {
    const p = new SyncPeers();
    for (const peer of ["a", "b", "c"]) p.proven(peer, 100n);
    const picks = Array.from({ length: 6 }, () => p.pick(1n, 0));
    expect(picks).toEqual(["a", "b", "c", "a", "b", "c"]);
    expect(p.pick(1n, 0, (peer) => peer !== "a")).toBe("b");
  });

  it("a failure costs score points and a doubling back-off; success resets it", () => {
    const p = new SyncPeers({ backoffMs: 1000, maxBackoffMs: 5000 });
    p.proven("a", 5n);
    p.proven("b", 5n);
    expect(p.failed("a", SyncFailure.TIMEOUT, 0)).toBe(p.opts.penalties[SyncFailure.TIMEOUT]);
    expect(p.pick(1n, 500)).toBe("b");
    expect(p.pick(1n, 600)).toBe("b"); // a still backing off
    expect(p.pick(1n, 1000)).toBe("a");
    p.failed("a", SyncFailure.EMPTY, 1000); // second failure: 2 s
    expect(p.target(2500)).toBe(5n); // b still counts
    p.failed("b", SyncFailure.INVALID, 1000);
    expect(p.target(1500)).toBe(-1n); // both backing off: nothing to sync from
    expect(p.pick(1n, 1999)).toBeNull();
    expect(p.pick(1n, 2999)).toBe("b"); // b's first failure: 1 s; a's second: 2 s
    expect(p.pick(1n, 3000)).toBe("a");
    p.succeeded("a");
    p.failed("a", SyncFailure.TIMEOUT, 10_000);
    const onlyA = (peer: string) => peer === "a";
    expect(p.pick(1n, 10_999, onlyA)).toBeNull();
    expect(p.pick(1n, 11_000, onlyA)).toBe("a"); // back to 1 s after the reset
    for (let i = 0; i < 10; i++) p.failed("a", SyncFailure.TIMEOUT, 20_000);
    expect(p.pick(1n, 24_999, onlyA)).toBeNull();
    expect(p.pick(1n, 25_000, onlyA)).toBe("a"); // capped at maxBackoffMs
  });

  it("polls each peer at most once per interval, and tracks a bounded number of peers", () => {
    const p = new SyncPeers({ pollIntervalMs: 500, maxPeers: 3 });
    expect(p.dueForPoll("a", 0)).toBe(true);
    p.polled("a", 0);
    expect(p.dueForPoll("a", 499)).toBe(false);
    expect(p.dueForPoll("a", 500)).toBe(true);
    for (const peer of ["b", "c", "d"]) p.proven(peer, 1n);
    expect(p.provenHeight("b")).toBe(1n);
    expect(p.dueForPoll("a", 1)).toBe(true); // forgotten: the oldest entry went first
    p.forget("d");
    expect(p.provenHeight("d")).toBe(-1n);
  });
});
