import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { BUILTIN_COMMANDS, buildProgram, COMMAND_MODULES, commandModulesFor } from "../../../node/cliProgram.js";

const ROOT = resolve(import.meta.dirname, "../../..");

/**
 * The relative files and npm packages `file` imports at load time: static imports that are not type-only
 * (`import type`, or braces holding only `type` names, which tsc erases). Dynamic `import()` is left out.
 */
function loadTimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+"([^"]+)"|^import\s+"([^"]+)"/gm)) {
    if (m[4] !== undefined) {
      specs.push(m[4]);
      continue;
    }
    if (m[1] !== undefined) continue;
    const braces = /^\{([^}]*)\}$/.exec(m[2].trim());
    const names = braces?.[1]
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (names?.every((n) => n.startsWith("type "))) continue;
    specs.push(m[3]);
  }
  return specs;
}

/** Every repo file and npm package (by name) that loading `entry` loads. */
function loadTimeClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of loadTimeImports(file)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (target.endsWith(".js")) visit(target.replace(/\.js$/, ".ts"));
      } else if (!spec.startsWith("node:")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
      }
    }
  };
  visit(entry);
  return { files, packages };
}

describe("azora CLI start cost", () => {
  it("node/cli.ts loads only commander, pino and small modules until a command names what it needs", () => {
    const { files, packages } = loadTimeClosure(resolve(ROOT, "node/cli.ts"));
    expect([...packages].sort()).toEqual(["commander", "pino"]);
    const loaded = [...files].map((f) => relative(ROOT, f)).sort();
    for (const heavy of loaded) {
      expect(heavy, `node/cli.ts loads ${heavy} at start`).not.toMatch(
        /^(services|ai-oracle|consensus)\/|^node\/(node|nodeCommands|localnet|.*Commands)\.ts$|^node\/keys\//,
      );
    }
  });

  it("the staking, search and db commands load neither the worker runtime nor the whole node", () => {
    for (const entry of ["node/stakingCommands.ts", "node/searchCommands.ts", "node/dbCommands.ts"]) {
      const loaded = [...loadTimeClosure(resolve(ROOT, entry)).files].map((f) => relative(ROOT, f));
      for (const file of loaded) {
        expect(file, `${entry} loads ${file} at start`).not.toMatch(
          /^services\/(runtime\/index|storage)|^node\/(node|serviceCommands)\.ts$/,
        );
      }
    }
  });

  it("a dev node (node/nodeCommands.ts) loads no libp2p: the network is imported only in network mode", () => {
    const { files, packages } = loadTimeClosure(resolve(ROOT, "node/nodeCommands.ts"));
    expect([...packages].filter((p) => /^(@libp2p\/|libp2p$|@chainsafe\/)/.test(p))).toEqual([]);
    expect([...files].map((f) => relative(ROOT, f))).not.toContain("node/network/network.ts");
  });

  it("a dev node loads no ethers at start: signing, console.log decoding and module ABIs import it on first use", () => {
    const { files, packages } = loadTimeClosure(resolve(ROOT, "node/nodeCommands.ts"));
    expect([...packages]).not.toContain("ethers");
    // The modules that hold ethers' users are reached only through import().
    const loaded = [...files].map((f) => relative(ROOT, f));
    expect(loaded).toContain("node/dev/accounts.ts");
    expect(loaded).not.toContain("node/dev/signing.ts");
    expect(loaded).not.toContain("node/dev/consoleFormat.ts");
  });

  it("each command module registers exactly the top-level commands its routing entry names", async () => {
    for (const m of COMMAND_MODULES) {
      const program = new Command();
      (await m.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual(m.commands);
    }
  });

  it("routes a command line to the module of its first word, and to all modules when none leads", () => {
    expect(commandModulesFor(["dev", "--rpc-port", "0"])).toEqual([]);
    expect(commandModulesFor(["start", "--home", "x"])).toEqual([]);
    expect(commandModulesFor(["job", "post", "test/sha256"]).map((m) => m.commands)).toEqual([["worker", "job"]]);
    expect(commandModulesFor(["gov", "--help"]).map((m) => m.commands)).toEqual([["validator", "stake", "gov"]]);
    for (const args of [[], ["--help"], ["-v"], ["help", "dev"], ["dve"]]) {
      expect(commandModulesFor(args)).toBe(COMMAND_MODULES);
    }
  });

  it("the full program lists the built-in commands, then every module's, in today's order", async () => {
    const names = (await buildProgram(["--help"])).commands.map((c) => c.name());
    expect(names).toEqual([...BUILTIN_COMMANDS, ...COMMAND_MODULES.flatMap((m) => m.commands)]);
    expect((await buildProgram(["dev"])).commands.map((c) => c.name())).toEqual(BUILTIN_COMMANDS);
  });
});
