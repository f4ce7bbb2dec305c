import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * The first directory above `path` that a user who is neither its owner nor in its group cannot traverse (no
 * search bit for "other"), or undefined. Dovecot, started by root, runs its auth process as `dovecot`: it must reach
 * the checkpassword wrapper, the Node binary and the compiled helper, so a checkout under a 0700 directory (say
 * `mktemp -d`) makes every IMAP login fail with an opaque "Command failed"; the service says so when it starts.
 */
export function firstUntraversable(
  path: string,
  modeOf: (dir: string) => number = (d) => statSync(d).mode,
): string | undefined {
  let dir = dirname(resolve(path));
  for (;;) {
    if ((modeOf(dir) & 0o001) === 0) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
