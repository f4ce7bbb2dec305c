/**
 * The encoding plan: a pure function of the job's parameters and the probed source. Worker and verifier
 * compute it the same way, so a verifier knows which segments, renditions and ffmpeg arguments a result must
 * have come from without trusting the result. Every flag that changes output bytes is here and nowhere else.
 */
import { VideoError, VideoErrorCode } from "./errors.js";
import type { ProbeResult } from "./ffmpeg.js";

export const VIDEO_HLS_KIND = "video/hls";

/** The job's parameters (the spec document without `azora`), defaults filled. */
export interface HlsParams {
  /** ffmpeg version the output is pinned to (`ffmpeg -version`), e.g. "5.1.9-0+deb12u1". */
  ffmpeg: string;
  /** Encoder threads per process; only 1 is reproducible (x264 frame threads change the bytes). */
  threads: 1;
  /** Seconds per segment, 2–4; GOP = fps × segmentSec, one IDR per segment. */
  segmentSec: number;
  /** x264 preset. */
  preset: "ultrafast" | "superfast" | "veryfast" | "faster" | "fast" | "medium";
  /** x264 constant rate factor, capped by each rung's maxrate. */
  crf: number;
  /** Rungs wanted (those above the source's height are left out). */
  renditions: RungName[];
  audioBitrateK: number;
  /** Second of the source the poster frame is taken from (clamped into the video). */
  posterAtSec: number;
}

export type RungName = "1080p" | "720p" | "480p" | "360p";

interface Rung {
  name: RungName;
  height: number;
  maxrateK: number;
  profile: "high" | "main";
  level: string;
  /** avc1 profile_idc + constraint flags + level_idc (the CODECS attribute). */
  codec: string;
}

export const LADDER: readonly Rung[] = [
  { name: "1080p", height: 1080, maxrateK: 5000, profile: "high", level: "4.2", codec: "avc1.64002a" },
  { name: "720p", height: 720, maxrateK: 2800, profile: "high", level: "4.0", codec: "avc1.640028" },
  { name: "480p", height: 480, maxrateK: 1400, profile: "main", level: "3.1", codec: "avc1.4d401f" },
  { name: "360p", height: 360, maxrateK: 800, profile: "main", level: "3.1", codec: "avc1.4d401f" },
];

const PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] as const;

export const DEFAULT_PARAMS: Omit<HlsParams, "ffmpeg"> = {
  threads: 1,
  segmentSec: 4,
  preset: "veryfast",
  crf: 23,
  renditions: ["1080p", "720p", "480p", "360p"],
  audioBitrateK: 128,
  posterAtSec: 1,
};

/** Validates a spec's parameters and fills the defaults; throws VideoError BAD_SPEC naming the field. */
export function paramsFromSpec(spec: Readonly<Record<string, unknown>>): HlsParams {
  const bad = (reason: string) => new VideoError({ code: VideoErrorCode.BAD_SPEC, reason });
  const known = new Set(["ffmpeg", ...Object.keys(DEFAULT_PARAMS)]);
  for (const k of Object.keys(spec)) if (!known.has(k)) throw bad(`unknown parameter ${k}`);
  const p = { ...DEFAULT_PARAMS, ...spec } as Record<string, unknown>;
  if (typeof p.ffmpeg !== "string" || p.ffmpeg.length === 0 || p.ffmpeg.length > 64)
    throw bad("ffmpeg: the ffmpeg version must be pinned (e.g. 5.1.9-0+deb12u1)");
  if (p.threads !== 1) throw bad("threads: only 1 is reproducible");
  if (!Number.isInteger(p.segmentSec) || (p.segmentSec as number) < 2 || (p.segmentSec as number) > 4)
    throw bad("segmentSec: an integer 2–4");
  if (!(PRESETS as readonly unknown[]).includes(p.preset)) throw bad(`preset: one of ${PRESETS.join(", ")}`);
  if (!Number.isInteger(p.crf) || (p.crf as number) < 0 || (p.crf as number) > 51) throw bad("crf: 0–51");
  const names = LADDER.map((r) => r.name) as string[];
  if (
    !Array.isArray(p.renditions) ||
    p.renditions.length === 0 ||
    p.renditions.some((r) => !names.includes(r as string)) ||
    new Set(p.renditions).size !== p.renditions.length
  )
    throw bad(`renditions: distinct names of ${names.join(", ")}`);
  if (!Number.isInteger(p.audioBitrateK) || (p.audioBitrateK as number) < 32 || (p.audioBitrateK as number) > 320)
    throw bad("audioBitrateK: 32–320");
  if (typeof p.posterAtSec !== "number" || !Number.isFinite(p.posterAtSec) || p.posterAtSec < 0)
    throw bad("posterAtSec: a number ≥ 0");
  return p as unknown as HlsParams;
}

export interface PlannedRendition {
  name: RungName;
  width: number;
  height: number;
  maxrateK: number;
  profile: string;
  level: string;
  codec: string;
}

export interface Plan {
  params: HlsParams;
  /** Output frame rate (integer, so GOP = fps × segmentSec is whole). */
  fps: number;
  gop: number;
  /** Frames of the whole output. */
  frames: number;
  /** Frames of each segment (the last may be shorter). */
  segmentFrames: number[];
  renditions: PlannedRendition[];
  audio: boolean;
  posterAtSec: number;
  source: ProbeResult;
}

