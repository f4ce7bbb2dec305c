// `--help` for the bench entry points that read their flags with node:util parseArgs (the others use args.ts's
// readFlags, which answers -h/--help itself): the usage text before any work, and a refused flag as exit 2.

/**
 * Prints `usage` and exits 0 when `argv` asks for help (-h, --help); otherwise returns `parse()` — a strict
 * node:util parseArgs — and turns the error it throws for an unknown flag or a missing value into that
 * message and the usage on stderr, exit 2. Checked before parsing, so `--help` next to any other flags works.
 */
export function parseOrUsage<T>(usage: string, parse: () => T, argv: string[] = process.argv.slice(2)): T {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${usage.trimEnd()}\n`);
    process.exit(0);
  }
  try {
    return parse();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw e;
    process.stderr.write(`${(e as Error).message}\n\n${usage.trimEnd()}\n`);
    process.exit(2);
  }
}
