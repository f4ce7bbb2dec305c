/**
 * IMAP through Dovecot (Debian's dovecot-imapd 2.3) over the service's own Maildirs. The service writes a
 * dovecot.conf under `<dataDir>/dovecot/` (base_dir, state and log there too: no system paths), starts
 * `dovecot -F -c <that>` as a child and stops it by pid. Passwords and access tokens are checked by our
 * checkpassword helper (`imapCheckpassword.ts`) against Azora Auth: a password is exchanged at Auth's password
 * sign-in, a JWT (as the password, or through AUTH=XOAUTH2/OAUTHBEARER) is verified against Auth's JWKS.
 *
 * Privileges: run as a normal user, every Dovecot process runs as that user. Run as root, Dovecot insists on
 * unprivileged login and mail processes: logins run as `dovenull`, mail access as `dovecot` (the users the Debian
 * package creates), and the service writes mailbox files owned by that user (`mailOwner()`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../runtime/lib/logger.js";
import type { MaildirOwner } from "./maildir.js";
import { firstUntraversable } from "./traversable.js";

export interface DovecotOptions {
  dataDir: string;
  /** Root of `<domain>/<user>/Maildir` (the service's mailboxes). */
  maildirRoot: string;
  host: string;
  port: number;
  binary: string;
  /** Arguments for the checkpassword helper (JSON, base64 in the wrapper script): auth URL, issuer, mailboxes. */
  helperConfig: unknown;
  /** PEM files: STARTTLS on IMAP and no plaintext authentication before it. */
  tls?: { certFile: string; keyFile: string };
  log: Logger;
}

export interface Dovecot {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

function idOf(name: string, flag: "-u" | "-g"): number {
  return Number(execFileSync("id", [flag, name], { encoding: "utf8" }).trim());
}

/** Who must own mailbox files for Dovecot to read them: `dovecot` when we run as root, else nobody in particular. */
export function mailOwner(): MaildirOwner | null {
  if (!isRoot()) return null;
  return { uid: idOf("dovecot", "-u"), gid: idOf("dovecot", "-g") };
}

/** The compiled helper next to this module, or under dist/ when this module runs from source (tests). */
function helperPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, "imapCheckpassword.js");
  return existsSync(sibling) ? sibling : join(here, "../../dist/services/mail/imapCheckpassword.js");
}

export function dovecotConf(o: DovecotOptions & { run: string; checkpassword: string }): string {
  const me = userInfo().username;
  const [internal, login] = isRoot() ? ["dovecot", "dovenull"] : [me, me];
  return `# Written by Azora Mail; regenerated on every start.
base_dir = ${o.run}
state_dir = ${join(o.dataDir, "dovecot", "state")}
log_path = ${join(o.dataDir, "dovecot", "dovecot.log")}
protocols = imap
listen = ${o.host}
${
  o.tls === undefined
    ? "ssl = no\n# Loopback or behind the operator's TLS terminator: plain auth is allowed on this listener.\ndisable_plaintext_auth = no"
    : `ssl = required\nssl_cert = <${o.tls.certFile}\nssl_key = <${o.tls.keyFile}\ndisable_plaintext_auth = yes`
}
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = maildir:${o.maildirRoot}/%d/%n/Maildir
default_internal_user = ${internal}
default_internal_group = ${internal}
default_login_user = ${login}
first_valid_uid = 1
passdb {
  driver = checkpassword
  args = ${o.checkpassword}
}
userdb {
  driver = static
  args = home=${o.maildirRoot}/%d/%n
}
service imap-login {
  inet_listener imap {
    address = ${o.host}
    port = ${o.port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
# The checkpassword helper is a Node process: it reserves more address space than Dovecot's default 256M limit.
service auth {
  vsz_limit = 0
}
`;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function imapGreets(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    let buf = "";
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.on("data", (d) => {
      buf += d.toString();
      if (/^\* OK .*ready/m.test(buf)) done(true);
    });
    s.on("error", () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

export async function startDovecot(o: DovecotOptions): Promise<Dovecot> {
  const dir = join(o.dataDir, "dovecot");
  const run = join(dir, "run");
  mkdirSync(run, { recursive: true });
  mkdirSync(join(dir, "state"), { recursive: true });
  mkdirSync(o.maildirRoot, { recursive: true });
  if (isRoot()) {
    // Dovecot's unprivileged processes must traverse to base_dir and the Maildirs (not list them).
    for (const d of [o.dataDir, dir, run, o.maildirRoot]) chmodSync(d, 0o711);
  }
  const checkpassword = join(dir, "checkpassword.sh");
  const cfg = Buffer.from(JSON.stringify(o.helperConfig)).toString("base64");
  writeFileSync(
    checkpassword,
    `#!/bin/sh\n# Azora Mail's checkpassword for Dovecot (argv: the checkpassword-reply program).\nexec '${process.execPath}' '${helperPath()}' '${cfg}' "$@"\n`,
    { mode: 0o755 },
  );
  chmodSync(checkpassword, 0o755);
  if (isRoot()) {
    // Not fatal (Dovecot serves, mail is delivered), but every IMAP login would fail with an opaque "Command failed".
    for (const path of [checkpassword, helperPath(), process.execPath]) {
      const closed = firstUntraversable(path);
      if (closed === undefined) continue;
      o.log.error("mail: IMAP logins will fail: Dovecot's auth process (user dovecot) cannot reach a file it runs", {
        path,
        directory: closed,
        fix: `chmod o+x ${closed}, or run Azora Mail as a normal user`,
      });
    }
  }
  const port = o.port === 0 ? await freePort(o.host) : o.port;
  const confFile = join(dir, "dovecot.conf");
  writeFileSync(confFile, dovecotConf({ ...o, port, run, checkpassword }));
  const child: ChildProcess = spawn(o.binary, ["-F", "-c", confFile], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d) => {
    output += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const t0 = Date.now();
  while (!(await imapGreets(o.host, port))) {
    if (!alive || Date.now() - t0 > 60_000) {
      if (alive) child.kill("SIGTERM");
      throw new Error(`dovecot did not start (see ${join(dir, "dovecot.log")}): ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  o.log.info("mail: dovecot IMAP started", { pid: child.pid, port });
  return {
    pid: child.pid as number,
    port,
    async stop() {
      if (!alive) return;
      process.kill(child.pid as number, "SIGTERM");
      await exited;
    },
  };
}
