/**
 * Which of this worker's jobs hold which pins, kept on disk (`pins.json`, replaced atomically) so it survives a
 * restart: a CID two jobs pin is unpinned only when the second ends, and admission knows how many bytes the
 * worker already holds.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

interface Entry {
  storedBytes: string;
  jobs: string[];
}

export class PinLedger {
  private readonly pins = new Map<string, { storedBytes: bigint; jobs: Set<string> }>();

  constructor(private readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    let raw: Record<string, Entry> = {};
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, Entry>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const [cid, e] of Object.entries(raw))
      this.pins.set(cid, { storedBytes: BigInt(e.storedBytes), jobs: new Set(e.jobs) });
  }

  /** Bytes on disk of every pin some job holds. */
  heldBytes(): bigint {
    let n = 0n;
    for (const p of this.pins.values()) n += p.storedBytes;
    return n;
  }

  holds(cid: string): boolean {
    return this.pins.has(cid);
  }

  /** Job `job` holds `cid` (idempotent: a re-run after a crash records it once). */
  add(cid: string, job: bigint, storedBytes: bigint): void {
    const p = this.pins.get(cid) ?? { storedBytes, jobs: new Set<string>() };
    p.jobs.add(job.toString());
    this.pins.set(cid, p);
    this.save();
  }

  /** Job `job` ended: the CIDs no job holds any more (to unpin). */
  release(job: bigint): string[] {
    const freed: string[] = [];
    let changed = false;
    for (const [cid, p] of this.pins) {
      if (!p.jobs.delete(job.toString())) continue;
      changed = true;
      if (p.jobs.size === 0) {
        this.pins.delete(cid);
        freed.push(cid);
      }
    }
    if (changed) this.save();
    return freed;
  }

  private save(): void {
    const out: Record<string, Entry> = {};
    for (const [cid, p] of this.pins) out[cid] = { storedBytes: p.storedBytes.toString(), jobs: [...p.jobs].sort() };
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(out));
    renameSync(tmp, this.file);
  }
}
