import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { intArg } from "../../../node/cliArgs.js";

describe("intArg", () => {
  it("accepts integers within the bounds and names the flag and bounds when refusing", () => {
    const port = intArg("--port", 0, 65535);
    expect(port("0")).toBe(0);
    expect(port("65535")).toBe(65535);
    for (const bad of ["65536", "-1", "1.5", "", "0x10", "abc"]) {
      expect(() => port(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => port("70000")).toThrow("--port must be an integer in [0, 65535]");
  });

  it("without a maximum takes any safe integer at or above the minimum", () => {
    const ttl = intArg("--access-ttl", 30);
    expect(ttl("30")).toBe(30);
    expect(ttl(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => ttl("29")).toThrow("--access-ttl must be an integer ≥ 30");
    expect(() => ttl("9007199254740993")).toThrow(InvalidArgumentError);
  });
});
