import { describe, expect, it } from "vitest";
import { ConfigError, cacheShares, resolveConfig } from "../../../node/config.js";

describe("config cacheBytes (the node's caches, in estimated bytes)", () => {
  it("defaults to 96 MiB and takes an integer in [4 MiB, 64 GiB] from the file", () => {
    expect(resolveConfig(undefined, {}).cacheBytes).toBe(96 * 1024 * 1024);
    expect(resolveConfig({ cacheBytes: 8 * 1024 * 1024 }, {}).cacheBytes).toBe(8 * 1024 * 1024);
    for (const bad of [1024 * 1024, 1.5e7 + 0.5, "100", -1]) {
      expect(() => resolveConfig({ cacheBytes: bad }, {})).toThrow(ConfigError);
    }
  });

  it("is split so that the caches together stay within it, whatever the number of simulation workers", () => {
    for (const workers of [1, 2, 3, 4, 64]) {
      const s = cacheShares(96 * 1024 * 1024, workers);
      expect(s.trieNodes + s.rpcBlocks + workers * s.perSimulationWorker).toBeLessThanOrEqual(96 * 1024 * 1024);
      expect(s.perSimulationWorker).toBeGreaterThan(0);
    }
  });

  it("gives the one simulation worker of a dev node 8 MiB of the default budget, the state trie 48 MiB", () => {
    // A worker's misses are read from the main thread's cache; a third (32 MiB) only grew its heap (issue 14).
    const s = cacheShares(96 * 1024 * 1024, 1);
    expect(s.perSimulationWorker).toBe(8 * 1024 * 1024);
    expect(s.trieNodes).toBe(48 * 1024 * 1024);
  });
});
