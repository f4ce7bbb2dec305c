import { AIError, AIErrorCode } from "../errors.js";

export interface BatchQueueOptions<I, O> {
  /** Name for errors and metrics. */
  readonly name: string;
  /** Largest batch handed to `run`; 1 turns batching off (dynamically quantized models). */
  readonly maxBatch: number;
  /** Requests waiting (not running) beyond which `push` refuses with AI_QUEUE_FULL. */
  readonly maxQueue: number;
  /** Runs one batch; returns one result (or error) per item, in order. */
  readonly run: (items: I[]) => Promise<(O | Error)[]>;
  /** Items batch together only when their keys are equal (e.g. same trailing tensor shapes). */
  readonly key?: (item: I) => string;
}

interface Pending<I, O> {
  item: I;
  key: string;
  resolve(o: O): void;
  reject(e: unknown): void;
}

/**
 * A bounded FIFO in front of one model that runs one batch at a time. Requests that arrive while a batch runs
 * wait and are then taken together (up to `maxBatch`, same key, in arrival order), so batching costs no added
 * latency when the model is idle and grows with load. One batch at a time suits one intra-op thread per session.
 */
export class BatchQueue<I, O> {
  private readonly waiting: Pending<I, O>[] = [];
  private running = false;
  private closed = false;
  /** Sizes of the batches run so far: for tests and metrics. */
  readonly batchSizes: number[] = [];

  constructor(private readonly opts: BatchQueueOptions<I, O>) {
    if (!(opts.maxBatch >= 1 && opts.maxQueue >= 1)) throw new RangeError("maxBatch and maxQueue must be >= 1");
  }

  get depth(): number {
    return this.waiting.length;
  }

  /** Nothing running and nothing waiting. */
  get idle(): boolean {
    return !this.running && this.waiting.length === 0;
  }

  push(item: I): Promise<O> {
    if (this.closed) return Promise.reject(new AIError({ code: AIErrorCode.CLOSED }));
    if (this.waiting.length >= this.opts.maxQueue) {
      return Promise.reject(
        new AIError({ code: AIErrorCode.QUEUE_FULL, model: this.opts.name, capacity: this.opts.maxQueue }),
      );
    }
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, key: this.opts.key?.(item) ?? "", resolve, reject });
      this.drain();
    });
  }

  /** Refuses new requests and fails the waiting ones; a running batch finishes. */
  close(): void {
    this.closed = true;
    for (const p of this.waiting.splice(0)) p.reject(new AIError({ code: AIErrorCode.CLOSED }));
  }

  private drain(): void {
    if (this.running || this.waiting.length === 0) return;
    const key = this.waiting[0].key;
    const batch: Pending<I, O>[] = [];
    for (let i = 0; i < this.waiting.length && batch.length < this.opts.maxBatch; ) {
      if (this.waiting[i].key === key) batch.push(...this.waiting.splice(i, 1));
      else i++;
    }
    this.running = true;
    this.batchSizes.push(batch.length);
    if (this.batchSizes.length > 1024) this.batchSizes.splice(0, 512);
    this.opts
      .run(batch.map((p) => p.item))
      .then(
        (results) => {
          batch.forEach((p, i) => {
            const r = results[i];
            if (r instanceof Error) p.reject(r);
            else p.resolve(r as O);
          });
        },
        (e) => {
          for (const p of batch) p.reject(e);
        },
      )
      .finally(() => {
        this.running = false;
        this.drain();
      });
  }
}
