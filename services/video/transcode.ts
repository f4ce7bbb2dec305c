/**
 * The transcode: the source becomes an HLS directory on disk — a poster, the audio rendition (one process
 * for the whole track), and each segment of every video rendition encoded by a process of its own from its
 * first frame (`-ss` to the segment's start, GOP = the segment, one IDR). Segment processes are independent,
 * so they run side by side (one encoder thread each, which is also what makes their bytes reproducible) and a
 * verifier re-encodes any one segment alone and gets the same bytes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type FFmpegTools, runTool } from "./ffmpeg.js";
import { type ManifestRendition, masterPlaylist, renditionsOf, sortLeaves, variantPlaylist } from "./manifest.js";
import type { MerkleLeaf } from "./merkle.js";
import { audioArgs, type Plan, posterArgs, segmentArgs, segmentPath } from "./plan.js";

export interface TranscodeOptions {
  tools: FFmpegTools;
  /** Segment processes at once (bytes do not depend on it). */
  concurrency: number;
  signal?: AbortSignal;
  /** fraction 0..1, output frames per second so far. */
  onProgress?: (fraction: number, fps: number) => void;
  nowMs?: () => number;
}

export interface Transcoded {
  renditions: ManifestRendition[];
  files: MerkleLeaf[];
}

/** Encodes one segment of every rendition into `outDir` (what a verifier re-runs). */
export async function encodeSegment(
  plan: Plan,
  input: string,
  index: number,
  outDir: string,
  tools: FFmpegTools,
  opts: { signal?: AbortSignal; onFrames?: (frames: number) => void } = {},
): Promise<void> {
  for (const r of plan.renditions) mkdirSync(join(outDir, r.name), { recursive: true });
  const args = segmentArgs(plan, input, index, (p) => join(outDir, p));
  if (opts.onFrames !== undefined) args.splice(args.indexOf("-i"), 0, "-progress", "pipe:1", "-nostats");
  await runTool(tools.ffmpeg, args, opts);
}

export async function encodeAudio(plan: Plan, input: string, outDir: string, tools: FFmpegTools, signal?: AbortSignal) {
  mkdirSync(join(outDir, "audio"), { recursive: true });
  await runTool(tools.ffmpeg, audioArgs(plan, input, outDir), { signal });
}

export async function encodePoster(plan: Plan, input: string, out: string, tools: FFmpegTools, signal?: AbortSignal) {
  await runTool(tools.ffmpeg, posterArgs(plan, input, out), { signal });
}

export async function transcode(
  input: string,
  outDir: string,
  plan: Plan,
  opts: TranscodeOptions,
): Promise<Transcoded> {
  const now = opts.nowMs ?? Date.now;
  const started = now();
  mkdirSync(outDir, { recursive: true });
  await encodePoster(plan, input, join(outDir, "poster.jpg"), opts.tools, opts.signal);
  if (plan.audio) await encodeAudio(plan, input, outDir, opts.tools, opts.signal);

  const total = plan.frames;
  let done = 0;
  const partial = new Map<number, number>();
  const report = () => {
    let f = done;
    for (const v of partial.values()) f += v;
    const s = (now() - started) / 1000;
    opts.onProgress?.(Math.min(1, f / total), s > 0 ? f / s : 0);
  };
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= plan.segmentFrames.length) return;
      await encodeSegment(plan, input, i, outDir, opts.tools, {
        signal: opts.signal,
        onFrames: (frames) => {
          partial.set(i, Math.min(frames, plan.segmentFrames[i]));
          report();
        },
      });
      partial.delete(i);
      done += plan.segmentFrames[i];
      report();
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency, plan.segmentFrames.length));
  await Promise.all(Array.from({ length: n }, worker));

  for (const r of plan.renditions) writeFileSync(join(outDir, r.name, "index.m3u8"), variantPlaylist(plan, r.name));
  const renditions = renditionsOf(plan, (p) => statSync(join(outDir, p)).size, audioBitsPerSecond(plan, outDir));
  writeFileSync(join(outDir, "master.m3u8"), masterPlaylist(plan, renditions));
  return { renditions, files: hashTree(outDir) };
}

/** The audio rendition's average rate, from its segment files (0 without audio). */
function audioBitsPerSecond(plan: Plan, outDir: string): number {
  if (!plan.audio) return 0;
  const dir = join(outDir, "audio");
  let bytes = 0;
  for (const f of readdirSync(dir)) if (f.endsWith(".ts")) bytes += statSync(join(dir, f)).size;
  return Math.ceil((bytes * 8 * plan.fps) / plan.frames);
}

export function sha256File(file: string): string {
  return `0x${createHash("sha256").update(readFileSync(file)).digest("hex")}`;
}

/** Every file under `dir` with its sha256, in path order (the Merkle leaves). */
export function hashTree(dir: string): MerkleLeaf[] {
  const out: MerkleLeaf[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile())
        out.push({ path: relative(dir, p).split("\\").join("/"), sha256: sha256File(p), size: statSync(p).size });
    }
  };
  walk(dir);
  return sortLeaves(out);
}

export { segmentPath };
