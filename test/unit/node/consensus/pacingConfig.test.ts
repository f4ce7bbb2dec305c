import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../../../node/config.js";

describe("config consensus.minBlockIntervalMs (height pacing under load)", () => {
  it("defaults to 0: a height starts as soon as transactions wait", () => {
    expect(resolveConfig(undefined, {}).consensus.minBlockIntervalMs).toBe(0);
  });

  it("takes an integer in [0, 60000] from the file", () => {
    expect(resolveConfig({ consensus: { minBlockIntervalMs: 120 } }, {}).consensus.minBlockIntervalMs).toBe(120);
    for (const bad of [-1, 60_001, 1.5, "100"]) {
      expect(() => resolveConfig({ consensus: { minBlockIntervalMs: bad } }, {})).toThrow(ConfigError);
    }
    expect(() => resolveConfig({ consensus: { minBlockInterval: 5 } }, {})).toThrow(/unknown key/);
  });
});
