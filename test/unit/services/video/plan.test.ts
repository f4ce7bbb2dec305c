import { describe, expect, it } from "vitest";
import { ipfsURIOf } from "../../../../services/runtime/content/cid.js";
import { merkleProof, merkleRoot, verifyMerkleProof } from "../../../../services/video/merkle.js";
import { paramsFromSpec, planFor, segmentArgs } from "../../../../services/video/plan.js";

const source = (width: number, height: number, fps: [number, number], durationSec: number) => ({
  width,
  height,
  fps,
  durationSec,
  videoCodec: "h264",
  hasAudio: true,
});

describe("video/hls plan", () => {
  it("the ladder stops at the source's height; GOP = fps × segment length; the last segment is the rest", () => {
    const p = planFor(paramsFromSpec({ ffmpeg: "5.1.9", segmentSec: 2 }), source(1280, 720, [30, 1], 5));
    expect(p.renditions.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual([
      "720p 1280x720",
      "480p 854x480",
      "360p 640x360",
    ]);
    expect(p.gop).toBe(60);
    expect(p.segmentFrames).toEqual([60, 60, 30]);
    // NTSC rates are rounded, so every segment is a whole number of frames
    expect(planFor(p.params, source(1920, 1080, [30000, 1001], 8)).gop).toBe(60);
    // a source under every rung still gets one, at its own height
    expect(planFor(p.params, source(320, 240, [25, 1], 3)).renditions).toMatchObject([{ width: 320, height: 240 }]);
  });

  it("pins reproducibility: one thread, GOP and keyframe flags, the segment's own timestamps", () => {
    const p = planFor(paramsFromSpec({ ffmpeg: "5.1.9", segmentSec: 4 }), source(1920, 1080, [25, 1], 10));
    const args = segmentArgs(p, "in", 2, (x) => x).join(" ");
    expect(args).toContain("-ss 8.000000 -i in");
    expect(args).toContain("-g 100 -keyint_min 100 -sc_threshold 0");
    expect(args).toContain("-output_ts_offset 9.000000");
    expect(args.match(/-threads 1/g)?.length).toBe(1 + p.renditions.length);
    expect(args).toContain("-frames:v 50"); // 10 s at 25 fps: 100 + 100 + 50
  });

  it("refuses specs that would not reproduce or are malformed, naming the field", () => {
    expect(() => paramsFromSpec({})).toThrow(/ffmpeg/);
    expect(() => paramsFromSpec({ ffmpeg: "5", threads: 2 })).toThrow(/threads/);
    expect(() => paramsFromSpec({ ffmpeg: "5", segmentSec: 6 })).toThrow(/segmentSec/);
    expect(() => paramsFromSpec({ ffmpeg: "5", renditions: ["4k"] })).toThrow(/renditions/);
    expect(() => paramsFromSpec({ ffmpeg: "5", extra: 1 })).toThrow(/unknown parameter extra/);
  });
});

describe("Merkle tree over the result's files", () => {
  const leaves = Array.from({ length: 7 }, (_, i) => ({
    path: `360p/seg_000${i}.ts`,
    sha256: `0x${String(i).repeat(64)}`,
    size: 1000 + i,
  }));
  it("every leaf's proof verifies against the root; a changed leaf or size does not", () => {
    const root = merkleRoot(leaves);
    for (let i = 0; i < leaves.length; i++)
      expect(verifyMerkleProof(merkleProof(leaves, i), root), `leaf ${i}`).toBe(true);
    const p = merkleProof(leaves, 3);
    expect(verifyMerkleProof({ ...p, leaf: { ...p.leaf, size: p.leaf.size + 1 } }, root)).toBe(false);
    expect(verifyMerkleProof({ ...p, leaf: { ...p.leaf, sha256: `0x${"f".repeat(64)}` } }, root)).toBe(false);
    expect(merkleRoot(leaves.slice(0, 1))).not.toBe(merkleRoot(leaves.slice(0, 2)));
  });
});

describe("ipfs:// URIs", () => {
  it("name raw and UnixFS CIDs with a path; anything else is refused", () => {
    const dir = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    expect(ipfsURIOf(`ipfs://${dir}/720p/index.m3u8`)).toMatchObject({ path: ["720p", "index.m3u8"] });
    expect(ipfsURIOf(`ipfs://${dir}`)?.cid.toString()).toBe(dir);
    expect(ipfsURIOf(`ipfs://${dir}/../x`)).toBeUndefined();
    expect(ipfsURIOf("ipfs://not-a-cid")).toBeUndefined();
    expect(ipfsURIOf(`https://x/ipfs/${dir}`)).toBeUndefined();
  });
});
