// Bytes a window allocates on V8's heap, without a sampling profiler: Node 20 has no cumulative
// allocation counter (`total_allocated_bytes` came later), but every byte allocated is either still
// in the used heap at the end or was freed by a GC in between, and `v8.GCProfiler` reports the used
// heap before and after each GC. So allocated = used(end) − used(start) + Σ (before − after) per GC.
// It counts the JS heap only: ArrayBuffer backing stores larger than V8's on-heap limit (64 bytes)
// live outside it (the Buffer pool's 8 KiB slabs among them), so Buffer churn shows as its objects.
import { GCProfiler, getHeapStatistics } from "node:v8";

/** What a GC reports of the used heap, before and after it (bytes). */
export interface GcUsedHeap {
  before: number;
  after: number;
}

/** The allocation identity above; a GC that grew the heap (none should) counts as freeing nothing. */
export function allocatedBytes(usedStart: number, usedEnd: number, gcs: readonly GcUsedHeap[]): number {
  let freed = 0;
  for (const g of gcs) freed += Math.max(0, g.before - g.after);
  return usedEnd - usedStart + freed;
}

interface ProfiledGc {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/** Starts counting; `stop()` returns the bytes allocated on this thread's heap since. One window at a time. */
export function heapAllocationWindow(): { stop(): number } {
  const profiler = new GCProfiler();
  profiler.start();
  const usedStart = getHeapStatistics().used_heap_size;
  return {
    stop() {
      const usedEnd = getHeapStatistics().used_heap_size;
      const stats = (profiler.stop()?.statistics ?? []) as ProfiledGc[];
      const gcs = stats.map((s) => ({
        before: s.beforeGC.heapStatistics.usedHeapSize,
        after: s.afterGC.heapStatistics.usedHeapSize,
      }));
      return allocatedBytes(usedStart, usedEnd, gcs);
    },
  };
}

/**
 * V8's sampling heap profiler over a window, in this process (`node:inspector`), keeping the objects
 * GCs collected too (the churn is what matters, not what survives): `stop()` returns the profile as
 * JSON for a `.heapprofile` file (Chrome DevTools' Memory tab opens it). Its samples are allocation
 * sites by stack; the sampling costs CPU, so a profiled run's CPU figures are not comparable.
 */
export async function heapSamplingWindow(intervalBytes = 16_384): Promise<{ stop(): Promise<string> }> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop() {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      session.disconnect();
      return JSON.stringify(profile);
    },
  };
}
