import { Address } from "@ethereumjs/util";
import { namedSlot, storageSlot } from "../host.js";
import { MODULE_ADDRESS, moduleAddress } from "../registry.js";
import { bytesToUint, uintToAddress } from "../words.js";

/**
 * Addresses and storage layout of the NFT registry and its collections (documented in README.md).
 * The registry keeps only the collection count; each collection keeps its own state in its own
 * account, so a collection's storage root covers exactly that collection.
 */
export const NFT_REGISTRY_ADDRESS = moduleAddress(MODULE_ADDRESS.nftRegistry);

// Bytes 10..11 of every collection address; bytes 0..9 are zero, bytes 12..19 the collection number.
const RANGE_HI = 0x0a;
const RANGE_LO = 0x03;
const UINT64_MAX = 2n ** 64n - 1n;

/** `0x` + 10 zero bytes + `0a03` + n as 8 bytes big-endian (n = 1 → 0x000000000000000000000a030000000000000001). */
export function collectionAddress(n: bigint): Address {
  const bytes = new Uint8Array(20);
  bytes[10] = RANGE_HI;
  bytes[11] = RANGE_LO;
  for (let i = 0; i < 8; i++) bytes[19 - i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return new Address(bytes);
}

/** The collection number an address in the range encodes (0 is in the range but never created), else undefined. */
export function collectionNumber(address: Uint8Array): bigint | undefined {
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return undefined;
  if (address[10] !== RANGE_HI || address[11] !== RANGE_LO) return undefined;
  let n = 0n;
  for (let i = 12; i < 20; i++) n = (n << 8n) | BigInt(address[i]);
  return n;
}

/** Collection numbers are 8 bytes of the address: the registry can never hand out more. */
export const MAX_COLLECTIONS = UINT64_MAX;

// ---- registry account (0x…0A03) ----

/** Number of collections created; collection n exists iff 1 ≤ n ≤ count. */
export const COUNT_SLOT = namedSlot("azora.nft.collectionCount");

// ---- each collection account (0x…0a03<n>) ----

/** owner (bits 0..159) | collection number << 160. Never zero once created: the existence check. */
export const HEADER_SLOT = namedSlot("azora.nft.header");
export const NAME_SLOT = namedSlot("azora.nft.name");
export const SYMBOL_SLOT = namedSlot("azora.nft.symbol");
/** royalty receiver (bits 0..159) | royalty bps << 160, as OpenZeppelin's ERC2981 packs it. */
export const ROYALTY_SLOT = namedSlot("azora.nft.royalty");
/** last minted id (bits 0..127) | total supply << 128: one word, as mint and burn touch both. */
export const COUNTERS_SLOT = namedSlot("azora.nft.counters");

const OWNERS = namedSlot("azora.nft.owners");
const BALANCES = namedSlot("azora.nft.balances");
const APPROVALS = namedSlot("azora.nft.approvals");
const OPERATORS = namedSlot("azora.nft.operators");
const URIS = namedSlot("azora.nft.uris");

/**
 * Owner of token `id` (bits 0..159; 0: never minted, or burnt) | the byte length of its URI after the
 * `ipfs://` every URI starts with, << 160 (`URI_LENGTH_AT`). The URI's bytes after the prefix are at
 * keccak256(`uriSlot(id)`) on, so a mint writes the owner word and the URI's words, nothing else.
 * A length of 0 (no URI is only the prefix) marks a token minted by a build before this layout
 * (2026-12-06), whose whole URI is a string at `uriSlot(id)`: length there, bytes at the same place.
 */
export const ownerSlot = (tokenId: bigint) => storageSlot(OWNERS, tokenId);
export const URI_LENGTH_AT = 160n;
export const URI_LENGTH_BITS = 16n;
export const balanceSlot = (owner: Uint8Array) => storageSlot(BALANCES, owner);
export const approvalSlot = (tokenId: bigint) => storageSlot(APPROVALS, tokenId);
export const operatorSlot = (owner: Uint8Array, operator: Uint8Array) => storageSlot(OPERATORS, owner, operator);
export const uriSlot = (tokenId: bigint) => storageSlot(URIS, tokenId);

// ---- word packing ----

const MASK_128 = (1n << 128n) - 1n;

export function addressToWord(address: Uint8Array): bigint {
  return bytesToUint(address);
}

/** The address in the low 160 bits of a storage word. */
export function wordToAddress(word: bigint): Uint8Array {
  return uintToAddress(word);
}

/** An address in bits 0..159 and a number above it. */
export const packAddress = (address: Uint8Array, high: bigint): bigint => (high << 160n) | addressToWord(address);
export const highBits = (word: bigint): bigint => word >> 160n;

export const packCounters = (lastId: bigint, supply: bigint): bigint => (supply << 128n) | lastId;
export const unpackCounters = (word: bigint) => ({ lastId: word & MASK_128, supply: word >> 128n });
