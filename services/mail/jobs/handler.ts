/**
 * The `mail/send` and `mail/campaign` job handler: the worker runtime's port (services/runtime/handler.ts)
 * over the delivery engine's port (`MailSender`, services/mail/ports.ts).
 *   admit — before claiming: the input parses and renders for every recipient; this worker's stake allows
 *           sending, and sending every recipient at its stake's rate fits `maxSendSec` and 80 % of the job's
 *           deliver window;
 *   run   — renders and delivers each message paced by the stake's rate, with a message-id derived from the
 *           job, the recipient's index and the input's hash, so a run repeated after a crash hands the engine
 *           the same ids and no recipient is sent twice (the port's idempotency); returns the delivery log;
 *   meter — what the log earns: price × delivered / total (the runtime submits it with `submitMetered`).
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { JobContext, JobHandler, JobInput, JobOutput } from "../../runtime/handler.js";
import { JobInputError } from "../../runtime/handler.js";
import type { DeliveryReport, MailSender, OutboundMessage } from "../ports.js";
import { decodeMailInput, MAIL_KINDS, MAIL_SEND_KIND, type MailJobInput, renderFor } from "./campaign.js";
import { DELIVERY_LOG_CONTENT_TYPE, earnedOf, encodeDeliveryLog } from "./deliveryLog.js";
import { DEFAULT_RATE_POLICY, type RatePolicy, SendPacer, sendDurationSec, sendRatePerHour } from "./rateLimit.js";

export interface MailClock {
  nowMs(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface MailJobHandlerOptions {
  sender: MailSender;
  /** This worker's stake in the job market (wei), read from the chain. */
  stakeOf(): Promise<bigint>;
  policy?: RatePolicy;
  /** Longest a job may take to send at the stake's rate; a longer one is not claimed (default 1 hour). */
  maxSendSec?: number;
  clock?: MailClock;
}

const SYSTEM_CLOCK: MailClock = {
  nowMs: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

export const MAIL_ENGINE = "azora-mail-jobs/1";

/** The message-id of recipient `index` (or of the one message of a mail/send job when undefined). */
export function messageIdFor(job: bigint, input: Uint8Array, domain: string, index?: number): string {
  const tag = createHash("sha256").update(input).digest("hex").slice(0, 16);
  return index === undefined ? `<send.${job}.${tag}@${domain}>` : `<campaign.${job}.${index}.${tag}@${domain}>`;
}

export function createMailJobHandler(opts: MailJobHandlerOptions): JobHandler {
  const policy = opts.policy ?? DEFAULT_RATE_POLICY;
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const maxSendSec = opts.maxSendSec ?? 3600;
  let pacer: { perHour: number; pacer: SendPacer } | undefined;

  /** One pacer for the whole worker (the rate is the sender's, across jobs), renewed when the stake changes. */
  async function pacerNow(): Promise<SendPacer> {
    const perHour = sendRatePerHour(await opts.stakeOf(), policy);
    if (perHour === 0) throw new Error("this worker's stake is below the sending minimum");
    if (pacer?.perHour !== perHour) pacer = { perHour, pacer: new SendPacer(perHour, clock) };
    return pacer.pacer;
  }

  async function deliverOne(msg: OutboundMessage): Promise<DeliveryReport[]> {
    const reports = await opts.sender.deliver(msg);
    for (const to of msg.to) {
      if (!reports.some((r) => r.recipient === to))
        throw new Error(`the mail sender returned no outcome for a recipient of ${msg.messageId}`);
    }
    return reports;
  }

  async function run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
    const input = decodeMailInput(job.kind, job.input);
    const p = await pacerNow();
    const reports: DeliveryReport[] = [];
    const base = { from: input.from, headers: { "X-Azora-Job": job.id.toString() } };
    if (input.kind === MAIL_SEND_KIND) {
      for (let i = 0; i < input.recipients.length; i++) await p.take(ctx.signal);
      const to = input.recipients.map((r) => r.to);
      const out = await deliverOne({
        ...base,
        ...renderFor(input, input.recipients[0]),
        to,
        messageId: messageIdFor(job.id, job.input, input.fromDomain),
      });
      for (const r of to) reports.push(out.find((x) => x.recipient === r) as DeliveryReport);
    } else {
      let delivered = 0;
      for (let i = 0; i < input.recipients.length; i++) {
        ctx.signal.throwIfAborted();
        await p.take(ctx.signal);
        const r = input.recipients[i];
        const out = await deliverOne({
          ...base,
          ...renderFor(input, r),
          to: [r.to],
          messageId: messageIdFor(job.id, job.input, input.fromDomain, i),
        });
        const report = out.find((x) => x.recipient === r.to) as DeliveryReport;
        if (report.status === "delivered") delivered++;
        reports.push(report);
        ctx.progress((i + 1) / input.recipients.length, `${delivered}/${i + 1} delivered`);
      }
    }
    return { bytes: encodeDeliveryLog(job.id, job.kind, reports), contentType: DELIVERY_LOG_CONTENT_TYPE };
  }

  return {
    kinds: MAIL_KINDS,
    engine: MAIL_ENGINE,
    run,
    async admit(job: JobInput, _signal, ctx): Promise<string | undefined> {
      let input: MailJobInput;
      try {
        input = decodeMailInput(job.kind, job.input);
      } catch (e) {
        if (e instanceof JobInputError) return `${e.code}: ${e.message}`;
        throw e;
      }
      const perHour = sendRatePerHour(await opts.stakeOf(), policy);
      if (perHour === 0) return "this worker's stake is below the sending minimum";
      // Sending must fit the deliver window too (a no-show's bond is slashed), with a margin for the submit.
      const limit = Math.min(maxSendSec, ctx?.deliverWindowSec === undefined ? maxSendSec : ctx.deliverWindowSec * 0.8);
      const sec = sendDurationSec(input.recipients.length, perHour);
      if (sec > limit)
        return `${input.recipients.length} messages take ${Math.ceil(sec)} s at this stake's ${perHour}/h (limit ${Math.floor(limit)} s)`;
      return undefined;
    },
    // Mail is not re-executable (a verifier cannot re-send it): disputes go to the job's arbiter with the log.
    agrees: (own, submitted) => Buffer.from(own.bytes).equals(Buffer.from(submitted)),
    meter: (result, price) => earnedOf(result, price),
  };
}
