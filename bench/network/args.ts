// Command-line flags of `npm run bench:network`.
import { readFlags, UsageError } from "../args.js";

export interface NetworkBenchParams {
  /** Run the validators as separate hosts in network namespaces (Linux, CAP_NET_ADMIN, sch_netem). */
  netns: boolean;
  /** Loopback, with every validator↔validator link through a userspace relay delaying each direction by delayMs. */
  relay: boolean;
  /** One-way delay added by netem on each namespace host's link (ms); 0 = namespaces without netem. */
  delayMs: number;
  /** Length of every measured window (idle finality, each load step), seconds. */
  durationS: number;
  out: string;
  skipKill: boolean;
  /** Fixed offered loads for the tx→final figures (tx/s). */
  rates: number[];
  /** Offered loads of the ramp, in order; it stops at the first step that is not sustained. */
  ramp: number[];
  /** Empty-block interval of the genesis used for the idle-finality phases (ms, the driver's minimum is 10). */
  idleIntervalMs: number;
  /** A load step fails when none of its txs is included for this long (ms). */
  stallTimeoutMs: number;
  /** Keep the temp network directories (homes, data, node logs) instead of deleting them. */
  keep: boolean;
  /** The azora CLI to run (default: dist/node/cli.js of this checkout), e.g. another build for an A/B run. */
  cli: string | null;
  /** Overrides of genesis `consensus` keys for every network (experiments with the Tendermint timeouts). */
  genesisConsensus: Record<string, number>;
  /** Every node's config `consensus.minBlockIntervalMs` (height pacing under load), or null = not written (the node's default). */
  minBlockIntervalMs: number | null;
  /**
   * Networks to run: idle (finality), load (fixed rates + ramp), down (tx→final with a killed validator), sync
   * (a fresh full node's block sync; only when named).
   */
  only: Set<"idle" | "load" | "down" | "sync">;
  /** Block sync: empty blocks, then blocks of transfers (bursts), and transfers per burst of the source chain. */
  sync: { emptyBlocks: number; loadedBlocks: number; txsPerBlock: number; syncWrites: boolean };
  /** Before each network and phase, wait up to this long (s) while azora processes this bench did not start run. */
  waitQuietS: number;
  /** Write a V8 CPU profile of every node into this directory (`node --cpu-prof`), or null. */
  nodeCpuProfDir: string | null;
}

export const HELP = `Usage: npm run bench:network -- [options]
       node dist/bench/network/run.js [options]        (after \`npm run build\`)

Starts fresh 4-validator localnets (\`azora init\` + 4 × \`azora start\`, child processes), waits until every
node is connected and committing, then measures:
  1. empty-block finality p50/p99 (genesis empty-block interval --idle-interval, heights back to back):
     per height, from the moment it could start (first newHeads of the previous block + the interval)
     to its newHeads on the first node and on all nodes
  2. tx submit → finalized p50/p99 at fixed offered loads (--rates), pre-signed value transfers from 100
     funded sender accounts, sent open-loop at a steady rate round-robin to the nodes (default genesis: 3000 ms)
  3. the highest sustained tx/s: --ramp steps of --duration-s each, until p99 > 2 s or the inclusion rate
     falls below 95 % of the offered rate
  4. the same with one validator killed (kill -9 node 3): empty-block finality and tx→final at the first rate
  5. (--only sync) block sync: a fresh full node catches up with an untimed source chain of --sync-blocks
     empty blocks and --sync-loaded-blocks blocks of --sync-txs-per-block value transfers (bench/network/sync.ts):
     empty blocks/s, replayed tx/s, its CPU per block and per tx, time to first block, sync stage times
Prints a table with the goals of issue 3 (and 14) beside the figures and writes JSON (--out and a dated copy).

Options:
  --netns                 run the 4 validators as separate hosts in network namespaces (veth + bridge),
                          with netem delay on each host's link (Linux, root/CAP_NET_ADMIN, sch_netem)
  --relay                 loopback, but every validator↔validator connection goes through a userspace relay
                          (bench/network/relay.ts) that delays each direction by --delay-ms: for kernels
                          without sch_netem, where --netns cannot add delay
  --delay-ms <ms>         one-way delay per link in --netns and --relay mode (default 25; 0 = namespaces
                          without netem)
  --duration-s <s>        length of each measured window (default 10)
  --rates <a,b,…>         fixed offered loads in tx/s (default 100,500)
  --ramp <a,b,…>          ramp steps in tx/s (default 200,300,400,500,600,800,1000,1500,2000)
  --idle-interval <ms>    empty-block interval of the idle-finality genesis (default 10, minimum 10)
  --stall-timeout <ms>    a load step stops waiting when none of its txs was included for this long (default 20000)
  --out <file>            JSON result (default bench/results/network-latest.json; a dated copy is written next to it)
  --skip-kill             skip the phases with a killed validator
  --only <idle,load,down,sync> run only these networks: idle = empty-block finality (and with node 3 killed),
                          load = fixed rates and the ramp, down = tx→final with node 3 killed, sync = block
                          sync of a fresh full node (default idle,load,down)
  --sync-blocks <n>       block sync: empty blocks of the source chain (default 10000)
  --sync-loaded-blocks <n>  block sync: bursts of transfers after them, each waited for (≈ blocks; default 200)
  --sync-txs-per-block <n>  block sync: value transfers per burst (default 50)
  --sync-no-sync-writes   block sync: the syncing node runs with storage.syncWrites off (no fsync per block)
  --wait-quiet <s>        before each network and each measured phase, wait up to <s> seconds while azora nodes
                          not started by this bench (e.g. an e2e test) run on the machine (default 0: warn only)
  --keep                  keep the temp network directories (homes, chain data, node logs)
  --node-cpu-prof <dir>   run every node with \`node --cpu-prof --cpu-prof-dir <dir>\`: one .cpuprofile per node
                          process, written when it stops (open in Chrome DevTools or speedscope)
  --cli <file>            the azora CLI to run (default dist/node/cli.js), e.g. another build for an A/B run
  --genesis-consensus <k=v,…>  override genesis consensus keys in every network, e.g.
                          timeoutProposeMs=1000,timeoutProposeDeltaMs=500 (emptyBlockIntervalMs of the idle
                          network stays --idle-interval)
  --min-block-interval <ms>  write config consensus.minBlockIntervalMs into every node's home: while
                          transactions wait, a height starts no sooner than this after the last commit
                          (default: not written, the node's default 0)
  -h, --help              show this help
`;

