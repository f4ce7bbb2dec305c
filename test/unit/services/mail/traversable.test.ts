import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { firstUntraversable } from "../../../../services/mail/traversable.js";

/** Azora Mail's start-up check that Dovecot's auth user can reach the files it runs (services/mail/traversable.ts). */
describe("firstUntraversable", () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  function tree(): { top: string; file: string } {
    const top = mkdtempSync(join(tmpdir(), "azora-trav-"));
    made.push(top);
    mkdirSync(join(top, "a", "b"), { recursive: true });
    const file = join(top, "a", "b", "helper.js");
    writeFileSync(file, "");
    for (const d of [top, join(top, "a"), join(top, "a", "b")]) chmodSync(d, 0o755);
    return { top, file };
  }

  it("names the directory without the search bit for other users, nearest the file first", () => {
    const { top, file } = tree();
    expect(firstUntraversable(file)).toBeUndefined();
    chmodSync(top, 0o700); // what mktemp -d makes
    expect(firstUntraversable(file)).toBe(top);
    chmodSync(join(top, "a"), 0o750);
    expect(firstUntraversable(file)).toBe(join(top, "a"));
    chmodSync(join(top, "a"), 0o711);
    chmodSync(top, 0o711); // traversable, not listable: enough
    expect(firstUntraversable(file)).toBeUndefined();
  });

  it("walks every ancestor up to the root", () => {
    const seen: string[] = [];
    const mode = (d: string) => {
      seen.push(d);
      return 0o40755;
    };
    expect(firstUntraversable("/x/y/z/file", mode)).toBeUndefined();
    expect(seen).toEqual(["/x/y/z", "/x/y", "/x", "/"]);
    expect(firstUntraversable("/x/y/file", (d) => (d === "/x" ? 0o40700 : 0o40755))).toBe("/x");
  });
});
