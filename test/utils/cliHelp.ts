import { Command } from "commander";

/**
 * The help text of `azora <path> --help`, from the command tree a `register*Commands` function builds, in this
 * process: a CLI process per command costs seconds of module loading for what commander prints from the same
 * tree. Tests that run the commands themselves as processes show that the CLI registers the tree.
 * Throws naming the first missing command of `path`.
 */
export function helpOf(register: (program: Command) => void, path: string): string {
  const program = new Command("azora");
  register(program);
  let cmd: Command = program;
  for (const name of path.split(" ")) {
    const sub = cmd.commands.find((c) => c.name() === name);
    if (sub === undefined) throw new Error(`azora ${path}: no command "${name}"`);
    cmd = sub;
  }
  return cmd.helpInformation();
}
