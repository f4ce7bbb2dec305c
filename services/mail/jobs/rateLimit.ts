/**
 * Spam control: a mail worker's sending rate follows its stake in the job market. Stake is what a spammer
 * loses when an arbiter rules against it, so volume needs skin in the game: below `minStake` nothing is sent,
 * then `perStakeUnit` messages per hour for each `stakeUnit` staked, up to `maxPerHour`. Pure: the handler
 * reads the stake from the chain and paces its deliveries with `SendPacer`.
 */

export interface RatePolicy {
  /** Least stake (wei) to send at all. */
  minStake: bigint;
  /** Stake (wei) that buys `perStakeUnit` messages per hour. */
  stakeUnit: bigint;
  perStakeUnit: number;
  /** Ceiling, whatever the stake. */
  maxPerHour: number;
}

const AZR = 10n ** 18n;

/** Devnet's market minimum stake is 10 AZR: that sends 1,000 messages an hour, 100 AZR sends 10,000. */
export const DEFAULT_RATE_POLICY: RatePolicy = {
  minStake: 10n * AZR,
  stakeUnit: AZR,
  perStakeUnit: 100,
  maxPerHour: 1_000_000,
};

/** Messages per hour a worker with `stake` may send (0 below the minimum). */
export function sendRatePerHour(stake: bigint, policy: RatePolicy = DEFAULT_RATE_POLICY): number {
  if (stake < policy.minStake || policy.stakeUnit <= 0n) return 0;
  const units = stake / policy.stakeUnit;
  const rate = units * BigInt(policy.perStakeUnit);
  return rate > BigInt(policy.maxPerHour) ? policy.maxPerHour : Number(rate);
}

/** Seconds `messages` take at `perHour` (Infinity when nothing may be sent). */
export function sendDurationSec(messages: number, perHour: number): number {
  if (messages === 0) return 0;
  if (perHour <= 0) return Number.POSITIVE_INFINITY;
  return (messages * 3600) / perHour;
}

/** A token bucket over the injected clock: `take()` waits until one more message fits the hourly rate. */
export class SendPacer {
  private tokens: number;
  private lastMs: number;
  constructor(
    private readonly perHour: number,
    private readonly clock: { nowMs(): number; sleep(ms: number, signal?: AbortSignal): Promise<void> },
    /** Burst allowance: at most this many messages at once (a minute's worth, at least 1). */
    private readonly burst = Math.max(1, Math.floor(perHour / 60)),
  ) {
    this.tokens = burst;
    this.lastMs = clock.nowMs();
  }

  /** The wait before the next message may go, in ms (0: now), after refilling. */
  waitMs(): number {
    const now = this.clock.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.perHour) / 3_600_000);
    this.lastMs = now;
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 3_600_000) / this.perHour);
  }

  async take(signal?: AbortSignal): Promise<void> {
    if (this.perHour <= 0) throw new Error("sending is not allowed at rate 0");
    for (let w = this.waitMs(); w > 0; w = this.waitMs()) await this.clock.sleep(w, signal);
    this.tokens -= 1;
  }
}
