import { Account, type Address } from "@ethereumjs/util";
import { keccak256 } from "../../primitives/hash.js";
import { encodeArgs } from "../abi.js";
import { addressTopic } from "../erc20Events.js";
import { customError, type FunctionDef, type ModuleCall, reason } from "../host.js";
import { MODULE_MARKER_CODE } from "../registry.js";
import {
  COUNT_SLOT,
  collectionAddress,
  collectionNumber,
  HEADER_SLOT,
  MAX_COLLECTIONS,
  NAME_SLOT,
  packAddress,
  ROYALTY_SLOT,
  SYMBOL_SLOT,
} from "./storage.js";

/** Gas per registry function (base, before storage and log costs; see README.md). */
export const REGISTRY_GAS = {
  view: 300n,
  /** A new account in the state trie: the EVM's G_newaccount. */
  createCollection: 25_000n,
} as const;

/** Longest collection name, in UTF-8 bytes (two storage words). */
export const MAX_NAME_BYTES = 64;
/** Longest symbol, in UTF-8 bytes (one storage word). */
export const MAX_SYMBOL_BYTES = 32;
/** Royalties are basis points of the sale price (ERC-2981 with OpenZeppelin's denominator). */
export const ROYALTY_DENOMINATOR = 10_000n;

const COLLECTION_CREATED_TOPIC = keccak256(
  new TextEncoder().encode("CollectionCreated(address,address,string,string)"),
);

const invalidName = () => customError("RegistryInvalidName()", [], []);
const invalidRoyalty = (bps: bigint) => customError("RegistryInvalidRoyalty(uint96)", ["uint96"], [bps]);

function validLabel(s: string, maxBytes: number): boolean {
  const bytes = new TextEncoder().encode(s).length;
  return bytes > 0 && bytes <= maxBytes;
}

/**
 * Gives collection n's account the module marker code and nonce 1 (so Solidity's extcodesize
 * checks pass), inside this call: the journal (account) and the state manager's checkpointed caches
 * (code) undo it if anything later reverts. A balance someone sent to the address early is kept.
 */
async function createCollectionAccount(call: ModuleCall, n: bigint): Promise<Address> {
  const address = collectionAddress(n);
  const account = (await call.evm.stateManager.getAccount(address)) ?? new Account();
  if (account.nonce < 1n) account.nonce = 1n;
  await call.evm.journal.putAccount(address, account);
  await call.evm.stateManager.putCode(address, MODULE_MARKER_CODE);
  return address;
}

export const registryFunctions: FunctionDef[] = [
  {
    sig: "createCollection(string,string,address,uint96)",
    inputs: ["string", "string", "address", "uint96"],
    outputs: ["address"],
    mutates: true,
    gas: REGISTRY_GAS.createCollection,
    run: async (call, args) => {
      const [name, symbol, receiver, bps] = args as [string, string, Uint8Array, bigint];
      if (!validLabel(name, MAX_NAME_BYTES) || !validLabel(symbol, MAX_SYMBOL_BYTES)) throw invalidName();
      // Royalties paid to address(0) would be burnt: a receiver is required unless there is no royalty.
      if (bps > ROYALTY_DENOMINATOR || (bps > 0n && receiver.every((b) => b === 0))) throw invalidRoyalty(bps);

      const n = (await call.load(COUNT_SLOT)) + 1n;
      if (n > MAX_COLLECTIONS) throw reason("NFTRegistry: collection numbers exhausted");
      await call.store(COUNT_SLOT, n);
      const collection = await createCollectionAccount(call, n);
      const owner = call.caller.bytes;
      await call.store(HEADER_SLOT, packAddress(owner, n), collection);
      await call.store(ROYALTY_SLOT, packAddress(receiver, bps), collection);
      await call.storeString(NAME_SLOT, name, collection);
      await call.storeString(SYMBOL_SLOT, symbol, collection);
      call.emit(
        [COLLECTION_CREATED_TOPIC, addressTopic(collection), addressTopic(owner)],
        encodeArgs(["string", "string"], [name, symbol]),
      );
      return [collection.bytes];
    },
  },
  {
    sig: "collectionCount()",
    inputs: [],
    outputs: ["uint256"],
    mutates: false,
    gas: REGISTRY_GAS.view,
    run: async (call) => [await call.load(COUNT_SLOT)],
  },
  {
    sig: "collectionAt(uint256)",
    inputs: ["uint256"],
    outputs: ["address"],
    mutates: false,
    gas: REGISTRY_GAS.view,
    run: async (call, [n]) => {
      const exists = (n as bigint) >= 1n && (n as bigint) <= (await call.load(COUNT_SLOT));
      return [exists ? collectionAddress(n as bigint).bytes : new Uint8Array(20)];
    },
  },
  {
    sig: "isCollection(address)",
    inputs: ["address"],
    outputs: ["bool"],
    mutates: false,
    gas: REGISTRY_GAS.view,
    run: async (call, [address]) => {
      const n = collectionNumber(address as Uint8Array);
      return [n !== undefined && n >= 1n && n <= (await call.load(COUNT_SLOT))];
    },
  },
];
