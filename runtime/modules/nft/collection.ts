import { Address, equalsBytes } from "@ethereumjs/util";
import { keccak256 } from "../../primitives/hash.js";
import { type AbiType, type AbiValue, concat, encodeArgs, selector, selectorKey, uintWord } from "../abi.js";
import { APPROVAL_TOPIC, addressTopic, isZeroAddress, TRANSFER_TOPIC, ZERO20 } from "../erc20Events.js";
import { customError, type FunctionDef, type ModuleCall, Revert, reason } from "../host.js";
import { bitsOf, withBits } from "../state.js";
import { ROYALTY_DENOMINATOR } from "./registry.js";
import {
  addressToWord,
  approvalSlot,
  balanceSlot,
  COUNTERS_SLOT,
  HEADER_SLOT,
  highBits,
  NAME_SLOT,
  operatorSlot,
  ownerSlot,
  packCounters,
  ROYALTY_SLOT,
  SYMBOL_SLOT,
  URI_LENGTH_AT,
  URI_LENGTH_BITS,
  unpackCounters,
  uriSlot,
  wordToAddress,
} from "./storage.js";

/**
 * A native ERC-721 collection (IAzoraCollection). Every collection address runs this one function
 * table; `call.self` is the collection, whose own account holds its state (see storage.ts).
 * Behaviour, checks and their order follow OpenZeppelin 5's ERC721 (`_update`, `_checkAuthorized`,
 * `_approve`, `ERC721Utils.checkOnERC721Received`) so the same conformance suite passes on both.
 */

/** Gas per collection function (base, before storage, log and callback costs; see README.md). */
export const COLLECTION_GAS = {
  view: 300n,
  approve: 1_000n,
  transfer: 2_000n,
  mint: 2_000n,
  burn: 2_000n,
} as const;

/** Longest token URI, in UTF-8 bytes: `ipfs://` + a CID + a path fit easily. */
export const MAX_URI_BYTES = 256;
const URI_PREFIX = "ipfs://";
const UTF8 = new TextDecoder();

const APPROVAL_FOR_ALL_TOPIC = keccak256(new TextEncoder().encode("ApprovalForAll(address,address,bool)"));
const ON_ERC721_RECEIVED = selector("onERC721Received(address,address,uint256,bytes)");

/** ERC-165 ids answered true: ERC165, ERC721, ERC721Metadata, ERC2981 (never 0xffffffff). */
const INTERFACE_IDS = new Set([0x01ffc9a7, 0x80ac58cd, 0x5b5e139f, 0x2a55205a]);

/** OpenZeppelin 5's IERC721Errors (ERC-6093) and the collection's own errors. */
const Errors = {
  invalidOwner: (owner: Uint8Array) => customError("ERC721InvalidOwner(address)", ["address"], [owner]),
  nonexistentToken: (id: bigint) => customError("ERC721NonexistentToken(uint256)", ["uint256"], [id]),
  incorrectOwner: (sender: Uint8Array, id: bigint, owner: Uint8Array) =>
    customError(
      "ERC721IncorrectOwner(address,uint256,address)",
      ["address", "uint256", "address"],
      [sender, id, owner],
    ),
  invalidReceiver: (to: Uint8Array) => customError("ERC721InvalidReceiver(address)", ["address"], [to]),
  insufficientApproval: (operator: Uint8Array, id: bigint) =>
    customError("ERC721InsufficientApproval(address,uint256)", ["address", "uint256"], [operator, id]),
  invalidApprover: (approver: Uint8Array) => customError("ERC721InvalidApprover(address)", ["address"], [approver]),
  invalidOperator: (operator: Uint8Array) => customError("ERC721InvalidOperator(address)", ["address"], [operator]),
  unauthorized: (account: Uint8Array) => customError("CollectionUnauthorized(address)", ["address"], [account]),
  invalidURI: (uri: string) => customError("CollectionInvalidURI(string)", ["string"], [uri]),
};

/**
 * The collection's owner, read from the header every non-token function starts with: it is zero
 * at range addresses the registry never assigned, which must revert rather than look empty.
 */
async function collectionOwner(call: ModuleCall): Promise<Uint8Array> {
  const header = await call.load(HEADER_SLOT);
  if (header === 0n) throw reason("NFTCollection: no collection at this address");
  return wordToAddress(header);
}

