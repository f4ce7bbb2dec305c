import { describe, expect, it } from "vitest";
import { resolveStorageConfig, StorageConfigErrorCode } from "../../../../services/storage/config.js";

describe("storage config", () => {
  it("defaults: helia, local-only p2p, gateway on 127.0.0.1:8080, uploads capped", () => {
    const c = resolveStorageConfig(undefined, {}, "/srv");
    expect(c).toMatchObject({
      dataDir: "/srv/data/storage",
      backend: "helia",
      p2p: { listen: ["/ip4/127.0.0.1/tcp/0"], peers: [] },
      http: { host: "127.0.0.1", port: 8080 },
      gateway: { retrievalTimeoutMs: 30_000, offline: false },
      uploads: { enabled: true, maxBytes: 4096 * 1024 * 1024, plainMaxBytes: 32 * 1024 * 1024 },
    });
    expect(c.uploads.authToken).toBeUndefined();
  });

  it("flags override the file; unset flags leave it alone; a relative dataDir is the file's", () => {
    const c = resolveStorageConfig(
      { dataDir: "repo", http: { port: 9000, host: "0.0.0.0" }, uploads: { maxBytes: 10 } },
      { http: { port: 9001, host: undefined }, uploads: { plainMaxBytes: 5 } },
      "/etc/azora",
    );
    expect(c.dataDir).toBe("/etc/azora/repo");
    expect(c.http).toEqual({ host: "0.0.0.0", port: 9001 });
    expect(c.uploads).toMatchObject({ maxBytes: 10, plainMaxBytes: 5 });
  });

  it("refuses unknown keys and bad values, naming them", () => {
    expect(() => resolveStorageConfig({ gatway: {} } as never, {})).toThrow(
      expect.objectContaining({ code: StorageConfigErrorCode.INVALID, message: expect.stringContaining("gatway") }),
    );
    expect(() => resolveStorageConfig({ backend: "ipfs-http-client" } as never, {})).toThrow(/backend/);
    expect(() => resolveStorageConfig({ http: { port: 70_000 } }, {})).toThrow(/http\/port/);
    expect(() => resolveStorageConfig({ uploads: { authToken: "short" } }, {})).toThrow(/authToken/);
  });
});
