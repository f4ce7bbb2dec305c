import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VoteType, voteSignBytes } from "../../consensus/vote.js";
import { encodeSignedVote, type SignedVote } from "../../consensus/wire.js";
import { Ed25519Signer, publicKeyFromSeed } from "../../node/crypto/ed25519.js";
import { DEFAULT_P2P_OPTIONS, GossipAction, GossipActionError, P2PNetwork } from "../../node/network/index.js";
import { nullLogger } from "../../runtime/lib/logger.js";
import { keyProofMessage } from "../../runtime/modules/staking/index.js";
import { bytesToHex, hexToBytes } from "../../runtime/primitives/bytes.js";
import {
  ActionKind,
  GovernanceClient,
  ProposalStatus,
  StakingClient,
  VoteOption,
} from "../../services/client/stakingClient.js";
import { DEV_KEYS, runCLI } from "../utils/devnode.js";
import { type NetNode, rpc, TestNetwork, waitFor } from "../utils/network.js";

/**
 * The validator set as a function of stake, on real `azora` processes (issue 12): `azora init
 * --validators 4 --full-nodes 2`, validator 3's node never started (this process signs with its key).
 * One chain, in order: validator 3 (with a delegator) double-signs and is slashed and tombstoned; node 4
 * (a full node) stakes in and signs from the next epoch; a governance proposal raises the block gas
 * limit and lowers the base-fee floor, applied at one height on all four signing nodes; node 4, stopped,
 * is jailed for downtime and returns after `azora validator unjail`; node 4 undelegates below the
 * minimum self-stake and leaves the set; node 5 syncs from genesis across those set and parameter
 * changes to the same blocks and state roots; last, a software-upgrade proposal stops every node at its
 * height with the message (which ends the network).
 *
 * The genesis is `azora init`'s with shorter periods (edited before any node starts): epochs of 10
 * blocks, a 40 s voting period, a 1 s timelock, a 5 s downtime jail, and a 40-block downtime window:
 * short enough to jail a stopped validator in about 20 blocks, long enough that validator 3's absence
 * from the start (it missed every block) is not punished before its double-sign is, a few blocks in.
 *
 * The two proposals' voting periods are waits on the clock, so each runs under another step of the story
 * instead of on its own: the gas-limit proposal is made and voted while node 4 stakes in (it is executed
 * only after node 4 signs, so its height is still one all four nodes sign), and the upgrade proposal
 * while node 5 syncs (the sync's target is the head before the proposal).
 */

const AZR = 10n ** 18n;
const EPOCH = 10;
const NEW_GAS_LIMIT = 70_000_000n;
const NEW_MIN_BASE_FEE = 1n;
const DOWNTIME_WINDOW = 40;
/** Delegates to validator 3 before it double-signs. */
const DELEGATOR = 6;
const DELEGATED = 1n * AZR;

let net: TestNetwork;
let byzantine: P2PNetwork | null = null;
/**
 * Flags for every node start: an eth_call may run up to 60 s (module views through the EVM, which a loaded
 * 2-core machine can take more than the default 5 s over; the clients' estimateGas goes through it).
 */
const START_ARGS = ["--rpc-evm-timeout", "60000"];
/** Node 4's consensus key, written into its home before it starts (it runs as a full node until it is in the set). */
const joinerSeed = new Uint8Array(randomBytes(32));
const joinerPublicKey = bytesToHex(publicKeyFromSeed(joinerSeed));

const signing = () => [0, 1, 2, 4].map((i) => net.node(i));
const provider = (n: NetNode) => {
  const p = new JsonRpcProvider(n.url, undefined, { staticNetwork: true });
  p.pollingInterval = 200;
  return p;
};
const wallet = (i: number, n: NetNode = net.node(0)) => new Wallet(DEV_KEYS[i], provider(n));
const operator = (i: number) => new Wallet(DEV_KEYS[i]).address;
const staking = () => new StakingClient(provider(net.node(0)));

interface GenesisJSON {
  modules: { staking: Record<string, unknown>; governance: Record<string, unknown> };
}

