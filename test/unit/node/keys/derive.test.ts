import { describe, expect, it } from "vitest";
import { Ed25519Signer, Ed25519Verifier } from "../../../../node/crypto/ed25519.js";
import { deriveKey, generateMnemonic, normalizeMnemonic, ss58Address } from "../../../../node/keys/derive.js";
import { KeyErrorCode } from "../../../../node/keys/errors.js";

/** Substrate's development phrase (sp_core::crypto::DEV_PHRASE): what `subkey` uses for //Alice, //Bob, … */
const DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

/**
 * Public keys as `subkey inspect --scheme ed25519 "<DEV_PHRASE><path>"` prints them: //Alice and //Bob are
 * the GRANDPA keys of every Substrate dev chain (also in the polkadot-js API tests, with Alice's secret
 * seed 0xabf8e5bd…), the bare phrase and //1234 are the vectors of Kagome's ed25519 provider tests.
 */
const SUBKEY_VECTORS: { path: string; publicKey: string; ss58?: string; seed?: string }[] = [
  { path: "", publicKey: "0x345071da55e5dccefaaa440339415ef9f2663338a38f7da0df21be5ab4e055ef" },
  {
    path: "//Alice",
    publicKey: "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee",
    ss58: "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu",
    seed: "0xabf8e5bdbe30c65656c0a3cbd181ff8a56294a69dfedd27982aace4a76909115",
  },
  { path: "//Bob", publicKey: "0xd17c2d7823ebf260fd138f2d7e27d114c0145d968b5ff5006125f2414fadae69" },
  { path: "//1234", publicKey: "0x38ebc0798b6ad60b7201fb5402cd8bc75fb14ca9e91f99a35b62b3b0fa88d64b" },
];

describe("validator keys from a mnemonic, derived as Substrate derives ed25519", () => {
  for (const v of SUBKEY_VECTORS) {
    it(`the dev phrase${v.path === "" ? "" : ` at ${v.path}`} gives subkey's public key`, async () => {
      const k = await deriveKey(DEV_PHRASE, v.path);
      expect(hex(k.publicKey)).toBe(v.publicKey);
      if (v.seed !== undefined) expect(hex(k.seed)).toBe(v.seed);
      if (v.ss58 !== undefined) expect(ss58Address(k.publicKey)).toBe(v.ss58);
    });
  }

  it("the node's node:crypto signer makes the same key from the seed, and its signatures verify", async () => {
    const k = await deriveKey(DEV_PHRASE, "//Alice");
    const signer = new Ed25519Signer(k.seed);
    expect(hex(signer.publicKey)).toBe(hex(k.publicKey));
    const msg = new TextEncoder().encode("vote");
    expect(new Ed25519Verifier().verify(k.publicKey, msg, signer.sign(msg))).toBe(true);
  });

  it("ignores case and extra whitespace in the phrase", async () => {
    const messy = `  ${DEV_PHRASE.toUpperCase().split(" ").join("  \n")} `;
    expect(normalizeMnemonic(messy)).toBe(DEV_PHRASE);
    expect(hex((await deriveKey(messy)).publicKey)).toBe(SUBKEY_VECTORS[0].publicKey);
  });

  it("KEY_ERROR_INVALID_MNEMONIC: a wrong checksum word or a word off the list", async () => {
    for (const bad of [DEV_PHRASE.replace("walk", "wall"), DEV_PHRASE.replace("bottom", "bottomx"), "abandon"]) {
      await expect(deriveKey(bad), bad).rejects.toMatchObject({ code: KeyErrorCode.INVALID_MNEMONIC });
    }
  });

  it("KEY_ERROR_INVALID_PATH: soft junctions (ed25519 has none) and malformed paths", async () => {
    for (const path of ["/soft", "//a/b", "Alice", "//"]) {
      await expect(deriveKey(DEV_PHRASE, path), path).rejects.toMatchObject({ code: KeyErrorCode.INVALID_PATH });
    }
  });

  it("generates valid mnemonics of the asked length, each a different key", async () => {
    const a = await generateMnemonic(24);
    const b = await generateMnemonic(12);
    expect(a.split(" ")).toHaveLength(24);
    expect(b.split(" ")).toHaveLength(12);
    expect(hex((await deriveKey(a)).publicKey)).not.toBe(hex((await deriveKey(b)).publicKey));
  });
});