/**
 * OZ `_requireOwned`. Functions naming a token skip the header read: a token can only exist in a
 * created collection, so at an unassigned address they revert with ERC721NonexistentToken.
 */
async function requireOwned(call: ModuleCall, id: bigint): Promise<Uint8Array> {
  return wordToAddress(await ownedWord(call, id));
}

/** `requireOwned`'s whole owner word (owner and URI length, storage.ts). */
async function ownedWord(call: ModuleCall, id: bigint): Promise<bigint> {
  const word = await call.load(ownerSlot(id));
  if (isZeroAddress(wordToAddress(word))) throw Errors.nonexistentToken(id);
  return word;
}

async function isOperator(call: ModuleCall, owner: Uint8Array, operator: Uint8Array): Promise<boolean> {
  return (await call.load(operatorSlot(owner, operator))) === 1n;
}

async function addBalance(call: ModuleCall, account: Uint8Array, delta: bigint): Promise<void> {
  const slot = balanceSlot(account);
  await call.store(slot, (await call.load(slot)) + delta);
}

function emitTransfer(call: ModuleCall, from: Uint8Array, to: Uint8Array, id: bigint): void {
  call.emit([TRANSFER_TOPIC, addressTopic(from), addressTopic(to), uintWord(id)], new Uint8Array(0));
}

/**
 * OZ `_checkAuthorized` for moving or burning `id`: the spender is its owner, the owner's operator
 * or the token's approved account. Returns the owner and the approval (which the move clears).
 */
async function authorize(call: ModuleCall, id: bigint, spender: Uint8Array) {
  const word = await ownedWord(call, id);
  const owner = wordToAddress(word);
  const approved = wordToAddress(await call.load(approvalSlot(id)));
  const allowed =
    !isZeroAddress(spender) &&
    (equalsBytes(owner, spender) || equalsBytes(approved, spender) || (await isOperator(call, owner, spender)));
  if (!allowed) throw Errors.insufficientApproval(spender, id);
  return { owner, approved, word };
}

/**
 * OZ `_update` once authorised: approval cleared (no Approval event, as OZ), balances, owner (the
 * URI length beside it kept; a burn clears the word), Transfer. `word`: the token's owner word.
 */
async function move(call: ModuleCall, id: bigint, word: bigint, approved: Uint8Array, to: Uint8Array) {
  const from = wordToAddress(word);
  if (!isZeroAddress(approved)) await call.store(approvalSlot(id), 0n);
  await addBalance(call, from, -1n);
  if (!isZeroAddress(to)) await addBalance(call, to, 1n);
  await call.store(ownerSlot(id), isZeroAddress(to) ? 0n : withBits(word, 0n, URI_LENGTH_AT, addressToWord(to)));
  emitTransfer(call, from, to, id);
}

async function transferFrom(call: ModuleCall, from: Uint8Array, to: Uint8Array, id: bigint): Promise<void> {
  if (isZeroAddress(to)) throw Errors.invalidReceiver(to);
  const { owner, approved, word } = await authorize(call, id, call.caller.bytes);
  if (!equalsBytes(owner, from)) throw Errors.incorrectOwner(from, id, owner);
  await move(call, id, word, approved, to);
}

/**
 * OZ `ERC721Utils.checkOnERC721Received`, called only once state is final, since the receiver may
 * call back into the collection. An account without code accepts. Like OZ: a revert without data
 * or a wrong answer → ERC721InvalidReceiver(to); a revert with data is bubbled up unchanged; an
 * answer that does not decode as a bytes4 reverts without data (Solidity's decoder would).
 */
async function checkReceiver(call: ModuleCall, from: Uint8Array, to: Uint8Array, id: bigint, data: Uint8Array) {
  const receiver = new Address(to);
  if (!(await call.hasCode(receiver))) return;
  const args = encodeArgs(["address", "address", "uint256", "bytes"], [call.caller.bytes, from, id, data]);
  const { success, returnValue } = await call.callContract(receiver, concat(ON_ERC721_RECEIVED, args));
  if (!success) throw returnValue.length === 0 ? Errors.invalidReceiver(to) : new Revert(returnValue);
  if (returnValue.length < 32 || returnValue.subarray(4, 32).some((b) => b !== 0)) throw new Revert(new Uint8Array(0));
  if (!equalsBytes(returnValue.subarray(0, 4), ON_ERC721_RECEIVED)) throw Errors.invalidReceiver(to);
}