function editJSON<T>(path: string, edit: (o: T) => void): void {
  const o = JSON.parse(readFileSync(path, "utf8"));
  edit(o);
  writeFileSync(path, `${JSON.stringify(o, null, 2)}\n`);
}

const gov = (i: number) => new GovernanceClient(wallet(i));
const DESCRIPTION = "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

/** A proposal made by operator 0 (full deposit) and voted yes by operators 0-2, as the chain saw it then. */
interface Voted {
  id: bigint;
  statusAfterDeposit: ProposalStatus;
  yesAfterVotes: bigint;
}

async function proposeAndVote(actions: Parameters<GovernanceClient["propose"]>[0]): Promise<Voted> {
  const { id } = await gov(0).propose(actions, DESCRIPTION, 10n * AZR);
  const statusAfterDeposit = (await gov(0).proposal(id)).status;
  // The three operators vote at once (different accounts): the voting period is short.
  await Promise.all([0, 1, 2].map((i) => gov(i).vote(id, VoteOption.Yes)));
  return { id, statusAfterDeposit, yesAfterVotes: (await gov(0).proposal(id)).yes };
}

/** A proposal started by one test and finished by the next: a rejection waits for the test that awaits it. */
function started<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

async function waitPassedAndExecutable(id: bigint): Promise<void> {
  await waitFor(
    `proposal ${id} passed and past its timelock`,
    async () => {
      const p = await gov(0).proposal(id);
      const head = await provider(net.node(0)).getBlock("latest");
      return p.status === ProposalStatus.Passed && head !== null && BigInt(head.timestamp) >= p.executableAt;
    },
    120_000,
    500,
  );
}

/** Made at the start of node 4's staking (its voting period runs meanwhile); executed by the next test. */
let gasLimitProposal: Promise<Voted>;
/** Made at the start of node 5's sync; executed by the last test. */
let upgradeProposal: Promise<Voted & { upgradeAt: bigint }>;

beforeAll(async () => {
  net = await TestNetwork.create({ validators: 4, fullNodes: 2, emptyBlockIntervalMs: 1000, start: [] });
  for (const n of net.nodes) {
    editJSON<GenesisJSON>(join(n.home, "genesis.json"), (g) => {
      g.modules.staking.epochLength = EPOCH;
      g.modules.staking.signedBlocksWindow = DOWNTIME_WINDOW;
      g.modules.staking.downtimeJailSeconds = 5;
      g.modules.governance.votingPeriod = 40;
      g.modules.governance.timelock = 1;
    });
  }
  writeFileSync(
    join(net.node(4).home, "validator_key.json"),
    `${JSON.stringify({ seed: bytesToHex(joinerSeed), publicKey: joinerPublicKey })}\n`,
    { mode: 0o600 },
  );
  editJSON<Record<string, unknown>>(join(net.node(4).home, "config.json"), (c) => {
    c.validatorKeyFile = "validator_key.json";
  });
  await Promise.all([0, 1, 2, 4].map((i) => net.node(i).start(240_000, START_ARGS)));
  await net.waitForHeight(signing(), 3n, 120_000);
}, 480_000);

afterAll(async () => {
  await byzantine?.stop();
  if (net !== undefined) {
    await net.stopAll();
    net.saveLogs("validator-set");
    await net.destroy();
  }
}, 60_000);

