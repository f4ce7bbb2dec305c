/**
 * The result of a `video/hls` job: a small canonical JSON document (its sha256 is the market's resultHash)
 * naming the HLS directory by CID and committing to every file in it by a Merkle root (merkle.ts), plus the
 * playlists, which are a pure function of the plan and the segments' sizes, so a verifier rebuilds them.
 */
import { canonicalJSON } from "../runtime/spec.js";
import { VideoError, VideoErrorCode } from "./errors.js";
import { type MerkleLeaf, merkleRoot } from "./merkle.js";
import { type Plan, segmentPath } from "./plan.js";

export const MANIFEST_CONTENT_TYPE = "application/vnd.azora.video-hls+json";

export interface ManifestRendition {
  name: string;
  width: number;
  height: number;
  codec: string;
  /** Peak and average bits per second over its segments (with audio). */
  bandwidth: number;
  averageBandwidth: number;
  playlist: string;
}

export interface VideoManifest {
  v: 1;
  kind: "video/hls";
  /** CID of the HLS directory (UnixFS). */
  hls: string;
  master: "master.m3u8";
  poster: "poster.jpg";
  engine: string;
  fps: number;
  segmentSec: number;
  durationSec: number;
  renditions: ManifestRendition[];
  audio: boolean;
  /** Every file of the directory, in path order: the Merkle leaves. */
  files: MerkleLeaf[];
  merkleRoot: string;
}

export function encodeManifest(m: VideoManifest): Uint8Array {
  return new TextEncoder().encode(canonicalJSON(m));
}

export function decodeManifest(bytes: Uint8Array): VideoManifest {
  const bad = (reason: string) => new VideoError({ code: VideoErrorCode.BAD_RESULT, reason });
  let m: VideoManifest;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as VideoManifest;
  } catch {
    throw bad("not UTF-8 JSON");
  }
  if (m === null || typeof m !== "object" || m.v !== 1 || m.kind !== "video/hls") throw bad("not a video/hls result");
  if (typeof m.hls !== "string" || !Array.isArray(m.files) || m.files.length === 0) throw bad("files");
  for (const f of m.files)
    if (
      typeof f?.path !== "string" ||
      typeof f?.sha256 !== "string" ||
      !/^0x[0-9a-f]{64}$/.test(f.sha256) ||
      !Number.isSafeInteger(f.size) ||
      f.size < 0
    )
      throw bad("files[]");
  const sorted = [...m.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (sorted.some((f, i) => f.path !== m.files[i].path || (i > 0 && f.path === sorted[i - 1].path)))
    throw bad("files must be distinct and in path order");
  if (merkleRoot(m.files) !== m.merkleRoot) throw bad("merkleRoot does not match the files");
  return m;
}

/** Sorts leaves by path (byte order of the UTF-16 code units; paths are ASCII). */
export function sortLeaves(leaves: MerkleLeaf[]): MerkleLeaf[] {
  return leaves.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function variantPlaylist(plan: Plan, rendition: string): string {
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${plan.params.segmentSec}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  plan.segmentFrames.forEach((frames, i) => {
    lines.push(`#EXTINF:${(frames / plan.fps).toFixed(6)},`, segmentPath(rendition, i).split("/")[1]);
  });
  lines.push("#EXT-X-ENDLIST", "");
  return lines.join("\n");
}

/** Bandwidths of each rendition from its segment sizes (plus the audio's average rate). */
export function renditionsOf(plan: Plan, sizeOf: (path: string) => number, audioBps: number): ManifestRendition[] {
  return plan.renditions.map((r) => {
    let peak = 0;
    let bytes = 0;
    plan.segmentFrames.forEach((frames, i) => {
      const size = sizeOf(segmentPath(r.name, i));
      bytes += size;
      peak = Math.max(peak, Math.ceil((size * 8 * plan.fps) / frames));
    });
    const avg = Math.ceil((bytes * 8 * plan.fps) / plan.frames);
    return {
      name: r.name,
      width: r.width,
      height: r.height,
      codec: r.codec,
      bandwidth: peak + audioBps,
      averageBandwidth: avg + audioBps,
      playlist: `${r.name}/index.m3u8`,
    };
  });
}

export function masterPlaylist(plan: Plan, renditions: readonly ManifestRendition[]): string {
  const lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"];
  if (plan.audio)
    lines.push('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"');
  for (const r of renditions) {
    const codecs = plan.audio ? `${r.codec},mp4a.40.2` : r.codec;
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},AVERAGE-BANDWIDTH=${r.averageBandwidth},` +
        `RESOLUTION=${r.width}x${r.height},FRAME-RATE=${plan.fps.toFixed(3)},CODECS="${codecs}"` +
        (plan.audio ? ',AUDIO="aud"' : ""),
      r.playlist,
    );
  }
  lines.push("");
  return lines.join("\n");
}
