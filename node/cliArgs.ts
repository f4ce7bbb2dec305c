/**
 * Small pieces every `azora` command module shares: option parsers and the `--cpu-profile` recorder. Kept free of
 * heavy imports (commander only), since cliProgram.ts loads it for every command line.
 */
import { InvalidArgumentError } from "commander";

/** Parser for an integer option within [min, max] (max omitted: any safe integer ≥ min). */
export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v) : Number.NaN; // not "", "0x10", "1e3": Number() takes those
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `${name} must be an integer ≥ ${min}`
          : `${name} must be an integer in [${min}, ${max}]`,
      );
    return n;
  };
}

/**
 * Starts a V8 CPU profile of the whole run; the returned function stops it, writes it to `file` (open the
 * .cpuprofile in Chrome DevTools) and returns the file's path.
 */
export async function startCPUProfile(file: string): Promise<() => Promise<string>> {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    return file;
  };
}
