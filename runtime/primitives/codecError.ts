import { AzoraError } from "../lib/errors.js";

export enum CodecErrorCode {
  MALFORMED = "CODEC_ERROR_MALFORMED",
}

export type CodecErrorType = { code: CodecErrorCode.MALFORMED; what: string; reason: string };

/** The only error a decoder throws, whatever bytes it is fed. */
export class CodecError extends AzoraError<CodecErrorType> {
  constructor(what: string, reason: string) {
    super({ code: CodecErrorCode.MALFORMED, what, reason }, `malformed ${what}: ${reason}`);
  }
}
