import {
  type AppPort,
  type ClockPort,
  ConsensusDriver,
  type ConsensusMetrics,
  type DriverStatus,
  type HeightTiming,
  type InboundVerdict,
  type NetworkPort,
  type ParamsPort,
  type SignerPort,
  type WALPort,
} from "../../consensus/driver/index.js";
import type { FutureBufferLimits, MessageLimits } from "../../consensus/messages/index.js";
import type { Logger } from "../../runtime/lib/logger.js";
import type { ConsensusTiming } from "../../runtime/params.js";
import type { Chain } from "../chain/chain.js";
import type { Ed25519Verifier } from "../crypto/ed25519.js";
import type { Mempool } from "../mempool/index.js";
import { GossipAction, GossipActionError } from "../network/errors.js";
import type { P2PNetwork } from "../network/network.js";
import { BlockSync, CommitPrecheck, type SyncMetrics, SyncServer } from "../sync/index.js";
import type { TxStageClock } from "../txStages.js";
import type { ChainApp } from "./app.js";
import type { GuardedSigner } from "./signer.js";
import type { ConsensusWAL } from "./wal.js";

/**
 * The node's side of the consensus driver's ports (consensus/driver/ports.ts): the chain and its app,
 * the mempool, libp2p, the WAL and signer files, the wall clock and block sync. Only wiring: the driver
 * owns the policy.
 */
export interface ConsensusModules {
  chain: Chain;
  app: ChainApp;
  mempool: Mempool;
  network: P2PNetwork;
  /** null on a full node (follows the chain, never signs). */
  signer: GuardedSigner | null;
  wal: ConsensusWAL | null;
  verifier: Ed25519Verifier;
  log: Logger;
  onStep?: (s: { height: bigint; round: number; step: string }) => void;
  onHalt?: (reason: string) => void;
  metrics?: ConsensusMetrics | null;
  /** Adds the CPU time of each port call to the node's per-stage figures (`azora_consensus_stage_seconds_total`). */
  stages?: TxStageClock;
  syncMetrics?: SyncMetrics | null;
  /** While transactions wait, a height starts no sooner than this after the last commit (driver option). */
  minBlockIntervalMs?: number;
  /** Overrides of the message admission bounds (tests). */
  messageLimits?: Partial<MessageLimits>;
  futureBufferLimits?: Partial<FutureBufferLimits>;
}

