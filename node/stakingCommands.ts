/**
 * `azora validator …`, `azora stake …` and `azora gov …`: the staking (0x…0A06) and governance (0x…0A07)
 * modules from the command line, against any node's JSON-RPC (ethers). Wiring and output only: calls go
 * through services/client's StakingClient / GovernanceClient, keys through node/keys and the account-key
 * flags the other commands share (--key-file, --password-file, --dev-account).
 */
import { resolve } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { formatUnits, getAddress, hexlify, JsonRpcProvider, NonceManager, parseUnits } from "ethers";
import { keyProofMessage } from "../runtime/modules/staking/index.js";
import { bytesToHex, hexToBytes } from "../runtime/primitives/bytes.js";
import {
  ActionKind,
  type GovAction,
  GovernanceClient,
  ProposalStatus,
  type ProposalView,
  StakingClient,
  type ValidatorView,
  VoteOption,
} from "../services/client/stakingClient.js";
import { type KeyFlags, walletFrom } from "./accountKey.js";
import { Ed25519Signer } from "./crypto/ed25519.js";
import { loadValidatorSeed } from "./keys/validatorKey.js";

interface ClientFlags extends KeyFlags {
  rpc: string;
  json?: boolean;
}

const ZERO = "0x0000000000000000000000000000000000000000";

function out(f: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(
    f.json === true ? `${JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n` : `${human}\n`,
  );
}

const azr = (wei: bigint) => `${formatUnits(wei, 18)} AZR`;

function amountArg(v: string): bigint {
  if (!/^[0-9]+(\.[0-9]{1,18})?$/.test(v)) throw new InvalidArgumentError(`${v}: expected an AZR amount, e.g. 1.5`);
  return parseUnits(v, 18);
}

function addressArg(v: string): string {
  try {
    return getAddress(v);
  } catch {
    throw new InvalidArgumentError(`${v}: expected an address (0x + 40 hex digits)`);
  }
}

function idArg(v: string): bigint {
  if (!/^[0-9]{1,20}$/.test(v)) throw new InvalidArgumentError(`${v}: expected a proposal id`);
  return BigInt(v);
}

function bpsArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new InvalidArgumentError("expected basis points in [0, 10000]");
  return n;
}

function provider(rpc: string): JsonRpcProvider {
  const p = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1, batchMaxCount: 1 });
  p.pollingInterval = 250;
  return p;
}

/** A signing runner (NonceManager over the account key) or, without a key, the read-only provider. */
async function runner(f: ClientFlags, needsKey: boolean) {
  const p = provider(f.rpc);
  if (!needsKey && f.keyFile === undefined && f.devAccount === undefined) return { p, signer: null };
  const wallet = (await walletFrom(f, f.rpc)).connect(p);
  return { p, signer: new NonceManager(wallet), address: wallet.address };
}

async function withClients<T>(
  f: ClientFlags,
  needsKey: boolean,
  fn: (c: { staking: StakingClient; gov: GovernanceClient; address?: string; p: JsonRpcProvider }) => Promise<T>,
): Promise<T> {
  const r = await runner(f, needsKey);
  const run = r.signer ?? r.p;
  try {
    return await fn({ staking: new StakingClient(run), gov: new GovernanceClient(run), address: r.address, p: r.p });
  } finally {
    r.p.destroy();
  }
}

function withClientOptions(c: Command, signing: boolean): Command {
  c.option("--rpc <url>", "JSON-RPC URL of a node", "http://127.0.0.1:8545").option(
    "--json",
    "machine-readable output (one JSON object)",
  );
  c.option("--key-file <file>", `account key${signing ? "" : " (to default to its address)"}: 0x-hex or JSON keystore`)
    .option("--password-file <file>", "password of a JSON keystore (else AZORA_KEY_PASSWORD)")
    .option("--dev-account <n>", "devnet only: use dev account n", (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 9) throw new InvalidArgumentError("--dev-account: 0 to 9");
      return n;
    });
  return c;
}

// ── validator ────────────────────────────────────────────────────────────────────────────────────────

function describeValidator(v: ValidatorView): string {
  const state = v.tombstoned
    ? "TOMBSTONED"
    : v.jailed
      ? `jailed until ${v.jailedUntil}`
      : v.active
        ? "active"
        : "inactive";
  return [
    `validator ${v.operator} "${v.moniker}" — ${state}`,
    `  consensus key   ${v.consensusPubKey} (address ${v.consensusAddress})`,
    `  bonded          ${azr(v.tokens)} (self ${azr(v.selfStake)}), voting power ${v.power}`,
    `  commission      ${(v.commissionBps / 100).toFixed(2)} % (accrued ${azr(v.commission)})`,
    `  unbonding       ${azr(v.unbonding)}`,
    `  missed blocks   ${v.missedBlocks} in the current window`,
  ].join("\n");
}

