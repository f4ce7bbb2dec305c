import { describe, expect, it } from "vitest";
import { createAudioDecoder } from "../../../ai-oracle/audio/decode.js";
import { resample } from "../../../ai-oracle/audio/resample.js";
import { decodeWAV, encodeWAV16 } from "../../../ai-oracle/audio/wav.js";
import { AIInputCode } from "../../../ai-oracle/errors.js";
import { segmentAudio } from "../../../ai-oracle/kinds/transcribe.js";
import { JobInputError } from "../../../services/runtime/handler.js";

function wav(opts: { format: number; bits: number; channels: number; rate: number; frames: Buffer }): Buffer {
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "latin1");
  h.writeUInt32LE(36 + opts.frames.length, 4);
  h.write("WAVEfmt ", 8, "latin1");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(opts.format, 20);
  h.writeUInt16LE(opts.channels, 22);
  h.writeUInt32LE(opts.rate, 24);
  h.writeUInt32LE((opts.rate * opts.channels * opts.bits) / 8, 28);
  h.writeUInt16LE((opts.channels * opts.bits) / 8, 32);
  h.writeUInt16LE(opts.bits, 34);
  h.write("data", 36, "latin1");
  h.writeUInt32LE(opts.frames.length, 40);
  return Buffer.concat([h, opts.frames]);
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JobInputError) return e.code;
    throw e;
  }
  return undefined;
}

describe("WAV decoding", () => {
  it("reads 16-bit PCM and mixes stereo to mono", () => {
    const frames = Buffer.alloc(8);
    frames.writeInt16LE(16384, 0); // L = 0.5
    frames.writeInt16LE(0, 2); // R = 0
    frames.writeInt16LE(-32768, 4);
    frames.writeInt16LE(-32768, 6);
    const pcm = decodeWAV(wav({ format: 1, bits: 16, channels: 2, rate: 8000, frames }));
    expect(pcm.sampleRate).toBe(8000);
    expect(Array.from(pcm.samples)).toEqual([0.25, -1]);
  });

  it("reads 32-bit float and 8-bit unsigned PCM", () => {
    const f = Buffer.alloc(8);
    f.writeFloatLE(0.75, 0);
    f.writeFloatLE(-0.25, 4);
    expect(Array.from(decodeWAV(wav({ format: 3, bits: 32, channels: 1, rate: 16000, frames: f })).samples)).toEqual([
      0.75, -0.25,
    ]);
    const u8 = Buffer.from([128, 192]);
    expect(Array.from(decodeWAV(wav({ format: 1, bits: 8, channels: 1, rate: 16000, frames: u8 })).samples)).toEqual([
      0, 0.5,
    ]);
  });

  it("encodeWAV16 output decodes back", () => {
    const s = Float32Array.from([0, 0.5, -0.5]);
    const back = decodeWAV(encodeWAV16(s, 16000)).samples;
    for (const [i, v] of back.entries()) expect(v).toBeCloseTo(s[i], 3);
  });

  it("refuses what is not audio with INPUT_NOT_AUDIO, and empty audio with AUDIO_LENGTH", async () => {
    const dec = createAudioDecoder(null);
    expect(await code(dec.decode(Buffer.from("this is a text file, not a WAV"), 60))).toBe(AIInputCode.INPUT_NOT_AUDIO);
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    expect(await code(dec.decode(png, 60))).toBe(AIInputCode.INPUT_NOT_AUDIO);
    const adpcm = wav({ format: 2, bits: 4, channels: 1, rate: 16000, frames: Buffer.alloc(16) });
    expect(await code(dec.decode(adpcm, 60))).toBe(AIInputCode.INPUT_NOT_AUDIO);
    const noData = wav({ format: 1, bits: 16, channels: 1, rate: 16000, frames: Buffer.alloc(0) });
    expect(await code(dec.decode(noData, 60))).toBe(AIInputCode.AUDIO_LENGTH);
    const long = encodeWAV16(new Float32Array(16000 * 3), 16000);
    expect(await code(dec.decode(long, 2))).toBe(AIInputCode.AUDIO_LENGTH);
  });
});

describe("resampling", () => {
  it("keeps a 1 kHz tone at 22.05 kHz -> 16 kHz within 1e-4", () => {
    const inRate = 22050;
    const tone = Float32Array.from({ length: inRate }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / inRate));
    const out = resample(tone, inRate, 16000);
    expect(out.length).toBe(16000);
    let err = 0;
    for (let i = 200; i < 15800; i++)
      err = Math.max(err, Math.abs(out[i] - Math.sin((2 * Math.PI * 1000 * i) / 16000)));
    expect(err).toBeLessThan(1e-4);
  });

  it("removes a tone above the new Nyquist frequency", () => {
    const inRate = 48000;
    const tone = Float32Array.from({ length: inRate }, (_, i) => Math.sin((2 * Math.PI * 12000 * i) / inRate));
    const out = resample(tone, inRate, 16000);
    let peak = 0;
    for (let i = 200; i < out.length - 200; i++) peak = Math.max(peak, Math.abs(out[i]));
    expect(peak).toBeLessThan(0.01);
  });
});

describe("segmentAudio", () => {
  it("keeps audio up to 30 s whole and cuts longer audio at the quietest point between 20 and 30 s", () => {
    expect(segmentAudio(new Float32Array(16000 * 30))).toEqual([[0, 480000]]);
    const loud = Float32Array.from({ length: 16000 * 70 }, (_, i) => Math.sin(i / 3));
    loud.fill(0, 16000 * 25, 16000 * 25 + 1600); // 100 ms of silence at 25 s
    const segs = segmentAudio(loud);
    expect(segs.length).toBe(3);
    expect(segs[0][1]).toBeGreaterThanOrEqual(16000 * 25);
    expect(segs[0][1]).toBeLessThanOrEqual(16000 * 25 + 1600);
    for (const [a, b] of segs) expect(b - a).toBeLessThanOrEqual(16000 * 30);
    expect(segs[segs.length - 1][1]).toBe(loud.length);
  });
});
