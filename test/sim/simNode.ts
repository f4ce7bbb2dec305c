import { decodeCommit, hashCommit, verifyCommit } from "../../consensus/commit.js";
import type { AppPort, SignerPort, SyncedBlock, ValueVerdict, WALPort } from "../../consensus/driver/index.js";
import { proposalSignBytes } from "../../consensus/proposal.js";
import { ValidatorHistory } from "../../consensus/validators/history.js";
import { genesisValidators, type HeightValidators, nextValidators } from "../../consensus/validators/updates.js";
import { type SignatureVerifier, VoteType, voteSignBytes } from "../../consensus/vote.js";
import { decodeEvidence, isConflictingPair } from "../../consensus/wire.js";
import { type Block, type BlockHeader, hashEvidence, hashHeader } from "../../runtime/primitives/block.js";
import { bytesToHex, equalsBytes, ZERO_HASH } from "../../runtime/primitives/bytes.js";
import { EMPTY_TRIE_ROOT } from "../../runtime/primitives/hash.js";
import type { Validator, ValidatorUpdate } from "../../runtime/primitives/validatorSet.js";

/**
 * One simulated node's side of the consensus driver's ports (consensus/driver/ports.ts): what survives
 * a crash (`SimStore`: committed blocks, validator records, the WAL, the signer's last state) and what
 * a process rebuilds from it when it starts (`SimApp`, `SimWAL`, `SimSigner`). The driver, message
 * admission, validator history and block sync that run over these are the node's real code.
 */

export const SIM_CHAIN_ID = 1n;

/** What a node keeps on "disk": everything here survives a simulated crash. */
export class SimStore {
  /** Committed blocks by height (index 0: genesis), each with its commit certificate. */
  readonly chain: { block: Block; hash: Uint8Array; commit: Uint8Array }[] = [];
  /** The validators of each settled height (written with the block that settles it). */
  readonly records = new Map<bigint, HeightValidators>();
  wal: { height: bigint | null; records: Uint8Array[] } = { height: null, records: [] };
  signer: { height: bigint; round: number; step: number; signBytes: Uint8Array | null; signature: Uint8Array | null } =
    {
      height: 0n,
      round: 0,
      step: 0,
      signBytes: null,
      signature: null,
    };

  constructor(genesis: readonly Validator[]) {
    const header = genesisHeader();
    this.chain.push({ block: { header, body: EMPTY_BODY }, hash: hashHeader(header), commit: new Uint8Array(0) });
    const first = genesisValidators(genesis);
    this.records.set(1n, first);
    this.records.set(2n, nextValidators(first, []));
  }

  get head(): bigint {
    return BigInt(this.chain.length - 1);
  }
}

const EMPTY_BODY = { transactions: [], lastCommit: new Uint8Array(0), evidence: [] };

function genesisHeader(): BlockHeader {
  return {
    parentHash: ZERO_HASH,
    number: 0n,
    timestamp: 0n,
    stateRoot: ZERO_HASH,
    transactionsRoot: EMPTY_TRIE_ROOT,
    receiptsRoot: EMPTY_TRIE_ROOT,
    logsBloom: new Uint8Array(256),
    gasLimit: 30_000_000n,
    gasUsed: 0n,
    baseFeePerGas: 0n,
    miner: new Uint8Array(20),
    proposer: new Uint8Array(20),
    validatorsHash: ZERO_HASH,
    lastCommitHash: ZERO_HASH,
    evidenceHash: hashEvidence([]),
  };
}

/** The WAL in the store: appends are durable at once (a simulated crash loses nothing written). */
export class SimWAL implements WALPort {
  constructor(private readonly store: SimStore) {}

  async append(record: Uint8Array): Promise<void> {
    if (this.store.wal.height === null) throw new Error("WAL append before any height");
    this.store.wal.records.push(record.slice());
  }

  async sync(): Promise<void> {}

