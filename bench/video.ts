/**
 * The video phase of `npm run bench`: transcode speed of the `video/hls` pipeline on this machine — each rung
 * of the ladder alone (× realtime, one encode process at a time: one core), the whole ladder with one segment
 * process per core (what a worker runs), and one segment's re-encode (what a verifier's spot check costs).
 * Serving the resulting segments is the storage phase (gateway vs @fastify/static).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DEFAULT_TOOLS, probe, toolVersion } from "../services/video/ffmpeg.js";
import { LADDER, paramsFromSpec, planFor, type RungName } from "../services/video/plan.js";
import { encodeSegment, transcode } from "../services/video/transcode.js";

export interface VideoBenchResult {
  date: string;
  machine: string;
  ffmpeg: string;
  clip: { width: number; height: number; fps: number; seconds: number };
  /** One rung alone, segments one after another: seconds of video per second of wall time. */
  perRendition: { name: string; realtime: number; wallS: number }[];
  ladder: { realtime: number; wallS: number; processes: number };
  /** Re-encoding one segment of every rung (a spot check's unit of work). */
  segmentReencodeS: number;
}

export async function videoBench(
  opts: { seconds?: number; log?: (l: string) => void } = {},
): Promise<VideoBenchResult> {
  const log = opts.log ?? (() => {});
  const seconds = opts.seconds ?? 12;
  const dir = mkdtempSync(join(tmpdir(), "azora-bench-video-"));
  try {
    const clip = join(dir, "clip.mp4");
    execFileSync("ffmpeg", [
      ...["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=1920x1080:rate=30:duration=${seconds}`],
      ...["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
      ...[
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "28",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        clip,
      ],
    ]);
    const ffmpeg = await toolVersion("ffmpeg");
    const source = await probe(DEFAULT_TOOLS, clip);
    const perRendition: VideoBenchResult["perRendition"] = [];
    for (const rung of LADDER) {
      const plan = planFor(paramsFromSpec({ ffmpeg, segmentSec: 2, renditions: [rung.name as RungName] }), source);
      const t0 = performance.now();
      for (let i = 0; i < plan.segmentFrames.length; i++)
        await encodeSegment(plan, clip, i, join(dir, `r-${rung.name}`), DEFAULT_TOOLS);
      const wallS = (performance.now() - t0) / 1000;
      perRendition.push({ name: rung.name, realtime: seconds / wallS, wallS });
      log(`  ${rung.name}: ${(seconds / wallS).toFixed(2)}× realtime (${wallS.toFixed(1)} s for ${seconds} s)`);
    }
    const plan = planFor(paramsFromSpec({ ffmpeg, segmentSec: 2 }), source);
    const processes = availableParallelism();
    const t0 = performance.now();
    await transcode(clip, join(dir, "ladder"), plan, { tools: DEFAULT_TOOLS, concurrency: processes });
    const ladderS = (performance.now() - t0) / 1000;
    log(`  whole ladder (+ audio, poster): ${(seconds / ladderS).toFixed(2)}× realtime, ${processes} processes`);
    const t1 = performance.now();
    await encodeSegment(plan, clip, 1, join(dir, "spot"), DEFAULT_TOOLS);
    const segmentReencodeS = (performance.now() - t1) / 1000;
    return {
      date: new Date().toISOString(),
      machine: `${cpus().length}× ${cpus()[0]?.model ?? "cpu"}`,
      ffmpeg,
      clip: { width: 1920, height: 1080, fps: 30, seconds },
      perRendition,
      ladder: { realtime: seconds / ladderS, wallS: ladderS, processes },
      segmentReencodeS,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function videoTable(r: VideoBenchResult): string {
  const rows = [
    `| video/hls transcode (ffmpeg ${r.ffmpeg}, ${r.clip.seconds} s 1080p30 testsrc2) | wall | × realtime |`,
    "|---|---:|---:|",
    ...r.perRendition.map((p) => `| ${p.name} alone, 1 process | ${p.wallS.toFixed(1)} s | ${p.realtime.toFixed(2)} |`),
    `| whole ladder + audio + poster, ${r.ladder.processes} processes | ${r.ladder.wallS.toFixed(1)} s | ${r.ladder.realtime.toFixed(2)} |`,
    `| one 2 s segment of every rung (a spot check's unit) | ${r.segmentReencodeS.toFixed(1)} s | — |`,
  ];
  return rows.join("\n");
}
