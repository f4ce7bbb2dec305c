import { execFile, spawn } from "node:child_process";
import { AIInputCode, inputError } from "../errors.js";
import { resample } from "./resample.js";
import { decodeWAV, isWAV } from "./wav.js";

export const TARGET_RATE = 16_000;

export interface AudioDecoder {
  /** `wav-js` or `wav-js+ffmpeg <version>`: part of the transcribe handler's engine identity. */
  readonly identity: string;
  /** 16 kHz mono samples, at most `maxSeconds` long. */
  decode(bytes: Uint8Array, maxSeconds: number): Promise<Float32Array>;
}

/** Version line of `ffmpeg` on PATH, or null when there is none. */
export function probeFFmpeg(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("ffmpeg", ["-hide_banner", "-version"], { timeout: 5000 }, (err, stdout) => {
      if (err) resolve(null);
      else resolve(/ffmpeg version (\S+)/.exec(stdout)?.[1] ?? "unknown");
    });
  });
}

/**
 * WAV is decoded and resampled in JS (deterministic, no tools). Other formats (MP3, Ogg, FLAC, M4A…) go through
 * ffmpeg when `ffmpegVersion` is given: its decoders and resampler then belong to the engine identity, since a
 * verifier with another ffmpeg build may hear slightly different samples.
 */
export function createAudioDecoder(ffmpegVersion: string | null): AudioDecoder {
  return {
    identity: ffmpegVersion ? `wav-js+ffmpeg@${ffmpegVersion}` : "wav-js",
    async decode(bytes, maxSeconds) {
      let samples: Float32Array;
      if (isWAV(bytes)) {
        const pcm = decodeWAV(bytes);
        if (pcm.samples.length > maxSeconds * pcm.sampleRate) throw tooLong(pcm.samples.length / pcm.sampleRate);
        samples = resample(pcm.samples, pcm.sampleRate, TARGET_RATE);
      } else if (ffmpegVersion) {
        samples = await decodeWithFFmpeg(bytes, maxSeconds);
      } else {
        throw inputError(
          AIInputCode.INPUT_NOT_AUDIO,
          "input is not a WAV file (this worker has no ffmpeg for other audio formats)",
        );
      }
      if (samples.length === 0) throw inputError(AIInputCode.AUDIO_LENGTH, "audio has no samples");
      if (samples.length > maxSeconds * TARGET_RATE) throw tooLong(samples.length / TARGET_RATE);
      return samples;
    },
  };
}

function tooLong(seconds: number) {
  return inputError(AIInputCode.AUDIO_LENGTH, `audio is ${seconds.toFixed(1)} s long, over the limit`);
}

function decodeWithFFmpeg(bytes: Uint8Array, maxSeconds: number): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const args = ["-v", "error", "-nostdin", "-i", "pipe:0", "-t", String(maxSeconds + 1)];
    args.push("-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", String(TARGET_RATE), "pipe:1");
    const p = spawn("ffmpeg", args, { stdio: ["pipe", "pipe", "pipe"], timeout: 120_000 });
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (c: Buffer) => out.push(c));
    p.stderr.on("data", (c: Buffer) => {
      if (err.length < 2000) err += c.toString();
    });
    p.stdin.on("error", () => {}); // ffmpeg may stop reading a file it cannot parse
    p.on("error", (e) => reject(e));
    p.on("close", (code) => {
      const all = Buffer.concat(out);
      if (code !== 0 || all.length < 4) {
        reject(inputError(AIInputCode.INPUT_NOT_AUDIO, `ffmpeg cannot decode the input: ${err.trim().slice(0, 200)}`));
        return;
      }
      const samples = new Float32Array(Math.floor(all.length / 4));
      for (let i = 0; i < samples.length; i++) samples[i] = all.readFloatLE(4 * i);
      resolve(samples);
    });
    p.stdin.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