describe("validator set from stake", () => {
  it("a validator that double-signs is slashed 5 %, tombstoned and leaves the set; its delegators' stakes drop by the fraction", async () => {
    const node3 = net.node(3);
    const byzIndex = net.validatorIndexOf(3);
    const before = await staking().validator(operator(3));
    expect(before).toMatchObject({ active: true, jailed: false, tombstoned: false, tokens: 10n * AZR });
    // A small delegation: validator 3 never signs, and the three others must keep more than 2/3 of the power.
    await new StakingClient(wallet(DELEGATOR)).delegate(operator(3), DELEGATED);
    expect((await staking().delegation(operator(DELEGATOR), operator(3))).amount).toBe(DELEGATED);

    // Validator 3's node, run here with its libp2p identity (the others dial it), to gossip two prevotes.
    const heardFrom = new Set<string>();
    byzantine = await P2PNetwork.create(
      {
        ...DEFAULT_P2P_OPTIONS,
        chainId: net.chainId,
        listen: [`/ip4/127.0.0.1/tcp/${node3.p2pPort}`],
        bootstrap: [0, 1, 2].map((i) => net.node(i).multiaddr()),
        nodeKeySeed: hexToBytes(node3.nodeKey().seed),
        heartbeatIntervalMs: 100,
        redialMinMs: 50,
        redialMaxMs: 500,
      },
      { log: nullLogger },
    );
    byzantine.onGossip("vote", (_data, from) => {
      heardFrom.add(from);
      throw new GossipActionError(GossipAction.IGNORE, { code: "TEST_LISTENER", reason: "not relayed" });
    });
    const peers = [0, 1, 2].map((i) => net.node(i).nodeKey().peerId);
    await waitFor("votes from validators 0-2", () => peers.every((p) => heardFrom.has(p)), 60_000);

    const status = await net.node(0).status();
    const height = BigInt(status.consensusHeight);
    const signer = new Ed25519Signer(hexToBytes(node3.validatorKey().seed));
    const vote = (blockHash: Uint8Array | null): SignedVote => ({
      type: VoteType.Prevote,
      height,
      round: status.round,
      blockHash,
      validatorIndex: byzIndex,
      signature: signer.sign(voteSignBytes(net.chainId, VoteType.Prevote, height, status.round, blockHash)),
    });
    await byzantine.publish("vote", encodeSignedVote(vote(new Uint8Array(randomBytes(32)))));
    await byzantine.publish("vote", encodeSignedVote(vote(null)));

    // The evidence's block slashes and tombstones; the epoch boundary takes it out of the active set.
    const after = await waitFor(
      `validator 3 tombstoned and inactive (double-signed at height ${height})`,
      async () => {
        const v = await staking().validator(operator(3));
        return v.tombstoned && !v.active ? v : undefined;
      },
      120_000,
      250,
    );
    expect(after.jailed).toBe(true);
    expect(after.tokens).toBe(((10n * AZR + DELEGATED) * 95n) / 100n);
    expect(after.power).toBe(0n);
    const own = await staking().delegation(operator(3), operator(3));
    expect(own.amount).toBe((10n * AZR * 95n) / 100n);
    const delegated = await staking().delegation(operator(DELEGATOR), operator(3));
    expect(delegated.amount).toBe((DELEGATED * 95n) / 100n);
    // Tombstoned is for ever: unjail is refused by name.
    await expect(new StakingClient(wallet(3)).unjail()).rejects.toThrow(/ValidatorTombstoned/);
    await byzantine.stop();
    byzantine = null;
  }, 300_000);

  it("a full node stakes in, enters the set at the next epoch and signs blocks", async () => {
    // The next test's proposal, from other accounts: its 40 s voting period runs while node 4 joins.
    gasLimitProposal = started(
      proposeAndVote([
        { kind: ActionKind.SetParam, key: "block.gasLimit", value: NEW_GAS_LIMIT, target: ZERO, info: "" },
        { kind: ActionKind.SetParam, key: "fees.minBaseFeePerGas", value: NEW_MIN_BASE_FEE, target: ZERO, info: "" },
      ]),
    );
    const node4 = net.node(4);
    expect((await node4.status()).mode).toBe("full node");
    const chainId = net.chainId;
    const proof = new Ed25519Signer(joinerSeed).sign(
      keyProofMessage(chainId, hexToBytes(operator(4) as `0x${string}`)),
    );
    const created = await new StakingClient(wallet(4)).createValidator({
      consensusPubKey: joinerPublicKey,
      commissionBps: 500,
      moniker: "node4",
      keyProof: bytesToHex(proof),
      selfStake: 10n * AZR,
    });
    const createdAt = BigInt(created.blockNumber);
    // Active from the epoch boundary after its block; consensus takes updates at H + 2.
    const joined = await waitFor(
      "node 4 signing as a validator",
      async () => {
        const s = await node4.status();
        return s.mode === "validator" && BigInt(s.lastSignedHeight) > createdAt ? s : undefined;
      },
      120_000,
      250,
    );
    expect(BigInt(joined.lastSignedHeight)).toBeLessThanOrEqual(createdAt + BigInt(2 * EPOCH) + 3n);
    expect((await staking().validator(operator(4))).active).toBe(true);
    // And keeps signing: the network of 0, 1, 2 and 4 moves on with it.
    const h = BigInt(joined.lastSignedHeight);
    await waitFor(
      "node 4 signs 3 more heights",
      async () => BigInt((await node4.status()).lastSignedHeight) >= h + 3n,
      60_000,
    );
  }, 300_000);

  it("a governance proposal raises the block gas limit and lowers the base-fee floor at one height on all four nodes", async () => {
    // Proposed and voted by the previous test; executed only now that node 4 signs.
    const { id, statusAfterDeposit, yesAfterVotes } = await gasLimitProposal;
    expect(statusAfterDeposit).toBe(ProposalStatus.VotingPeriod);
    expect(yesAfterVotes).toBe(30n * AZR); // validators 0-2, 10 AZR each
    await waitPassedAndExecutable(id);
    const executed = await gov(5).execute(id);
    expect((await gov(0).proposal(id)).status).toBe(ProposalStatus.Executed);

    const at = BigInt(executed.blockNumber);
    const pending = await rpc<{ paramChanges: { key: string; value: string; height: string }[] }>(
      net.node(0).url,
      "azora_getPendingChanges",
      [`0x${at.toString(16)}`],
    );
    expect(pending.paramChanges.map((c) => c.key).sort()).toEqual(["block.gasLimit", "fees.minBaseFeePerGas"]);
    const effective = BigInt(pending.paramChanges[0].height);
    expect(effective).toBeGreaterThan(at);

    await net.waitForHeight(signing(), effective, 120_000);
    for (const n of signing()) {
      const gasLimitAt = async (h: bigint) =>
        BigInt(
          (await rpc<{ gasLimit: string }>(n.url, "eth_getBlockByNumber", [`0x${h.toString(16)}`, false])).gasLimit,
        );
      expect(await gasLimitAt(effective - 1n), `node${n.index} before`).toBe(60_000_000n);
      expect(await gasLimitAt(effective), `node${n.index} at`).toBe(NEW_GAS_LIMIT);
      // Retried: it also reads the modules' parameters through EVM views, which a loaded machine can time out.
      const params = await waitFor(
        `node${n.index} azora_getChainParams`,
        () =>
          rpc<{ chain: { gasLimit: string; fees: { minBaseFeePerGas: string } } }>(n.url, "azora_getChainParams", [
            `0x${effective.toString(16)}`,
          ]),
        60_000,
        500,
      );
      expect(BigInt(params.chain.gasLimit)).toBe(NEW_GAS_LIMIT);
      expect(BigInt(params.chain.fees.minBaseFeePerGas)).toBe(NEW_MIN_BASE_FEE);
    }
  }, 300_000);

  it("a stopped validator is jailed for downtime (slashed 1 %) and returns after `azora validator unjail`", async () => {
    const node4 = net.node(4);
    const before = await staking().validator(operator(4));
    expect(before).toMatchObject({ active: true, jailed: false });
    await node4.stop();
    // Missing half of the 40-block window; the three others hold 3/4 of the power and go on.
    const jailed = await waitFor(
      "node 4 jailed for downtime",
      async () => {
        const v = await staking().validator(operator(4));
        return v.jailed ? v : undefined;
      },
      240_000,
      500,
    );
    expect(jailed.tombstoned).toBe(false);
    expect(jailed.tokens).toBe((before.tokens * 99n) / 100n);
    // The node restarts while its operator unjails it through node 0 (two processes, independent).
    const unjail = async () => {
      await waitFor(
        `the chain past node 4's jail (until ${jailed.jailedUntil})`,
        async () => {
          const head = await provider(net.node(0)).getBlock("latest");
          return head !== null && BigInt(head.timestamp) > jailed.jailedUntil;
        },
        120_000,
        500,
      );
      // The operator's key as a file (--dev-account is for the devnet's chain id only).
      const keyFile = join(node4.home, "operator.key");
      writeFileSync(keyFile, `${DEV_KEYS[4]}\n`, { mode: 0o600 });
      return runCLI(["validator", "unjail", "--key-file", keyFile, "--rpc", net.node(0).url], 300_000);
    };
    const [run] = await Promise.all([unjail(), node4.start(240_000, START_ARGS)]);
    expect(run.code, run.output).toBe(0);
    const unjailedBy = await net.node(0).height();
    await waitFor(
      "node 4 active and signing again",
      async () => {
        const v = await staking().validator(operator(4));
        const s = await node4.status();
        return v.active && !v.jailed && s.mode === "validator" && BigInt(s.lastSignedHeight) > unjailedBy;
      },
      240_000,
      500,
    );
  }, 600_000);

  it("a validator that undelegates below the minimum self-stake leaves the set at the next epoch", async () => {
    const node4 = net.node(4);
    const own = await staking().delegation(operator(4), operator(4));
    // genesis minSelfStake is 1 AZR: keep half of it.
    const receipt = await new StakingClient(wallet(4)).undelegate(operator(4), own.amount - AZR / 2n);
    const at = BigInt(receipt.blockNumber);
    const left = await waitFor(
      "node 4 out of the set",
      async () => {
        const v = await staking().validator(operator(4));
        const s = await node4.status();
        return !v.active && s.mode === "full node" ? v : undefined;
      },
      120_000,
      500,
    );
    expect(left.power).toBe(0n);
    expect(left.jailed).toBe(false);
    // It signs nothing more.
    const stoppedAt = BigInt((await node4.status()).lastSignedHeight);
    // The set of 0, 1 and 2 goes on without it.
    await net.waitForHeight(
      [0, 1, 2].map((i) => net.node(i)),
      at + BigInt(2 * EPOCH) + 3n,
      120_000,
    );
    expect(BigInt((await node4.status()).lastSignedHeight)).toBe(stoppedAt);
  }, 300_000);

  it("a new node syncs from genesis across the set and parameter changes to the same blocks and state roots", async () => {
    const target = await net.node(0).height();
    // The last test's proposal: its 40 s voting period runs while node 5 syncs. The upgrade height is far
    // enough ahead for that period, the 1 s timelock and the execution (at most a block a second while no
    // transactions wait, plus one per transaction), with slack for a slow machine.
    upgradeProposal = started(
      (async () => {
        const upgradeAt = target + 75n;
        const voted = await proposeAndVote([
          { kind: ActionKind.SoftwareUpgrade, key: "v99", value: upgradeAt, target: ZERO, info: "99.0.0" },
        ]);
        return { ...voted, upgradeAt };
      })(),
    );
    const fresh = net.node(5);
    await fresh.start(240_000, START_ARGS);
    await net.waitForHeight([fresh], target, 360_000);
    const [theirs, ours] = await Promise.all([net.node(0).blocks(1n, target), fresh.blocks(1n, target)]);
    expect(ours.map((b) => b.hash)).toEqual(theirs.map((b) => b.hash));
    expect(ours.map((b) => b.stateRoot)).toEqual(theirs.map((b) => b.stateRoot));
    expect((await fresh.status()).mode).toBe("full node");
  }, 660_000);

  // Last: it stops the network.
  it("a software-upgrade proposal stops every node at its height with the message", async () => {
    const running = [0, 1, 2, 4, 5].map((i) => net.node(i));
    // Proposed and voted while node 5 synced (previous test).
    const { id, upgradeAt } = await upgradeProposal;
    await waitPassedAndExecutable(id);
    await gov(5).execute(id);
    expect((await gov(0).proposal(id)).status).toBe(ProposalStatus.Executed);
    // In the JSON log the quotes are escaped; on stderr they are not.
    const message = new RegExp(`software upgrade \\\\?"v99\\\\?" is required from height ${upgradeAt}`);
    for (const n of running) {
      await waitFor(`node${n.index} stopped at height ${upgradeAt}`, async () => !n.running, 240_000, 500);
      expect(n.output(), `node${n.index}`).toMatch(message);
      expect(n.output(), `node${n.index}`).toContain("the chain needs 99.0.0 or later");
    }
  }, 600_000);
});

const ZERO = "0x0000000000000000000000000000000000000000";
