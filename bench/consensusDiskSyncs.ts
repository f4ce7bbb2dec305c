/**
 * The consensus WAL's and the double-sign guard's disk work per height, as a validator does it, and
 * how much of it holds the event loop (issue 14). Per height: startHeight, the height's inputs
 * appended (peers' votes plain, each own vote's record synced before it is signed), a proposal signed
 * every `--validators`-th height, a prevote and a precommit signed. Reports, per height, the event
 * loop's active time (`performance.eventLoopUtilization`: JS plus any blocking syscall), the wall
 * time of the sequence, and the process's CPU time (all threads).
 *
 *   node dist/bench/consensusDiskSyncs.js [--dist DIR] [--heights N] [--validators N]
 *
 * `--dist` runs another build's `node/consensus/{wal,signer}.js` (A/B: `--dist /work/main/dist`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { GuardedSigner } from "../node/consensus/signer.js";
import type { ConsensusWAL } from "../node/consensus/wal.js";
import { parseOrUsage } from "./usage.js";

const HELP = `Usage: node dist/bench/consensusDiskSyncs.js [--dist DIR] [--heights N] [--validators N]

The consensus WAL's and double-sign guard's disk work per height as a validator does it: event-loop active
time, wall time and process CPU per height.

Options:
  --dist <dir>        another build's dist/ whose node/consensus/{wal,signer}.js to run (default: this build)
  --heights <n>       heights to run (default 300)
  --validators <n>    a proposal signed every n-th height (default 4)
  -h, --help          show this help`;

const { values } = parseOrUsage(HELP, () =>
  parseArgs({
    options: {
      dist: { type: "string", default: resolve(import.meta.dirname, "..") },
      heights: { type: "string", default: "300" },
      validators: { type: "string", default: "4" },
    },
  }),
);
const heights = Number(values.heights);
const validators = Number(values.validators);
const load = async <T>(rel: string): Promise<T> =>
  (await import(pathToFileURL(join(resolve(values.dist), rel)).href)) as T;
const { ConsensusWAL: WAL } = await load<{ ConsensusWAL: typeof ConsensusWAL }>("node/consensus/wal.js");
const { GuardedSigner: Signer } = await load<{ GuardedSigner: typeof GuardedSigner }>("node/consensus/signer.js");

const dir = await mkdtemp(join(tmpdir(), "azora-disksyncs-"));
const wal = await WAL.open(join(dir, "wal"));
const signer = await Signer.open({ stateFile: join(dir, "signer_state.json"), seed: new Uint8Array(32).fill(1) });
const record = (n: number) => new Uint8Array(200).fill(n);
const hash = new Uint8Array(32).fill(7);
const CHAIN_ID = 7n;

async function height(h: bigint): Promise<void> {
  await wal.startHeight(h);
  await wal.append(record(1)); // startHeight input
  if (h % BigInt(validators) === 0n) {
    await wal.append(record(2), { sync: true });
    await signer.signProposal(CHAIN_ID, h, 0, hash, -1);
  }
  await wal.append(record(3)); // a proposal received
  for (const type of [1, 2]) {
    await wal.append(record(4), { sync: true }); // our own vote's input, durable before it is signed
    await signer.signVote(CHAIN_ID, type, h, 0, hash);
    for (let v = 1; v < validators; v++) await wal.append(record(5 + v)); // peers' votes
  }
}

try {
  for (let h = 1n; h <= 20n; h++) await height(h); // warm-up
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let h = 21n; h < 21n + BigInt(heights); h++) await height(h);
  const wallMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const per = (ms: number) => Number((ms / heights).toFixed(3));
  console.log(
    JSON.stringify({
      dist: values.dist,
      heights,
      loopActiveMsPerHeight: per(elu.active),
      wallMsPerHeight: per(wallMs),
      cpuMsPerHeight: per((cpu.user + cpu.system) / 1000),
    }),
  );
} finally {
  await signer.close();
  await wal.close();
  await rm(dir, { recursive: true, force: true });
}
