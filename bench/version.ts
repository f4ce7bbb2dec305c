// What a result file records about the code it measured.
import { execFileSync } from "node:child_process";
import { VERSION } from "../node/version.js";

/** `v<version> (git <short hash>[, N uncommitted change(s)])`, or just the version outside a git checkout. */
export function azoraVersion(root: string): string {
  try {
    const git = (args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8", timeout: 5000 }).trim();
    const head = git(["rev-parse", "--short", "HEAD"]);
    const dirty = git(["status", "--porcelain"])
      .split("\n")
      .filter((l) => l.length > 0).length;
    return `v${VERSION} (git ${head}${dirty > 0 ? `, ${dirty} uncommitted change(s)` : ""})`;
  } catch {
    return `v${VERSION}`;
  }
}
