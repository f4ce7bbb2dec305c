// In-process: does a native NFT mint cost more as its collection grows? Mints into one collection
// (to one owner, or each to a new owner) in blocks, and prints the executor's CPU per mint over
// windows of the run, so a cost that grows with the number of tokens shows as a rising column.
//   node dist/bench/nftGrowth.js [--mints 5000] [--block 16] [--window 500] [--owners same|new] [--profile PREFIX]
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { Interface } from "ethers";
import { loadArtifact } from "../contracts/artifacts.js";
import { NFT_REGISTRY_ADDRESS } from "../runtime/modules/index.js";
import { bytesToHex } from "../runtime/primitives/bytes.js";
import { freshWorld, runBlocks, signed, TOKEN_URI } from "./execution.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/nftGrowth.js [--mints N] [--block N] [--window N] [--owners same|new] [--profile PREFIX]

Whether a native NFT mint costs more as its collection grows: mints into one collection in blocks and prints
the executor's CPU per mint over windows of the run.

Options:
  --mints <n>          mints per run (default 5000)
  --block <n>          mints per block (default 16)
  --window <n>         mints per printed window (default 500)
  --owners <same|new>  only one run: all to one owner, or each to a new owner (default: both runs)
  --profile <prefix>   write a CPU profile of each run's last window to PREFIX.{same,new}.cpuprofile
  -h, --help           show this help`;

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      mints: { type: "string", default: "5000" },
      block: { type: "string", default: "16" },
      window: { type: "string", default: "500" },
      owners: { type: "string" },
      profile: { type: "string" },
    },
  }),
);

async function growth(sameOwner: boolean, mints: number, blockSize: number, window: number): Promise<void> {
  const w = await freshWorld();
  const registry = new Interface(loadArtifact("INFTRegistry").abi as string[]);
  const create = signed(
    w,
    0,
    NFT_REGISTRY_ADDRESS.toString(),
    registry.encodeFunctionData("createCollection", ["G", "G", w.addresses[1], 500]),
    1_000_000n,
  );
  const created = await runBlocks(w, [create], 1);
  const collection = bytesToHex(created.receipts[0].logs[0][1][1].subarray(12));
  const mint = new Interface(["function mint(address to, string uri) returns (uint256)"]);
  const owner = (i: number) =>
    sameOwner ? w.addresses[2] : `0x${(0xbe00000000n + BigInt(i)).toString(16).padStart(40, "0")}`;
  const rows: string[] = [];
  for (let done = 0; done < mints; done += window) {
    const txs = Array.from({ length: window }, (_, i) =>
      signed(w, 0, collection, mint.encodeFunctionData("mint", [owner(done + i), TOKEN_URI]), 250_000n),
    );
    const last = done + window >= mints;
    if (last && profile !== undefined) await startProfile();
    const r = await runBlocks(w, txs, blockSize);
    if (last && profile !== undefined) await stopProfile(`${profile}.${sameOwner ? "same" : "new"}.cpuprofile`);
    rows.push(
      `  ${String(done).padStart(6)}–${String(done + window).padEnd(6)} apply ${r.applyCpuMicros} µs  seal+commit ${r.sealCpuMicros} µs  gas ${r.gasPerTx}`,
    );
  }
  console.log(`${sameOwner ? "one owner" : "a new owner each"} (CPU µs per mint, blocks of ${blockSize}):`);
  for (const row of rows) console.log(row);
}

// --profile PREFIX: a CPU profile of the last window only (signing and set-up left out).
const profile = values.profile;
const session = new Session();
async function startProfile(): Promise<void> {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
async function stopProfile(file: string): Promise<void> {
  const { profile: p } = await session.post("Profiler.stop");
  writeFileSync(file, JSON.stringify(p));
  session.disconnect();
}

const mints = Number(values.mints);
const blockSize = Number(values.block);
const window = Number(values.window);
const owners = values.owners;
if (owners !== "new") await growth(true, mints, blockSize, window);
if (owners !== "same") await growth(false, mints, blockSize, window);
