/** The video worker: the `video/hls` job kind (ffmpeg → an HLS ladder in IPFS, verifiable by segment). */

export { VideoError, VideoErrorCode } from "./errors.js";
export { DEFAULT_TOOLS, type FFmpegTools, type ProbeResult, probe, toolVersion } from "./ffmpeg.js";
export {
  createVideoHandler,
  DEFAULT_VIDEO_LIMITS,
  evidenceURI,
  tamperedPath,
  type VideoEvidence,
  type VideoHandlerOptions,
  type VideoLimits,
  type VideoTestFault,
} from "./handler.js";
export { decodeManifest, MANIFEST_CONTENT_TYPE, type VideoManifest } from "./manifest.js";
export { type MerkleLeaf, type MerkleProof, merkleProof, merkleRoot, verifyMerkleProof } from "./merkle.js";
export {
  DEFAULT_PARAMS,
  type HlsParams,
  LADDER,
  type Plan,
  paramsFromSpec,
  planFor,
  segmentPath,
  VIDEO_HLS_KIND,
} from "./plan.js";
export { playerPage, registerPlayerRoutes } from "./player.js";
export { encodeSegment, hashTree, transcode } from "./transcode.js";
