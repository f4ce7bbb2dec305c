/**
 * The platform-services commands of the one CLI: `azora worker <kind…>` (a market worker process) and
 * `azora job …` (the requester side). Only wiring lives here — flags to config, handlers per kind, logger —
 * the policy is in services/runtime and services/client.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { formatUnits, type JsonRpcProvider, parseUnits, type Wallet } from "ethers";
import { MarketClient, tokenAddress } from "../services/client/index.js";
import {
  AZR_TOKEN,
  createBlobServer,
  createFileBlobStore,
  createTestHashHandler,
  inlineSpecURI,
  type JobHandler,
  JobStatus,
  type JobView,
  loadConfigFile,
  loadWallet,
  resolveWorkerConfig,
  SlotStatus,
  startWorkerService,
  Verification,
} from "../services/runtime/index.js";
import { devWallet, type KeyFlags, walletFrom } from "./accountKey.js";
import { printBanner } from "./banner.js";
import { intArg, startCPUProfile } from "./cliArgs.js";
import { createLogger, LOG_LEVELS, type LogLevel } from "./logger.js";
import { VERSION } from "./version.js";

/** A byte count: an integer with an optional KiB/MiB/GiB/TiB suffix. */
function bytesArg(name: string) {
  return (v: string): bigint => {
    const m = /^([0-9]{1,15})(KiB|MiB|GiB|TiB)?$/.exec(v);
    if (m === null) throw new InvalidArgumentError(`${name} must be a byte count, e.g. 1073741824 or 64GiB`);
    const shift = { KiB: 10n, MiB: 20n, GiB: 30n, TiB: 40n }[m[2] as "KiB"] ?? 0n;
    return BigInt(m[1]) << shift;
  };
}

function amountArg(name: string) {
  return (v: string): string => {
    if (!/^[0-9]+(\.[0-9]{1,18})?$/.test(v))
      throw new InvalidArgumentError(`${name} must be a decimal amount, e.g. 1.5`);
    return v;
  };
}

/** The mail kinds' flags, and what they need of the worker: its node (for its stake) and its key. */
interface MailWorkerOptions {
  /** --mail-relay: a plain SMTP relay, smtp://host:port. */
  relay?: string;
  /** --mail-service: an Azora Mail service's HTTP URL. */
  service?: string;
  /** --mail-service-token (else AZORA_MAIL_SERVICE_TOKEN). */
  serviceToken?: string;
  /** --mail-rate-per-azr: messages per hour per AZR staked. */
  perAZRHour?: number;
  /** --mail-max-send: refuse jobs that take longer to send at the stake's rate. */
  maxSendSec?: number;
  rpc: string;
  wallet?: Wallet;
}

/** Handlers the CLI can run, by kind: the built-in test kind and, lazily, the AI kinds. */
async function handlersFor(
  kinds: string[],
  opts: {
    modelsDir?: string;
    inferenceThreads?: number;
    inlineMaxMs?: number;
    logger: ReturnType<typeof createLogger>["logger"];
    dataDir: string;
    video: { concurrency?: number; maxDurationSec?: number; maxHeight?: number; checkSegments?: number };
    pin: { maxPinBytes?: bigint; capacityBytes?: bigint; fetchTimeoutMs?: number };
    mail: MailWorkerOptions;
    fault?: string;
  },
): Promise<JobHandler[]> {
  const out: JobHandler[] = [];
  const test = createTestHashHandler();
  if (kinds.some((k) => test.kinds.includes(k))) out.push(test);
  const ai = kinds.filter((k) => k.startsWith("ai/"));
  if (ai.length > 0) out.push(...(await aiHandlers(ai, opts)));
  if (kinds.includes("video/hls")) {
    const { createVideoHandler } = await import("../services/video/index.js");
    out.push(
      createVideoHandler({
        workDir: resolve(opts.dataDir, "video-work"),
        concurrency: opts.video.concurrency,
        limits: { maxDurationSec: opts.video.maxDurationSec, maxHeight: opts.video.maxHeight },
        checkSegments: opts.video.checkSegments,
        logger: opts.logger.child({ module: "video" }),
        fault: opts.fault === "tamper-segment" ? "tamper-segment" : undefined,
      }),
    );
  }
  if (kinds.includes("storage/pin")) {
    const { createPinHandler } = await import("../services/pin/index.js");
    out.push(
      createPinHandler({
        stateDir: resolve(opts.dataDir, "pin"),
        limits: { maxPinBytes: opts.pin.maxPinBytes, capacityBytes: opts.pin.capacityBytes },
        fetchTimeoutMs: opts.pin.fetchTimeoutMs,
        logger: opts.logger.child({ module: "pin" }),
      }),
    );
  }
  if (kinds.includes("mail/send") || kinds.includes("mail/campaign")) out.push(await mailHandler(opts));
  return out;
}

/**
 * mail/send, mail/campaign: delivered by an Azora Mail service's engine (`--mail-service` + a deliver token: DKIM,
 * durable queue, retries, each recipient's own MX) or through a plain SMTP relay (`--mail-relay`), paced by this
 * worker's stake in the market (read when a job is admitted and run).
 */
