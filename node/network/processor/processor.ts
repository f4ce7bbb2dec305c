import type { TopicValidatorResult } from "@libp2p/gossipsub";
import type { Logger } from "../../../runtime/lib/logger.js";
import { GossipAction, GossipActionError, GossipErrorCode } from "../errors.js";
import type { NetworkMetrics } from "../metrics.js";
import type { TopicLimits } from "../options.js";
import type { GossipTopic } from "../topics.js";
import { GossipQueue } from "./gossipQueue.js";
import { toValidatorResult } from "./outcome.js";

/** Validates and processes one message; throwing `GossipActionError` means Ignore/Reject, returning Accept. */
export type GossipHandler = (data: Uint8Array, from: string) => Promise<void>;

/** Receives the validation result exactly once. */
export type GossipDoneFn = (result: TopicValidatorResult) => void;

type Job = { data: Uint8Array; from: string; done: GossipDoneFn };

/**
 * Runs gossip (and direct) messages through their topic handler: size cap, then a bounded queue per
 * topic, then the handler, then `toValidatorResult`. Nothing here blocks the libp2p event loop.
 */
export class GossipProcessor {
  private readonly handlers = new Map<GossipTopic, GossipHandler>();
  private readonly queues = new Map<GossipTopic, GossipQueue<Job>>();
  private stopped = false;

  constructor(
    private readonly limits: Record<GossipTopic, TopicLimits>,
    private readonly modules: { log: Logger; metrics: NetworkMetrics | null },
  ) {}

  setHandler(topic: GossipTopic, handler: GossipHandler): void {
    this.handlers.set(topic, handler);
    if (!this.queues.has(topic)) {
      const l = this.limits[topic];
      const opts = { maxLength: l.maxQueueLength, maxBytes: l.maxQueueBytes, concurrency: l.concurrency };
      this.queues.set(topic, new GossipQueue<Job>(opts, (job) => this.run(topic, job)));
    }
  }

  hasHandler(topic: GossipTopic): boolean {
    return this.handlers.has(topic);
  }

  queueLength(topic: GossipTopic): number {
    return this.queues.get(topic)?.length ?? 0;
  }

  submit(topic: GossipTopic, data: Uint8Array, from: string, done: GossipDoneFn): void {
    const job = { data, from, done };
    const refusal = this.admit(topic, job);
    if (refusal !== null) this.finish(topic, job, refusal);
  }

  /** Queues the job, or says why not. */
  private admit(topic: GossipTopic, job: Job): GossipActionError | null {
    const refuse = (action: GossipAction.IGNORE | GossipAction.REJECT, code: GossipErrorCode, reason: string) =>
      new GossipActionError(action, { code, reason });
    if (this.stopped) return refuse(GossipAction.IGNORE, GossipErrorCode.SHUTDOWN, "node stopping");
    const queue = this.queues.get(topic);
    if (queue === undefined) return refuse(GossipAction.IGNORE, GossipErrorCode.NO_HANDLER, "no handler");
    const max = this.limits[topic].maxMessageBytes;
    if (job.data.length > max) {
      return refuse(GossipAction.REJECT, GossipErrorCode.OVERSIZE, `${job.data.length} bytes > ${max}`);
    }
    if (!queue.push(job, job.data.length)) {
      this.modules.metrics?.onGossipQueueDrop(topic);
      return refuse(GossipAction.IGNORE, GossipErrorCode.QUEUE_FULL, `queue full (${queue.length})`);
    }
    this.modules.metrics?.setGossipQueueLength(topic, queue.length);
    return null;
  }

  /** Drops everything queued (reported as Ignore); handlers already running finish on their own. */
  stop(): void {
    this.stopped = true;
    for (const [topic, queue] of this.queues) {
      for (const job of queue.clear()) {
        const err = new GossipActionError(GossipAction.IGNORE, {
          code: GossipErrorCode.SHUTDOWN,
          reason: "node stopping",
        });
        this.finish(topic, job, err);
      }
      this.modules.metrics?.setGossipQueueLength(topic, 0);
    }
  }

  private async run(topic: GossipTopic, job: Job): Promise<void> {
    this.modules.metrics?.setGossipQueueLength(topic, this.queueLength(topic));
    const handler = this.handlers.get(topic)!;
    let err: unknown;
    try {
      await handler(job.data, job.from);
    } catch (e) {
      err = e ?? new Error("handler threw a nullish value");
    }
    this.finish(topic, job, err);
  }

  private finish(topic: GossipTopic, job: Job, err: unknown): void {
    const result = toValidatorResult(topic, job.from, err, this.modules);
    try {
      job.done(result);
    } catch (e) {
      this.modules.log.warn("reporting a gossip result failed", { topic }, e);
    }
  }
}
