/**
 * Shared fixtures for the staking and governance tests: the runtime without a node (LocalChain),
 * consensus keys with their proof of possession, the consensus information a block's hooks see
 * (who signed the parent, evidence), and ABI helpers that send one transaction per block.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { type BytesLike, getBytes, hexlify, Interface, type InterfaceAbi, type Result } from "ethers";
import { loadArtifact } from "../../contracts/artifacts.js";
import { devnetGenesis } from "../../genesis/devnet.js";
import type { BlockInfo } from "../../runtime/effects.js";
import { keyProofMessage } from "../../runtime/modules/staking/index.js";
import { sha256 } from "../../runtime/primitives/hash.js";
import type { Receipt } from "../../runtime/primitives/receipt.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import type { Account, LocalChain } from "./localChain.js";

export const STAKING = "0x0000000000000000000000000000000000000a06";
export const GOVERNANCE = "0x0000000000000000000000000000000000000a07";
export const WAZR = "0x0000000000000000000000000000000000000a01";
export const AZR = 10n ** 18n;
export const CHAIN_ID = 16730n;
/** The devnet's validator (operator: dev account 0, power 10). */
export const DEVNET_VALIDATOR_KEY = "0x4ffe594b4a84396106467aff5961bdd11308af7d9047210719fd61d78ab1ddf1";

export const stakingI = new Interface(loadArtifact("IStaking").abi as InterfaceAbi);
export const govI = new Interface(loadArtifact("IGovernance").abi as InterfaceAbi);
export const wazrI = new Interface(loadArtifact("IWAZR").abi as InterfaceAbi);

/** An ed25519 consensus key from a seed byte. */
export function consensusKey(seedByte: number) {
  const seed = new Uint8Array(32).fill(seedByte);
  const publicKey = ed25519.getPublicKey(seed);
  return {
    publicKey,
    hex: hexlify(publicKey),
    address: sha256(publicKey).subarray(0, 20),
    /** The proof createValidator wants: the key's signature over (chain id, operator). */
    proof: (operator: string) => hexlify(ed25519.sign(keyProofMessage(CHAIN_ID, getBytes(operator)), seed)),
  };
}

export const consensusAddressOf = (publicKey: BytesLike) => sha256(getBytes(publicKey)).subarray(0, 20);

const GENESIS_PARAMS = devnetGenesis().params;

export const validatorOf = (publicKey: BytesLike, power: bigint): Validator => ({
  publicKey: getBytes(publicKey),
  address: consensusAddressOf(publicKey),
  votingPower: power,
  feeRecipient: getBytes(STAKING),
});

/**
 * What a node passes a block's end-block hooks when `set` validated the parent and this block:
 * every validator signed the parent unless named in `missing`; `evidence` lists equivocations.
 */
export function commitOf(
  set: { publicKey: BytesLike; power: bigint }[],
  missing: BytesLike[] = [],
  evidence: { publicKey: BytesLike; height: bigint; time?: bigint; power?: bigint }[] = [],
): BlockInfo {
  const miss = new Set(missing.map((m) => hexlify(m)));
  const validators = set.map((v) => validatorOf(v.publicKey, v.power));
  return {
    validators,
    proposer: validators[0]?.address ?? new Uint8Array(20),
    lastCommit: validators.map((validator) => ({ validator, signed: !miss.has(hexlify(validator.publicKey)) })),
    misbehavior: evidence.map((e) => ({
      validator: validatorOf(e.publicKey, e.power ?? 1n),
      height: e.height,
      time: e.time,
    })),
    params: GENESIS_PARAMS,
  };
}

export class Driver {
  constructor(
    readonly chain: LocalChain,
    readonly accounts: Account[],
  ) {}

  /** One transaction in its own block; returns the receipt (status 0 for a revert). */
  async send(
    from: Account,
    iface: Interface,
    fn: string,
    args: unknown[],
    opts: { value?: bigint; to?: string; info?: BlockInfo; tip?: bigint } = {},
  ): Promise<Receipt> {
    const to = opts.to ?? (iface === govI ? GOVERNANCE : STAKING);
    const [r] = await this.chain.block(
      [{ from, to, data: iface.encodeFunctionData(fn, args), value: opts.value, tip: opts.tip }],
      opts.info ?? commitOf(await this.activeSet()),
    );
    return r;
  }

  /** A call that must revert: the custom error's name and arguments. */
  async revert(
    from: Account,
    iface: Interface,
    fn: string,
    args: unknown[],
    value = 0n,
  ): Promise<{ name: string; args: Result }> {
    const to = iface === govI ? GOVERNANCE : STAKING;
    const r = await this.chain.call(from.address, to, iface.encodeFunctionData(fn, args), value);
    if (r.ok) throw new Error(`${fn} did not revert`);
    const e = iface.parseError(hexlify(r.data));
    if (e === null) throw new Error(`${fn} reverted with ${hexlify(r.data)}`);
    return { name: e.name, args: e.args };
  }

  async view(iface: Interface, fn: string, args: unknown[] = []): Promise<Result> {
    const to = iface === govI ? GOVERNANCE : iface === wazrI ? WAZR : STAKING;
    const r = await this.chain.call(this.accounts[0].address, to, iface.encodeFunctionData(fn, args));
    if (!r.ok) throw new Error(`${fn} reverted: ${hexlify(r.data)}`);
    return iface.decodeFunctionResult(fn, r.data);
  }

  validator = async (op: string) => (await this.view(stakingI, "validator", [op]))[0];
  delegation = async (d: string, v: string) => (await this.view(stakingI, "delegation", [d, v]))[0];
  totals = async () => (await this.view(stakingI, "totals"))[0];

  /** The active set as consensus sees it: (public key, power) of each active validator. */
  async activeSet(): Promise<{ operator: string; publicKey: string; power: bigint }[]> {
    const ops = (await this.view(stakingI, "activeValidators"))[0] as string[];
    const out = [];
    for (const op of ops) {
      const v = await this.validator(op);
      out.push({ operator: op, publicKey: v.consensusPubKey as string, power: v.power as bigint });
    }
    return out;
  }

  /** Empty blocks, each signed by the whole active set (except `missing`), `dt` seconds apart. */
  async blocks(n: number, opts: { dt?: bigint; missing?: BytesLike[] } = {}): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.chain.now += opts.dt ?? 1n;
      await this.chain.block([], commitOf(await this.activeSet(), opts.missing));
    }
  }

  /** Blocks until the next epoch boundary (`epochLength` blocks) has been executed. */
  async toEpoch(epochLength: bigint, opts: { missing?: BytesLike[] } = {}): Promise<void> {
    do await this.blocks(1, opts);
    while (this.chain.height % epochLength !== 0n);
  }
}