async function mailHandler(opts: { dataDir: string; mail: MailWorkerOptions }): Promise<JobHandler> {
  const mail = await import("../services/mail/jobs/index.js");
  const { relay, service, serviceToken, wallet, rpc } = opts.mail;
  if ((relay === undefined) === (service === undefined))
    throw new InvalidArgumentError(
      "mail kinds: give either --mail-service http://host:port (with --mail-service-token or AZORA_MAIL_SERVICE_TOKEN) or --mail-relay smtp://host:port",
    );
  if (wallet === undefined) throw new InvalidArgumentError("mail kinds: give --key-file or --dev-account");
  let sender: import("../services/mail/ports.js").MailSender & { close?: () => void };
  if (service !== undefined) {
    const token = serviceToken ?? process.env.AZORA_MAIL_SERVICE_TOKEN;
    if (token === undefined)
      throw new InvalidArgumentError("--mail-service: give --mail-service-token or AZORA_MAIL_SERVICE_TOKEN");
    sender = mail.createServiceSender({ url: service, token });
  } else {
    let target: { host: string; port: number };
    try {
      target = mail.parseRelayURL(relay as string);
    } catch {
      throw new InvalidArgumentError("--mail-relay: expected smtp://host:port");
    }
    sender = mail.createRelaySender({ ...target, dir: resolve(opts.dataDir, "mail") });
  }
  const market = MarketClient.connect(rpc);
  const policy =
    opts.mail.perAZRHour === undefined
      ? mail.DEFAULT_RATE_POLICY
      : { ...mail.DEFAULT_RATE_POLICY, perStakeUnit: opts.mail.perAZRHour };
  const handler = mail.createMailJobHandler({
    sender,
    stakeOf: async () => (await market.worker(wallet.address)).stake,
    policy,
    maxSendSec: opts.mail.maxSendSec,
  });
  return {
    ...handler,
    async close() {
      sender.close?.();
      (market.provider as JsonRpcProvider).destroy();
    },
  };
}

