/**
 * The head state's write log (`node/rpc/stateWrites.ts`) that the eth_call cache checks at each
 * head move: it records every written key until a look, and past `MAX_WRITE_KEYS` keys of a kind it
 * only says "everything" — so the keys it holds stay bounded on a node that serves no eth_call.
 */

import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { type Address, createAddressFromBigInt } from "@ethereumjs/util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { heapOwners, type SnapshotGraphJson } from "../../../../bench/heapOwners.js";
import { accountKey, slotKey, slotOfKey } from "../../../../node/rpc/simulation/callReads.js";
import { MAX_WRITE_KEYS, StateWriteLog } from "../../../../node/rpc/stateWrites.js";

/** The write methods the log wraps, doing nothing: only what the log records is under test. */
function fakeStateManager(): MerkleStateManager {
  const none = async () => {};
  return {
    putAccount: none,
    deleteAccount: none,
    putCode: none,
    putStorage: none,
    clearStorage: none,
    setStateRoot: none,
    flush: none,
  } as unknown as MerkleStateManager;
}

const slot = (n: number) => {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(28, n);
  return s;
};
const value = new Uint8Array([1]);

describe("StateWriteLog", () => {
  it("records every distinct key up to MAX_WRITE_KEYS, then only 'everything' until the next look", async () => {
    const sm = fakeStateManager();
    const log = new StateWriteLog(sm);
    const a = createAddressFromBigInt(0xc0de1n);
    for (let i = 0; i < MAX_WRITE_KEYS; i++) await sm.putStorage(a, slot(i), value);
    const full = log.take();
    expect(full.all).toBe(false);
    expect(full.slots.size).toBe(MAX_WRITE_KEYS);
    expect(full.slots.has(slotKey(a, slot(MAX_WRITE_KEYS - 1)))).toBe(true);

    for (let i = 0; i <= MAX_WRITE_KEYS; i++) await sm.putStorage(a, slot(i), value);
    await sm.putAccount(a, undefined);
    const over = log.take();
    expect(over.all).toBe(true);
    expect(over.slots.size + over.accounts.size + over.storageCleared.size).toBe(0);
    // A look starts afresh.
    await sm.putStorage(a, slot(1), value);
    expect(log.take()).toMatchObject({ all: false, slots: new Set([slotKey(a, slot(1))]) });
  });

  it("never holds more than MAX_WRITE_KEYS keys of a kind, and holds exactly what was written below it", async () => {
    const addresses: Address[] = [1n, 2n, 3n].map(createAddressFromBigInt);
    const write = fc.record({ who: fc.nat({ max: 2 }), slot: fc.nat({ max: 3 * MAX_WRITE_KEYS }) });
    await fc.assert(
      fc.asyncProperty(fc.array(write, { maxLength: 2 * MAX_WRITE_KEYS }), async (writes) => {
        const sm = fakeStateManager();
        const log = new StateWriteLog(sm);
        const expected = new Set<string>();
        for (const w of writes) {
          const who = addresses[w.who] as Address;
          await sm.putStorage(who, slot(w.slot), value);
          expected.add(slotKey(who, slot(w.slot)));
        }
        const got = log.take();
        expect(got.slots.size).toBeLessThanOrEqual(MAX_WRITE_KEYS);
        if (expected.size > MAX_WRITE_KEYS) expect(got.all).toBe(true);
        else expect(got).toMatchObject({ all: false, slots: expected });
      }),
      { numRuns: 20 },
    );
  });
});

describe("write log keys", () => {
  it("name accounts as Address.toString() does, and slots so that slotOfKey gives them back", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 160n - 1n }), fc.nat(), (n, i) => {
        const a = createAddressFromBigInt(n);
        expect(accountKey(a)).toBe(a.toString());
        const back = slotOfKey(slotKey(a, slot(i)));
        expect(back.address).toEqual(a.bytes);
        expect(back.slot).toEqual(slot(i));
      }),
    );
  });

  it("keep a full log's heap bounded: MAX_WRITE_KEYS slot keys in under 200 bytes each (heap snapshot)", async () => {
    // Issue 14: keys spelled from `Address.toString()` (ethereumjs's hex, a `+=` per byte) were ropes of ~20
    // strings, ~470 heap bytes a slot key; the bench's dev node held 6 MB of them in this log at its peak.
    const fake = fakeStateManager();
    const full = new StateWriteLog(fake);
    const a = createAddressFromBigInt(0xc0de1n);
    for (let i = 0; i < MAX_WRITE_KEYS; i++) await fake.putStorage(a, slot(i), value);
    const file = join(tmpdir(), `state-writes-${process.pid}.heapsnapshot`);
    try {
      writeHeapSnapshot(file);
      const snap = JSON.parse(readFileSync(file, "utf8")) as SnapshotGraphJson;
      const owners = heapOwners(snap);
      const bytes = owners.owners.find((o) => o.owner === "StateWriteLog.writes")?.bytes ?? 0;
      expect(bytes).toBeGreaterThan(MAX_WRITE_KEYS * 100);
      expect(bytes).toBeLessThan(MAX_WRITE_KEYS * 200);
    } finally {
      rmSync(file, { force: true });
    }
    expect(full.take().slots.size).toBe(MAX_WRITE_KEYS);
  });
});
