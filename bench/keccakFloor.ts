// `node dist/bench/keccakFloor.js [--rounds R] [--ms M] [--out F]`: µs of CPU per keccak256 for the input sizes the
// node hashes (20-byte addresses, 32/64-byte keys and slots, 136 = one rate block, 300/532-byte trie nodes and txs,
// 4 KB code), for each implementation within reach: the runtime's `keccak256` (runtime/primitives/hash.ts), the
// `keccak` package's native addon driven as the runtime drove it before (four N-API calls and a fresh Buffer per
// hash), hash-wasm's wrapper (`createKeccak(256)`, then `init().update(data).digest("binary")`), hash-wasm's wasm
// driven directly (one `Hash_Calculate` call), @polkadot/wasm-crypto's `keccak256`, js-sha3 and @noble/hashes'
// `keccak_256` (the JS reference). Implementations and sizes are interleaved round by round, each batch timed by
// process CPU (process.cpuUsage) and warmed first; the median per cell over the rounds is printed, then the JSON.
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { keccak_256 as nobleKeccak } from "@noble/hashes/sha3.js";
import { keccak256 as polkadotKeccak, waitReady } from "@polkadot/wasm-crypto";
import { createKeccak } from "hash-wasm";
import { keccak256 } from "../runtime/primitives/hash.js";
import { floorOptions, reportFloor, timeBatch } from "./cpuFloor.js";
import { median, round } from "./stats.js";

const HELP = `Usage: node dist/bench/keccakFloor.js [--rounds R] [--ms M] [--out F]
CPU per keccak-256 hash, by implementation and input size, in interleaved rounds.
  --rounds R   interleaved rounds (default 7); the median per cell is printed
  --ms M       CPU milliseconds per timed batch (default 20)
  --out F      also write the JSON to file F`;

const SIZES = [20, 32, 64, 136, 300, 532, 4096];
/** Distinct inputs per size, cycled, so no implementation sees the same bytes twice in a row. */
const POOL = 64;

interface NativeKeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Uint8Array): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}

/** The `keccak` addon driven as runtime/primitives/hash.ts drove it before this bench's change. */
function nativeAddon(): (data: Uint8Array) => Uint8Array {
  const require = createRequire(import.meta.url);
  const KeccakState = require("node-gyp-build")(
    dirname(require.resolve("keccak/bindings")),
  ) as new () => NativeKeccakState;
  const state = new KeccakState();
  return (data) => {
    state.initialize(1088, 512);
    state.absorb(data);
    state.absorbLastFewBits(0x01);
    const out = state.squeeze(32);
    return new Uint8Array(out.buffer, out.byteOffset, 32);
  };
}

async function implementations(): Promise<Record<string, (data: Uint8Array) => Uint8Array>> {
  const wrapper = await createKeccak(256);
  await waitReady();
  const require = createRequire(import.meta.url);
  const jsSha3 = require("js-sha3") as { keccak256: { arrayBuffer(data: Uint8Array): ArrayBuffer } };
  return {
    runtime: keccak256,
    nativeAddon: nativeAddon(),
    hashWasmWrapper: (data) => wrapper.init().update(data).digest("binary"),
    polkadotWasm: (data) => polkadotKeccak(data),
    jsSha3: (data) => new Uint8Array(jsSha3.keccak256.arrayBuffer(data)),
    noble: (data) => nobleKeccak(data),
  };
}

async function main(): Promise<void> {
  const o = floorOptions(process.argv.slice(2), HELP, 20);
  if (o === null) return;
  const { rounds, budgetMicros: budget } = o;
  const impls = await implementations();
  const names = Object.keys(impls);
  const pools = new Map(
    SIZES.map((size) => [size, Array.from({ length: POOL }, () => crypto.getRandomValues(new Uint8Array(size)))]),
  );
  // Every implementation must agree with the reference before it is timed.
  for (const [size, pool] of pools) {
    const want = Buffer.from(nobleKeccak(pool[0])).toString("hex");
    for (const name of names) {
      const got = Buffer.from(impls[name](pool[0])).toString("hex");
      if (got !== want) throw new Error(`${name} disagrees with @noble/hashes at ${size} bytes`);
    }
  }
  const loadBefore = loadavg()[0];
  for (const name of names) for (const size of SIZES) timeBatch(impls[name], pools.get(size) ?? [], budget / 2, 256);
  const samples = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const size of SIZES) {
      for (const name of order) {
        const key = `${name}/${size}`;
        const list = samples.get(key) ?? [];
        list.push(timeBatch(impls[name], pools.get(size) ?? [], budget, 256));
        samples.set(key, list);
      }
    }
  }
  const table: Record<string, Record<string, number>> = {};
  for (const name of names) {
    table[name] = {};
    for (const size of SIZES) table[name][size] = round(median(samples.get(`${name}/${size}`) ?? []), 3);
  }
  const header = ["µs/hash", ...SIZES.map(String)];
  console.log([header[0].padEnd(16), ...header.slice(1).map((h) => h.padStart(9))].join(""));
  for (const name of names) {
    console.log([name.padEnd(16), ...SIZES.map((s) => table[name][s].toFixed(3).padStart(9))].join(""));
  }
  reportFloor(o, loadBefore, table);
}

await main();
