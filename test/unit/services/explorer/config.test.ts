import { describe, expect, it } from "vitest";
import { resolveExplorerConfig, wsOf } from "../../../../services/explorer/config.js";
import { contentSecurityPolicy } from "../../../../services/explorer/ui.js";
import { ConfigInvalidError } from "../../../../services/runtime/typedConfig.js";

describe("explorer config", () => {
  it("applies defaults, then the file, then flags", () => {
    const d = resolveExplorerConfig(undefined, {});
    expect(d).toMatchObject({
      rpc: "http://127.0.0.1:8545",
      db: "./data/explorer/explorer.sqlite",
      http: { port: 4000 },
    });
    expect(d.indexer).toEqual({ enabled: true, fromBlock: 0, batchBlocks: 50, pollMs: 2000 });
    expect(wsOf(d)).toBe("ws://127.0.0.1:8545");
    const c = resolveExplorerConfig(
      { rpc: "http://10.0.0.1:8545", indexer: { batchBlocks: 10, fromBlock: 5 } },
      { indexer: { batchBlocks: 20, fromBlock: undefined } },
    );
    expect(c.indexer).toMatchObject({ batchBlocks: 20, fromBlock: 5 });
    expect(c.rpc).toBe("http://10.0.0.1:8545");
  });

  it("names the key that is wrong", () => {
    expect(() => resolveExplorerConfig({ indexer: { batchBlocks: 0 } }, {})).toThrow(ConfigInvalidError);
    expect(() => resolveExplorerConfig({ indexer: { batchBlocks: 0 } }, {})).toThrow(/indexer\.batchBlocks/);
    expect(() => resolveExplorerConfig({ dbUrl: "x" }, {})).toThrow(ConfigInvalidError);
  });

  it("takes an IPFS gateway origin, which the web UI's CSP then allows for images and nothing else", () => {
    expect(resolveExplorerConfig(undefined, {}).ipfsGateway).toBeUndefined();
    expect(resolveExplorerConfig({ ipfsGateway: "http://127.0.0.1:8080" }, {}).ipfsGateway).toBe(
      "http://127.0.0.1:8080",
    );
    for (const bad of ["javascript:alert(1)", "http://127.0.0.1:8080/ipfs/x", "ftp://h", "http://a b"])
      expect(() => resolveExplorerConfig({ ipfsGateway: bad }, {}), bad).toThrow(/ipfsGateway/);
    expect(contentSecurityPolicy()).toContain("img-src 'self' data:;");
    const csp = contentSecurityPolicy("http://127.0.0.1:8080/");
    expect(csp).toContain("img-src 'self' data: http://127.0.0.1:8080;");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("script-src 'self';");
  });
});
