import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobInputError } from "../../services/runtime/handler.js";
import type { StorageService } from "../../services/storage/index.js";
import {
  createVideoHandler,
  decodeManifest,
  evidenceURI,
  merkleProof,
  tamperedPath,
  toolVersion,
} from "../../services/video/index.js";
import { startStorage, tempDir } from "../storage/fixtures.js";

/**
 * The video/hls handler in-process on real ffmpeg and a real Helia node: a ladder encodes, the same job
 * encodes to the same bytes twice (so replay can compare), a spot check passes an honest result and catches
 * a tampered segment, and admission refuses what is not video or is over the worker's limits.
 */

const dir = tempDir("video-handler");
const clip = join(dir, "clip.mp4");
let storage: StorageService;
let ffmpeg: string;
const ctx = () => ({ signal: new AbortController().signal, progress() {}, storage: storage.backend });

beforeAll(async () => {
  // 6 s of 1280×720 at 30 fps with a 440 Hz tone: three 2-second segments in three renditions
  execFileSync("ffmpeg", [
    ...["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=6"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip],
  ]);
  storage = await startStorage();
  ffmpeg = await toolVersion("ffmpeg");
}, 120_000);

afterAll(async () => {
  await storage?.close();
});

const job = (id: bigint, input: Uint8Array, spec: Record<string, unknown> = {}) => ({
  id,
  kind: "video/hls",
  spec: { ffmpeg, segmentSec: 2, ...spec },
  input,
});

describe("video/hls handler (real ffmpeg, real Helia)", () => {
  it("encodes a ladder reproducibly; an honest result passes the spot check, a tampered segment does not", async () => {
    const honest = createVideoHandler({ workDir: join(dir, "w1"), concurrency: 2 });
    await honest.init?.();
    const input = new Uint8Array(readFileSync(clip));
    const a = await honest.run(job(1n, input), ctx());
    const b = await honest.run(job(2n, input), ctx());
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), "same job, same bytes").toBe(true);
    const m = decodeManifest(a.bytes);
    expect(m.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(["1280x720", "854x480", "640x360"]);
    expect(m.files.filter((f) => f.path.endsWith(".ts") && !f.path.startsWith("audio/")).length).toBe(9);
    const master = await fetch(`${storage.url}/ipfs/${m.hls}/master.m3u8`);
    expect(await master.text()).toContain('RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.640028,mp4a.40.2"');

    const ok = await honest.check?.(job(1n, input), a.bytes, { signal: ctx().signal, sources: [storage.url] });
    expect(ok).toEqual({ ok: true });

    const liar = createVideoHandler({ workDir: join(dir, "w2"), concurrency: 2, fault: "tamper-segment" });
    await liar.init?.();
    const bad = await liar.run(job(3n, input), ctx());
    const badM = decodeManifest(bad.bytes);
    const target = tamperedPath({
      renditions: badM.renditions.map((r) => ({ name: r.name })) as never,
      segmentFrames: [0, 0, 0],
    });
    const index = badM.files.findIndex((f) => f.path === target);
    const evidence = evidenceURI({ proof: merkleProof(badM.files, index) });
    const caught = await honest.check?.(job(3n, input), bad.bytes, {
      signal: ctx().signal,
      sources: [storage.url],
      evidenceURI: evidence,
    });
    expect(caught?.ok).toBe(false);
    expect(caught?.reason).toBe(`${target} does not re-encode to its leaf`);
  }, 300_000);

  it("admission: not video, over the limits, another ffmpeg — refused with the reason; run fails with ffmpeg's", async () => {
    const h = createVideoHandler({ workDir: join(dir, "w3"), limits: { maxDurationSec: 5 } });
    await h.init?.();
    const input = new Uint8Array(readFileSync(clip));
    const signal = new AbortController().signal;
    expect(await h.admit?.(job(4n, input), signal)).toBe("VIDEO_TOO_LARGE: 6.0 s > 5 s");
    const text = new TextEncoder().encode("this is not a video at all, just text\n".repeat(50));
    const reason = await h.admit?.(job(5n, text), signal);
    expect(reason).toMatch(/^VIDEO_NOT_VIDEO: .*Invalid data found when processing input/);
    expect(await h.admit?.(job(6n, input, { ffmpeg: "0.0.1" }), signal)).toMatch(/^VIDEO_BAD_SPEC: the job pins/);
    const err = await h.run(job(7n, text), ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(JobInputError);
    expect((err as JobInputError).code).toBe("VIDEO_NOT_VIDEO");
    expect((err as JobInputError).detail).toMatch(/Invalid data found when processing input/);
  }, 120_000);
});
