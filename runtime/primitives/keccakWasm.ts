import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * Keccak-256 in WebAssembly: hash-wasm's SHA-3/Keccak module (C compiled to wasm, no imports), instantiated
 * synchronously here and driven with one call per hash. hash-wasm's own API initialises asynchronously and wraps
 * each hash in three calls, a chunking loop and type checks; a wasm call from JS costs tens of nanoseconds where the
 * `keccak` addon's N-API calls cost ~0.3 µs each (four per hash). The module's bytes are read from the pinned
 * package and fingerprinted: if an upgrade changes them, loading fails loudly instead of running unchecked code.
 */
const WASM_SHA256 = "fae7904eb164ea6bee813237d272a648356feb2153d043f969d010aca207d2dc";
/** The module's input buffer (`main_buffer`, MAIN_BUFFER_SIZE in hash-wasm's src/hash-wasm.h). */
const IO_BYTES = 16 * 1024;
/** `Hash_Init`'s parameter: output bits (rate = 1600 - 2 × 256 = 1088). */
const BITS = 256;
/** `Hash_Final`'s padding byte: Keccak's original 0x01, as Ethereum uses (SHA3-256 would be 0x06). */
const KECCAK_PADDING = 0x01;

interface Sha3Exports {
  memory: { readonly buffer: ArrayBuffer };
  Hash_GetBuffer(): number;
  Hash_Init(bits: number): void;
  Hash_Update(length: number): void;
  Hash_Final(padding: number): void;
  Hash_Calculate(length: number, bits: number, padding: number): void;
}

/** The part of the WebAssembly JS API used here (the project's TypeScript libs leave out DOM, which declares it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class KeccakWasmLoadError extends Error {
  readonly code = "KECCAK_WASM_LOAD";
}

/** The module's bytes from the text of hash-wasm's keccak bundle, checked against the pinned fingerprint. */
export function moduleBytesFromBundle(bundleText: string): Uint8Array {
  const match = /"(AGFzbQ[A-Za-z0-9+/=]+)"/.exec(bundleText);
  if (!match) throw new KeccakWasmLoadError("no wasm module found in hash-wasm's keccak bundle");
  const bytes = Buffer.from(match[1], "base64");
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== WASM_SHA256) {
    throw new KeccakWasmLoadError(`hash-wasm's keccak module changed (sha256 ${digest}, expected ${WASM_SHA256})`);
  }
  return bytes;
}

function readModuleBytes(): Uint8Array {
  const require = createRequire(import.meta.url);
  // The package ships the wasm only base64-inlined in its bundles; keccak.umd.min.js holds this one module alone.
  const bundle = join(dirname(require.resolve("hash-wasm")), "keccak.umd.min.js");
  return moduleBytesFromBundle(readFileSync(bundle, "utf8"));
}

function instantiate(): { wasm: Sha3Exports; io: Uint8Array } {
  const instance = new Instance(new Module(readModuleBytes()), {});
  const wasm = instance.exports as unknown as Sha3Exports;
  // The module exports no way to grow its memory (hash-wasm's Hash_SetMemorySize is not in it), so this view
  // stays attached for the life of the instance.
  return { wasm, io: new Uint8Array(wasm.memory.buffer, wasm.Hash_GetBuffer(), IO_BYTES) };
}

const { wasm, io } = instantiate();

/** keccak256 of `data` (any view, any length) into a new 32-byte array the caller owns. */
export function keccak256(data: Uint8Array): Uint8Array {
  if (data.length <= IO_BYTES) {
    io.set(data);
    wasm.Hash_Calculate(data.length, BITS, KECCAK_PADDING);
  } else {
    wasm.Hash_Init(BITS);
    for (let at = 0; at < data.length; at += IO_BYTES) {
      const chunk = data.subarray(at, at + IO_BYTES);
      io.set(chunk);
      wasm.Hash_Update(chunk.length);
    }
    wasm.Hash_Final(KECCAK_PADDING);
  }
  // A copy: `io` is the module's scratch buffer, overwritten by the next hash.
  return io.slice(0, 32);
}
