import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { KeyError, KeyErrorCode } from "./errors.js";

/** The environment variable a validator key's password may come from. */
export const VALIDATOR_PASSWORD_ENV = "AZORA_VALIDATOR_KEY_PASSWORD";

/**
 * Where a password comes from, first match wins: a file (its first line), the environment variable, then
 * a hidden prompt on the terminal. Never from a command-line value: `ps` shows arguments to every user.
 */
export interface PasswordSource {
  file?: string;
  /** Name of the environment variable (default VALIDATOR_PASSWORD_ENV). */
  env?: string;
  /** Ask on the terminal when stdin is one (default true). */
  prompt?: boolean;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  process.stderr.write(question);
  return new Promise((resolve) =>
    rl.question("", (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    }),
  );
}

export async function readPassword(
  src: PasswordSource,
  ctx: { file: string; confirm?: boolean; purpose: string },
): Promise<string> {
  if (src.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.file, "utf8");
    } catch (e) {
      throw new KeyError({ code: KeyErrorCode.BAD_FILE, file: src.file, reason: (e as Error).message });
    }
    return text.split(/\r?\n/)[0] ?? "";
  }
  const fromEnv = process.env[src.env ?? VALIDATOR_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if ((src.prompt ?? true) && process.stdin.isTTY === true) {
    const first = await promptHidden(`${ctx.purpose}: `);
    if (ctx.confirm === true && (await promptHidden("repeat it: ")) !== first) {
      throw new KeyError({ code: KeyErrorCode.NO_PASSWORD, file: ctx.file }, "the passwords differ");
    }
    return first;
  }
  throw new KeyError(
    { code: KeyErrorCode.NO_PASSWORD, file: ctx.file },
    `${ctx.file}: ${ctx.purpose} needed: give a password file, set ${src.env ?? VALIDATOR_PASSWORD_ENV}, or run on a terminal`,
  );
}
