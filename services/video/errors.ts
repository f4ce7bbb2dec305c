import { AzoraError } from "../../runtime/lib/errors.js";

export enum VideoErrorCode {
  /** ffmpeg or ffprobe is not installed (or not at the configured path). */
  TOOL_MISSING = "VIDEO_TOOL_MISSING",
  /** ffmpeg exited with an error; `reason` is its last error line. */
  FFMPEG_FAILED = "VIDEO_FFMPEG_FAILED",
  /** The input is not a video ffprobe can read. */
  NOT_VIDEO = "VIDEO_NOT_VIDEO",
  /** The job spec is malformed or pins an engine this worker does not run. */
  BAD_SPEC = "VIDEO_BAD_SPEC",
  /** The input exceeds this worker's limits. */
  TOO_LARGE = "VIDEO_TOO_LARGE",
  /** A result document that does not parse or is inconsistent. */
  BAD_RESULT = "VIDEO_BAD_RESULT",
}

export type VideoErrorType =
  | { code: VideoErrorCode.TOOL_MISSING; tool: string; reason: string }
  | { code: VideoErrorCode.FFMPEG_FAILED; tool: string; exit: number; signal: string; reason: string }
  | { code: VideoErrorCode.NOT_VIDEO; reason: string }
  | { code: VideoErrorCode.BAD_SPEC; reason: string }
  | { code: VideoErrorCode.TOO_LARGE; reason: string }
  | { code: VideoErrorCode.BAD_RESULT; reason: string };

export class VideoError extends AzoraError<VideoErrorType> {
  constructor(type: VideoErrorType) {
    super(type, `${type.code}: ${type.reason}`);
  }
}
