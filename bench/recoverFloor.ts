// `node dist/bench/recoverFloor.js [--rounds R] [--ms M] [--out F]`: µs of CPU per sender recovery — (signing hash,
// 64-byte r‖s, recovery id) → 20-byte address, the public key hashed by the runtime's keccak — for each secp256k1
// implementation within reach: the `secp256k1` addon (libsecp256k1) through its JS wrapper as
// runtime/primitives/nativeCrypto.ts exports it, with a fresh 65-byte output per call (the fast decode before
// admit14) and into one reused output (`recoverSenderAddress`, the fast decode now), the addon's binding called
// without the wrapper's argument checks (measured, not taken: no gain), @noble/curves (pure JS), and
// @polkadot/wasm-crypto (Rust libsecp256k1 in WebAssembly: recover to a compressed key, then expand).
// Implementations are interleaved round by round, each batch timed by process CPU (process.cpuUsage) and warmed
// first; the median over the rounds is printed, then the JSON. Every implementation must give the signer's address.
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { secp256k1 as nobleSecp } from "@noble/curves/secp256k1.js";
import { secp256k1Expand, secp256k1Recover, waitReady } from "@polkadot/wasm-crypto";
import { keccak256 } from "../runtime/primitives/hash.js";
import { recoverSenderAddress, secp256k1Native } from "../runtime/primitives/nativeCrypto.js";
import { floorOptions, reportFloor, timeBatch } from "./cpuFloor.js";
import { median, round } from "./stats.js";

const HELP = `Usage: node dist/bench/recoverFloor.js [--rounds R] [--ms M] [--out F]
CPU per secp256k1 signer recovery (ecrecover), by implementation, in interleaved rounds.
  --rounds R   interleaved rounds (default 7); the median per implementation is printed
  --ms M       CPU milliseconds per timed batch (default 50)
  --out F      also write the JSON to file F`;

/** Distinct signatures, cycled, so no implementation sees the same input twice in a row. */
const POOL = 64;

interface Signed {
  msg: Uint8Array;
  sig: Uint8Array;
  recid: number;
  address: Uint8Array;
}

type Recover = (s: Signed) => Uint8Array;

const addressOf = (publicKey64: Uint8Array): Uint8Array => keccak256(publicKey64).subarray(12);

/** The addon's binding under the wrapper: status codes, the key written into the output passed in. */
interface Secp256k1Binding {
  ecdsaRecover(output: Uint8Array, sig: Uint8Array, recid: number, msg32: Uint8Array): number;
}

function addonBinding(): Secp256k1Binding {
  const require = createRequire(import.meta.url);
  const addon = require("node-gyp-build")(dirname(require.resolve("secp256k1/bindings"))) as {
    Secp256k1: new () => Secp256k1Binding;
  };
  return new addon.Secp256k1();
}

async function implementations(): Promise<Record<string, Recover>> {
  await waitReady();
  const binding = addonBinding();
  const output = new Uint8Array(65);
  return {
    addonFresh: (s) => addressOf(secp256k1Native.ecdsaRecover(s.sig, s.recid, s.msg, false).subarray(1)),
    addonReused: (s) => {
      const address = recoverSenderAddress(s.sig, s.recid, s.msg);
      if (address === undefined) throw new Error("unrecoverable");
      return address;
    },
    addonBinding: (s) => {
      if (binding.ecdsaRecover(output, s.sig, s.recid, s.msg) !== 0) throw new Error("unrecoverable");
      return addressOf(output.subarray(1));
    },
    nobleCurves: (s) =>
      addressOf(
        nobleSecp.Signature.fromBytes(s.sig, "compact")
          .addRecoveryBit(s.recid)
          .recoverPublicKey(s.msg)
          .toBytes(false)
          .subarray(1),
      ),
    polkadotWasm: (s) => addressOf(secp256k1Expand(secp256k1Recover(s.msg, s.sig, s.recid)).subarray(1)),
  };
}

function signedPool(): Signed[] {
  return Array.from({ length: POOL }, () => {
    let key: Uint8Array;
    do key = crypto.getRandomValues(new Uint8Array(32));
    while (!secp256k1Native.privateKeyVerify(key));
    const msg = crypto.getRandomValues(new Uint8Array(32));
    const { signature, recid } = secp256k1Native.ecdsaSign(msg, key);
    const address = addressOf(secp256k1Native.publicKeyCreate(key, false).subarray(1));
    return { msg, sig: signature, recid, address };
  });
}

async function main(): Promise<void> {
  const o = floorOptions(process.argv.slice(2), HELP, 50);
  if (o === null) return;
  const { rounds, budgetMicros: budget } = o;
  const impls = await implementations();
  const names = Object.keys(impls);
  const pool = signedPool();
  for (const name of names) {
    for (const s of pool) {
      if (Buffer.compare(impls[name](s), s.address) !== 0) throw new Error(`${name} recovers the wrong address`);
    }
  }
  const loadBefore = loadavg()[0];
  for (const name of names) timeBatch(impls[name], pool, budget / 2, 32);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples.get(name)?.push(timeBatch(impls[name], pool, budget, 32));
  }
  const table: Record<string, number> = {};
  for (const name of names) table[name] = round(median(samples.get(name) ?? []), 2);
  for (const name of names) console.log(`${name.padEnd(16)}${table[name].toFixed(2).padStart(9)} µs/recovery`);
  reportFloor(o, loadBefore, table);
}

await main();