  async startHeight(height: bigint): Promise<void> {
    const cur = this.store.wal.height;
    if (cur === height) return;
    if (cur !== null && height < cur) throw new Error(`WAL height regression ${height} < ${cur}`);
    this.store.wal = { height, records: [] };
  }

  async replay(): Promise<{ height: bigint | null; records: Uint8Array[] }> {
    return { height: this.store.wal.height, records: [...this.store.wal.records] };
  }
}

/** Signs with validator `index`'s simulated key. */
export interface SimKeys extends SignatureVerifier {
  publicKey(index: number): Uint8Array;
  sign(index: number, message: Uint8Array): Uint8Array;
}

/**
 * The double-sign guard of node/consensus/signer.ts (same rules: never a lower (height, round, step),
 * the same one only for byte-identical bytes), its state in the store. `guarded: false` is a Byzantine
 * validator's signer, which signs anything.
 */
export class SimSigner implements SignerPort {
  readonly publicKey: Uint8Array;

  constructor(
    private readonly store: SimStore,
    private readonly keys: SimKeys,
    private readonly index: number,
    private readonly guarded: boolean,
  ) {
    this.publicKey = keys.publicKey(index);
  }

  async signVote(chainId: bigint, type: number, height: bigint, round: number, blockHash: Uint8Array | null) {
    const step = type === VoteType.Prevote ? 2 : 3;
    return this.sign(height, round, step, voteSignBytes(chainId, type, height, round, blockHash));
  }

  async signProposal(chainId: bigint, height: bigint, round: number, blockHash: Uint8Array, polRound: number) {
    return this.sign(height, round, 1, proposalSignBytes(chainId, height, round, blockHash, polRound));
  }

  lastSigned(): { height: bigint } {
    return { height: this.store.signer.height };
  }

  private sign(height: bigint, round: number, step: number, signBytes: Uint8Array): Uint8Array {
    const last = this.store.signer;
    if (this.guarded) {
      const order = compare([height, round, step], [last.height, last.round, last.step]);
      if (order < 0) throw new Error(`signer regression: ${height}/${round}/${step}`);
      if (order === 0) {
        if (last.signBytes !== null && last.signature !== null && equalsBytes(last.signBytes, signBytes)) {
          return last.signature;
        }
        throw new Error(`double sign refused: ${height}/${round}/${step}`);
      }
    }
    const signature = this.keys.sign(this.index, signBytes);
    if (compare([height, round, step], [last.height, last.round, last.step]) > 0) {
      this.store.signer = { height, round, step, signBytes, signature };
    }
    return signature;
  }
}

function compare(a: [bigint, number, number], b: [bigint, number, number]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1;
  return 0;
}

/** What the app needs from the simulation: the chain's rules beyond one node, and its checkers. */
export interface SimChainRules {
  keys: SimKeys;
  /** Validator updates block `height` reports (the simulated staking module: the same on every node). */
  validatorUpdates(height: bigint): ValidatorUpdate[];
  /** Why this node must stop before `height` (a software upgrade), or null. */
  haltReason(height: bigint): string | null;
  /** Transactions wait now (a height starts at once, or after the driver's minimum block interval). */
  busy(): boolean;
  /** Calls `cb` when transactions start waiting (an idle chain turning busy); returns the unsubscribe function. */
  onPendingWork(cb: () => void): () => void;
  /** Resolves after the app's build time for a block of `budgetMs` (virtual; never, if the node crashes meanwhile). */
  buildDelay(budgetMs: number): Promise<void>;
  /** A block this node committed (agreement and validity checkers). */
  committed(node: number, block: Block, hash: Uint8Array, round: number): void;
  /** Verified evidence reached this node's app (accountability checker). */
  evidence(node: number, validator: Validator): void;
}

/**
 * The application of a simulated node: blocks without transactions whose header carries everything
 * consensus checks (parent, proposer, validators hash, the previous block's commit, evidence), validated
 * like node/consensus/app.ts validates them, committed into the store with the validators they settle
 * (`ValidatorHistory`, the real one) and the validator updates the simulated staking module reports.
 */