/** Wall-clock time and `setTimeout` timers. */
export const systemClock: ClockPort = {
  nowMs: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/** Genesis / governance timing in the shape the state machine uses. */
export function heightTiming(c: ConsensusTiming): HeightTiming {
  return {
    emptyBlockIntervalMs: c.emptyBlockIntervalMs,
    timeouts: {
      proposeMs: c.timeoutProposeMs,
      proposeDeltaMs: c.timeoutProposeDeltaMs,
      prevoteMs: c.timeoutPrevoteMs,
      prevoteDeltaMs: c.timeoutPrevoteDeltaMs,
      precommitMs: c.timeoutPrecommitMs,
      precommitDeltaMs: c.timeoutPrecommitDeltaMs,
    },
  };
}

/** THE mapping from the driver's verdict on a peer's message to libp2p's (accept, or an error that says ignore/reject). */
function toGossipResult(v: InboundVerdict): void {
  if (v.action === "accept") return;
  throw new GossipActionError(v.action === "reject" ? GossipAction.REJECT : GossipAction.IGNORE, {
    code: v.code,
    reason: v.reason,
  });
}

/**
 * The signer with each signature's CPU time (signing, encoding its state) counted as `sign`. Only the
 * call's synchronous part is timed (`GuardedSigner` signs inside the call when no other signature is
 * pending): the state's write and sync run on libuv's pool, and timing until the promise settles
 * would charge whatever else the event loop ran meanwhile.
 */
function timedSigner(signer: SignerPort, stages: TxStageClock): SignerPort {
  return {
    publicKey: signer.publicKey,
    signVote: (...a) => stages.timeSync("sign", () => signer.signVote(...a)),
    signProposal: (...a) => stages.timeSync("sign", () => signer.signProposal(...a)),
    lastSigned: () => signer.lastSigned(),
  };
}

/** The WAL with its CPU time counted as `wal`: the calls' synchronous part, as for the signer. */
function timedWAL(wal: WALPort, stages: TxStageClock): WALPort {
  return {
    append: (record, opts) => stages.timeSync("wal", () => wal.append(record, opts)),
    sync: () => stages.timeSync("wal", () => wal.sync()),
    startHeight: (height) => stages.timeSync("wal", () => wal.startHeight(height)),
    replay: () => wal.replay(),
  };
}

/** Builds the consensus driver of a network node and connects it to libp2p. */
export function createConsensus(m: ConsensusModules): {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): DriverStatus;
} {
  const { chain, app, mempool, network, stages } = m;
  // Each port call's CPU time, when the node keeps per-stage figures (nested tx stages are not counted twice).
  const timed = <T>(stage: Parameters<TxStageClock["time"]>[0], fn: () => Promise<T>): Promise<T> =>
    stages === undefined ? fn() : stages.time(stage, fn);
  const timedSync = <T>(stage: Parameters<TxStageClock["timeSync"]>[0], fn: () => T): T =>
    stages === undefined ? fn() : stages.timeSync(stage, fn);
  const appPort: AppPort = {
    headHeight: () => chain.head.header.number,
    commitAt: (height) => chain.db.getCommit(height),
    hasPendingWork: () => mempool.stats().pending > 0,
    onPendingWork: (cb) => mempool.onPending(cb),
    buildValue: async (req) =>
      (
        await timed("propose", () =>
          app.buildProposal({
            proposer: req.proposer,
            timestamp: req.timestamp,
            lastCommit: req.lastCommit,
            budgetMs: req.budgetMs,
          }),
        )
      ).block,
    validateValue: async (block, proposer) => {
      const r = await timed("verify_proposal", () => app.processProposal(block, proposer));
      return r.valid ? { valid: true } : { valid: false, reason: r.reason };
    },
    finalize: async (block, commit, proposer) => {
      await timed("commit", () => app.finalize(block, commit, proposer));
    },
    addEvidence: (e) => app.addEvidence(e),
    reset: () => app.reset(),
    haltReason: (height) => chain.upgrades.haltReason(height),
  };
  const networkPort: NetworkPort = {
    publish: (topic, data) => timedSync("gossip_out", () => network.publish(topic, data)),
    sendDirect: (peer, topic, data) => timedSync("gossip_out", () => network.sendDirect(peer, topic, data)),
    peers: () => network.peers().map((p) => p.id),
  };
  const params: ParamsPort = { timing: (height) => heightTiming(chain.params.at(height).consensus) };
  const commitPrecheck = new CommitPrecheck(m.log.child({ module: "sync" }));
  const driver = new ConsensusDriver(
    {
      chainId: chain.spec.chainId,
      minBlockIntervalMs: m.minBlockIntervalMs,
      messageLimits: m.messageLimits,
      futureBufferLimits: m.futureBufferLimits,
    },
    {
      app: appPort,
      network: networkPort,
      clock: systemClock,
      signer: m.signer === null || stages === undefined ? m.signer : timedSigner(m.signer, stages),
      wal: m.wal === null || stages === undefined ? m.wal : timedWAL(m.wal, stages),
      schedule: chain.validators,
      params,
      verifier: m.verifier,
      createSync: ({ apply, onIdle }) =>
        new BlockSync(
          { chainId: chain.spec.chainId },
          {
            network: {
              peerIds: () => network.peers().map((p) => p.id),
              requestStatus: (peer) => network.requestStatus(peer),
              requestBlocks: (peer, from, count) => network.requestBlocks(peer, from, count),
              penalize: (peer, points, reason) => network.penalize(peer, points, reason),
            },
            chain: {
              headHeight: () => chain.head.header.number,
              // One atomic, synced batch per verified run, the committed record once after it (Chain.commitSyncedRun);
              // untimed: the stage clock's reads cost more than a synced empty block's own work (TxStageClock.untimed).
              apply: (blocks) => {
                const run = () =>
                  chain.commitSyncedRun(
                    blocks.map((b) => b.hash),
                    () => apply(blocks),
                  );
                return stages === undefined ? run() : stages.untimed(run);
              },
            },
            schedule: chain.validators,
            verifier: m.verifier,
            log: m.log.child({ module: "sync" }),
            now: Date.now,
            metrics: m.syncMetrics,
            // The signatures of a response checked on a worker while the one before applies (their turn: cache hits).
            // Its transactions' senders are recovered there too (the app takes them in the block's turn).
            precheck: async (checks) => {
              const { verified, decoded } = await commitPrecheck.check(checks);
              for (const [key, message, signature] of verified) m.verifier.remember(key, message, signature);
              app.rememberDecoded(decoded);
            },
            onIdle,
          },
        ),
      log: m.log,
      metrics: m.metrics,
      onStep: m.onStep,
      onHalt: m.onHalt,
    },
  );
  const server = new SyncServer(chain);
  return {
    async start() {
      for (const topic of ["proposal", "vote", "evidence"] as const) {
        network.onGossip(topic, async (data, from) =>
          toGossipResult(timedSync("gossip_in", () => driver.receive(topic, data, from))),
        );
      }
      network.handleBlockRequests((from, count) => server.blocks(from, count));
      network.handleStatus(() => server.status());
      await driver.start();
    },
    async stop() {
      await driver.stop();
      await commitPrecheck.close();
    },
    status: () => driver.status(),
  };
}
