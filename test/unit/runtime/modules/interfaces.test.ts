import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Interface, type InterfaceAbi } from "ethers";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "../../../../contracts/artifacts.js";
import { governanceModule } from "../../../../runtime/modules/governance/index.js";
import { marketModule } from "../../../../runtime/modules/market/index.js";
import { modelRegistryModule } from "../../../../runtime/modules/models/index.js";
import type { NativeModule } from "../../../../runtime/modules/registry.js";
import { stakingModule } from "../../../../runtime/modules/staking/index.js";

/**
 * The native modules against their Solidity interfaces (compiled by solc, never hand-copied): every
 * function of the interface is served with the same selector and mutability, nothing else is
 * served, and every custom error and event the module's source can produce is declared, so ethers
 * and viem decode everything the module says.
 */
const ROOT = join(import.meta.dirname, "../../../..");

const cases: [string, NativeModule, string, string[]][] = [
  ["IJobMarket", marketModule, "runtime/modules/market", ["errors.ts", "events.ts"]],
  ["IModelRegistry", modelRegistryModule, "runtime/modules/models", ["index.ts"]],
  ["IStaking", stakingModule, "runtime/modules/staking", ["errors.ts", "events.ts"]],
  ["IGovernance", governanceModule, "runtime/modules/governance", ["errors.ts", "events.ts"]],
];

describe.each(cases)("%s", (name, module, dir, sources) => {
  const iface = new Interface(loadArtifact(name).abi as InterfaceAbi);

  it("serves exactly the interface's functions, with their mutability and payability", () => {
    const served = new Map(module.def.functions.map((f) => [f.sig, f]));
    const declared: string[] = [];
    iface.forEachFunction((f) => {
      declared.push(f.format("sighash"));
      const fn = served.get(f.format("sighash"));
      expect(fn, `${f.format("sighash")} is served`).toBeDefined();
      expect(fn?.mutates, `${f.name} mutability`).toBe(f.stateMutability !== "view" && f.stateMutability !== "pure");
      expect(fn?.payable === true, `${f.name} payability`).toBe(f.stateMutability === "payable");
      expect(fn?.outputs.length, `${f.name} outputs`).toBe(f.outputs.length);
    });
    expect([...served.keys()].sort()).toEqual(declared.sort());
  });

  it("declares every custom error and event the module's source produces", () => {
    const text = sources.map((s) => readFileSync(join(ROOT, dir, s), "utf8")).join("\n");
    const errors = [...text.matchAll(/customError\(\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(errors.length).toBeGreaterThan(2);
    for (const sig of errors) expect(iface.getError(sig), `error ${sig}`).not.toBeNull();
    const events = [
      ...text.matchAll(/(?:define|eventTopic|keccak256\(new TextEncoder\(\)\.encode)\(\s*"([A-Za-z]+\([^"]*\))"/g),
    ].map((m) => m[1]);
    expect(events.length).toBeGreaterThan(0);
    for (const sig of events) expect(iface.getEvent(sig), `event ${sig}`).not.toBeNull();
  });
});