export class SimApp implements AppPort {
  readonly history: ValidatorHistory;
  private readonly verdicts = new Map<string, ValueVerdict>();
  private readonly pendingEvidence = new Map<string, Uint8Array>();

  constructor(
    readonly node: number,
    private readonly store: SimStore,
    private readonly rules: SimChainRules,
  ) {
    const head = store.head;
    const records: HeightValidators[] = [];
    for (let h = head > 16n ? head - 16n : 1n; h <= head + 2n; h++) {
      const r = store.records.get(h);
      if (r !== undefined) records.push(r);
    }
    this.history = new ValidatorHistory(head, records);
  }

  headHeight(): bigint {
    return this.store.head;
  }

  headHash(): Uint8Array {
    return this.store.chain[this.store.chain.length - 1].hash;
  }

  async commitAt(height: bigint): Promise<Uint8Array | undefined> {
    return this.store.chain[Number(height)]?.commit;
  }

  hasPendingWork(): boolean {
    return this.rules.busy();
  }

  onPendingWork(cb: () => void): () => void {
    return this.rules.onPendingWork(cb);
  }

  async buildValue(req: {
    height: bigint;
    round: number;
    proposer: Validator;
    timestamp: bigint;
    lastCommit: Uint8Array;
    budgetMs: number;
  }): Promise<Block> {
    await this.rules.buildDelay(req.budgetMs);
    return this.buildOn(req.height, req.proposer, req.timestamp, req.lastCommit, [...this.pendingEvidence.values()]);
  }

  /** A block for `height` on this node's chain (also what an adversary builds with a key of its own). */
  buildOn(
    height: bigint,
    proposer: Validator,
    timestamp: bigint,
    lastCommit: Uint8Array,
    evidence: Uint8Array[],
  ): Block {
    const parent = this.store.chain[Number(height - 1n)];
    const validators = this.history.at(height);
    if (parent === undefined || validators === undefined) throw new Error(`cannot build height ${height}`);
    const header: BlockHeader = {
      ...genesisHeader(),
      parentHash: parent.hash,
      number: height,
      timestamp: timestamp < parent.block.header.timestamp ? parent.block.header.timestamp : timestamp,
      miner: proposer.feeRecipient,
      proposer: proposer.address,
      validatorsHash: validators.hash,
      lastCommitHash: lastCommit.length === 0 ? ZERO_HASH : hashCommit(lastCommit),
      evidenceHash: hashEvidence(evidence),
    };
    return { header, body: { transactions: [], lastCommit, evidence } };
  }

