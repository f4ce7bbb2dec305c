import type { Block } from "../../runtime/primitives/block.js";
import { equalsBytes } from "../../runtime/primitives/bytes.js";
import type { Validator } from "../../runtime/primitives/validatorSet.js";
import type { ValidatorSet } from "../core/validatorSet.js";
import type { HeightTiming } from "./ports.js";
import { HeightMessages } from "./resend.js";

/** A block of the current height with the signed proposal it came in (empty for our own until signed). */
export interface BlockEntry {
  block: Block;
  proposal: Uint8Array;
  round: number;
}

/**
 * What the driver knows about the height it works on, replaced whole when it moves on: who validates
 * it (the set may change from one height to the next), this node's place among them, the timing in
 * force, the blocks and verdicts seen, and the messages kept for re-sends.
 */
export class HeightState {
  /** Blocks of this height by value id (block hash hex). */
  readonly blocks = new Map<string, BlockEntry>();
  /** Proposals already handled (round/value id). */
  readonly proposalsSeen = new Set<string>();
  /** The app's verdicts by block and expected proposer. */
  readonly verdicts = new Map<string, boolean>();
  readonly messages: HeightMessages;
  /** Round 0 started (transactions waited, the empty-block interval passed, or a peer started it). */
  started = false;
  round = 0;
  step = "propose";
  roundStartedAtMs: number;
  /**
   * When round 0 was due to start (its height-start timer's due time, or when it was started
   * directly), or null before it started here (or after a WAL replay): see `proposeBudgetMs`.
   */
  startDueMs: number | null = null;

  constructor(
    readonly height: bigint,
    readonly validators: readonly Validator[],
    readonly set: ValidatorSet,
    /** This node's index in `validators`, or null when it does not validate this height. */
    readonly self: number | null,
    readonly timing: HeightTiming,
    nowMs: number,
  ) {
    this.messages = new HeightMessages(nowMs);
    this.roundStartedAtMs = nowMs;
  }

  static selfIndex(validators: readonly Validator[], publicKey: Uint8Array | undefined): number | null {
    if (publicKey === undefined) return null;
    const i = validators.findIndex((v) => equalsBytes(v.publicKey, publicKey));
    return i >= 0 ? i : null;
  }

  /**
   * Budget for executing transactions when proposing in `round` at `nowMs`: a third of what the others
   * wait for the proposal, less how late this node got to it. The others' propose timeouts run from
   * when their height was due to start (their commit, plus the pacing interval under load); a proposer
   * whose own start timer fired late (an event loop busy admitting transactions: measured 50–130 ms on
   * the loaded localnet) and that still spent the full third made its proposal arrive after those
   * timeouts, and the round failed. Never less than a quarter of the third: a block of a few
   * transactions is still worth proposing.
   */
  proposeBudgetMs(round: number, nowMs: number): number {
    const t = this.timing.timeouts;
    const full = (t.proposeMs + round * t.proposeDeltaMs) / 3;
    const from = round === 0 && this.startDueMs !== null ? this.startDueMs : this.roundStartedAtMs;
    return Math.max(full - Math.max(0, nowMs - from), full / 4);
  }
}
