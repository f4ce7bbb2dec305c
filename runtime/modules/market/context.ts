import { Address } from "@ethereumjs/util";
import { bytesToHex } from "../../primitives/bytes.js";
import type { ModuleCall } from "../host.js";
import { MODULE_ADDRESS, moduleAddress } from "../registry.js";
import { MarketErrors } from "./errors.js";
import { ParamReader } from "./params.js";
import { JobRecord, JobStatus, WorkerRecord } from "./storage.js";

export const MARKET_ADDRESS: Address = moduleAddress(MODULE_ADDRESS.market);

/**
 * Everything one market call works with: the call, the parameters and one record object per job
 * and per worker (so each storage word is read once and every change is seen by later reads).
 */
export class MarketCtx {
  readonly params: ParamReader;
  private readonly jobs = new Map<bigint, JobRecord>();
  private readonly workers = new Map<string, WorkerRecord>();

  /** `params`: a reader to share (parameters do not change within a call; batch items reuse the caller's). */
  constructor(
    readonly call: ModuleCall,
    params?: ParamReader,
  ) {
    this.params = params ?? new ParamReader(call);
  }

  get caller(): Uint8Array {
    return this.call.caller.bytes;
  }

  now(): bigint {
    return this.call.blockTimestamp();
  }

  job(id: bigint): JobRecord {
    let j = this.jobs.get(id);
    if (j === undefined) {
      j = new JobRecord(this.call, id);
      this.jobs.set(id, j);
    }
    return j;
  }

  /** Job `id`, which must exist (JobNotFound otherwise). */
  async existingJob(id: bigint): Promise<JobRecord> {
    const j = this.job(id);
    if ((await j.head()).status === JobStatus.None) throw MarketErrors.jobNotFound(id);
    return j;
  }

  worker(address: Uint8Array): WorkerRecord {
    const key = bytesToHex(address);
    let w = this.workers.get(key);
    if (w === undefined) {
      w = new WorkerRecord(this.call, address);
      this.workers.set(key, w);
    }
    return w;
  }

  /** Refuses every state change while genesis configured no market (all parameters zero). */
  async requireConfigured(): Promise<void> {
    if ((await this.params.minWorkerStake()) === 0n) throw MarketErrors.notConfigured();
  }
}

export { Address };