  async validateValue(block: Block, proposer: Validator): Promise<ValueVerdict> {
    const key = `${bytesToHex(hashHeader(block.header))}/${bytesToHex(proposer.address)}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      const why = this.check(block, proposer);
      verdict = why === null ? { valid: true } : { valid: false, reason: why };
      if (this.verdicts.size > 256) this.verdicts.clear();
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** Why `block` is not a valid next block named for `proposer` (null when it is): node/consensus/app.ts's checks. */
  private check(block: Block, proposer: Validator): string | null {
    const h = block.header;
    const parent = this.store.chain[this.store.chain.length - 1];
    if (h.number !== this.store.head + 1n || !equalsBytes(h.parentHash, parent.hash)) return "not on top of the head";
    if (h.timestamp < parent.block.header.timestamp) return "timestamp before the parent's";
    if (!equalsBytes(h.proposer, proposer.address) || !equalsBytes(h.miner, proposer.feeRecipient)) {
      return "wrong proposer or fee recipient";
    }
    const validators = this.history.at(h.number);
    if (validators === undefined || !equalsBytes(h.validatorsHash, validators.hash)) return "wrong validator set";
    if (block.body.transactions.length > 0 || !equalsBytes(h.transactionsRoot, EMPTY_TRIE_ROOT)) {
      return "transactions (the simulated app has none)";
    }
    if (!equalsBytes(h.evidenceHash, hashEvidence(block.body.evidence))) return "evidenceHash mismatch";
    for (const e of block.body.evidence) if (this.evidenceValidator(e) === null) return "invalid evidence";
    const lastCommit = block.body.lastCommit;
    if (h.number === 1n) return lastCommit.length === 0 ? null : "a last commit at height 1";
    if (!equalsBytes(h.lastCommitHash, hashCommit(lastCommit))) return "lastCommitHash mismatch";
    try {
      verifyCommit(
        decodeCommit(lastCommit),
        {
          chainId: SIM_CHAIN_ID,
          height: h.number - 1n,
          blockHash: parent.hash,
          validators: this.history.validators(h.number - 1n) ?? [],
        },
        this.rules.keys,
      );
    } catch (e) {
      return `last commit: ${(e as Error).message}`;
    }
    return null;
  }

  async finalize(block: Block, commit: Uint8Array, proposer: Validator): Promise<void> {
    const verdict = await this.validateValue(block, proposer);
    if (!verdict.valid) throw new Error(`decided block does not apply: ${verdict.reason}`);
    const n = block.header.number;
    const hash = hashHeader(block.header);
    const cert = decodeCommit(commit);
    verifyCommit(
      cert,
      { chainId: SIM_CHAIN_ID, height: n, blockHash: hash, validators: this.history.validators(n) ?? [] },
      this.rules.keys,
    );
    const next = this.history.next(n, this.rules.validatorUpdates(n));
    this.store.chain.push({ block, hash, commit });
    this.store.records.set(next.height, next);
    this.history.settle(n, next);
    for (const e of block.body.evidence) this.pendingEvidence.delete(bytesToHex(e));
    this.verdicts.clear();
    this.rules.committed(this.node, block, hash, cert.round);
  }

  addEvidence(encoded: Uint8Array): void {
    const v = this.evidenceValidator(encoded);
    if (v === null) return;
    this.rules.evidence(this.node, v);
    if (this.pendingEvidence.size < 64) this.pendingEvidence.set(bytesToHex(encoded), encoded.slice());
  }

  /** The validator `encoded` proves equivocated, or null when it proves nothing this node can check. */
  private evidenceValidator(encoded: Uint8Array): Validator | null {
    let e: ReturnType<typeof decodeEvidence>;
    try {
      e = decodeEvidence(encoded);
    } catch {
      return null;
    }
    if (!isConflictingPair(e)) return null;
    const v = this.store.records.get(e.a.height)?.validators[e.a.validatorIndex];
    if (v === undefined) return null;
    for (const vote of [e.a, e.b]) {
      const msg = voteSignBytes(SIM_CHAIN_ID, vote.type, vote.height, vote.round, vote.blockHash);
      if (!this.rules.keys.verify(v.publicKey, msg, vote.signature)) return null;
    }
    return v;
  }

  async reset(): Promise<void> {}

  haltReason(height: bigint): string | null {
    return this.rules.haltReason(height);
  }

  /** Block sync's server side: this node's head with its proof, and its blocks. */
  status(): { height: bigint; hash: Uint8Array; commit: Uint8Array; signers: Uint8Array[] } {
    const head = this.store.head;
    const signers = head === 0n ? [] : (this.store.records.get(head)?.validators ?? []).map((v) => v.publicKey);
    return { height: head, hash: this.headHash(), commit: this.store.chain[Number(head)].commit, signers };
  }

  blocksFrom(from: bigint, count: number): SyncedBlock[] {
    const out: SyncedBlock[] = [];
    for (let h = from; h < from + BigInt(count) && h <= this.store.head; h++) {
      const e = this.store.chain[Number(h)];
      out.push({ block: e.block, commit: e.commit, round: decodeCommit(e.commit).round });
    }
    return out;
  }
}
