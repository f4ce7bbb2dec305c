import { keccak256 } from "../../primitives/hash.js";
import { type AbiValue, encodeArgs, tupleOf, uintWord, wordToBigInt } from "../abi.js";
import { addressTopic } from "../erc20Events.js";
import { customError, type FunctionDef, type ModuleCall, namedSlot, storageSlot } from "../host.js";
import { MODULE_ADDRESS, moduleAddress, type NativeModule } from "../registry.js";

/**
 * Model registry (`0x…0A08`, `contracts/interfaces/IModelRegistry.sol`): models by the sha256 of
 * their file (or of a manifest listing the files' hashes), registered once with a URI and JSON
 * metadata. Workers load model files from disk and refuse any whose hash is not the registered id.
 * The registry stores and enumerates; it judges nothing about the model. README.md here.
 */
export const MODEL_REGISTRY_ADDRESS = moduleAddress(MODULE_ADDRESS.modelRegistry);

export const MODELS_GAS = { view: 300n, register: 5_000n } as const;
export const MAX_MODEL_URI_BYTES = 1024;

const COUNT = namedSlot("azora.models.count");
const MODELS = namedSlot("azora.models.models");
const INDEX = namedSlot("azora.models.index");

/** Words of a model at keccak256(models ‖ sha256) + field. */
enum F {
  /** owner | registeredAt << 160 */
  Head = 0,
  URI = 1,
  Metadata = 2,
}

const M160 = (1n << 160n) - 1n;
const fieldSlot = (sha: Uint8Array, f: F) =>
  uintWord((wordToBigInt(storageSlot(MODELS, sha)) + BigInt(f)) % 2n ** 256n);

const REGISTERED = keccak256(new TextEncoder().encode("ModelRegistered(bytes32,address,string,string)"));
const ModelErrors = {
  already: (sha: Uint8Array) => customError("ModelAlreadyRegistered(bytes32)", ["bytes32"], [sha]),
  notFound: (sha: Uint8Array) => customError("ModelNotFound(bytes32)", ["bytes32"], [sha]),
  outOfRange: (index: bigint, count: bigint) =>
    customError("ModelIndexOutOfRange(uint256,uint256)", ["uint256", "uint256"], [index, count]),
  invalid: (field: string) => customError("ModelInvalid(string)", ["string"], [field]),
};

/** A JSON object ({…}): JSON.parse is exact and the same on every node (ECMA-404 grammar). */
function isJSONObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

async function register(call: ModuleCall, sha: Uint8Array, uri: string, metadata: string): Promise<void> {
  if (wordToBigInt(sha) === 0n) throw ModelErrors.invalid("sha256");
  const uriBytes = new TextEncoder().encode(uri).length;
  if (uriBytes === 0 || uriBytes > MAX_MODEL_URI_BYTES) throw ModelErrors.invalid("uri");
  if (!isJSONObject(metadata)) throw ModelErrors.invalid("metadataJSON");
  if ((await call.load(fieldSlot(sha, F.Head))) !== 0n) throw ModelErrors.already(sha);
  const n = await call.load(COUNT);
  await call.store(COUNT, n + 1n);
  await call.store(storageSlot(INDEX, n), wordToBigInt(sha));
  await call.store(fieldSlot(sha, F.Head), wordToBigInt(call.caller.bytes) | (call.blockTimestamp() << 160n));
  await call.storeString(fieldSlot(sha, F.URI), uri);
  await call.storeString(fieldSlot(sha, F.Metadata), metadata);
  call.emit([REGISTERED, sha, addressTopic(call.caller)], encodeArgs(["string", "string"], [uri, metadata]));
}

const MODEL = tupleOf("address", "uint64", "string", "string");
const view = (sig: string, inputs: FunctionDef["inputs"], outputs: FunctionDef["outputs"], run: FunctionDef["run"]) =>
  ({ sig, inputs, outputs, mutates: false, gas: MODELS_GAS.view, run }) satisfies FunctionDef;

const functions: FunctionDef[] = [
  {
    sig: "registerModel(bytes32,string,string)",
    inputs: ["bytes32", "string", "string"],
    outputs: ["bool"],
    mutates: true,
    gas: MODELS_GAS.register,
    run: async (call, [sha, uri, metadata]) => {
      await register(call, sha as Uint8Array, uri as string, metadata as string);
      return [true];
    },
  },
  view("model(bytes32)", ["bytes32"], [MODEL], async (call, [sha]) => {
    const head = await call.load(fieldSlot(sha as Uint8Array, F.Head));
    if (head === 0n) throw ModelErrors.notFound(sha as Uint8Array);
    const model: AbiValue[] = [
      uintWord(head & M160).slice(12),
      head >> 160n,
      await call.loadString(fieldSlot(sha as Uint8Array, F.URI)),
      await call.loadString(fieldSlot(sha as Uint8Array, F.Metadata)),
    ];
    return [model];
  }),
  view("isRegistered(bytes32)", ["bytes32"], ["bool"], async (call, [sha]) => [
    (await call.load(fieldSlot(sha as Uint8Array, F.Head))) !== 0n,
  ]),
  view("modelCount()", [], ["uint256"], async (call) => [await call.load(COUNT)]),
  view("modelAt(uint256)", ["uint256"], ["bytes32"], async (call, [index]) => {
    const n = await call.load(COUNT);
    if ((index as bigint) >= n) throw ModelErrors.outOfRange(index as bigint, n);
    return [uintWord(await call.load(storageSlot(INDEX, index as bigint)))];
  }),
];

export const modelRegistryModule: NativeModule = {
  address: MODEL_REGISTRY_ADDRESS,
  def: { name: "ModelRegistry", functions },
};
