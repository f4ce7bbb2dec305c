import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_RPC_CONFIG, resolveConfig } from "../../../../node/config.js";
import { addRPCLimitOptions, rpcLimitFlags } from "../../../../node/rpc/options.js";

describe("JSON-RPC limits: config keys and --rpc-* flags", () => {
  const parse = (args: string[]) => {
    const cmd = addRPCLimitOptions(new Command().exitOverride());
    cmd.parse(args, { from: "user" });
    return rpcLimitFlags(cmd.opts());
  };

  it("each flag sets its key; unset flags leave the file's values", () => {
    expect(parse(["--rpc-gascap", "1000000", "--rpc-evm-timeout", "0", "--rpc-max-filters-per-client", "7"])).toEqual({
      gasCap: 1_000_000,
      evmTimeoutMs: 0,
      maxFiltersPerClient: 7,
    });
    const cfg = resolveConfig(
      { rpc: { gasCap: 2_000_000, logsMaxResults: 5 } },
      { rpc: parse(["--rpc-gascap", "3000000"]) },
    );
    expect(cfg.rpc).toEqual({ ...DEFAULT_RPC_CONFIG, gasCap: 3_000_000, logsMaxResults: 5 });
  });

  it("a flag needs a non-negative integer; keys are range-checked", () => {
    expect(() => parse(["--rpc-evm-timeout", "5s"])).toThrow(/--rpc-evm-timeout must be a non-negative integer/);
    expect(() => resolveConfig({ rpc: { gasCap: 100 } }, {})).toThrow(ConfigError);
    expect(() => resolveConfig({ rpc: { evmWorkers: 0 } }, {})).toThrow("invalid config rpc.evmWorkers");
    expect(() => resolveConfig({ rpc: { evmTimeout: 5 } }, {})).toThrow("invalid config rpc.evmTimeout: unknown key");
  });

  it("the JSON-RPC front is on unless the file or --no-rpc-http-front turns it off", () => {
    expect(parse([])).toEqual({});
    expect(parse(["--no-rpc-http-front"])).toEqual({ httpFront: false });
    expect(resolveConfig(undefined, { rpc: parse([]) }).rpc.httpFront).toBe(true);
    expect(resolveConfig({ rpc: { httpFront: false } }, { rpc: parse([]) }).rpc.httpFront).toBe(false);
    expect(resolveConfig(undefined, { rpc: parse(["--no-rpc-http-front"]) }).rpc.httpFront).toBe(false);
    expect(() => resolveConfig({ rpc: { httpFront: "no" } }, {})).toThrow("invalid config rpc.httpFront");
  });
});
