import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CommittedRecord, CommittedRecordErrorCode, readCommittedRecord } from "../../../../node/db/committedRecord.js";
import { tempDir } from "../../../utils/devnode.js";

/** The highest-committed record: a two-slot checksummed file (node/lib/slotFile.ts) beside the database. */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(): string {
  const d = tempDir("record");
  dirs.push(d);
  return join(d, "highest_committed.json");
}

const hash = (b: number) => new Uint8Array(32).fill(b);

describe("CommittedRecord", () => {
  it("is absent until written, then reads back the newest write after a reopen", () => {
    const f = file();
    const r = CommittedRecord.open(f, { sync: true });
    expect(r.get()).toBeNull();
    r.write({ height: 1n, hash: hash(1), uncheckedLogBytes: 0 });
    r.write({ height: 2n, hash: hash(2), uncheckedLogBytes: 0 });
    r.write({ height: 3n, hash: hash(3), uncheckedLogBytes: 7 });
    r.close();
    expect(readCommittedRecord(f)).toEqual({ height: 3n, hash: hash(3), uncheckedLogBytes: 7 });
    // One JSON line per slot, readable with cat/jq.
    expect(readFileSync(f, "utf8")).toMatch(/"height":"3","hash":"0x0303/);
  });

  it("writeAsync (the per-block write, synced on the thread pool) leaves the same bytes as write", async () => {
    const states = [1n, 2n, 3n, 4n, 5n].map((h) => ({
      height: h,
      hash: hash(Number(h)),
      uncheckedLogBytes: Number(h),
    }));
    const plain = file();
    const viaAsync = file();
    const a = CommittedRecord.open(plain, { sync: true });
    const b = CommittedRecord.open(viaAsync, { sync: true });
    for (const s of states) {
      a.write(s);
      await b.writeAsync(s);
      expect(b.get()).toEqual(s);
      expect(readFileSync(viaAsync)).toEqual(readFileSync(plain));
    }
    a.close();
    b.close();
    expect(readCommittedRecord(viaAsync)).toEqual(states[4]);
  });

  it("refuses a second write while an async one is in flight (the slots would interleave)", async () => {
    const r = CommittedRecord.open(file(), { sync: true });
    r.write({ height: 1n, hash: hash(1), uncheckedLogBytes: 0 });
    const pending = r.writeAsync({ height: 2n, hash: hash(2), uncheckedLogBytes: 0 });
    expect(() => r.write({ height: 3n, hash: hash(3), uncheckedLogBytes: 0 })).toThrow(/one .* at a time/);
    await expect(r.writeAsync({ height: 3n, hash: hash(3), uncheckedLogBytes: 0 })).rejects.toThrow(/one .* at a time/);
    await pending;
    expect(r.get()?.height).toBe(2n);
    r.close();
  });

  it("keeps log bytes without a height (before the first committed block is recorded)", () => {
    const f = file();
    const r = CommittedRecord.open(f, { sync: true });
    r.write({ height: null, hash: null, uncheckedLogBytes: 123 });
    r.close();
    expect(readCommittedRecord(f)).toEqual({ height: null, hash: null, uncheckedLogBytes: 123 });
  });

  it("a torn newest slot falls back to the other one (the write before)", () => {
    const f = file();
    const r = CommittedRecord.open(f, { sync: true });
    r.write({ height: 10n, hash: hash(10), uncheckedLogBytes: 0 }); // slot 0, seq 0
    r.write({ height: 11n, hash: hash(11), uncheckedLogBytes: 0 }); // slot 1, seq 1
    r.close();
    const bytes = readFileSync(f);
    bytes[256 + 40] ^= 0x01; // inside slot 1's JSON: its checksum fails
    writeFileSync(f, bytes);
    expect(readCommittedRecord(f)?.height).toBe(10n);
  });

  it("both slots damaged: refused, never reset", () => {
    const f = file();
    const r = CommittedRecord.open(f, { sync: true });
    r.write({ height: 10n, hash: hash(10), uncheckedLogBytes: 0 });
    r.close();
    writeFileSync(f, Buffer.alloc(512, 0x41));
    expect(() => readCommittedRecord(f)).toThrow(
      expect.objectContaining({ type: expect.objectContaining({ code: CommittedRecordErrorCode.CORRUPT }) }),
    );
  });
});
