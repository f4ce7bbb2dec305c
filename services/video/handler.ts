/**
 * The `video/hls` job handler: the worker runtime's port (services/runtime/handler.ts) over ffmpeg.
 *   admit — before claiming: the spec pins this worker's ffmpeg, the input probes as video within limits;
 *   run   — transcode into an HLS directory, add it to the worker's IPFS storage, return the manifest;
 *   check — replay by spot check: re-encode the segment a challenger names plus k random ones (and the cheap
 *           parts: audio, poster, playlists) and compare them with their Merkle leaves and with the files the
 *           worker's gateway serves under the result's directory CID.
 */
import { createHash, randomInt } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { CID } from "multiformats/cid";
import type { Logger } from "../../runtime/lib/logger.js";
import type { CheckContext, CheckResult, JobContext, JobHandler, JobInput, JobOutput } from "../runtime/handler.js";
import { JobInputError } from "../runtime/handler.js";
import { gatewaySource, readVerified } from "../storage/retrieve.js";
import { VideoError, VideoErrorCode } from "./errors.js";
import { DEFAULT_TOOLS, type FFmpegTools, probe, toolVersion } from "./ffmpeg.js";
import {
  decodeManifest,
  encodeManifest,
  MANIFEST_CONTENT_TYPE,
  masterPlaylist,
  type VideoManifest,
  variantPlaylist,
} from "./manifest.js";
import { type MerkleLeaf, type MerkleProof, merkleRoot, verifyMerkleProof } from "./merkle.js";
import { type Plan, paramsFromSpec, planFor, segmentPath, VIDEO_HLS_KIND } from "./plan.js";
import { registerPlayerRoutes } from "./player.js";
import { encodeAudio, encodePoster, encodeSegment, hashTree, transcode } from "./transcode.js";

export interface VideoLimits {
  /** Longest source accepted (seconds). */
  maxDurationSec: number;
  /** Tallest source accepted (pixels). */
  maxHeight: number;
}

export const DEFAULT_VIDEO_LIMITS: VideoLimits = { maxDurationSec: 3 * 3600, maxHeight: 2160 };

/** Test-only misbehaviour: deliver a result with one segment's bytes altered (its leaf made to match). */
export type VideoTestFault = "tamper-segment";

export interface VideoHandlerOptions {
  /** Scratch space for inputs and encodes (one directory per run, removed after). */
  workDir: string;
  tools?: FFmpegTools;
  /** Segment encodes at once; default: the machine's cores. */
  concurrency?: number;
  limits?: Partial<VideoLimits>;
  /** Random segments a spot check re-encodes besides the one a challenger names. */
  checkSegments?: number;
  logger?: Logger;
  fault?: VideoTestFault;
}

/** The segment a `tamper-segment` worker alters: the middle segment of the lowest rendition. */
export function tamperedPath(plan: Pick<Plan, "renditions" | "segmentFrames">): string {
  const lowest = plan.renditions[plan.renditions.length - 1].name;
  return segmentPath(lowest, Math.floor(plan.segmentFrames.length / 2));
}

/** Evidence a challenger attaches (`challenge(id, evidenceURI)`): a file of the result, optionally proven. */
export interface VideoEvidence {
  path?: string;
  proof?: MerkleProof;
}

export function evidenceURI(e: VideoEvidence): string {
  return `data:application/json;base64,${Buffer.from(JSON.stringify(e)).toString("base64")}`;
}

