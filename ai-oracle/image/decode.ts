import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { AIInputCode, inputError } from "../errors.js";

/** 8-bit RGBA pixels, row-major. */
export interface RGBAImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes PNG (pngjs) or JPEG (jpeg-js), both pure JS, so every host decodes to the same pixels. The size is
 * checked from the header before decoding, so a small file claiming a huge image is refused cheaply.
 */
export function decodeImage(bytes: Uint8Array, maxPixels: number): RGBAImage {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && PNG_MAGIC.every((v, i) => b[i] === v)) {
    checkSize(b.readUInt32BE(16), b.readUInt32BE(20), maxPixels);
    try {
      const png = PNG.sync.read(b);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data) };
    } catch (e) {
      throw inputError(AIInputCode.INPUT_NOT_IMAGE, `PNG does not decode: ${(e as Error).message.slice(0, 120)}`);
    }
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(b, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: Math.ceil(maxPixels / 1e6),
        maxMemoryUsageInMB: 1024,
      });
    } catch (e) {
      const msg = (e as Error).message;
      if (/maxResolutionInMP|memory/i.test(msg)) throw inputError(AIInputCode.INPUT_TOO_LARGE, "JPEG is too large");
      throw inputError(AIInputCode.INPUT_NOT_IMAGE, `JPEG does not decode: ${msg.slice(0, 120)}`);
    }
    checkSize(img.width, img.height, maxPixels);
    return { width: img.width, height: img.height, data: img.data };
  }
  throw inputError(AIInputCode.INPUT_NOT_IMAGE, "input is neither a PNG nor a JPEG image");
}

function checkSize(width: number, height: number, maxPixels: number): void {
  if (width === 0 || height === 0) throw inputError(AIInputCode.INPUT_NOT_IMAGE, "image has no pixels");
  if (width * height > maxPixels) {
    throw inputError(AIInputCode.INPUT_TOO_LARGE, `image is ${width}x${height}, over ${maxPixels} pixels`);
  }
}

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float64Array;
}

/** Bilinear source taps for `n` output samples over [start, start + span) of a source axis of length `size`. */
function taps(start: number, span: number, n: number, size: number): Taps {
  const t = { i0: new Int32Array(n), i1: new Int32Array(n), f: new Float64Array(n) };
  const s = span / n;
  for (let k = 0; k < n; k++) {
    const src = start + (k + 0.5) * s - 0.5;
    const i0 = Math.max(0, Math.min(size - 1, Math.floor(src)));
    t.i0[k] = i0;
    t.i1[k] = Math.min(size - 1, i0 + 1);
    t.f[k] = Math.max(0, Math.min(1, src - i0));
  }
  return t;
}

/**
 * The region (x, y, w, h) of `img` resized bilinearly to outW × outH, alpha-composited over white (transparent
 * PNGs of dark text then read as text on paper), as a planar float32 NCHW tensor body in BGR order (the PaddleOCR
 * models were trained on OpenCV's BGR), each value mapped by `norm(value0to1, bgrChannel)`. `padToW` > outW pads
 * the right with `padValue` (already normalised).
 */
export function cropResizeBGR(
  img: RGBAImage,
  region: { x: number; y: number; w: number; h: number },
  outW: number,
  outH: number,
  norm: (v: number, c: number) => number,
  padToW = outW,
  padValue = 0,
): Float32Array {
  const out = new Float32Array(3 * outH * padToW).fill(padValue);
  const xs = taps(region.x, region.w, outW, img.width);
  const ys = taps(region.y, region.h, outH, img.height);
  const lut = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => norm(v / 255, c)));
  const d = img.data;
  const W = img.width;
  const plane = outH * padToW;
  const px = new Float64Array(4);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.i0[y] * W;
    const r1 = ys.i1[y] * W;
    const fy = ys.f[y];
    for (let x = 0; x < outW; x++) {
      const a = (r0 + xs.i0[x]) * 4;
      const b = (r0 + xs.i1[x]) * 4;
      const c = (r1 + xs.i0[x]) * 4;
      const e = (r1 + xs.i1[x]) * 4;
      const fx = xs.f[x];
      for (let ch = 0; ch < 4; ch++) {
        const top = d[a + ch] + (d[b + ch] - d[a + ch]) * fx;
        const bottom = d[c + ch] + (d[e + ch] - d[c + ch]) * fx;
        px[ch] = top + (bottom - top) * fy;
      }
      const alpha = px[3] / 255;
      const o = y * padToW + x;
      for (let ch = 0; ch < 3; ch++) {
        // Rounded to the 8-bit value so normalisation is one table look-up.
        const v = Math.round(px[2 - ch] * alpha + 255 * (1 - alpha));
        out[ch * plane + o] = lut[ch][v];
      }
    }
  }
  return out;
}
