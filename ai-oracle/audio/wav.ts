import { AIInputCode, inputError } from "../errors.js";

export interface PCMAudio {
  readonly sampleRate: number;
  /** Mono samples in [-1, 1]. */
  readonly samples: Float32Array;
}

export function isWAV(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b.length >= 12 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WAVE";
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/**
 * Decodes a RIFF/WAVE file: integer PCM (8, 16, 24, 32 bit) or IEEE float (32, 64 bit), any channel count, mixed
 * down to mono by averaging. A data chunk whose size runs past the file (streamed writers put 0xFFFFFFFF there)
 * is cut at the file's end. Anything else is a JobInputError INPUT_NOT_AUDIO.
 */
export function decodeWAV(bytes: Uint8Array): PCMAudio {
  const fail = (why: string) => inputError(AIInputCode.INPUT_NOT_AUDIO, `WAV: ${why}`);
  if (!isWAV(bytes)) throw fail("no RIFF/WAVE header");
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number } | null = null;
  let data: Buffer | null = null;
  let off = 12;
  while (off + 8 <= b.length && !data) {
    const id = b.toString("latin1", off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = b.subarray(off + 8, Math.min(b.length, off + 8 + size));
    if (id === "fmt ") {
      if (body.length < 16) throw fail("fmt chunk too short");
      let format = body.readUInt16LE(0);
      if (format === EXTENSIBLE && body.length >= 26) format = body.readUInt16LE(24); // SubFormat GUID's first field
      fmt = {
        format,
        channels: body.readUInt16LE(2),
        rate: body.readUInt32LE(4),
        blockAlign: body.readUInt16LE(12),
        bits: body.readUInt16LE(14),
      };
    } else if (id === "data") {
      data = body;
    }
    off += 8 + size + (size & 1);
  }
  if (!fmt) throw fail("no fmt chunk before the data");
  if (!data) throw fail("no data chunk");
  const { format, channels, rate, bits } = fmt;
  if (channels < 1 || channels > 32) throw fail(`${channels} channels`);
  if (rate < 4000 || rate > 384_000) throw fail(`sample rate ${rate}`);
  const bytesPer = bits / 8;
  const intOK = format === PCM && [8, 16, 24, 32].includes(bits);
  const floatOK = format === IEEE_FLOAT && (bits === 32 || bits === 64);
  if (!intOK && !floatOK) throw fail(`unsupported encoding (format ${format}, ${bits} bits)`);
  const frame = bytesPer * channels;
  const frames = Math.floor(data.length / frame);
  const read = sampleReader(data, format, bits);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(i * frame + c * bytesPer);
    samples[i] = sum / channels;
  }
  return { sampleRate: rate, samples };
}

function sampleReader(d: Buffer, format: number, bits: number): (at: number) => number {
  if (format === IEEE_FLOAT) return bits === 32 ? (at) => d.readFloatLE(at) : (at) => d.readDoubleLE(at);
  switch (bits) {
    case 8:
      return (at) => (d.readUInt8(at) - 128) / 128;
    case 16:
      return (at) => d.readInt16LE(at) / 32768;
    case 24:
      return (at) => d.readIntLE(at, 3) / 8_388_608;
    default:
      return (at) => d.readInt32LE(at) / 2_147_483_648;
  }
}

/** A 16-bit PCM mono WAV file: for fixtures, tests and tools. */
export function encodeWAV16(samples: Float32Array, sampleRate: number): Uint8Array {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write("RIFF", 0, "latin1");
  b.writeUInt32LE(36 + samples.length * 2, 4);
  b.write("WAVEfmt ", 8, "latin1");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(PCM, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "latin1");
  b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) {
    b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32767))), 44 + 2 * i);
  }
  return b;
}
