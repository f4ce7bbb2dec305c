import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { registerKeyCommands } from "../../node/keys/commands.js";
import { encryptKey } from "../../node/keys/keystore.js";
import { helpOf } from "../utils/cliHelp.js";
import { runCLI } from "../utils/devnode.js";
import { TestNetwork, waitFor } from "../utils/network.js";

/**
 * `azora keys` as an operator runs it, and a validator started from an encrypted key. The scrypt cost is
 * lowered (hidden --scrypt-n) except where the node decrypts, to keep the test quick on a busy machine.
 */
const DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
const ALICE_ED25519 = "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
const dir = mkdtempSync(join(tmpdir(), "azora-keys-e2e-"));
const pw = join(dir, "password.txt");
writeFileSync(pw, "a long enough password\n");
const wrongPw = join(dir, "wrong.txt");
writeFileSync(wrongPw, "not the password\n");
let net: TestNetwork | null = null;
/** Each CLI run loads the whole node (seconds on a busy 2-core machine): generous limits, no timing asserted. */
const CLI_TEST_MS = 600_000;
const cli = (args: string[], timeoutMs = 300_000) => runCLI(args, timeoutMs);

afterAll(async () => {
  await net?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function json(run: { code: number | null; output: string }): Record<string, unknown> {
  expect(run.code, run.output).toBe(0);
  const line = run.output.split("\n").find((l) => l.startsWith("{"));
  return JSON.parse(line ?? "null");
}

describe("azora keys", () => {
  it(
    "restore: subkey's //Alice key from the dev phrase, in a 0600 keystore that inspect reads without the password",
    async () => {
      const mnemonic = join(dir, "mnemonic.txt");
      writeFileSync(mnemonic, `${DEV_PHRASE}\n`);
      const file = join(dir, "alice.json");
      const restored = json(
        await cli([
          "keys",
          "restore",
          "--out",
          file,
          "--mnemonic-file",
          mnemonic,
          "--path",
          "//Alice",
          "--password-file",
          pw,
          "--scrypt-n",
          "1024",
          "--json",
        ]),
      );
      expect(restored.publicKey).toBe(ALICE_ED25519);
      expect(restored.ss58Address).toBe("5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const written = readFileSync(file, "utf8");
      expect(written).not.toContain("abf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115");

      // Four independent runs that only read the keystore: at once.
      const [inspectRun, checkedRun, wrong, again] = await Promise.all([
        cli(["keys", "inspect", file, "--json"]),
        cli(["keys", "inspect", file, "--check-password", "--password-file", pw, "--json"]),
        cli(["keys", "inspect", file, "--check-password", "--password-file", wrongPw]),
        cli(["keys", "restore", "--out", file, "--mnemonic-file", mnemonic, "--password-file", pw]),
      ]);
      expect(json(inspectRun)).toMatchObject({ publicKey: ALICE_ED25519, encrypted: true, path: "//Alice" });
      expect(json(checkedRun).passwordChecked).toBe(true);
      expect(wrong.code).toBe(1);
      expect(wrong.output).toContain("wrong password");
      // Never overwritten.
      expect(again.code).toBe(1);
      expect(again.output).toContain("not overwriting");
      expect(readFileSync(file, "utf8"), "the keystore is the one restore wrote").toBe(written);
    },
    CLI_TEST_MS,
  );

  it(
    "generate: prints a new mnemonic once; inspecting that mnemonic gives the key written",
    async () => {
      const file = join(dir, "new.json");
      const made = json(
        await cli([
          "keys",
          "generate",
          "--out",
          file,
          "--words",
          "12",
          "--password-file",
          pw,
          "--scrypt-n",
          "1024",
          "--json",
        ]),
      );
      expect((made.mnemonic as string).split(" ")).toHaveLength(12);
      const m = join(dir, "new-mnemonic.txt");
      writeFileSync(m, made.mnemonic as string);
      const [derived, inspected] = await Promise.all([
        cli(["keys", "inspect", "--mnemonic-file", m, "--json"]),
        cli(["keys", "inspect", file, "--json"]),
      ]);
      expect(json(derived).publicKey).toBe(made.publicKey);
      expect(json(inspected).publicKey).toBe(made.publicKey);
    },
    CLI_TEST_MS,
  );

  it("every keys command has --help", () => {
    // From the tree the CLI registers (the tests above run these commands as `azora` processes).
    for (const c of ["generate", "restore", "inspect"]) {
      expect(helpOf(registerKeyCommands, `keys ${c}`), c).toContain("--password-file");
    }
  });
});

describe("a validator whose key file is encrypted", () => {
  it(
    "refuses to start with a wrong password, and validates with the right one (--validator-password-file)",
    async () => {
      net = await TestNetwork.create({ validators: 1, start: [] });
      const node = net.node(0);
      const keyFile = join(node.home, "validator_key.json");
      const plain = node.validatorKey();
      const keystore = await encryptKey(Buffer.from(plain.seed.slice(2), "hex"), "a long enough password");
      rmSync(keyFile);
      writeFileSync(keyFile, JSON.stringify(keystore), { mode: 0o600 });

      const refused = await cli(["start", "--home", node.home, "--validator-password-file", wrongPw]);
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toContain("wrong password");

      await node.start(300_000, ["--validator-password-file", pw]);
      const status = await waitFor(
        "the validator to sign blocks",
        async () => {
          const s = await node.status();
          return BigInt(s.lastSignedHeight) >= 2n ? s : undefined;
        },
        300_000,
        200,
      );
      expect(status.mode).toBe("validator");
    },
    CLI_TEST_MS,
  );
});
