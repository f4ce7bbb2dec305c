import { MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, Address } from "@ethereumjs/util";
import { HDNodeWallet } from "ethers";
import { describe, expect, it } from "vitest";
import { buildGenesis, genesisContext } from "../../../genesis/build.js";
import {
  DEV_ACCOUNT_COUNT,
  DEV_KEYS,
  DEV_MNEMONIC,
  DEV_VALIDATOR_SEED_HEX,
  devAccountPath,
  devnetGenesis,
} from "../../../genesis/devnet.js";
import devnetJSON from "../../../genesis/devnet.json" with { type: "json" };
import { installPredeploys } from "../../../genesis/predeploys.js";
import { GenesisError, parseGenesis } from "../../../genesis/spec.js";
import { publicKeyFromSeed } from "../../../node/crypto/ed25519.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { installModules, NATIVE_MODULES } from "../../../runtime/modules/index.js";
import { bytesToHex, hexToBytes } from "../../../runtime/primitives/bytes.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";

const emptyStore = () => new TrieNodeStore({ getNode: async () => undefined });

describe("devnet genesis", () => {
  it("has the pinned genesis hash (changing genesis or the header format must be deliberate)", async () => {
    const spec = devnetGenesis();
    const g = await buildGenesis(spec, createChainCommon(spec.chainId), emptyStore());
    expect(bytesToHex(g.hash)).toBe("0x502ed47fa479895f4699774b01d64f7d279753e2e31af761e8cd83c13db57e00");
    expect(bytesToHex(g.header.stateRoot)).toBe("0x77e15677348299b53455ada76e9277685f8442301bafab1cefb7bddc8df0fd19");
  });

  it("gets the same state root as ethereumjs's stock in-memory state manager", async () => {
    const spec = devnetGenesis();
    const common = createChainCommon(spec.chainId);
    const stock = new MerkleStateManager({ common });
    for (const a of spec.alloc) await stock.putAccount(new Address(a.address), new Account(a.nonce, a.balance));
    await installModules(stock, NATIVE_MODULES, spec.modules, genesisContext(spec));
    await installPredeploys(stock, common);
    const g = await buildGenesis(spec, common, emptyStore());
    expect(bytesToHex(g.header.stateRoot)).toBe(bytesToHex(await stock.getStateRoot()));
  });

  it("uses its own chain id and a block gas limit of at least 30M", () => {
    const spec = devnetGenesis();
    expect(spec.chainId).not.toBe(1337n);
    expect(spec.chainId).not.toBe(31337n);
    expect(spec.gasLimit).toBeGreaterThanOrEqual(30_000_000n);
  });

  it("funds exactly the 10 accounts of the test mnemonic (m/44'/60'/0'/0/i), whose keys DEV_KEYS lists", () => {
    const spec = devnetGenesis();
    const funded = new Set(spec.alloc.map((a) => bytesToHex(a.address)));
    for (let i = 0; i < DEV_ACCOUNT_COUNT; i++) {
      const w = HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i));
      expect(funded.has(w.address.toLowerCase() as `0x${string}`), `account ${i} ${w.address}`).toBe(true);
      expect(DEV_KEYS[i], `DEV_KEYS[${i}]`).toBe(w.privateKey);
    }
    for (const a of spec.alloc) expect(a.balance).toBeGreaterThanOrEqual(10n ** 24n);
  });

  it("names the dev validator key in its validator set", () => {
    const spec = devnetGenesis();
    const pub = publicKeyFromSeed(hexToBytes(`0x${DEV_VALIDATOR_SEED_HEX}`));
    expect(bytesToHex(spec.validators[0].publicKey)).toBe(bytesToHex(pub));
  });

  it("commits to every parameter: a different timeout gives a different genesis hash", async () => {
    const spec = devnetGenesis();
    const json = structuredClone(devnetJSON);
    json.consensus.timeoutProposeMs += 1;
    const other = parseGenesis(json);
    const common = createChainCommon(spec.chainId);
    const a = await buildGenesis(spec, common, emptyStore());
    const b = await buildGenesis(other, common, emptyStore());
    expect(bytesToHex(a.header.stateRoot)).toBe(bytesToHex(b.header.stateRoot));
    expect(bytesToHex(a.hash)).not.toBe(bytesToHex(b.hash));
  });

  it.each([
    ["chainId", { chainId: 1337 }],
    ["gasLimit", { gasLimit: "29999999" }],
    ["validators", { validators: [] }],
    ["baseFeePerGas", { baseFeePerGas: "1" }],
    ["alloc.0x00", { alloc: { "0x00": { balance: "1" } } }],
  ])("rejects a bad %s with GenesisError naming the field", (field, patch) => {
    const json = { ...structuredClone(devnetJSON), ...patch };
    expect(() => parseGenesis(json)).toThrow(GenesisError);
    try {
      parseGenesis(json);
    } catch (e) {
      expect((e as GenesisError).type.field).toBe(field);
    }
  });
});