export { UsageError };

function intIn(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer in [${min}, ${max}]`);
  return n;
}

function intList(flag: string, v: string): number[] {
  const parts = v.split(",").filter((s) => s.trim().length > 0);
  if (parts.length === 0) throw new UsageError(`${flag} needs a comma-separated list of integers`);
  return parts.map((s) => intIn(flag, s.trim(), 1, 100_000));
}

/** Parses argv (without node and script); returns null when help was asked for. */
export function parseArgs(argv: string[]): NetworkBenchParams | null {
  const p: NetworkBenchParams = {
    netns: false,
    relay: false,
    delayMs: 25,
    durationS: 10,
    out: "bench/results/network-latest.json",
    skipKill: false,
    rates: [100, 500],
    ramp: [200, 300, 400, 500, 600, 800, 1000, 1500, 2000],
    idleIntervalMs: 10,
    stallTimeoutMs: 20_000,
    keep: false,
    cli: null,
    genesisConsensus: {},
    minBlockIntervalMs: null,
    only: new Set(["idle", "load", "down"]),
    sync: { emptyBlocks: 10_000, loadedBlocks: 200, txsPerBlock: 50, syncWrites: true },
    waitQuietS: 0,
    nodeCpuProfDir: null,
  };
  const complete = readFlags(argv, (flag, next) => {
    switch (flag) {
      case "--netns":
        p.netns = true;
        break;
      case "--relay":
        p.relay = true;
        break;
      case "--delay-ms":
        p.delayMs = intIn(flag, next(), 0, 10_000);
        break;
      case "--duration-s":
        p.durationS = intIn(flag, next(), 2, 3600);
        break;
      case "--rates":
        p.rates = intList(flag, next());
        break;
      case "--ramp":
        p.ramp = intList(flag, next());
        break;
      case "--idle-interval":
        p.idleIntervalMs = intIn(flag, next(), 10, 3_600_000);
        break;
      case "--stall-timeout":
        p.stallTimeoutMs = intIn(flag, next(), 1000, 3_600_000);
        break;
      case "--out":
        p.out = next();
        break;
      case "--only": {
        const names = next()
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "");
        const bad = names.filter((x) => !["idle", "load", "down", "sync"].includes(x));
        if (names.length === 0 || bad.length > 0) throw new UsageError("--only takes a list of idle, load, down, sync");
        p.only = new Set(names as Array<"idle" | "load" | "down" | "sync">);
        break;
      }
      case "--sync-blocks":
        p.sync.emptyBlocks = intIn(flag, next(), 1, 1_000_000);
        break;
      case "--sync-loaded-blocks":
        p.sync.loadedBlocks = intIn(flag, next(), 1, 100_000);
        break;
      case "--sync-txs-per-block":
        p.sync.txsPerBlock = intIn(flag, next(), 1, 5_000);
        break;
      case "--sync-no-sync-writes":
        p.sync.syncWrites = false;
        break;
      case "--wait-quiet":
        p.waitQuietS = intIn(flag, next(), 0, 86_400);
        break;
      case "--skip-kill":
        p.skipKill = true;
        break;
      case "--keep":
        p.keep = true;
        break;
      case "--node-cpu-prof":
        p.nodeCpuProfDir = next();
        break;
      case "--cli":
        p.cli = next();
        break;
      case "--genesis-consensus":
        for (const kv of next()
          .split(",")
          .filter((x) => x.trim() !== "")) {
          const [k, v] = kv.split("=");
          if (k === undefined || v === undefined || !/^\w+$/.test(k.trim()))
            throw new UsageError("--genesis-consensus takes key=value pairs separated by commas");
          p.genesisConsensus[k.trim()] = intIn(`--genesis-consensus ${k}`, v.trim(), 0, 3_600_000);
        }
        break;
      case "--min-block-interval":
        p.minBlockIntervalMs = intIn(flag, next(), 0, 60_000);
        break;
      default:
        throw new UsageError(`unknown option ${flag} (see --help)`);
    }
  });
  if (!complete) return null;
  if (p.netns && p.relay) throw new UsageError("--netns and --relay are alternatives: pick one");
  return p;
}
