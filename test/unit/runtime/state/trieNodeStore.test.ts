import { describe, expect, it } from "vitest";
import { TrieNodeStore } from "../../../../runtime/state/trieNodeStore.js";

const bytes = (n: number) => Uint8Array.of(n);

describe("TrieNodeStore", () => {
  it("keeps taken writes readable until confirmed, then serves them from its cache; nothing reads through to the database meanwhile", async () => {
    const reads: string[] = [];
    const store = new TrieNodeStore({
      getNode: async (k) => {
        reads.push(k);
        return undefined;
      },
    });
    await store.put("a", bytes(1));
    const first = store.takeWrites();
    await store.put("b", bytes(2));
    const second = store.takeWrites();
    await store.put("c", bytes(3));
    expect([...first.keys()]).toEqual(["a"]);
    expect([...second.keys()]).toEqual(["b"]);
    expect(store.pendingCount).toBe(1);
    // Two blocks in flight and one pending: all readable.
    expect(await store.get("a")).toEqual(bytes(1));
    expect(await store.get("b")).toEqual(bytes(2));
    expect(await store.get("c")).toEqual(bytes(3));
    // Confirmed out of order: each stays readable (from the cache once confirmed).
    store.confirmWritten(second);
    expect(await store.get("a")).toEqual(bytes(1));
    expect(await store.get("b")).toEqual(bytes(2));
    store.confirmWritten(first);
    expect(await store.get("a")).toEqual(bytes(1));
    expect(reads).toEqual([]);
    // The pending write taken and confirmed at once (a block written); a key never written reads through.
    store.confirmWritten(store.takeWrites());
    expect(store.pendingCount).toBe(0);
    expect(await store.get("c")).toEqual(bytes(3));
    expect(await store.get("d")).toBeUndefined();
    expect(reads).toEqual(["d"]);
  });
});
