import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { publicKeyFromSeed } from "../../../../node/crypto/ed25519.js";
import { KeyErrorCode } from "../../../../node/keys/errors.js";
import { DEFAULT_SCRYPT, decryptKey, encryptKey, type Keystore } from "../../../../node/keys/keystore.js";
import { VALIDATOR_PASSWORD_ENV } from "../../../../node/keys/password.js";
import { loadValidatorSeed, readValidatorKeyFile, writeKeyFile } from "../../../../node/keys/validatorKey.js";

/** A cheap scrypt cost keeps these tests quick; one test runs the default cost. */
const FAST = { n: 2 ** 10, r: 8, p: 1 };
const dir = mkdtempSync(join(tmpdir(), "azora-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

describe("encrypted validator keystore (scrypt + AES-256-GCM)", () => {
  it("round-trips the seed with the default scrypt cost; the public key is readable without the password", async () => {
    const seed = new Uint8Array(randomBytes(32));
    const ks = await encryptKey(seed, "correct horse battery");
    expect(ks.crypto.kdfparams.n).toBe(DEFAULT_SCRYPT.n);
    expect(ks.publicKey).toBe(hex(publicKeyFromSeed(seed)));
    expect(JSON.stringify(ks)).not.toContain(hex(seed).slice(2));
    expect(hex(await decryptKey(ks, "correct horse battery", "k.json"))).toBe(hex(seed));
  });

  it("KEY_ERROR_WRONG_PASSWORD for a wrong password, and for every altered byte it authenticates", async () => {
    const seed = new Uint8Array(randomBytes(32));
    const ks = await encryptKey(seed, "password-one", { scrypt: FAST });
    await expect(decryptKey(ks, "password-two", "k.json")).rejects.toMatchObject({
      code: KeyErrorCode.WRONG_PASSWORD,
    });
    const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith("0") ? "1" : "0"}`;
    const altered: Keystore[] = [
      { ...ks, crypto: { ...ks.crypto, ciphertext: flip(ks.crypto.ciphertext) } },
      { ...ks, crypto: { ...ks.crypto, tag: flip(ks.crypto.tag) } },
      { ...ks, crypto: { ...ks.crypto, iv: flip(ks.crypto.iv) } },
      { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, salt: flip(ks.crypto.kdfparams.salt) } } },
      // Another key's public key in the clear part: bound as associated data, so refused.
      { ...ks, publicKey: hex(publicKeyFromSeed(new Uint8Array(randomBytes(32)))) },
    ];
    for (const [i, a] of altered.entries()) {
      await expect(decryptKey(a, "password-one", "k.json"), `alteration ${i}`).rejects.toMatchObject({
        code: KeyErrorCode.WRONG_PASSWORD,
      });
    }
  });

  it("KEY_ERROR_BAD_FILE for scrypt costs a file may not ask for, and malformed fields", async () => {
    const ks = await encryptKey(new Uint8Array(32).fill(7), "password-one", { scrypt: FAST });
    const bad: unknown[] = [
      { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 2 ** 22 } } },
      { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 1000 } } },
      { ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, p: 1000 } } },
      { ...ks, crypto: { ...ks.crypto, cipher: "aes-128-ctr" } },
      { ...ks, crypto: { ...ks.crypto, ciphertext: "0x1234" } },
      { ...ks, version: 2 },
    ];
    for (const [i, b] of bad.entries()) {
      await expect(decryptKey(b, "password-one", "k.json"), `case ${i}`).rejects.toMatchObject({
        code: KeyErrorCode.BAD_FILE,
      });
    }
  });

  it("KEY_ERROR_WEAK_PASSWORD below 8 characters", async () => {
    await expect(encryptKey(new Uint8Array(32), "short", { scrypt: FAST })).rejects.toMatchObject({
      code: KeyErrorCode.WEAK_PASSWORD,
    });
  });
});

describe("validator key files as the node loads them", () => {
  it("a keystore: written 0600, never overwritten; decrypted with the password from a file or the environment", async () => {
    const seed = new Uint8Array(randomBytes(32));
    const file = join(dir, "validator.json");
    writeKeyFile(file, await encryptKey(seed, "file password", { scrypt: FAST }));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => writeKeyFile(file, {} as Keystore)).toThrow(expect.objectContaining({ code: KeyErrorCode.EXISTS }));
    const pwFile = join(dir, "pw.txt");
    writeFileSync(pwFile, "file password\nsecond line ignored\n");
    expect(hex(await loadValidatorSeed(file, { file: pwFile, prompt: false }))).toBe(hex(seed));

    process.env[VALIDATOR_PASSWORD_ENV] = "file password";
    try {
      expect(hex(await loadValidatorSeed(file, { prompt: false }))).toBe(hex(seed));
      process.env[VALIDATOR_PASSWORD_ENV] = "not it at all";
      await expect(loadValidatorSeed(file, { prompt: false })).rejects.toMatchObject({
        code: KeyErrorCode.WRONG_PASSWORD,
      });
    } finally {
      delete process.env[VALIDATOR_PASSWORD_ENV];
    }
    await expect(loadValidatorSeed(file, { prompt: false })).rejects.toMatchObject({
      code: KeyErrorCode.NO_PASSWORD,
    });
  });

  it("the plain devnet key `azora init` writes loads without a password; anything else is KEY_ERROR_BAD_FILE", async () => {
    const seed = new Uint8Array(randomBytes(32));
    const plain = join(dir, "plain.json");
    writeFileSync(plain, JSON.stringify({ seed: hex(seed), publicKey: hex(publicKeyFromSeed(seed)) }));
    expect(hex(await loadValidatorSeed(plain, { prompt: false }))).toBe(hex(seed));
    expect(readValidatorKeyFile(plain).kind).toBe("plain");
    const junk = join(dir, "junk.json");
    for (const text of ["{}", '{"seed":"0x12"}', "not json"]) {
      writeFileSync(junk, text);
      expect(() => readValidatorKeyFile(junk), text).toThrow(expect.objectContaining({ code: KeyErrorCode.BAD_FILE }));
    }
    expect(readFileSync(plain, "utf8")).toContain(hex(seed)); // untouched
  });
});
