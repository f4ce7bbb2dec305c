#!/usr/bin/env node
import "./polyfill.js";
import { buildProgram } from "./cliProgram.js";

// Last resort: every known failure path is handled where it happens; anything reaching these is a
// bug, and exits non-zero with its cause instead of leaving a half-running node.
process.on("unhandledRejection", (e: unknown) => {
  process.stderr.write(`azora: unhandled rejection (a bug): ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});

// Only the modules of the command named on the line load (cliProgram.ts): a process starts in a fraction of
// the time importing every command's implementation took.
buildProgram(process.argv.slice(2))
  .then((program) => program.parseAsync(process.argv))
  .catch((e: unknown) => {
    const err = e as Error;
    process.stderr.write(`azora: ${process.env.AZORA_DEBUG ? err.stack : err.message}\n`);
    process.exit(1);
  });
