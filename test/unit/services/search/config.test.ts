import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigInvalidError } from "../../../../services/runtime/typedConfig.js";
import { loadSearchConfigFile, resolveSearchConfig } from "../../../../services/search/config.js";

describe("search config", () => {
  it("defaults: embedded sqlite backend on 127.0.0.1:7700, indexer and payments off", () => {
    const c = resolveSearchConfig(undefined);
    expect(c).toMatchObject({
      dataDir: "./data/search",
      backend: "sqlite",
      postgres: { schema: "azora_search", poolSize: 4 },
      http: { host: "127.0.0.1", port: 7700, bodyLimitBytes: 64 * 1024 * 1024 },
      rpc: "http://127.0.0.1:8545",
      indexer: { enabled: false, index: "chain", marketplaces: [], batchBlocks: 500, semantic: true },
      embeddings: { bulk: "local", bulkMin: 64, market: { token: "AZR", timeoutMs: 600_000 } },
      payments: { enabled: false, voucherEvery: 10, redeemEveryMs: 60_000 },
      log: { level: "info" },
    });
    expect(c.apiKey).toBeUndefined();
  });

  it("flags override the file; unset flags leave it alone; a relative dataDir from the file is the file's", () => {
    const file = {
      dataDir: "idx",
      http: { port: 9000, host: "0.0.0.0" },
      indexer: { marketplaces: [`0x${"ab".repeat(20)}`] },
    };
    const c = resolveSearchConfig(
      file,
      { http: { port: 9001, host: undefined }, indexer: { enabled: true } },
      "/etc/azora",
    );
    expect(c.dataDir).toBe("/etc/azora/idx");
    expect(c.http).toMatchObject({ host: "0.0.0.0", port: 9001 });
    expect(c.indexer).toMatchObject({ enabled: true, marketplaces: [`0x${"ab".repeat(20)}`] });
    // Without one in the file, a relative dataDir stays relative to the working directory.
    expect(resolveSearchConfig({}, { dataDir: "here" }, "/etc/azora").dataDir).toBe("here");
    expect(file.http.port, "the inputs are not mutated").toBe(9000);
  });

  it("refuses unknown keys and bad values, naming the key", () => {
    const refused = (file: unknown) => {
      try {
        resolveSearchConfig(file);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigInvalidError);
        return (e as ConfigInvalidError).key;
      }
      throw new Error("accepted");
    };
    expect(refused({ http: { port: 70_000 } })).toBe("http.port");
    expect(refused({ backend: "elastic" })).toBe("backend");
    expect(refused({ apiKey: "short" })).toBe("apiKey");
    expect(refused({ indexer: { marketplaces: ["0x12"] } })).toBe("indexer.marketplaces.0");
    expect(refused({ payment: {} })).toBe("payment");
  });

  it("a config file must be a JSON object", () => {
    const dir = mkdtempSync(join(tmpdir(), "azora-search-config-"));
    try {
      writeFileSync(join(dir, "ok.json"), '{"dataDir":"d"}');
      expect(loadSearchConfigFile(join(dir, "ok.json"))).toEqual({ input: { dataDir: "d" }, baseDir: dir });
      writeFileSync(join(dir, "list.json"), "[]");
      expect(() => loadSearchConfigFile(join(dir, "list.json"))).toThrow(ConfigInvalidError);
      writeFileSync(join(dir, "bad.json"), "{");
      expect(() => loadSearchConfigFile(join(dir, "bad.json"))).toThrow(ConfigInvalidError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
