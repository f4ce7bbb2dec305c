/**
 * ffmpeg and ffprobe as child processes: the one place the video worker meets them. A run is bounded (abort
 * signal → SIGKILL, so a stuck decoder never hangs the worker), its `-progress` lines are parsed into frame
 * counts, and a failure carries ffmpeg's own last error lines as the reason.
 */
import { spawn } from "node:child_process";
import { VideoError, VideoErrorCode } from "./errors.js";

export interface FFmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

export const DEFAULT_TOOLS: FFmpegTools = { ffmpeg: "ffmpeg", ffprobe: "ffprobe" };

/** How much of stderr is kept for the failure reason. */
const STDERR_TAIL = 4096;

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with the encoded frame count whenever ffmpeg reports progress (`-progress pipe:1`). */
  onFrames?: (frames: number) => void;
}

/** Runs a tool to completion; resolves with stdout, rejects with VideoError FFMPEG_FAILED and ffmpeg's reason. */
export function runTool(bin: string, args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason ?? new Error("aborted"));
      return;
    }
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    let partial = "";
    child.stdout.on("data", (d: Buffer) => {
      if (opts.onFrames === undefined) {
        out.push(d);
        return;
      }
      partial += d.toString();
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) if (l.startsWith("frame=")) opts.onFrames(Number(l.slice(6)) || 0);
    });
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-STDERR_TAIL);
    });
    const onAbort = () => child.kill("SIGKILL");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.once("error", (e) => {
      opts.signal?.removeEventListener("abort", onAbort);
      reject(new VideoError({ code: VideoErrorCode.TOOL_MISSING, tool: bin, reason: e.message }));
    });
    child.once("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) {
        reject(opts.signal.reason ?? new Error("aborted"));
        return;
      }
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new VideoError({
            code: VideoErrorCode.FFMPEG_FAILED,
            tool: bin,
            exit: code ?? -1,
            signal: sig ?? "",
            reason: lastErrorLine(err),
          }),
        );
    });
  });
}

/** ffmpeg's reason: the last non-empty stderr line (its error messages end there). */
export function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return (lines.at(-1) ?? "no output").slice(0, 300);
}

/** The version line of a tool, e.g. "5.1.9-0+deb12u1" (pinned in job specs so encodes are reproducible). */
export async function toolVersion(bin: string): Promise<string> {
  const out = (await runTool(bin, ["-hide_banner", "-version"])).toString();
  const m = /version (\S+)/.exec(out);
  if (m === null) throw new VideoError({ code: VideoErrorCode.TOOL_MISSING, tool: bin, reason: "no version line" });
  return m[1];
}

export interface ProbeResult {
  durationSec: number;
  width: number;
  height: number;
  /** Frames per second as a fraction [num, den]. */
  fps: [number, number];
  videoCodec: string;
  hasAudio: boolean;
}

/** Probes a file: its first video stream and whether it has audio. Not video → VideoError NOT_VIDEO. */
export async function probe(tools: FFmpegTools, file: string, signal?: AbortSignal): Promise<ProbeResult> {
  let json: {
    format?: { duration?: string };
    streams?: {
      codec_type?: string;
      codec_name?: string;
      width?: number;
      height?: number;
      avg_frame_rate?: string;
      r_frame_rate?: string;
      duration?: string;
      disposition?: { attached_pic?: number };
    }[];
  };
  try {
    const out = await runTool(
      tools.ffprobe,
      ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file],
      { signal },
    );
    json = JSON.parse(out.toString());
  } catch (e) {
    if (e instanceof VideoError && e.code === VideoErrorCode.FFMPEG_FAILED)
      throw new VideoError({ code: VideoErrorCode.NOT_VIDEO, reason: e.type.reason });
    throw e;
  }
  const streams = json.streams ?? [];
  const v = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  if (v === undefined || !v.width || !v.height)
    throw new VideoError({ code: VideoErrorCode.NOT_VIDEO, reason: "no video stream" });
  const fps = parseRate(v.avg_frame_rate) ?? parseRate(v.r_frame_rate);
  if (fps === undefined) throw new VideoError({ code: VideoErrorCode.NOT_VIDEO, reason: "no frame rate" });
  const durationSec = Number(v.duration ?? json.format?.duration ?? "NaN");
  if (!Number.isFinite(durationSec) || durationSec <= 0)
    throw new VideoError({ code: VideoErrorCode.NOT_VIDEO, reason: "no duration" });
  return {
    durationSec,
    width: v.width,
    height: v.height,
    fps,
    videoCodec: v.codec_name ?? "unknown",
    hasAudio: streams.some((s) => s.codec_type === "audio"),
  };
}

function parseRate(r: string | undefined): [number, number] | undefined {
  if (r === undefined) return undefined;
  const [n, d] = r.split("/").map(Number);
  if (!Number.isInteger(n) || !Number.isInteger(d) || n <= 0 || d <= 0) return undefined;
  return [n, d];
}