interface CreateFlags extends ClientFlags {
  validatorKey: string;
  validatorPasswordFile?: string;
  stake: bigint;
  commissionBps: number;
  moniker: string;
}

async function runCreate(f: CreateFlags): Promise<void> {
  const seed = await loadValidatorSeed(resolve(f.validatorKey), {
    file: f.validatorPasswordFile === undefined ? undefined : resolve(f.validatorPasswordFile),
  });
  const signer = new Ed25519Signer(seed);
  await withClients(f, true, async ({ staking, address, p }) => {
    const { chainId } = await p.getNetwork();
    const proof = signer.sign(keyProofMessage(chainId, hexToBytes(address as `0x${string}`)));
    const rc = await staking.createValidator({
      consensusPubKey: bytesToHex(signer.publicKey),
      commissionBps: f.commissionBps,
      moniker: f.moniker,
      keyProof: hexlify(proof),
      selfStake: f.stake,
    });
    const v = await staking.validator(address as string);
    out(
      f,
      `created validator ${address} (tx ${rc.hash}); it joins the active set at the next epoch boundary if its stake ranks\n${describeValidator(v)}`,
      {
        txHash: rc.hash,
        validator: v,
      },
    );
  });
}

async function runEdit(f: ClientFlags & { commissionBps?: number; moniker?: string }): Promise<void> {
  await withClients(f, true, async ({ staking, address }) => {
    const current = await staking.validator(address as string);
    const rc = await staking.editValidator(f.commissionBps ?? current.commissionBps, f.moniker ?? "");
    const v = await staking.validator(address as string);
    out(f, `edited (tx ${rc.hash})\n${describeValidator(v)}`, { txHash: rc.hash, validator: v });
  });
}

async function runUnjail(f: ClientFlags): Promise<void> {
  await withClients(f, true, async ({ staking, address }) => {
    const rc = await staking.unjail();
    const v = await staking.validator(address as string);
    out(
      f,
      `unjailed (tx ${rc.hash}); back in the set at the next epoch boundary if its stake ranks\n${describeValidator(v)}`,
      {
        txHash: rc.hash,
        validator: v,
      },
    );
  });
}

async function runValidatorStatus(operator: string | undefined, f: ClientFlags): Promise<void> {
  await withClients(f, false, async ({ staking, address }) => {
    const who = operator ?? address;
    if (who !== undefined) {
      const v = await staking.validator(who);
      out(f, describeValidator(v), v);
      return;
    }
    const all = await Promise.all((await staking.validators()).map((a) => staking.validator(a)));
    all.sort((a, b) => (b.tokens > a.tokens ? 1 : b.tokens < a.tokens ? -1 : 0));
    const lines = all.map(
      (v) =>
        `${v.operator}  ${v.active ? "active  " : v.jailed ? "jailed  " : "inactive"}  power ${String(v.power).padStart(8)}  ${azr(v.tokens).padStart(24)}  ${(v.commissionBps / 100).toFixed(2).padStart(6)} %  ${v.moniker}`,
    );
    out(f, lines.length === 0 ? "no validators" : lines.join("\n"), { validators: all });
  });
}

// ── stake ────────────────────────────────────────────────────────────────────────────────────────────

async function runDelegate(validator: string, amount: bigint, f: ClientFlags): Promise<void> {
  await withClients(f, true, async ({ staking, address }) => {
    const rc = await staking.delegate(validator, amount);
    const d = await staking.delegation(address as string, validator);
    out(f, `delegated ${azr(amount)} to ${validator} (tx ${rc.hash}); bonded now ${azr(d.amount)}`, {
      txHash: rc.hash,
      delegation: d,
    });
  });
}

async function runUndelegate(validator: string, amount: bigint, f: ClientFlags): Promise<void> {
  await withClients(f, true, async ({ staking, address }) => {
    const rc = await staking.undelegate(validator, amount);
    const d = await staking.delegation(address as string, validator);
    out(
      f,
      `undelegating ${azr(amount)} from ${validator} (tx ${rc.hash}): paid back when the unbonding period ends; still slashable until then`,
      { txHash: rc.hash, delegation: d },
    );
  });
}

