/**
 * Dovecot's checkpassword helper (the qmail checkpassword interface): Dovecot writes `user\0password\0…` on fd 3
 * and passes the reply program as argv; on success we run it with USER set (it answers Dovecot on fd 4), on a
 * refusal we exit 1, on a temporary failure (Auth unreachable) 111. A password that is a JWT is checked as an access
 * token (that is also how AUTH=XOAUTH2/OAUTHBEARER tokens reach a passdb); anything else is a password, exchanged
 * at Azora Auth's password sign-in. Only the service's own mailboxes may sign in.
 */
import { spawnSync } from "node:child_process";
import { readSync } from "node:fs";
import { createMailAuth } from "./authClient.js";
import type { MailConfig } from "./config.js";
import { MailError } from "./errors.js";

interface HelperConfig {
  auth: MailConfig["auth"];
  users: string[];
}

function readFd3(): string {
  const buf = Buffer.alloc(4096);
  let n = 0;
  for (;;) {
    let r = 0;
    try {
      r = readSync(3, buf, n, buf.length - n, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      throw e;
    }
    if (r === 0 || n + r >= buf.length) return buf.subarray(0, n + r).toString("utf8");
    n += r;
  }
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

async function main(): Promise<number> {
  const [cfgB64, reply, ...replyArgs] = process.argv.slice(2);
  const cfg = JSON.parse(Buffer.from(cfgB64, "base64").toString("utf8")) as HelperConfig;
  const [user = "", secret = ""] = readFd3().split("\0");
  const mailbox = user.toLowerCase();
  if (!cfg.users.includes(mailbox)) return 1;
  const auth = createMailAuth(cfg.auth);
  try {
    const email = JWT.test(secret) ? await auth.bearer(mailbox, secret) : await auth.password(mailbox, secret);
    if (email !== mailbox) return 1;
  } catch (e) {
    return e instanceof MailError ? 1 : 111;
  }
  const r = spawnSync(reply, replyArgs, { stdio: [0, 1, 2, 3, 4], env: { ...process.env, USER: mailbox } });
  return r.status ?? 111;
}

main().then(
  (code) => process.exit(code),
  () => process.exit(111),
);
