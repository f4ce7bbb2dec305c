import "../node/polyfill.js";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type CommitCertificate, encodeCommit } from "../consensus/commit.js";
import { VoteType, voteSignBytes } from "../consensus/vote.js";
import { repoRoot } from "../contracts/artifacts.js";
import { devnetGenesis } from "../genesis/devnet.js";
import { Chain } from "../node/chain/chain.js";
import { ChainApp } from "../node/consensus/app.js";
import { Ed25519Signer, Ed25519Verifier } from "../node/crypto/ed25519.js";
import { openChainStorage } from "../node/db/storage.js";
import { DEFAULT_MEMPOOL_OPTIONS, Mempool } from "../node/mempool/index.js";
import { SyncServer } from "../node/sync/index.js";
import type { EndBlockContext } from "../runtime/effects.js";
import { createChainCommon } from "../runtime/evm/common.js";
import { nullLogger } from "../runtime/lib/logger.js";
import { NATIVE_MODULES, type NativeModule } from "../runtime/modules/index.js";
import { hashHeader } from "../runtime/primitives/block.js";
import { bytesToHex, equalsBytes } from "../runtime/primitives/bytes.js";
import { type Validator, validatorAddress } from "../runtime/primitives/validatorSet.js";
import { readFlags, UsageError } from "./args.js";
import { round, summarize } from "./stats.js";
import { azoraVersion } from "./version.js";

/**
 * Does the work of one height stay flat as the chain grows? Commits `--heights` blocks on a real chain
 * (LevelDB, the EVM executing each block, the node's `ChainApp` and `Chain`) signed by `--validators`
 * ed25519 validators, with new powers for one validator at every `--epoch`-th block (a stand-in for the
 * staking module's reports: the set of the height changes, its records are written with the blocks).
 * Per height it times what a validator's node does besides waiting for the network: the consensus
 * schedule's questions (validators, set, proposers of the first rounds, a height 10 below for a late vote),
 * building and executing the block, signing the commit, committing it with the validators it settles,
 * and a peer's status request (the head's certificate and signers). Reported per bucket of `--bucket`
 * heights: mean, p50, p99 ms.
 *
 *   npm run build && node dist/bench/heights.js [--heights 100000] [--bucket 10000] [--validators 4]
 *     [--epoch 100] [--sync-writes] [--out bench/results/heights-latest.json]
 */

const HELP = `Usage: node dist/bench/heights.js [--heights N] [--bucket N] [--validators N] [--epoch N] [--sync-writes] [--out FILE]
Whether a height's work stays flat as the chain grows: mean, p50, p99 ms per bucket of heights of a validator's
work besides the network (schedule, build and execute, sign, commit, a peer's status request).
  --heights N      heights committed (default 100000)
  --bucket N       heights per reported bucket (default 10000)
  --validators N   ed25519 validators signing (default 4)
  --epoch N        new powers for one validator every N-th block (default 100)
  --sync-writes    sync each commit's writes to disk (default: off)
  --out FILE       JSON result (default bench/results/heights-latest.json)`;

interface Opts {
  heights: number;
  bucket: number;
  validators: number;
  epoch: number;
  syncWrites: boolean;
  out: string;
}

