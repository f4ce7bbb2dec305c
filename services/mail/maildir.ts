/**
 * Maildir delivery, the layout Dovecot reads (`<root>/<domain>/<user>/Maildir/{tmp,new,cur}`): a message is written
 * to `tmp/` under a unique name, fsynced, then renamed into `new/` — readers never see half a message, and a crash
 * leaves at most a stale file in `tmp/`.
 */
import { chownSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

let counter = 0;

export function maildirOf(root: string, address: string): string {
  const [local, domain] = splitAddress(address);
  return join(root, domain, local, "Maildir");
}

export function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf("@");
  return [address.slice(0, at).toLowerCase(), address.slice(at + 1).toLowerCase()];
}

/**
 * Who owns mailbox files. Set when the service runs as root and Dovecot reads the Maildirs as its unprivileged mail
 * user (Dovecot refuses uid 0 for mail access); null = whoever runs the service.
 */
export interface MaildirOwner {
  uid: number;
  gid: number;
}

/** Creates `dir/{tmp,new,cur}` (and missing parents up to `root`), owned by `owner` when given. */
export function ensureMaildir(dir: string, owner: MaildirOwner | null = null, root?: string): void {
  for (const sub of ["tmp", "new", "cur"]) {
    const first = mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
    if (owner === null || first === undefined) continue;
    // chown what was just created, from the first new directory down (not `root` and above).
    let p = join(dir, sub);
    const made: string[] = [];
    while (p.length >= first.length) {
      made.push(p);
      p = join(p, "..");
    }
    for (const d of made) if (root === undefined || d.startsWith(`${root}/`)) chownSync(d, owner.uid, owner.gid);
  }
}

/** `<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>` — unique per process and delivery (maildir++ with the size field). */
function uniqueName(size: number, now: number): string {
  const secs = Math.floor(now / 1000);
  const usecs = (now % 1000) * 1000 + (counter % 1000);
  counter++;
  const host = hostname().replace(/\//g, "\\057").replace(/:/g, "\\072");
  return `${secs}.M${usecs}P${process.pid}Q${counter}.${host},S=${size}`;
}

/** Writes one message into a Maildir's `new/`; returns the file name (the message's id in this mailbox). */
export function deliverToMaildir(
  dir: string,
  raw: Buffer,
  now = Date.now(),
  owner: MaildirOwner | null = null,
  root?: string,
): string {
  ensureMaildir(dir, owner, root);
  const name = uniqueName(raw.length, now);
  const tmp = join(dir, "tmp", name);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    if (owner !== null) chownSync(tmp, owner.uid, owner.gid);
    let off = 0;
    while (off < raw.length) off += writeSync(fd, raw, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, "new", name));
  return name;
}

/** Message file names in `new/` and `cur/` (cur/ names carry `:2,<flags>` after the unique part). */
export function listMaildir(dir: string): { folder: "new" | "cur"; name: string }[] {
  const out: { folder: "new" | "cur"; name: string }[] = [];
  for (const folder of ["new", "cur"] as const) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, folder));
    } catch {
      continue;
    }
    for (const name of names) if (!name.startsWith(".")) out.push({ folder, name });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}