async function runRedelegate(from: string, to: string, amount: bigint, f: ClientFlags): Promise<void> {
  await withClients(f, true, async ({ staking }) => {
    const rc = await staking.redelegate(from, to, amount);
    out(f, `moved ${azr(amount)} of stake from ${from} to ${to} (tx ${rc.hash})`, { txHash: rc.hash });
  });
}

async function runRewards(
  validator: string | undefined,
  f: ClientFlags & { address?: string; withdraw?: boolean },
): Promise<void> {
  await withClients(f, f.withdraw === true, async ({ staking, address }) => {
    const who = f.address ?? address;
    if (who === undefined)
      throw new InvalidArgumentError("give --address, or an account key (--key-file / --dev-account)");
    const targets = validator !== undefined ? [validator] : await staking.validators();
    const rows = [];
    for (const v of targets) {
      const d = await staking.delegation(who, v);
      if (d.shares === 0n && d.rewards === 0n && d.unbonding === 0n && validator === undefined) continue;
      let withdrawn: string | undefined;
      if (f.withdraw === true && d.rewards > 0n) withdrawn = (await staking.withdrawRewards(v)).hash;
      rows.push({ validator: v, ...d, withdrawTx: withdrawn });
    }
    const lines = rows.map(
      (r) =>
        `${r.validator}  bonded ${azr(r.amount)}  rewards ${azr(r.rewards)}  unbonding ${azr(r.unbonding)}${r.withdrawTx === undefined ? "" : `  withdrawn (tx ${r.withdrawTx})`}`,
    );
    out(f, lines.length === 0 ? `${who} has no delegations` : lines.join("\n"), { delegator: who, delegations: rows });
  });
}

// ── gov ──────────────────────────────────────────────────────────────────────────────────────────────

interface ProposeFlags extends ClientFlags {
  param?: string[];
  learnIssuer?: string[];
  revokeLearnIssuer?: string[];
  spend?: string[];
  upgrade?: string;
  upgradeHeight?: string;
  upgradeVersion?: string;
  description: string;
  deposit: bigint;
}

function actionsOf(f: ProposeFlags): GovAction[] {
  const actions: GovAction[] = [];
  for (const kv of f.param ?? []) {
    const m = /^([a-zA-Z][a-zA-Z0-9.]{0,30})=([0-9]+)$/.exec(kv);
    if (m === null)
      throw new InvalidArgumentError(`--param ${kv}: expected name=integer, e.g. block.gasLimit=70000000`);
    actions.push({ kind: ActionKind.SetParam, key: m[1], value: BigInt(m[2]), target: ZERO, info: "" });
  }
  for (const a of f.learnIssuer ?? [])
    actions.push({ kind: ActionKind.SetLearnIssuer, key: ZERO_KEY, value: 1n, target: addressArg(a), info: "" });
  for (const a of f.revokeLearnIssuer ?? [])
    actions.push({ kind: ActionKind.SetLearnIssuer, key: ZERO_KEY, value: 0n, target: addressArg(a), info: "" });
  for (const s of f.spend ?? []) {
    const [to, amount] = s.split(":");
    if (to === undefined || amount === undefined) throw new InvalidArgumentError(`--spend ${s}: expected address:AZR`);
    actions.push({
      kind: ActionKind.TreasurySpend,
      key: ZERO_KEY,
      value: amountArg(amount),
      target: addressArg(to),
      info: "",
    });
  }
  if (f.upgrade !== undefined) {
    if (f.upgradeHeight === undefined || !/^[0-9]+$/.test(f.upgradeHeight))
      throw new InvalidArgumentError("--upgrade needs --upgrade-height <block>");
    if (f.upgradeVersion === undefined)
      throw new InvalidArgumentError("--upgrade needs --upgrade-version <MAJOR.MINOR.PATCH>");
    actions.push({
      kind: ActionKind.SoftwareUpgrade,
      key: f.upgrade,
      value: BigInt(f.upgradeHeight),
      target: ZERO,
      info: f.upgradeVersion,
    });
  }
  if (actions.length === 0)
    throw new InvalidArgumentError("a proposal needs an action: --param, --learn-issuer, --spend or --upgrade");
  return actions;
}
const ZERO_KEY = `0x${"00".repeat(32)}`;

