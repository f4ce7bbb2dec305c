import { Contract, getAddress, Interface, type InterfaceAbi, type JsonRpcProvider, sha256, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadArtifact } from "../../contracts/artifacts.js";
import { DEV_KEYS, startInProcessNode } from "../utils/devnode.js";
import { ledgerProvider, waitReceipt } from "./helpers.js";
import { intrinsic } from "./marketFixture.js";

/**
 * The model registry (0x…0A08, IModelRegistry) through JSON-RPC: a model registers once under the
 * sha256 of its file, with its URI and JSON metadata; views, enumeration, every refusal with its
 * decoded error, and the gas of a registration measured from the receipt.
 */
const REGISTRY = getAddress("0x0000000000000000000000000000000000000a08");
const iface = new Interface(loadArtifact("IModelRegistry").abi as InterfaceAbi);

let node: Awaited<ReturnType<typeof startInProcessNode>>;
let provider: JsonRpcProvider;
let alice: Wallet;
let bob: Wallet;
let registry: Contract;

beforeAll(async () => {
  node = await startInProcessNode();
  provider = ledgerProvider(node.url);
  alice = new Wallet(DEV_KEYS[1], provider);
  bob = new Wallet(DEV_KEYS[2], provider);
  registry = new Contract(REGISTRY, iface, provider);
});

afterAll(async () => {
  provider?.destroy();
  await node?.cleanup();
});

const as = (w: Wallet) => registry.connect(w) as Contract;

async function refused(w: Wallet, args: unknown[]): Promise<[string, unknown[]]> {
  try {
    await as(w).registerModel.staticCall(...args);
  } catch (e) {
    const parsed = iface.parseError((e as { data: string }).data)!;
    // Mined too: status 0, and the model count unchanged.
    const count = await registry.modelCount();
    const sent = await as(w).registerModel.send(...args, { gasLimit: 1_000_000n });
    expect((await waitReceipt(provider, sent.hash)).status).toBe(0);
    expect(await registry.modelCount()).toBe(count);
    return [parsed.name, [...parsed.args]];
  }
  throw new Error("expected a revert");
}

const MOONSHINE = sha256(new TextEncoder().encode("moonshine-tiny encoder_model.onnx bytes"));
const META = JSON.stringify({ format: "onnx", opset: 17, inputs: [{ name: "input_values", dtype: "float32" }] });

describe("model registry", () => {
  it("registers a model once: views, enumeration, ModelRegistered, gas", async () => {
    expect(await registry.modelCount()).toBe(0n);
    expect(await registry.isRegistered(MOONSHINE)).toBe(false);
    const uri = "npm:@moonshine/tiny@1.0.0/encoder_model.onnx";
    const sent = await as(alice).registerModel(MOONSHINE, uri, META);
    const r = await waitReceipt(provider, sent.hash);
    expect(r.status).toBe(1);
    const ts = BigInt((await provider.getBlock(r.blockNumber))!.timestamp);
    const [log] = r.logs.map((l) => iface.parseLog(l)!);
    expect([log.name, ...log.args]).toEqual(["ModelRegistered", MOONSHINE, alice.address, uri, META]);
    expect([...(await registry.model(MOONSHINE))]).toEqual([alice.address, ts, uri, META]);
    expect(await registry.isRegistered(MOONSHINE)).toBe(true);
    expect(await registry.modelCount()).toBe(1n);
    expect(await registry.modelAt(0)).toBe(MOONSHINE);
    // 700 + 5,000 base; head and count reads; count, index and head writes; each string a length word plus
    // 5,200 per 32-byte word; the event (3 topics, two strings as data); one word returned.
    const words = (t: string) => BigInt(Math.ceil(new TextEncoder().encode(t).length / 32));
    const expected =
      700n +
      5_000n +
      2n * 2_100n +
      3n * 5_000n +
      (5_000n + words(uri) * 5_200n) +
      (5_000n + words(META) * 5_200n) +
      (375n + 3n * 375n + 8n * (64n + 64n + 32n * (words(uri) + words(META)))) +
      200n;
    expect(r.gasUsed - intrinsic((await provider.getTransaction(r.hash))!.data)).toBe(expected);

    expect(await refused(bob, [MOONSHINE, "ipfs://other", "{}"])).toEqual(["ModelAlreadyRegistered", [MOONSHINE]]);
  });

  it("refuses a zero hash, an empty or long URI and metadata that is not a JSON object", async () => {
    const sha = sha256(new TextEncoder().encode("another model"));
    expect(await refused(bob, [`0x${"00".repeat(32)}`, "ipfs://x", "{}"])).toEqual(["ModelInvalid", ["sha256"]]);
    expect(await refused(bob, [sha, "", "{}"])).toEqual(["ModelInvalid", ["uri"]]);
    expect(await refused(bob, [sha, "u".repeat(1025), "{}"])).toEqual(["ModelInvalid", ["uri"]]);
    for (const bad of ["", "[]", "null", "42", "{", '"text"', "{'a':1}"]) {
      expect(await refused(bob, [sha, "ipfs://x", bad]), bad).toEqual(["ModelInvalid", ["metadataJSON"]]);
    }
    expect(await as(bob).registerModel.staticCall(sha, "u".repeat(1024), "{}")).toBe(true);
  });

  it("unknown models and indexes are named errors", async () => {
    const sha = sha256(new TextEncoder().encode("nobody registered this"));
    await expect(registry.model(sha)).rejects.toMatchObject({ revert: { name: "ModelNotFound", args: [sha] } });
    await expect(registry.modelAt(5)).rejects.toMatchObject({
      revert: { name: "ModelIndexOutOfRange", args: [5n, 1n] },
    });
  });
});