export function createVideoHandler(opts: VideoHandlerOptions): JobHandler & { version(): Promise<string> } {
  const tools = opts.tools ?? DEFAULT_TOOLS;
  const limits = { ...DEFAULT_VIDEO_LIMITS, ...opts.limits };
  const concurrency = opts.concurrency ?? availableParallelism();
  const k = opts.checkSegments ?? 2;
  let version: string | undefined;
  let engine = "ffmpeg (not probed yet)";
  mkdirSync(opts.workDir, { recursive: true });

  async function ffmpegVersion(): Promise<string> {
    if (version === undefined) {
      version = await toolVersion(tools.ffmpeg);
      await toolVersion(tools.ffprobe);
    }
    return version;
  }

  /** A scratch dir with the input written to it; removed by the caller. */
  function scratch(job: JobInput): { dir: string; input: string } {
    const dir = mkdtempSync(join(opts.workDir, `job-${job.id}-`));
    const input = join(dir, "input");
    writeFileSync(input, job.input);
    return { dir, input };
  }

  /** Parameters, engine and probe → the plan; refusals as JobInputError with ffmpeg's reason. */
  async function planOf(job: JobInput, input: string, signal?: AbortSignal): Promise<Plan> {
    try {
      const params = paramsFromSpec(job.spec);
      const own = await ffmpegVersion();
      if (params.ffmpeg !== own)
        throw new VideoError({
          code: VideoErrorCode.BAD_SPEC,
          reason: `the job pins ffmpeg ${params.ffmpeg}; this worker runs ${own}`,
        });
      return planFor(params, await probe(tools, input, signal));
    } catch (e) {
      if (e instanceof VideoError && e.code !== VideoErrorCode.TOOL_MISSING) throw toInputError(e);
      throw e;
    }
  }

  const handler: JobHandler & { version(): Promise<string> } = {
    kinds: [VIDEO_HLS_KIND],
    get engine() {
      return engine;
    },
    needsStorage: true,

    async version() {
      return ffmpegVersion();
    },

    async routes(app) {
      registerPlayerRoutes(app);
    },

    async init() {
      const v = await ffmpegVersion();
      engine = `ffmpeg ${v}, libx264 + aac, 1 thread per encode, segment-independent GOPs`;
    },

    async admit(job, signal) {
      const { dir, input } = scratch(job);
      try {
        const plan = await planOf(job, input, signal);
        if (plan.source.durationSec > limits.maxDurationSec)
          return `VIDEO_TOO_LARGE: ${plan.source.durationSec.toFixed(1)} s > ${limits.maxDurationSec} s`;
        if (plan.source.height > limits.maxHeight)
          return `VIDEO_TOO_LARGE: ${plan.source.height} lines > ${limits.maxHeight}`;
        return undefined;
      } catch (e) {
        if (e instanceof JobInputError) return `${e.code}: ${e.detail ?? e.message}`;
        throw e;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },

    async run(job: JobInput, ctx: JobContext): Promise<JobOutput> {
      if (ctx.storage === undefined) throw new Error("video/hls needs the worker's content storage");
      const { dir, input } = scratch(job);
      try {
        const plan = await planOf(job, input, ctx.signal);
        const out = join(dir, "hls");
        let result: Awaited<ReturnType<typeof transcode>>;
        try {
          result = await transcode(input, out, plan, {
            tools,
            concurrency,
            signal: ctx.signal,
            onProgress: (f, fps) => ctx.progress(f, `${fps.toFixed(1)} fps`),
          });
        } catch (e) {
          if (e instanceof VideoError && e.code === VideoErrorCode.FFMPEG_FAILED) throw toInputError(e);
          throw e;
        }
        let files = result.files;
        if (opts.fault === "tamper-segment") {
          const p = tamperedPath(plan);
          const bytes = readFileSync(join(out, p));
          for (let i = 188 * 20; i < Math.min(bytes.length, 188 * 20 + 64); i++) bytes[i] ^= 0x5a;
          writeFileSync(join(out, p), bytes);
          files = hashTree(out);
          opts.logger?.warn("TEST FAULT: tampered a segment", { job: job.id, path: p });
        }
        const cid = await ctx.storage.addTree(
          files.map((f) => ({ path: f.path, content: readFileSync(join(out, f.path)) })),
          { signal: ctx.signal },
        );
        await ctx.storage.pin(cid, { signal: ctx.signal });
        const manifest: VideoManifest = {
          v: 1,
          kind: "video/hls",
          hls: cid.toString(),
          master: "master.m3u8",
          poster: "poster.jpg",
          engine: `ffmpeg ${plan.params.ffmpeg}`,
          fps: plan.fps,
          segmentSec: plan.params.segmentSec,
          durationSec: plan.frames / plan.fps,
          renditions: result.renditions,
          audio: plan.audio,
          files,
          merkleRoot: merkleRoot(files),
        };
        return { bytes: encodeManifest(manifest), contentType: MANIFEST_CONTENT_TYPE };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },

    agrees(own, submitted) {
      return Buffer.from(own.bytes).equals(Buffer.from(submitted));
    },

    async check(job, submitted, ctx) {
      const { dir, input } = scratch(job);
      try {
        return await spotCheck(job, submitted, ctx, dir, input);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };

  async function spotCheck(
    job: JobInput,
    submitted: Uint8Array,
    ctx: CheckContext,
    dir: string,
    input: string,
  ): Promise<CheckResult> {
    const fail = (reason: string): CheckResult => ({ ok: false, reason });
    let m: VideoManifest;
    try {
      m = decodeManifest(submitted);
    } catch (e) {
      return fail((e as Error).message);
    }
    let plan: Plan;
    try {
      plan = await planOf(job, input, ctx.signal);
    } catch (e) {
      // an input this worker refuses cannot have a video result
      if (e instanceof JobInputError) return fail(`input refused: ${e.code}`);
      throw e;
    }
    if (m.fps !== plan.fps || m.segmentSec !== plan.params.segmentSec || m.audio !== plan.audio)
      return fail("fps, segment length or audio differ from the plan");
    const names = m.renditions.map((r) => `${r.name} ${r.width}x${r.height}`).join(",");
    if (names !== plan.renditions.map((r) => `${r.name} ${r.width}x${r.height}`).join(","))
      return fail("renditions differ from the plan");
    const leaves = new Map(m.files.map((f) => [f.path, f]));

    // the cheap parts, whole: poster, audio, playlists (the master from the committed sizes)
    const own = join(dir, "own");
    mkdirSync(own, { recursive: true });
    await encodePoster(plan, input, join(own, "poster.jpg"), tools, ctx.signal);
    if (plan.audio) await encodeAudio(plan, input, own, tools, ctx.signal);
    for (const r of plan.renditions) {
      mkdirSync(join(own, r.name), { recursive: true });
      writeFileSync(join(own, r.name, "index.m3u8"), variantPlaylist(plan, r.name));
    }
    const segments = plan.segmentFrames.length;
    const wanted = new Set<number>();
    const evidence = parseEvidence(ctx.evidenceURI);
    if (evidence?.proof !== undefined && !verifyMerkleProof(evidence.proof, m.merkleRoot))
      opts.logger?.debug("evidence proof does not match the result's root", { job: job.id });
    const pointed = evidence?.proof?.leaf.path ?? evidence?.path;
    const pointedIndex = pointed === undefined ? undefined : segmentIndexOf(pointed);
    if (pointedIndex !== undefined && pointedIndex < segments) wanted.add(pointedIndex);
    while (wanted.size < Math.min(segments, (pointedIndex === undefined ? 0 : 1) + k)) wanted.add(randomInt(segments));
    for (const i of wanted) await encodeSegment(plan, input, i, own, tools, { signal: ctx.signal });

    const mine = hashTree(own);
    // the sizes of every segment come from the manifest; the sampled ones are checked below
    const expected = new Set<string>(["master.m3u8", "poster.jpg"]);
    for (const r of plan.renditions) {
      expected.add(`${r.name}/index.m3u8`);
      for (let i = 0; i < segments; i++) expected.add(segmentPath(r.name, i));
    }
    for (const f of mine) if (f.path.startsWith("audio/")) expected.add(f.path);
    if (expected.size !== m.files.length || m.files.some((f) => !expected.has(f.path)))
      return fail("the result's files are not the plan's");
    for (const f of mine) {
      const leaf = leaves.get(f.path) as MerkleLeaf;
      if (leaf.sha256 !== f.sha256 || leaf.size !== f.size) return fail(`${f.path} does not re-encode to its leaf`);
    }
    const master = Buffer.from(masterPlaylist(plan, m.renditions));
    const masterLeaf = leaves.get("master.m3u8") as MerkleLeaf;
    if (sha256Of(master) !== masterLeaf.sha256 || master.length !== masterLeaf.size)
      return fail("master.m3u8 does not match its renditions");
    for (const r of m.renditions) {
      const sizes = plan.segmentFrames.map((_, i) => (leaves.get(segmentPath(r.name, i)) as MerkleLeaf).size);
      const audioBps = audioRate(m.files, plan);
      const peak = Math.max(...sizes.map((s, i) => Math.ceil((s * 8 * plan.fps) / plan.segmentFrames[i])));
      const avg = Math.ceil((sizes.reduce((a, b) => a + b, 0) * 8 * plan.fps) / plan.frames);
      if (r.bandwidth !== peak + audioBps || r.averageBandwidth !== avg + audioBps)
        return fail(`${r.name}: bandwidths do not follow from the sizes`);
    }

    // what the worker serves under the directory CID must be what the leaves say
    let root: CID;
    try {
      root = CID.parse(m.hls);
    } catch {
      return fail("hls is not a CID");
    }
    const source = gatewaySource(ctx.sources, 30_000);
    for (const f of [...mine.map((x) => x.path), "master.m3u8"]) {
      let bytes: Uint8Array;
      try {
        bytes = await readVerified(root, f.split("/"), source, { signal: ctx.signal, maxBytes: 64 * 1024 * 1024 });
      } catch (e) {
        return fail(`${f} not retrievable from the result's directory: ${(e as { code?: string }).code ?? "error"}`);
      }
      const leaf = leaves.get(f) as MerkleLeaf;
      if (sha256Of(bytes) !== leaf.sha256) return fail(`${f} served differs from its leaf`);
    }
    return { ok: true };
  }

  return handler;
}

function sha256Of(bytes: Uint8Array): string {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

function audioRate(files: readonly MerkleLeaf[], plan: Plan): number {
  if (!plan.audio) return 0;
  let bytes = 0;
  for (const f of files) if (f.path.startsWith("audio/") && f.path.endsWith(".ts")) bytes += f.size;
  return Math.ceil((bytes * 8 * plan.fps) / plan.frames);
}

function segmentIndexOf(path: string): number | undefined {
  const m = /^[0-9]+p\/seg_([0-9]{4})\.ts$/.exec(path);
  return m === null ? undefined : Number(m[1]);
}

function parseEvidence(uri: string | undefined): VideoEvidence | undefined {
  if (uri === undefined || !uri.startsWith("data:")) return undefined;
  try {
    const comma = uri.indexOf(",");
    const meta = uri.slice(5, comma);
    const body = uri.slice(comma + 1);
    const text = meta.endsWith(";base64") ? Buffer.from(body, "base64").toString("utf8") : decodeURIComponent(body);
    const v = JSON.parse(text) as VideoEvidence;
    return v !== null && typeof v === "object" ? v : undefined;
  } catch {
    return undefined;
  }
}

function toInputError(e: VideoError): JobInputError {
  const reason = "reason" in e.type ? e.type.reason : undefined;
  return new JobInputError(e.code, e.message, reason);
}
