import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerStakingCommands } from "../../node/stakingCommands.js";
import { helpOf } from "../utils/cliHelp.js";
import { DEV_KEYS, type NodeProcess, runCLI, spawnNode, tempDir } from "../utils/devnode.js";
import { rpc } from "../utils/network.js";

/**
 * The operator's and delegator's commands against a real `azora dev` process: a new validator from an
 * encrypted key, a delegation, a governance proposal voted, passed (time moved by evm_increaseTime),
 * executed, and its parameter change listed by `azora_getPendingChanges`. Each CLI run is a fresh
 * process that loads the node's code (seconds on a busy machine): few runs, generous limits.
 */
const DEV = DEV_KEYS.map((k) => new Wallet(k).address);
const AZR = 10n ** 18n;
const dir = tempDir("staking-cli");
const pw = join(dir, "password.txt");
writeFileSync(pw, "operator password\n");
let node: NodeProcess;
let proposalId = "";

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const run = await runCLI([...args, "--rpc", node.url, "--json"], 300_000);
  expect(run.code, `azora ${args.join(" ")}\n${run.output}`).toBe(0);
  const line = run.output.split("\n").find((l) => l.startsWith("{"));
  return JSON.parse(line ?? "null");
}

beforeAll(async () => {
  // A long EVM timeout for eth_call: the module views run on a machine other builds share.
  node = await spawnNode(join(dir, "data"), ["--rpc-evm-timeout", "60000"], 240_000);
}, 300_000);

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("azora validator | stake | gov against azora dev", () => {
  it("creates a validator from an encrypted key, delegates to it, and shows both", async () => {
    const keyFile = join(dir, "validator.json");
    const keyRun = await runCLI(
      ["keys", "generate", "--out", keyFile, "--password-file", pw, "--scrypt-n", "1024", "--json"],
      300_000,
    );
    expect(keyRun.code, keyRun.output).toBe(0);
    const publicKey = JSON.parse(keyRun.output.split("\n").find((l) => l.startsWith("{")) ?? "null").publicKey;

    const created = await cli([
      "validator",
      "create",
      "--dev-account",
      "1",
      "--validator-key",
      keyFile,
      "--validator-password-file",
      pw,
      "--stake",
      "100",
      "--commission-bps",
      "500",
      "--moniker",
      "bob's node",
    ]);
    const v = created.validator as Record<string, string | boolean>;
    expect(v.operator).toBe(DEV[1]);
    expect(v.consensusPubKey).toBe(publicKey);
    expect(BigInt(v.selfStake as string)).toBe(100n * AZR);
    expect(v.moniker).toBe("bob's node");

    const delegated = await cli(["stake", "delegate", DEV[1], "5", "--dev-account", "2"]);
    expect(BigInt((delegated.delegation as Record<string, string>).amount)).toBe(5n * AZR);

    const all = (await cli(["validator", "status"])).validators as Record<string, string>[];
    const mine = all.find((x) => x.operator === DEV[1]);
    expect(BigInt(mine?.tokens ?? 0)).toBe(105n * AZR);
    expect(all.some((x) => x.operator === DEV[0])).toBe(true); // the devnet's genesis validator

    const rewards = await cli(["stake", "rewards", "--address", DEV[2]]);
    expect((rewards.delegations as Record<string, string>[]).map((d) => d.validator)).toEqual([DEV[1]]);

    // A refusal comes back by the module's error name, before any gas is paid.
    const refused = await runCLI(["validator", "unjail", "--dev-account", "1", "--rpc", node.url], 300_000);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("ValidatorNotJailed");
  }, 900_000);

  it("a proposal to raise the block gas limit: deposit opens voting, the vote counts the validator's stake; parameters over azora_", async () => {
    const params = await rpc<Record<string, Record<string, unknown>>>(node.url, "azora_getChainParams", []);
    expect(params.chain.gasLimit).toBe("0x3938700"); // 60,000,000
    expect(params.governance).toMatchObject({ minDeposit: "0x8ac7230489e80000", votingPeriod: "0x258" });
    expect(params.staking).toMatchObject({ epochLength: "0x14" });

    const proposed = await cli([
      "gov",
      "propose",
      "--param",
      "block.gasLimit=70000000",
      "--description",
      "ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
      "--deposit",
      "4",
      "--dev-account",
      "0",
    ]);
    const id = String(proposed.id);
    expect((proposed.proposal as Record<string, unknown>).status).toBe(1); // DepositPeriod: 4 of 10 AZR
    const deposited = await cli(["gov", "deposit", id, "6", "--dev-account", "3"]);
    expect((deposited.proposal as Record<string, unknown>).status).toBe(2); // VotingPeriod

    await cli(["gov", "vote", id, "yes", "--dev-account", "0"]);
    const voting = await cli(["gov", "status", id]);
    expect(BigInt(voting.yes as string)).toBe(10n * AZR); // the genesis validator's self-stake
    proposalId = id;
    const none = await rpc<{ paramChanges: unknown[]; upgradePlan: unknown }>(node.url, "azora_getPendingChanges", []);
    expect(none).toMatchObject({ paramChanges: [], upgradePlan: null });
  }, 900_000);

  // Tallies run in governance's end-block hook: the node passes each block's BlockInfo to BlockExecution.seal.
  it("the proposal passes after evm_increaseTime, executes, and its change waits in azora_getPendingChanges", async () => {
    const id = proposalId;
    // Quorum is a share of all bonded stake: bob's validator holds 105 of the 115 bonded AZR, so its
    // operator votes too (its vote carries its delegator's 5 AZR). A new validator is bonded at the next
    // epoch boundary (20 blocks), and a dev node mines a block per transaction: mine past the boundary
    // first, or the vote's weight depends on how many blocks the earlier tests happened to make.
    await rpc(node.url, "anvil_mine", ["0x15"]);
    await cli(["gov", "vote", id, "yes", "--dev-account", "1"]);
    expect(BigInt((await cli(["gov", "status", id])).yes as string)).toBe(115n * AZR);
    await rpc(node.url, "evm_increaseTime", [601]);
    await rpc(node.url, "evm_mine", []);
    expect((await cli(["gov", "status", id])).status).toBe(3); // Passed
    await rpc(node.url, "evm_increaseTime", [61]);
    await rpc(node.url, "evm_mine", []);
    const executed = await cli(["gov", "execute", id, "--dev-account", "4"]);
    expect((executed.proposal as Record<string, unknown>).status).toBe(6); // Executed

    const receipt = await rpc<{ blockNumber: string }>(node.url, "eth_getTransactionReceipt", [executed.txHash]);
    const pending = await rpc<{ paramChanges: Record<string, string>[] }>(node.url, "azora_getPendingChanges", [
      receipt.blockNumber,
    ]);
    expect(pending.paramChanges).toEqual([
      { key: "block.gasLimit", value: "0x42c1d80", height: `0x${(BigInt(receipt.blockNumber) + 2n).toString(16)}` },
    ]);
  }, 900_000);

  it("every validator, stake and gov command has --help", () => {
    const commands = [
      "validator create",
      "validator edit",
      "validator unjail",
      "validator status",
      "stake delegate",
      "stake undelegate",
      "stake redelegate",
      "stake rewards",
      "gov propose",
      "gov deposit",
      "gov vote",
      "gov execute",
      "gov status",
    ];
    // From the tree the CLI registers (the tests above run these commands as `azora` processes).
    for (const c of commands) expect(helpOf(registerStakingCommands, c), c).toContain("--rpc <url>");
  });
});