function describeProposal(p: ProposalView): string {
  const when = (t: bigint) => (t === 0n ? "—" : new Date(Number(t) * 1000).toISOString());
  const actions = p.actions.map((a) => {
    switch (a.kind) {
      case ActionKind.SetParam:
        return `set ${a.key} = ${a.value}`;
      case ActionKind.SetLearnIssuer:
        return `${a.value === 0n ? "revoke" : "grant"} LEARN issuer ${a.target}`;
      case ActionKind.TreasurySpend:
        return `spend ${azr(a.value)} to ${a.target}`;
      default:
        return `software upgrade "${a.key}" at height ${a.value}: nodes below version ${a.info} stop there`;
    }
  });
  return [
    `proposal ${p.id}: ${ProposalStatus[p.status]} — ${p.descriptionURI}`,
    `  proposer      ${p.proposer}, deposit ${azr(p.totalDeposit)}`,
    ...actions.map((a, i) => `  action ${i}      ${a}`),
    `  deposit until ${when(p.depositEnd)}; voting ${when(p.votingStart)} → ${when(p.votingEnd)}; executable from ${when(p.executableAt)}`,
    `  tally         yes ${azr(p.yes)}, no ${azr(p.no)}, veto ${azr(p.noWithVeto)}, abstain ${azr(p.abstain)}`,
  ].join("\n");
}

const VOTE_OPTIONS: Record<string, VoteOption> = {
  yes: VoteOption.Yes,
  no: VoteOption.No,
  veto: VoteOption.NoWithVeto,
  nowithveto: VoteOption.NoWithVeto,
  abstain: VoteOption.Abstain,
};

function voteArg(v: string): VoteOption {
  const o = VOTE_OPTIONS[v.toLowerCase()];
  if (o === undefined) throw new InvalidArgumentError("vote: yes, no, veto or abstain");
  return o;
}

async function runPropose(f: ProposeFlags): Promise<void> {
  const actions = actionsOf(f);
  await withClients(f, true, async ({ gov }) => {
    const { id, receipt } = await gov.propose(actions, f.description, f.deposit);
    const p = await gov.proposal(id);
    out(f, `submitted proposal ${id} (tx ${receipt.hash})\n${describeProposal(p)}`, {
      id,
      txHash: receipt.hash,
      proposal: p,
    });
  });
}

async function runGovStatus(id: bigint | undefined, f: ClientFlags): Promise<void> {
  await withClients(f, false, async ({ gov }) => {
    if (id !== undefined) {
      const p = await gov.proposal(id);
      out(f, describeProposal(p), p);
      return;
    }
    const count = await gov.proposalCount();
    const list: ProposalView[] = [];
    for (let i = count; i >= 1n && list.length < 20; i--) list.push(await gov.proposal(i));
    out(f, list.length === 0 ? "no proposals" : list.map(describeProposal).join("\n\n"), { count, proposals: list });
  });
}