/** Timestamp of the first frame: leaves room for B-frame decode times before it, for every segment alike. */
export const TS_OFFSET_SEC = 1;

export function planFor(params: HlsParams, source: ProbeResult): Plan {
  const fps = Math.max(1, Math.min(60, Math.round(source.fps[0] / source.fps[1])));
  const gop = fps * params.segmentSec;
  const frames = Math.max(1, Math.round(source.durationSec * fps));
  const segmentFrames: number[] = [];
  for (let left = frames; left > 0; left -= gop) segmentFrames.push(Math.min(gop, left));
  const wanted = LADDER.filter((r) => params.renditions.includes(r.name));
  let rungs = wanted.filter((r) => r.height <= source.height);
  // a source below every wanted rung still gets one: the smallest wanted, at the source's own height
  if (rungs.length === 0) rungs = [{ ...wanted[wanted.length - 1], height: even(source.height) }];
  const renditions = rungs.map((r) => ({
    name: r.name,
    width: even((source.width * r.height) / source.height),
    height: r.height,
    maxrateK: r.maxrateK,
    profile: r.profile,
    level: r.level,
    codec: r.codec,
  }));
  const lastSec = Math.max(0, (frames - 1) / fps);
  return {
    params,
    fps,
    gop,
    frames,
    segmentFrames,
    renditions,
    audio: source.hasAudio,
    posterAtSec: Math.min(params.posterAtSec, lastSec),
    source,
  };
}

function even(x: number): number {
  return Math.max(2, 2 * Math.round(x / 2));
}

export function segmentPath(rendition: string, index: number): string {
  return `${rendition}/seg_${String(index).padStart(4, "0")}.ts`;
}

/** ffmpeg arguments that encode segment `index` of every rendition (one process, video only). */
export function segmentArgs(plan: Plan, input: string, index: number, outOf: (path: string) => string): string[] {
  const p = plan.params;
  const startSec = (index * plan.gop) / plan.fps;
  const frames = plan.segmentFrames[index];
  const n = plan.renditions.length;
  const labels = plan.renditions.map((_, i) => `[s${i}]`).join("");
  const scales = plan.renditions
    .map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1[o${i}]`)
    .join(";");
  const args = [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-threads",
    String(p.threads),
    "-ss",
    startSec.toFixed(6),
    "-i",
    input,
    "-an",
    "-sn",
    "-dn",
    "-filter_threads",
    "1",
    "-filter_complex_threads",
    "1",
    "-filter_complex",
    `[0:v]fps=${plan.fps},format=yuv420p,split=${n}${labels};${scales}`,
  ];
  plan.renditions.forEach((r, i) => {
    args.push(
      "-map",
      `[o${i}]`,
      "-frames:v",
      String(frames),
      "-c:v",
      "libx264",
      "-threads",
      String(p.threads),
      "-preset",
      p.preset,
      "-profile:v",
      r.profile,
      "-level:v",
      r.level,
      "-crf",
      String(p.crf),
      "-maxrate",
      `${r.maxrateK}k`,
      "-bufsize",
      `${2 * r.maxrateK}k`,
      "-g",
      String(plan.gop),
      "-keyint_min",
      String(plan.gop),
      "-sc_threshold",
      "0",
      "-bf",
      "2",
      "-fflags",
      "+bitexact",
      "-flags:v",
      "+bitexact",
      "-output_ts_offset",
      (TS_OFFSET_SEC + startSec).toFixed(6),
      "-muxdelay",
      "0",
      "-muxpreload",
      "0",
      "-f",
      "mpegts",
      outOf(segmentPath(r.name, index)),
    );
  });
  return args;
}

/** ffmpeg arguments for the audio rendition: the whole track in one process, cut into HLS segments. */
export function audioArgs(plan: Plan, input: string, outDir: string): string[] {
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-threads",
    "1",
    "-i",
    input,
    "-vn",
    "-sn",
    "-dn",
    "-map_metadata",
    "-1",
    "-t",
    (plan.frames / plan.fps).toFixed(6),
    "-c:a",
    "aac",
    "-b:a",
    `${plan.params.audioBitrateK}k`,
    "-ac",
    "2",
    "-ar",
    "48000",
    "-fflags",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-output_ts_offset",
    TS_OFFSET_SEC.toFixed(6),
    "-muxdelay",
    "0",
    "-muxpreload",
    "0",
    "-f",
    "hls",
    "-hls_time",
    String(plan.params.segmentSec),
    "-hls_playlist_type",
    "vod",
    "-hls_segment_type",
    "mpegts",
    "-hls_segment_filename",
    `${outDir}/audio/seg_%04d.ts`,
    `${outDir}/audio/index.m3u8`,
  ];
}

/** ffmpeg arguments for the poster: one JPEG frame, at most 720 lines. */
export function posterArgs(plan: Plan, input: string, out: string): string[] {
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-threads",
    "1",
    "-ss",
    plan.posterAtSec.toFixed(6),
    "-i",
    input,
    "-an",
    "-map_metadata",
    "-1",
    "-frames:v",
    "1",
    "-vf",
    `scale=-2:${Math.min(720, plan.source.height)}:flags=bicubic`,
    "-q:v",
    "3",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-f",
    "image2",
    out,
  ];
}