async function aiHandlers(
  kinds: string[],
  opts: {
    modelsDir?: string;
    inferenceThreads?: number;
    inlineMaxMs?: number;
    logger: ReturnType<typeof createLogger>["logger"];
  },
): Promise<JobHandler[]> {
  // loaded only when asked for: onnxruntime and the models' code are heavy for every other command
  const { AI_KINDS, createAIHandlers, missingModels } = await import("../ai-oracle/index.js");
  const unknown = kinds.filter((k) => !(AI_KINDS as readonly string[]).includes(k));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown AI kind ${unknown.join(", ")} (known: ${AI_KINDS.join(", ")})`);
  const aiOpts = {
    kinds: kinds as (typeof AI_KINDS)[number][],
    modelsDir: opts.modelsDir,
    inferenceThreads: opts.inferenceThreads,
    inlineMaxMs: opts.inlineMaxMs,
    logger: opts.logger.child({ module: "ai" }),
  };
  const { missing, hint } = await missingModels(aiOpts);
  if (missing.length > 0) throw new InvalidArgumentError(hint);
  return createAIHandlers(aiOpts);
}

interface WorkerFlags extends KeyFlags {
  config?: string;
  rpc?: string;
  ws?: string;
  dataDir?: string;
  httpHost?: string;
  httpPort?: number;
  publicUrl?: string;
  price?: string;
  priceAzr?: string;
  priceLearn?: string;
  maxJobs?: number;
  maxBatch?: number;
  minDeliverWindow?: number;
  stake?: string;
  verify?: boolean;
  reclaim?: boolean;
  withdrawMin?: string;
  lookbackBlocks?: number;
  modelsDir?: string;
  inferenceThreads?: number;
  inlineMaxMs?: number;
  logLevel?: LogLevel;
  logFormat?: "json" | "pretty";
  testFault?: string;
  cpuProfile?: string;
  ipfs?: boolean;
  ipfsListen?: string[];
  ipfsPeer?: string[];
  videoConcurrency?: number;
  videoMaxDuration?: number;
  videoMaxHeight?: number;
  videoCheckSegments?: number;
  pinMaxBytes?: bigint;
  pinCapacity?: bigint;
  mailRelay?: string;
  mailService?: string;
  mailServiceToken?: string;
  mailRatePerAzr?: number;
  mailMaxSend?: number;
  meteredPrice?: string;
  meteredVoucherEvery?: number;
  meteredRedeemEvery?: number;
}

async function runWorker(kindsArg: string[], f: WorkerFlags): Promise<void> {
  const file = f.config === undefined ? undefined : loadConfigFile(f.config);
  const fileKinds = (file?.kinds as string[] | undefined) ?? [];
  const cfg = resolveWorkerConfig(file, {
    kinds: kindsArg.length > 0 ? kindsArg : fileKinds.length > 0 ? undefined : [],
    rpc: f.rpc,
    ws: f.ws,
    keyFile: f.keyFile === undefined ? undefined : resolve(f.keyFile),
    passwordFile: f.passwordFile,
    devAccount: f.devAccount,
    dataDir: f.dataDir === undefined ? undefined : resolve(f.dataDir),
    http: { host: f.httpHost, port: f.httpPort, publicUrl: f.publicUrl },
    price: { AZR: f.priceAzr ?? f.price, LEARN: f.priceLearn ?? f.price },
    maxJobs: f.maxJobs,
    maxBatch: f.maxBatch,
    minDeliverWindowSec: f.minDeliverWindow,
    stake: f.stake,
    verify: f.verify === false ? false : undefined,
    reclaim: f.reclaim === false ? false : undefined,
    withdrawMin: f.withdrawMin,
    lookbackBlocks: f.lookbackBlocks,
    log: { level: f.logLevel, format: f.logFormat },
    fault: f.testFault,
    metered: { price: f.meteredPrice, voucherEvery: f.meteredVoucherEvery, redeemEveryMs: f.meteredRedeemEvery },
    storage: {
      enabled: f.ipfs === true ? true : f.ipfs === false ? false : undefined,
      listen: f.ipfsListen,
      peers: f.ipfsPeer,
    },
  });
  const { logger, flush } = createLogger({
    level: cfg.log.level as LogLevel,
    format: cfg.log.format as "json" | "pretty" | undefined,
  });
  const mailKinds = cfg.kinds.some((k) => k.startsWith("mail/"));
  // Mail handlers read this worker's own stake, so they need its address before the service starts.
  const wallet =
    cfg.keyFile === undefined && cfg.devAccount !== undefined
      ? await devWallet(cfg.devAccount, cfg.rpc)
      : mailKinds && cfg.keyFile !== undefined
        ? await loadWallet(cfg.keyFile, cfg.passwordFile)
        : undefined;
  const handlers = await handlersFor(cfg.kinds, {
    modelsDir: f.modelsDir,
    inferenceThreads: f.inferenceThreads,
    inlineMaxMs: f.inlineMaxMs,
    logger,
    dataDir: cfg.dataDir,
    video: {
      concurrency: f.videoConcurrency,
      maxDurationSec: f.videoMaxDuration,
      maxHeight: f.videoMaxHeight,
      checkSegments: f.videoCheckSegments,
    },
    pin: { maxPinBytes: f.pinMaxBytes, capacityBytes: f.pinCapacity, fetchTimeoutMs: cfg.fetchTimeoutMs },
    mail: {
      relay: f.mailRelay,
      service: f.mailService,
      serviceToken: f.mailServiceToken,
      perAZRHour: f.mailRatePerAzr,
      maxSendSec: f.mailMaxSend,
      rpc: cfg.rpc,
      wallet,
    },
    fault: cfg.fault,
  });
  const stopProfile = f.cpuProfile === undefined ? undefined : await startCPUProfile(f.cpuProfile);
  // Signals are handled from the start: a SIGTERM while the worker registers or loads models stops it cleanly.
  let running: Awaited<ReturnType<typeof startWorkerService>> | undefined;
  let stopping: string | undefined;
  const stop = async (signal: string) => {
    if (stopping !== undefined) return;
    stopping = signal;
    logger.info("shutting down", { signal });
    if (running === undefined) return; // startup finishes first, then stops
    try {
      await running.close();
      await stopProfile?.();
      logger.info("stopped cleanly", {});
      flush();
      process.exit(0);
    } catch (e) {
      logger.error("shutdown failed", {}, e);
      flush();
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  running = await startWorkerService(cfg, { handlers, logger, version: VERSION, wallet });
  printBanner(`Azora worker v${VERSION}`, [
    ["Address", running.address],
    ["Kinds", cfg.kinds.join(", ")],
    ["HTTP", `${running.url}   (health /health, metrics /metrics, API /openapi.json)`],
    ["Data dir", cfg.dataDir],
    ["RPC", cfg.rpc],
  ]);
  if (stopping !== undefined) {
    const signal = stopping;
    stopping = undefined;
    await stop(signal);
  }
}

// ---- job --------------------------------------------------------------------------------------------------

interface ClientFlags extends KeyFlags {
  rpc: string;
  json?: boolean;
}

async function clientFrom(f: ClientFlags, needsKey: boolean): Promise<MarketClient> {
  const client = MarketClient.connect(f.rpc);
  if (!needsKey) return client;
  const wallet = await walletFrom(f, f.rpc);
  return new MarketClient(wallet.connect(client.provider));
}

function out(f: { json?: boolean }, human: string, json: unknown): void {
  process.stdout.write(
    f.json === true ? `${JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n` : `${human}\n`,
  );
}

function tokenName(token: string): string {
  return token.toLowerCase() === AZR_TOKEN.toLowerCase()
    ? "AZR"
    : token.toLowerCase() === tokenAddress("LEARN").toLowerCase()
      ? "LEARN"
      : token;
}

function describeJob(j: JobView): string {
  const lines = [
    `job ${j.id}: ${JobStatus[j.status]}`,
    `  kind        ${j.spec.kind}`,
    `  requester   ${j.requester}`,
    `  price       ${formatUnits(j.spec.price, 18)} ${tokenName(j.spec.token)} × ${j.spec.redundancy} (fee ${formatUnits(j.fee, 18)})`,
    `  verification ${Verification[j.spec.verification]}`,
    `  inputHash   ${j.spec.inputHash}`,
    `  posted      ${new Date(j.postedAt * 1000).toISOString()}`,
  ];
  if (j.challengeEnds > 0) lines.push(`  challenge   until ${new Date(j.challengeEnds * 1000).toISOString()}`);
  j.slots.forEach((s, i) => {
    if (s.status === SlotStatus.Empty) {
      lines.push(`  slot ${i}      empty`);
      return;
    }
    lines.push(
      `  slot ${i}      ${SlotStatus[s.status]} by ${s.worker} (deliver by ${new Date(s.deliverBy * 1000).toISOString()})`,
    );
    if (s.status >= SlotStatus.Revealed) lines.push(`              result ${s.resultHash} ${s.resultURI}`);
  });
  if (j.verifiers.length > 0) lines.push(`  verifiers   ${j.verifiers.join(", ")}`);
  return lines.join("\n");
}

/**
 * What the claiming workers report about a running job (their `/jobs/<id>`): percent done and the handler's
 * note (e.g. encoding fps and ETA). Best effort: a worker that does not answer in 3 s is left out.
 */
async function workerProgress(
  client: MarketClient,
  j: JobView,
): Promise<{ line: string; json: Record<string, unknown> }[]> {
  if (j.status !== JobStatus.Claimed && j.status !== JobStatus.Open) return [];
  const out: { line: string; json: Record<string, unknown> }[] = [];
  for (const s of j.slots) {
    if (s.status !== SlotStatus.Claimed) continue;
    try {
      const w = await client.worker(s.worker);
      const res = await fetch(`${w.endpoint.replace(/\/+$/, "")}/jobs/${j.id}`, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) continue;
      const body = (await res.json()) as {
        jobs: { role: string; state: string; progress: number | null; progressNote: string | null }[];
      };
      const work = body.jobs.find((r) => r.role === "work");
      if (work === undefined) continue;
      const pct = work.progress === null ? "—" : `${(work.progress * 100).toFixed(1)} %`;
      out.push({
        line: `${s.worker}: ${work.state}, ${pct}${work.progressNote ? ` (${work.progressNote})` : ""}`,
        json: { worker: s.worker, state: work.state, progress: work.progress, note: work.progressNote },
      });
    } catch {
      // the worker is unreachable: the chain's view stands alone
    }
  }
  return out;
}

function jobJSON(j: JobView): unknown {
  return {
    ...j,
    statusName: JobStatus[j.status],
    slots: j.slots.map((s) => ({ ...s, statusName: SlotStatus[s.status] })),
  };
}

interface PostFlags extends ClientFlags {
  input?: string;
  inputUrl?: string;
  inputSha256?: string;
  contentType?: string;
  params?: string;
  param?: string[];
  token: string;
  price?: string;
  pricePerMessage?: string;
  redundancy: number;
  claimWindow: number;
  deliverWindow: number;
  challengeWindow: number;
  verification: "accept" | "replay" | "arbiter" | "retrieval";
  cid?: string;
  dagBytes?: bigint;
  gateway?: string[];
  provider?: string[];
  duration?: number;
  arbiter?: string;
  serveHost: string;
  servePort: number;
  publicUrl?: string;
  dataDir: string;
  wait?: boolean;
  accept?: boolean;
  out?: string;
}

function parseParams(f: PostFlags): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  if (f.params !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(f.params);
    } catch {
      throw new InvalidArgumentError("--params must be a JSON object");
    }
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new InvalidArgumentError("--params must be a JSON object");
    Object.assign(params, v);
  }
  for (const kv of f.param ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError(`--param ${kv}: expected key=value`);
    const raw = kv.slice(i + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    params[kv.slice(0, i)] = value;
  }
  return params;
}

async function runPost(kind: string, f: PostFlags): Promise<void> {
  const client = await clientFrom(f, true);
  let verification = {
    accept: Verification.RequesterAccept,
    replay: Verification.Replay,
    arbiter: Verification.Arbiter,
    retrieval: Verification.Retrieval,
  }[f.verification];
  let input: Uint8Array | { sha256: string; uris: string[] };
  let contentType = f.contentType;
  let challengeWindow = f.challengeWindow;
  const params = parseParams(f);
  if (kind === "storage/pin") {
    // the input is the pin request (root CID + DAG size): its sha256, the job's inputHash, binds the job to it
    const pin = await pinRequestFrom(f);
    input = pin.bytes;
    contentType = pin.contentType;
    if (f.provider !== undefined) params.providers = f.provider;
    if (f.verification !== "accept" && f.verification !== "retrieval")
      throw new InvalidArgumentError("storage/pin is verified by retrieval challenges (--verification retrieval)");
    verification = Verification.Retrieval;
    if (f.duration !== undefined) challengeWindow = f.duration;
  } else if (f.input !== undefined) input = new Uint8Array(readFileSync(f.input));
  else if (f.inputUrl !== undefined && f.inputSha256 !== undefined)
    input = { sha256: f.inputSha256, uris: [f.inputUrl] };
  else throw new InvalidArgumentError("give --input <file>, or --input-url <url> with --input-sha256 <hex>");
  const price = await priceOf(kind, f, input);

  if (kind === "video/hls" && params.ffmpeg === undefined) {
    // the output bytes depend on the ffmpeg version: pin the local one unless the requester named one
    const { toolVersion } = await import("../services/video/index.js");
    try {
      params.ffmpeg = await toolVersion("ffmpeg");
    } catch {
      throw new InvalidArgumentError(
        "video/hls pins an ffmpeg version: give --param ffmpeg=<version> (no local ffmpeg)",
      );
    }
  }
  const store = createFileBlobStore(resolve(f.dataDir, "blobs"));
  const needsHost =
    (input instanceof Uint8Array && input.length > 1024) ||
    inlineSpecURI((await client.buildSpec({ kind, input, contentType, params })).doc) === undefined;
  const server = needsHost
    ? await createBlobServer(store, { host: f.serveHost, port: f.servePort, publicUrl: f.publicUrl })
    : undefined;
  try {
    const posted = await client.post({
      kind,
      input,
      contentType,
      params,
      token: f.token,
      price,
      redundancy: f.redundancy,
      claimWindowSec: f.claimWindow,
      deliverWindowSec: f.deliverWindow,
      challengeWindowSec: challengeWindow,
      verification,
      arbiter: f.arbiter,
      host: server === undefined ? undefined : { store, url: server.url },
    });
    out(
      f,
      `job ${posted.id} posted: escrowed ${formatUnits(posted.escrowed, 18)} ${f.token} (tx ${posted.txHash})` +
        (server === undefined
          ? ""
          : `\nserving the input at ${server.url} until a worker has delivered (Ctrl-C stops)`),
      { event: "posted", ...posted },
    );
    if (f.wait !== true && f.accept !== true && f.out === undefined && server === undefined) return;
    const job = await client.waitFor(posted.id, (j) => j.status >= JobStatus.Submitted, { timeoutMs: 24 * 3600_000 });
    out(f, `job ${job.id}: ${JobStatus[job.status]}`, { event: "status", id: job.id, status: JobStatus[job.status] });
    if (job.status !== JobStatus.Submitted && job.status !== JobStatus.Finalized) return;
    if (f.out !== undefined || f.accept === true) {
      const r = await client.result(posted.id);
      if (f.out !== undefined) writeFileSync(f.out, r.bytes);
      out(
        f,
        `result ${r.resultHash} (${r.bytes.length} bytes, hash checked) from ${r.source}${f.out ? ` → ${f.out}` : ""}`,
        {
          event: "result",
          id: posted.id,
          resultHash: r.resultHash,
          cid: r.cid,
          size: r.bytes.length,
          errorCode: r.errorCode,
        },
      );
      if (f.accept === true && job.status === JobStatus.Submitted) {
        const rc = await client.accept(posted.id);
        out(f, `accepted job ${posted.id} (tx ${rc.hash})`, { event: "accepted", id: posted.id, txHash: rc.hash });
      }
    }
  } finally {
    await server?.close();
    (client.provider as JsonRpcProvider).destroy();
  }
}

/**
 * The price of `job post`: `--price`, or for mail kinds `--price-per-message` × the input's recipients (the
 * worker claims `delivered × price-per-message` of it with submitMetered; the rest is refunded).
 */
async function priceOf(kind: string, f: PostFlags, input: Uint8Array | { sha256: string; uris: string[] }) {
  if (!kind.startsWith("mail/")) {
    if (f.pricePerMessage !== undefined) throw new InvalidArgumentError("--price-per-message is for mail kinds");
    if (f.price === undefined) throw new InvalidArgumentError("give --price <amount>");
    return parseUnits(f.price, 18);
  }
  if ((f.price === undefined) === (f.pricePerMessage === undefined))
    throw new InvalidArgumentError("mail kinds: give --price-per-message <amount> (or --price for the whole job)");
  if (f.price !== undefined) return parseUnits(f.price, 18);
  if (!(input instanceof Uint8Array)) throw new InvalidArgumentError("--price-per-message reads the --input file");
  const mail = await import("../services/mail/jobs/index.js");
  let n: number;
  try {
    n = mail.decodeMailInput(kind, input).recipients.length;
  } catch (e) {
    throw new InvalidArgumentError(`--input: ${(e as Error).message}`);
  }
  return parseUnits(f.pricePerMessage as string, 18) * BigInt(n);
}

/**
 * The pin request of `job post storage/pin`: `--cid`, and the DAG's size from `--dag-bytes` or from the root
 * block fetched (and hash-checked) from `--gateway` (default a local `azora storage serve`).
 */
async function pinRequestFrom(f: PostFlags): Promise<{ bytes: Uint8Array; contentType: string }> {
  const pin = await import("../services/pin/index.js");
  const { gatewaySource, parseCID } = await import("../services/storage/index.js");
  if (f.cid === undefined) throw new InvalidArgumentError("storage/pin: give --cid <cid> (what to pin)");
  const cid = parseCID(f.cid);
  let dagBytes = f.dagBytes;
  if (dagBytes === undefined) {
    const gateways = f.gateway ?? ["http://127.0.0.1:8080"];
    const { bytes } = await gatewaySource(gateways)(cid);
    dagBytes = pin.spanOf(pin.decodeNode(cid, bytes));
  }
  return { bytes: pin.encodeRequest({ cid, dagBytes }), contentType: pin.REQUEST_CONTENT_TYPE };
}

/** `job challenge --position n|random`: the evidence URI of a storage/pin retrieval challenge. */
async function pinEvidence(client: MarketClient, id: bigint, position: string): Promise<string> {
  const pin = await import("../services/pin/index.js");
  if (position !== "random") return pin.evidenceURI(pin.uintField(position, "--position"));
  // a uniform position over the DAG the receipt names (any block, in proportion to its size)
  const receipt = pin.decodeReceipt((await client.result(id)).bytes);
  const r = BigInt(`0x${randomBytes(16).toString("hex")}`);
  return pin.evidenceURI(r % receipt.dagBytes);
}

function idArg(v: string): bigint {
  if (!/^[0-9]{1,78}$/.test(v)) throw new InvalidArgumentError("job id must be a decimal integer");
  return BigInt(v);
}

function withClientOptions(c: Command, signing: boolean): Command {
  c.option("--rpc <url>", "JSON-RPC URL of a node", "http://127.0.0.1:8545").option(
    "--json",
    "machine-readable output (JSON lines)",
  );
  if (signing)
    c.option("--key-file <file>", "account key: 0x-hex private key or JSON keystore")
      .option("--password-file <file>", "password of a JSON keystore (else AZORA_KEY_PASSWORD)")
      .option("--dev-account <n>", "devnet only: sign with dev account n", intArg("--dev-account", 0, 9));
  return c;
}

export function registerServiceCommands(program: Command): void {
  program
    .command("worker")
    .description("Run a job-market worker: watch, claim, run, deliver, settle and verify jobs of the given kinds")
    .argument(
      "[kinds...]",
      "job kinds to serve (test/sha256, ai/transcribe, ai/ocr, ai/embed, ai/onnx, video/hls, storage/pin, mail/campaign, mail/send)",
    )
    .option("-c, --config <file>", "JSON config file (keys in README; flags override it)")
    .option("--rpc <url>", "JSON-RPC URL of a node (default http://127.0.0.1:8545)")
    .option("--ws <url>", "WebSocket URL for new heads (default: the RPC URL, ws://)")
    .option("--key-file <file>", "the worker's account key: 0x-hex private key or JSON keystore")
    .option("--password-file <file>", "password of a JSON keystore (else AZORA_KEY_PASSWORD)")
    .option("--dev-account <n>", "devnet only: use dev account n", intArg("--dev-account", 0, 9))
    .option("--data-dir <dir>", "job journal (jobs.sqlite) and blob store")
    .option("--http-host <host>", "HTTP API listen address (default 127.0.0.1)")
    .option("--http-port <port>", "HTTP API port (default 8700; 0 = any)", intArg("--http-port", 0, 65535))
    .option("--public-url <url>", "URL others reach this worker at (registered on chain)")
    .option("--price <amount>", "least price per slot, AZR and LEARN (default 0)", amountArg("--price"))
    .option("--price-azr <amount>", "least price per slot for AZR jobs", amountArg("--price-azr"))
    .option("--price-learn <amount>", "least price per slot for LEARN jobs", amountArg("--price-learn"))
    .option("--max-jobs <n>", "jobs claimed and undelivered at once (default 4)", intArg("--max-jobs", 1, 1024))
    .option(
      "--max-batch <n>",
      "claims / submits per claimMany / submitMany transaction when several are ready (default 32; 1 = never batch)",
      intArg("--max-batch", 1, 64),
    )
    .option(
      "--min-deliver-window <s>",
      "refuse jobs with a shorter deliver window (default 5)",
      intArg("--min-deliver-window", 1, 1e9),
    )
    .option("--stake <AZR>", "stake to register with / keep bonded (default: the market minimum)", amountArg("--stake"))
    .option("--no-verify", "do not answer replay-verification duties")
    .option("--no-reclaim", "do not reclaim jobs from workers that missed their deadline")
    .option(
      "--withdraw-min <amount>",
      "withdraw payouts once this much is due (default 0)",
      amountArg("--withdraw-min"),
    )
    .option(
      "--lookback-blocks <n>",
      "first start: scan this many blocks back (default 1000)",
      intArg("--lookback-blocks", 0, 1e9),
    )
    .option("--models-dir <dir>", "AI kinds: model files directory (default: AZORA_MODELS_DIR or data/models)")
    .option(
      "--inference-threads <n>",
      "ai/onnx: threads that run model sessions off the event loop (default: cores - 1, 1..4; 0 = on the event loop)",
      intArg("--inference-threads", 0, 64),
    )
    .option(
      "--inline-max-ms <ms>",
      "ai/onnx: a lone call of a model whose mean run is at most <ms> runs on the event loop, skipping the thread hops (default 20; 0 = never)",
      intArg("--inline-max-ms", 0, 10_000),
    )
    .addOption(new Option("--log-level <level>", "log level (default info)").choices(LOG_LEVELS))
    .addOption(new Option("--log-format <format>", "log format").choices(["json", "pretty"]))
    .option("--cpu-profile <file>", "record a V8 CPU profile of the run and write it to <file> on shutdown")
    .addOption(
      new Option("--test-fault <fault>", "TEST ONLY: misbehave")
        .choices(["wrong-result", "no-deliver", "tamper-segment"])
        .hideHelp(),
    )
    .option("--ipfs", "run an IPFS node (results also in IPFS, gateway /ipfs/ on the HTTP port; on for video/hls)")
    .option("--no-ipfs", "no IPFS node (refused for kinds that need one)")
    .option("--ipfs-listen <multiaddr...>", "libp2p listen addresses of the IPFS node (default /ip4/127.0.0.1/tcp/0)")
    .option("--ipfs-peer <multiaddr...>", "IPFS peers to dial at start (…/p2p/<id>), for bitswap")
    .option(
      "--video-concurrency <n>",
      "video/hls: segment encodes at once (default: cores)",
      intArg("--video-concurrency", 1, 256),
    )
    .option(
      "--video-max-duration <s>",
      "video/hls: longest input taken (default 10800)",
      intArg("--video-max-duration", 1, 1e7),
    )
    .option(
      "--video-max-height <px>",
      "video/hls: tallest input taken (default 2160)",
      intArg("--video-max-height", 16, 16384),
    )
    .option(
      "--video-check-segments <k>",
      "video/hls: random segments a replay check re-encodes (default 2)",
      intArg("--video-check-segments", 0, 64),
    )
    .option(
      "--pin-max-bytes <bytes>",
      "storage/pin: largest DAG taken for one job, e.g. 64GiB (default 64GiB)",
      bytesArg("--pin-max-bytes"),
    )
    .option(
      "--pin-capacity <bytes>",
      "storage/pin: most bytes held for all pins at once (default 512GiB)",
      bytesArg("--pin-capacity"),
    )
    .option(
      "--mail-service <url>",
      "mail/send, mail/campaign: deliver through this Azora Mail service's engine (its HTTP URL; DKIM, queue, retries, remote MX replies in the log)",
    )
    .option(
      "--mail-service-token <token>",
      "a deliver token of that service (`deliverTokens` in its config; or AZORA_MAIL_SERVICE_TOKEN)",
    )
    .option(
      "--mail-relay <url>",
      "mail/send, mail/campaign: or deliver through a plain SMTP relay, smtp://host:port (the log then holds the relay's replies)",
    )
    .option(
      "--mail-rate-per-azr <n>",
      "mail kinds: messages per hour per AZR of this worker's stake (default 100; nothing below 10 AZR)",
      intArg("--mail-rate-per-azr", 1, 1e9),
    )
    .option(
      "--mail-max-send <s>",
      "mail kinds: refuse jobs that take longer than this to send at the stake's rate (default 3600)",
      intArg("--mail-max-send", 1, 1e9),
    )
    .option(
      "--metered-price <AZR>",
      "ai/onnx: also sell inference per request on POST /v1/infer/<model> at this price, paid by signed receipts against a market deposit",
      amountArg("--metered-price"),
    )
    .option(
      "--metered-voucher-every <n>",
      "metered inference: receipts between voucher requests (default 10)",
      intArg("--metered-voucher-every", 1, 10_000),
    )
    .option(
      "--metered-redeem-every <ms>",
      "metered inference: voucher redemption interval (default 60000)",
      intArg("--metered-redeem-every", 1_000, 1e9),
    )
    .action((kinds: string[], o: WorkerFlags & { verify: boolean; reclaim: boolean }) => runWorker(kinds, o));

  const job = program.command("job").description("Post jobs to the market, follow them and fetch their results");

  withClientOptions(
    job
      .command("post")
      .description("Post a job: build its spec, escrow price × redundancy + fee, host the input if it is large")
      .argument("<kind>", "job kind, e.g. ai/transcribe")
      .option("--input <file>", "the input file (≤ 1 KiB travels inline; larger is served from this process)")
      .option("--input-url <url>", "the input is hosted here (with --input-sha256)")
      .option("--input-sha256 <hex>", "sha256 of the input at --input-url")
      .option("--content-type <type>", "MIME type of the input")
      .option("--params <json>", "the kind's parameters, a JSON object")
      .option("--param <key=value...>", "one parameter (value parsed as JSON when it parses)")
      .addOption(new Option("--token <token>", "payment token").choices(["AZR", "LEARN"]).default("AZR"))
      .option(
        "--price <amount>",
        "price per slot in the token (e.g. 1.5); required but for mail kinds",
        amountArg("--price"),
      )
      .option(
        "--price-per-message <amount>",
        "mail/send, mail/campaign: price per recipient; the job escrows recipients × this, pays per delivered message",
        amountArg("--price-per-message"),
      )
      .option("--redundancy <n>", "independent workers (commit–reveal when > 1)", intArg("--redundancy", 1, 16), 1)
      .option("--claim-window <s>", "seconds to claim", intArg("--claim-window", 1, 1e9), 600)
      .option("--deliver-window <s>", "seconds a claimer has to deliver", intArg("--deliver-window", 1, 1e9), 600)
      .option(
        "--challenge-window <s>",
        "seconds to challenge after delivery",
        intArg("--challenge-window", 1, 1e9),
        600,
      )
      .addOption(
        new Option("--verification <mode>", "how disputes are settled (storage/pin: retrieval)")
          .choices(["accept", "replay", "arbiter", "retrieval"])
          .default("accept"),
      )
      .option("--arbiter <address>", "arbiter (verification arbiter)")
      .option("--cid <cid>", "storage/pin: the root to pin (a UnixFS file or directory, or a raw block)")
      .option(
        "--dag-bytes <n>",
        "storage/pin: the DAG's size (its root's span; default: read from the root block)",
        bytesArg("--dag-bytes"),
      )
      .option("--gateway <url...>", "storage/pin: gateways to read the root block from (default http://127.0.0.1:8080)")
      .option("--provider <multiaddr...>", "storage/pin: IPFS peers (…/p2p/<id>) the worker fetches the DAG from")
      .option(
        "--duration <s>",
        "storage/pin: seconds to hold it (the challenge window; within the market's window bounds)",
        intArg("--duration", 1, 1e9),
      )
      .option("--serve-host <host>", "where to serve a large input", "127.0.0.1")
      .option("--serve-port <port>", "port to serve a large input on (0 = any)", intArg("--serve-port", 0, 65535), 0)
      .option("--public-url <url>", "URL workers reach the served input at (default http://serve-host:port)")
      .option("--data-dir <dir>", "where served inputs are kept", "./data/requester")
      .option("--wait", "wait until a result is delivered")
      .option("--out <file>", "wait, download the result, check its hash and write it here")
      .option("--accept", "wait, download and check the result, then accept it (pays the worker now)"),
    true,
  ).action((kind: string, o: PostFlags) => runPost(kind, o));

  withClientOptions(
    job.command("status").description("Show a job: status, price, slots, results").argument("<id>", "job id", idArg),
    false,
  ).action(async (id: bigint, o: ClientFlags) => {
    const client = await clientFrom(o, false);
    try {
      const j = await client.job(id);
      const progress = await workerProgress(client, j);
      const human = [describeJob(j), ...progress.map((p) => `  progress    ${p.line}`)].join("\n");
      out(o, human, { ...(jobJSON(j) as Record<string, unknown>), progress: progress.map((p) => p.json) });
    } finally {
      (client.provider as JsonRpcProvider).destroy();
    }
  });

  withClientOptions(
    job
      .command("result")
      .description("Download a job's result and check it against its on-chain hash")
      .argument("<id>", "job id", idArg)
      .requiredOption("--out <file>", "write the result here")
      .option("--slot <n>", "which slot's result (default: the first delivered)", intArg("--slot", 0, 255))
      .option("--gateway <url...>", "extra base URLs serving /blobs/<cid>"),
    false,
  ).action(async (id: bigint, o: ClientFlags & { out: string; slot?: number; gateway?: string[] }) => {
    const client = await clientFrom(o, false);
    try {
      const r = await client.result(id, { slot: o.slot, gateways: o.gateway });
      writeFileSync(o.out, r.bytes);
      out(
        o,
        `wrote ${o.out}: ${r.bytes.length} bytes, sha256 ${r.resultHash} matches the job's result hash (cid ${r.cid}, from ${r.source})` +
          (r.errorCode === undefined ? "" : `\nthe worker refused the input: ${r.errorCode}`),
        {
          id,
          file: o.out,
          size: r.bytes.length,
          resultHash: r.resultHash,
          cid: r.cid,
          source: r.source,
          worker: r.worker,
          errorCode: r.errorCode,
        },
      );
    } finally {
      (client.provider as JsonRpcProvider).destroy();
    }
  });

  const simple: [
    string,
    string,
    (c: MarketClient, id: bigint, o: Record<string, unknown>) => Promise<{ hash: string }>,
  ][] = [
    ["accept", "Accept a delivered result now (pays the workers; ends the challenge window)", (c, id) => c.accept(id)],
    ["cancel", "Cancel an unclaimed job (refunds the escrow)", (c, id) => c.cancel(id)],
    ["finalize", "Finalize a job whose window has ended (anyone)", (c, id) => c.finalize(id)],
    ["reclaim", "Reopen or refund a job whose claim or delivery window passed (anyone)", (c, id) => c.reclaim(id)],
    [
      "resolve",
      "Arbiter: rule a challenged arbiter-mode job, --worker-bps of the price to the worker (e.g. delivered/total)",
      (c, id, o) => c.resolve(id, o.workerBps as number),
    ],
    [
      "challenge",
      "Challenge a delivered result (posts the challenge bond)",
      async (c, id, o) =>
        c.challenge(
          id,
          o.position === undefined ? ((o.evidence as string) ?? "") : await pinEvidence(c, id, o.position as string),
        ),
    ],
  ];
  for (const [name, description, fn] of simple) {
    const c = job.command(name).description(description).argument("<id>", "job id", idArg);
    if (name === "resolve")
      c.requiredOption(
        "--worker-bps <n>",
        "basis points of the price to the worker: 10000 rejects the challenge, 0 upholds it",
        intArg("--worker-bps", 0, 10_000),
      );
    if (name === "challenge")
      c.option("--evidence <uri>", "where the evidence is (e.g. your own result's URI)").option(
        "--position <n|random>",
        "storage/pin: the DAG position whose block the worker must prove it holds (random: uniform over the DAG)",
      );
    withClientOptions(c, true).action(async (id: bigint, o: ClientFlags & Record<string, unknown>) => {
      const client = await clientFrom(o, true);
      try {
        const r = await fn(client, id, o);
        out(o, `${name}: job ${id} (tx ${r.hash})`, { event: name, id, txHash: r.hash });
      } finally {
        (client.provider as JsonRpcProvider).destroy();
      }
    });
  }

  withClientOptions(
    job
      .command("withdraw")
      .description("Withdraw what the market owes this account (refunds, payouts)")
      .addOption(new Option("--token <token>", "token").choices(["AZR", "LEARN"]).default("AZR")),
    true,
  ).action(async (o: ClientFlags & { token: string }) => {
    const client = await clientFrom(o, true);
    try {
      const r = await client.withdraw(o.token);
      out(o, `withdrew ${o.token} (tx ${r.hash})`, { event: "withdraw", token: o.token, txHash: r.hash });
    } finally {
      (client.provider as JsonRpcProvider).destroy();
    }
  });
}