function validURI(uri: string): boolean {
  const bytes = new TextEncoder().encode(uri).length;
  return uri.startsWith(URI_PREFIX) && bytes > URI_PREFIX.length && bytes <= MAX_URI_BYTES;
}

type Run = FunctionDef["run"];
const view = (sig: string, inputs: AbiType[], outputs: AbiType[], run: Run): FunctionDef => ({
  sig,
  inputs,
  outputs,
  mutates: false,
  gas: COLLECTION_GAS.view,
  run,
});
const write = (sig: string, inputs: AbiType[], outputs: AbiType[], gas: bigint, run: Run): FunctionDef => ({
  sig,
  inputs,
  outputs,
  mutates: true,
  gas,
  run,
});

const addr = (v: AbiValue) => v as Uint8Array;
const uint = (v: AbiValue) => v as bigint;

export const collectionFunctions: FunctionDef[] = [
  // ---- ERC-721 ----
  view("balanceOf(address)", ["address"], ["uint256"], async (call, [owner]) => {
    await collectionOwner(call);
    if (isZeroAddress(addr(owner))) throw Errors.invalidOwner(addr(owner));
    return [await call.load(balanceSlot(addr(owner)))];
  }),
  view("ownerOf(uint256)", ["uint256"], ["address"], async (call, [id]) => [await requireOwned(call, uint(id))]),
  view("getApproved(uint256)", ["uint256"], ["address"], async (call, [id]) => {
    await requireOwned(call, uint(id));
    return [wordToAddress(await call.load(approvalSlot(uint(id))))];
  }),
  view("isApprovedForAll(address,address)", ["address", "address"], ["bool"], async (call, [owner, operator]) => {
    await collectionOwner(call);
    return [await isOperator(call, addr(owner), addr(operator))];
  }),
  write("approve(address,uint256)", ["address", "uint256"], [], COLLECTION_GAS.approve, async (call, [to, id]) => {
    // OZ `_approve(to, id, msg.sender)`: the owner or one of its operators; an approved account cannot re-approve.
    const owner = await requireOwned(call, uint(id));
    const caller = call.caller.bytes;
    if (!equalsBytes(owner, caller) && !(await isOperator(call, owner, caller))) throw Errors.invalidApprover(caller);
    await call.store(approvalSlot(uint(id)), addressToWord(addr(to)));
    call.emit([APPROVAL_TOPIC, addressTopic(owner), addressTopic(addr(to)), uintWord(uint(id))], new Uint8Array(0));
    return [];
  }),
  write(
    "setApprovalForAll(address,bool)",
    ["address", "bool"],
    [],
    COLLECTION_GAS.approve,
    async (call, [operator, approved]) => {
      await collectionOwner(call); // the write below needs the collection's account to exist
      const owner = call.caller.bytes;
      if (isZeroAddress(owner)) throw Errors.invalidApprover(owner);
      if (isZeroAddress(addr(operator))) throw Errors.invalidOperator(addr(operator));
      await call.store(operatorSlot(owner, addr(operator)), approved ? 1n : 0n);
      call.emit(
        [APPROVAL_FOR_ALL_TOPIC, addressTopic(owner), addressTopic(addr(operator))],
        encodeArgs(["bool"], [approved]),
      );
      return [];
    },
  ),
  write(
    "transferFrom(address,address,uint256)",
    ["address", "address", "uint256"],
    [],
    COLLECTION_GAS.transfer,
    async (call, [from, to, id]) => {
      await transferFrom(call, addr(from), addr(to), uint(id));
      return [];
    },
  ),
  write(
    "safeTransferFrom(address,address,uint256)",
    ["address", "address", "uint256"],
    [],
    COLLECTION_GAS.transfer,
    async (call, [from, to, id]) => {
      await transferFrom(call, addr(from), addr(to), uint(id));
      await checkReceiver(call, addr(from), addr(to), uint(id), new Uint8Array(0));
      return [];
    },
  ),
  write(
    "safeTransferFrom(address,address,uint256,bytes)",
    ["address", "address", "uint256", "bytes"],
    [],
    COLLECTION_GAS.transfer,
    async (call, [from, to, id, data]) => {
      await transferFrom(call, addr(from), addr(to), uint(id));
      await checkReceiver(call, addr(from), addr(to), uint(id), data as Uint8Array);
      return [];
    },
  ),

  // ---- metadata, ERC-165, ERC-2981 ----
  view("name()", [], ["string"], async (call) => {
    await collectionOwner(call);
    return [await call.loadString(NAME_SLOT)];
  }),
  view("symbol()", [], ["string"], async (call) => {
    await collectionOwner(call);
    return [await call.loadString(SYMBOL_SLOT)];
  }),
  view("tokenURI(uint256)", ["uint256"], ["string"], async (call, [id]) => {
    const length = bitsOf(await ownedWord(call, uint(id)), URI_LENGTH_AT, URI_LENGTH_BITS);
    if (length === 0n) return [await call.loadString(uriSlot(uint(id)))]; // minted before the owner word held it
    return [URI_PREFIX + UTF8.decode(await call.loadBytes(uriSlot(uint(id)), Number(length)))];
  }),
  view("supportsInterface(bytes4)", ["bytes4"], ["bool"], async (call, [id]) => {
    await collectionOwner(call);
    return [INTERFACE_IDS.has(selectorKey(id as Uint8Array))];
  }),
  view("royaltyInfo(uint256,uint256)", ["uint256", "uint256"], ["address", "uint256"], async (call, [, price]) => {
    // One royalty for every token, like OZ's default royalty; exact, like OZ's Math.mulDiv (no overflow).
    await collectionOwner(call);
    const royalty = await call.load(ROYALTY_SLOT);
    return [wordToAddress(royalty), (uint(price) * highBits(royalty)) / ROYALTY_DENOMINATOR];
  }),

  // ---- collection ----
  view("owner()", [], ["address"], async (call) => [await collectionOwner(call)]),
  view("totalSupply()", [], ["uint256"], async (call) => {
    await collectionOwner(call);
    return [unpackCounters(await call.load(COUNTERS_SLOT)).supply];
  }),
  write("mint(address,string)", ["address", "string"], ["uint256"], COLLECTION_GAS.mint, async (call, [to, uri]) => {
    const caller = call.caller.bytes;
    if (!equalsBytes(await collectionOwner(call), caller)) throw Errors.unauthorized(caller);
    if (!validURI(uri as string)) throw Errors.invalidURI(uri as string);
    if (isZeroAddress(addr(to))) throw Errors.invalidReceiver(addr(to));
    const { lastId, supply } = unpackCounters(await call.load(COUNTERS_SLOT));
    const id = lastId + 1n;
    // Everything is written before the receiver is called (it may call back and must see its token).
    await call.store(COUNTERS_SLOT, packCounters(id, supply + 1n));
    // The URI after its prefix: its length in the owner word, its bytes from keccak(uriSlot) on.
    const tail = new TextEncoder().encode(uri as string).subarray(URI_PREFIX.length);
    await call.store(
      ownerSlot(id),
      withBits(addressToWord(addr(to)), URI_LENGTH_AT, URI_LENGTH_BITS, BigInt(tail.length)),
    );
    await addBalance(call, addr(to), 1n);
    await call.storeBytes(uriSlot(id), tail);
    emitTransfer(call, ZERO20, addr(to), id);
    await checkReceiver(call, ZERO20, addr(to), id, new Uint8Array(0));
    return [id];
  }),
  write("burn(uint256)", ["uint256"], [], COLLECTION_GAS.burn, async (call, [id]) => {
    // ERC721Burnable: the owner, an operator or the approved account. The URI words stay (ids are
    // never reused and tokenURI of a burnt id reverts); clearing them would cost a write per word.
    const { approved, word } = await authorize(call, uint(id), call.caller.bytes);
    await move(call, uint(id), word, approved, ZERO20);
    const { lastId, supply } = unpackCounters(await call.load(COUNTERS_SLOT));
    await call.store(COUNTERS_SLOT, packCounters(lastId, supply - 1n));
    return [];
  }),
];
