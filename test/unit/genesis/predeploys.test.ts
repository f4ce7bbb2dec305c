import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createAddressFromString } from "@ethereumjs/util";
import { getCreate2Address, getCreateAddress, keccak256 } from "ethers";
import { describe, expect, it } from "vitest";
import { buildGenesis } from "../../../genesis/build.js";
import { devnetGenesis } from "../../../genesis/devnet.js";
import data from "../../../genesis/predeploys/predeploys.json" with { type: "json" };
import { PREDEPLOYS } from "../../../genesis/predeploys.js";
import { createChainCommon } from "../../../runtime/evm/common.js";
import { TrieNodeStore } from "../../../runtime/state/trieNodeStore.js";
import { openWorldState, READER_STATE_OPTIONS } from "../../../runtime/state/worldState.js";

const require = createRequire(import.meta.url);

/** Runtime code hashes pinned: changing a predeploy's bytecode must be deliberate. */
const PINNED_CODE_HASHES: Record<string, string> = {
  // Arachnid's deterministic-deployment-proxy: the code hash every chain has at 0x4e59…956c.
  "0x4e59b44847b379578588920ca78fbf26c0b4956c": "0x2fa86add0aed31f33a762c9d88e807c475bd51d0f52bd0955754b2608f7e4989",
  // Multicall3: the code hash every chain has at 0xcA11…CA11.
  "0xca11bde05977b3631167028862be2a173976ca11": "0xd5c15df687b16f2ff992fc8d767b4216323184a2bbc6ee2f9c398c318e770891",
  // Permit2 as on Ethereum mainnet.
  "0x000000000022d473030f116ddee9f6b43ac78ba3": "0xa1ad0529565c25202190d4ae7f75d4ca08dc432cc760544ee7d0313b68e82ecd",
  // EntryPoint v0.8 as its creation code makes it on chain 16730 (immutables: SenderCreator, EIP-712 domain).
  "0x4337084d9e255ff0702461cf8895ce9e3b5ff108": "0x877329a3a1a932db6069e8a9d5e7efb7c279b3f1d5ecc46909fc2e1953ff3857",
  "0x449ed7c3e6fee6a97311d4b55475df59c44add33": "0xc69a1b3a000d570bc86eb096ee63a9014a17951ad616d720882ec61432b00fcf",
};

async function devnetState() {
  const spec = devnetGenesis();
  const common = createChainCommon(spec.chainId);
  const store = new TrieNodeStore({ getNode: async () => undefined });
  const g = await buildGenesis(spec, common, store);
  return openWorldState(common, store, g.header.stateRoot, READER_STATE_OPTIONS);
}

describe("predeploys", () => {
  it("are in the devnet genesis at their canonical addresses with the pinned code hashes", async () => {
    const state = await devnetState();
    expect(PREDEPLOYS.map((p) => p.address).sort()).toEqual(Object.keys(PINNED_CODE_HASHES).sort());
    for (const [address, hash] of Object.entries(PINNED_CODE_HASHES)) {
      const code = await state.getCode(createAddressFromString(address));
      expect(keccak256(code), address).toBe(hash);
      expect((await state.getAccount(createAddressFromString(address)))?.nonce, address).toBeGreaterThanOrEqual(1n);
    }
  });

  it("EntryPoint v0.8: the committed creation code is @account-abstraction/contracts 0.8.0's, and lands at the canonical address", () => {
    const artifact = require("@account-abstraction/contracts/artifacts/EntryPoint.json") as { bytecode: string };
    expect(data.entryPointV08.initCode).toBe(artifact.bytecode);
    // The CREATE2 address commits to the exact creation code: any other build lands elsewhere.
    expect(
      getCreate2Address(
        data.create2Deployer.address,
        data.entryPointV08.salt,
        keccak256(artifact.bytecode),
      ).toLowerCase(),
    ).toBe(data.entryPointV08.address);
    expect(getCreateAddress({ from: data.entryPointV08.address, nonce: 1 }).toLowerCase()).toBe(
      data.entryPointV08.senderCreator,
    );
  });

  it("the CREATE2 deployer and Multicall3 are byte-identical to what @foundry-rs/anvil ships", () => {
    // Anvil's binary carries both (it predeploys the CREATE2 deployer, and embeds Multicall3's runtime).
    const binary = readFileSync(require.resolve("@foundry-rs/anvil-linux-amd64/bin/anvil"));
    for (const p of [data.create2Deployer, data.multicall3]) {
      const code = Buffer.from(p.code.slice(2), "hex");
      expect(binary.indexOf(code), p.address).toBeGreaterThan(0);
    }
  });
});
