import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../../../node/config.js";
import { ChainDB, DEFAULT_MAX_OPEN_FILES, levelOpenOptions, MIN_MAX_OPEN_FILES } from "../../../../node/db/chainDb.js";

describe("LevelDB's open-file budget (storage.maxOpenFiles)", () => {
  it("defaults to LevelDB's own budget and passes the configured one to LevelDB", () => {
    expect(resolveConfig(undefined, {}).storage.maxOpenFiles).toBe(DEFAULT_MAX_OPEN_FILES);
    expect(resolveConfig({ storage: { maxOpenFiles: 1000 } }, {}).storage.maxOpenFiles).toBe(1000);
    expect(levelOpenOptions()).toEqual({ maxOpenFiles: DEFAULT_MAX_OPEN_FILES });
    expect(levelOpenOptions(500)).toEqual({ maxOpenFiles: 500 });
  });

  it("refuses a budget LevelDB would silently raise, and non-integers", () => {
    for (const bad of [MIN_MAX_OPEN_FILES - 1, 0, -5, 100.5, "200"]) {
      expect(() => resolveConfig({ storage: { maxOpenFiles: bad } }, {})).toThrow(ConfigError);
    }
    expect(resolveConfig({ storage: { maxOpenFiles: MIN_MAX_OPEN_FILES } }, {}).storage.maxOpenFiles).toBe(
      MIN_MAX_OPEN_FILES,
    );
  });

  it("opens, writes and reads a database at the smallest budget", async () => {
    const dir = await mkdtemp(join(tmpdir(), "azora-leveloptions-"));
    try {
      const db = await ChainDB.open(join(dir, "chaindata"), { syncWrites: false, maxOpenFiles: MIN_MAX_OPEN_FILES });
      await db.putMeta("probe", new Uint8Array([9]));
      expect([...((await db.getMeta("probe")) ?? [])]).toEqual([9]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