function parse(argv: string[]): Opts | null {
  const o: Opts = {
    heights: 100_000,
    bucket: 10_000,
    validators: 4,
    epoch: 100,
    syncWrites: false,
    out: "bench/results/heights-latest.json",
  };
  const int = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer`);
    return n;
  };
  const ok = readFlags(argv, (flag, next) => {
    if (flag === "--heights") o.heights = int(flag, next());
    else if (flag === "--bucket") o.bucket = int(flag, next());
    else if (flag === "--validators") o.validators = int(flag, next());
    else if (flag === "--epoch") o.epoch = int(flag, next());
    else if (flag === "--sync-writes") o.syncWrites = true;
    else if (flag === "--out") o.out = next();
    else throw new UsageError(`unknown flag ${flag}`);
  });
  return ok ? o : null;
}

async function main(o: Opts): Promise<void> {
  const signers = Array.from({ length: o.validators }, (_, i) => new Ed25519Signer(new Uint8Array(32).fill(i + 1)));
  const validators: Validator[] = signers.map((s, i) => ({
    publicKey: s.publicKey,
    address: validatorAddress(s.publicKey),
    votingPower: 10n,
    feeRecipient: new Uint8Array(20).fill(i + 1),
  }));
  const signerOf = (v: Validator) => signers[validators.findIndex((x) => equalsBytes(x.publicKey, v.publicKey))];
  const spec = {
    ...devnetGenesis(),
    validators,
    validatorNames: validators.map((_, i) => `v${i}`),
    // Staking self-stakes each genesis validator for its operator (one account per validator).
    validatorOperators: validators.map((_, i) => new Uint8Array(20).fill(0x40 + i)),
  };

  // The staking module's stand-in: at every epoch boundary one validator gets a new power.
  const hooked = NATIVE_MODULES.find((m) => m.endBlock === undefined) as NativeModule;
  hooked.endBlock = async (ctx: EndBlockContext) => {
    const h = ctx.env.number;
    if (h % BigInt(o.epoch) !== 0n) return undefined;
    const i = Number((h / BigInt(o.epoch)) % BigInt(o.validators));
    const power = 10n + ((h / BigInt(o.epoch)) % 7n);
    return {
      validatorUpdates: [{ publicKey: validators[i].publicKey, power, feeRecipient: validators[i].feeRecipient }],
    };
  };

  const dir = join(tmpdir(), `azora-bench-heights-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const { db, record } = await openChainStorage(dir, { syncWrites: o.syncWrites });
  const chain = await Chain.open(db, spec, createChainCommon(spec.chainId), nullLogger);
  const mempool = new Mempool(
    { ...DEFAULT_MEMPOOL_OPTIONS, minBaseFeePerGas: 0n, blockGasLimit: spec.gasLimit },
    { state: { getAccount: async () => ({ nonce: 0n, balance: 0n }) } },
  );
  const app = new ChainApp({ chain, mempool, verifier: new Ed25519Verifier(), log: nullLogger });
  const server = new SyncServer(chain);
  const history = chain.validators;

  const buckets: { from: number; to: number; ms: number[] }[] = [];
  let bucket: number[] = [];
  const started = performance.now();
  const t0 = 1_700_000_000n;
  for (let n = 1; n <= o.heights; n++) {
    const height = BigInt(n);
    const t = performance.now();
    // What consensus asks of the schedule at a height (driver, message admission, evidence of late votes).
    const vals = history.validators(height) as readonly Validator[];
    history.setAt(height);
    const proposer = vals[history.proposer(height, 0)];
    history.proposer(height, 1);
    history.proposer(height + 1n, 0);
    if (height > 10n) await chain.validatorsAt(height - 10n);
    const lastCommit = height === 1n ? new Uint8Array(0) : ((await chain.db.getCommit(height - 1n)) as Uint8Array);
    const { block } = await app.buildProposal({ proposer, timestamp: t0 + height, lastCommit, budgetMs: 1_000 });
    const hash = hashHeader(block.header);
    const cert: CommitCertificate = {
      height,
      round: 0,
      blockHash: hash,
      signatures: vals.map((v, i) => ({
        validatorIndex: i,
        signature: signerOf(v).sign(voteSignBytes(spec.chainId, VoteType.Precommit, height, 0, hash)),
      })),
    };
    await app.finalize(block, encodeCommit(cert), proposer);
    await server.status();
    bucket.push(performance.now() - t);
    if (n % o.bucket === 0 || n === o.heights) {
      buckets.push({ from: n - bucket.length + 1, to: n, ms: bucket });
      const s = summarize(bucket);
      process.stdout.write(
        `heights ${n - bucket.length + 1}–${n}: mean ${s.mean} ms, p50 ${s.p50} ms, p99 ${s.p99} ms (validators ${vals.length}, set ${bytesToHex(history.at(height)?.hash ?? new Uint8Array(0)).slice(0, 10)})\n`,
      );
      bucket = [];
    }
  }
  const totalSec = (performance.now() - started) / 1000;
  record.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
  delete hooked.endBlock;

  const rows = buckets.map((b) => ({ from: b.from, to: b.to, ...summarize(b.ms) }));
  const first = rows[0]?.mean ?? null;
  const last = rows[rows.length - 1]?.mean ?? null;
  const result = {
    bench: "heights",
    date: new Date().toISOString(),
    version: azoraVersion(repoRoot()),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", node: process.version },
    options: o,
    totalSec: round(totalSec, 1),
    buckets: rows,
    lastOverFirstMean: first !== null && last !== null ? round(last / first, 2) : null,
  };
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${o.heights} heights in ${round(totalSec, 1)} s; mean of the last bucket / the first: ${result.lastOverFirstMean}\nwrote ${out}\n`,
  );
}

try {
  const o = parse(process.argv.slice(2));
  if (o === null) {
    process.stdout.write(`${HELP}\n`);
  } else {
    await main(o);
  }
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`${e.message}\n${HELP}\n`);
    process.exit(2);
  }
  throw e;
}