export function registerStakingCommands(program: Command): void {
  const validator = program
    .command("validator")
    .description("Run a validator of the staking module (0x…0A06): create, edit, unjail, status");
  withClientOptions(
    validator
      .command("create")
      .description("Register the account as a validator with a self-stake, under the consensus key of --validator-key")
      .requiredOption("--validator-key <file>", "the consensus key (`azora keys generate`; plain devnet keys too)")
      .option(
        "--validator-password-file <file>",
        "password of the key file, first line (else AZORA_VALIDATOR_KEY_PASSWORD, else asked)",
      )
      .requiredOption("--stake <AZR>", "self-stake (at least the module's minSelfStake)", amountArg)
      .option("--commission-bps <bps>", "commission on delegators' rewards, basis points", bpsArg, 1000)
      .requiredOption("--moniker <name>", "a public name (at most 64 bytes)"),
    true,
  ).action((f: CreateFlags) => runCreate(f));
  withClientOptions(
    validator
      .command("edit")
      .description("Change the commission (+1 percentage point at most, once a day) or the moniker")
      .option("--commission-bps <bps>", "new commission (default: unchanged)", bpsArg)
      .option("--moniker <name>", "new moniker (default: unchanged)"),
    true,
  ).action((f: ClientFlags & { commissionBps?: number; moniker?: string }) => runEdit(f));
  withClientOptions(
    validator.command("unjail").description("Leave jail after a downtime jailing (never after a double-sign)"),
    true,
  ).action((f: ClientFlags) => runUnjail(f));
  withClientOptions(
    validator
      .command("status [operator]")
      .description("A validator (default: the account's), or every validator when neither is given"),
    false,
  ).action((operator: string | undefined, f: ClientFlags) =>
    runValidatorStatus(operator === undefined ? undefined : addressArg(operator), f),
  );

  const stake = program.command("stake").description("Delegate AZR to validators and collect rewards");
  withClientOptions(
    stake
      .command("delegate <validator> <amount>")
      .description("Bond <amount> AZR to <validator> (its operator address)"),
    true,
  ).action((v: string, a: string, f: ClientFlags) => runDelegate(addressArg(v), amountArg(a), f));
  withClientOptions(
    stake
      .command("undelegate <validator> <amount>")
      .description("Start unbonding <amount> AZR (paid back after the unbonding period; slashable until then)"),
    true,
  ).action((v: string, a: string, f: ClientFlags) => runUndelegate(addressArg(v), amountArg(a), f));
  withClientOptions(
    stake.command("redelegate <from> <to> <amount>").description("Move bonded stake to another validator at once"),
    true,
  ).action((from: string, to: string, a: string, f: ClientFlags) =>
    runRedelegate(addressArg(from), addressArg(to), amountArg(a), f),
  );
  withClientOptions(
    stake
      .command("rewards [validator]")
      .description("Rewards waiting for the account (per validator, or from all); --withdraw pays them out")
      .option("--address <address>", "whose rewards (default: the account of the key)", addressArg)
      .option("--withdraw", "withdraw them (needs the account key)"),
    false,
  ).action((v: string | undefined, f: ClientFlags & { address?: string; withdraw?: boolean }) =>
    runRewards(v === undefined ? undefined : addressArg(v), f),
  );

  const gov = program.command("gov").description("On-chain governance (0x…0A07): proposals, deposits, votes");
  withClientOptions(
    gov
      .command("propose")
      .description("Submit a proposal of one or more actions, with a deposit")
      .option("--param <name=value...>", "change a parameter, e.g. block.gasLimit=70000000 (README: Governance)")
      .option("--learn-issuer <address...>", "grant LEARN minting to an address")
      .option("--revoke-learn-issuer <address...>", "revoke LEARN minting")
      .option("--spend <address:AZR...>", "pay from the community treasury")
      .option("--upgrade <name>", "schedule a software upgrade named <name> (shown by nodes that stop)")
      .option("--upgrade-height <block>", "height of the upgrade (more than 2 blocks after execution)")
      .option("--upgrade-version <version>", "nodes below this version (MAJOR.MINOR.PATCH) stop at the height")
      .requiredOption("--description <uri>", "where the proposal is described (e.g. ipfs://…)")
      .requiredOption("--deposit <AZR>", "deposit paid now (voting starts when deposits reach minDeposit)", amountArg),
    true,
  ).action((f: ProposeFlags) => runPropose(f));
  withClientOptions(
    gov.command("deposit <id> <amount>").description("Add to a proposal's deposit during its deposit period"),
    true,
  ).action(async (id: string, a: string, f: ClientFlags) =>
    withClients(f, true, async ({ gov: g }) => {
      const rc = await g.deposit(idArg(id), amountArg(a));
      const p = await g.proposal(idArg(id));
      out(f, `deposited (tx ${rc.hash})\n${describeProposal(p)}`, { txHash: rc.hash, proposal: p });
    }),
  );
  withClientOptions(
    gov
      .command("vote <id> <option>")
      .description(
        "Vote yes, no, veto or abstain; weighs the account's bonded stake (a validator's carries its delegators')",
      ),
    true,
  ).action(async (id: string, option: string, f: ClientFlags) =>
    withClients(f, true, async ({ gov: g }) => {
      const rc = await g.vote(idArg(id), voteArg(option));
      out(f, `voted ${option} on proposal ${id} (tx ${rc.hash})`, { txHash: rc.hash });
    }),
  );
  withClientOptions(
    gov.command("execute <id>").description("Run a passed proposal's actions once its timelock is over (anyone may)"),
    true,
  ).action(async (id: string, f: ClientFlags) =>
    withClients(f, true, async ({ gov: g }) => {
      const rc = await g.execute(idArg(id));
      const p = await g.proposal(idArg(id));
      out(f, `executed (tx ${rc.hash})\n${describeProposal(p)}`, { txHash: rc.hash, proposal: p });
    }),
  );
  withClientOptions(gov.command("status [id]").description("A proposal, or the latest 20"), false).action(
    (id: string | undefined, f: ClientFlags) => runGovStatus(id === undefined ? undefined : idArg(id), f),
  );
}
