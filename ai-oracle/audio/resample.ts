/**
 * Band-limited resampling with a Hann-windowed sinc (16 zero crossings each side), polyphase: the filter is
 * evaluated once per output phase (outRate / gcd phases, at most `MAX_PHASES`, else per sample). Pure arithmetic
 * over float64, so the same input gives the same output bytes on every host with the same JS engine.
 */
const HALF_TAPS = 16;
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function kernel(x: number, cutoff: number): number {
  if (Math.abs(x) >= HALF_TAPS) return 0;
  const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / HALF_TAPS);
  const arg = Math.PI * cutoff * x;
  const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
  return cutoff * sinc * window;
}

export function resample(input: Float32Array, inRate: number, outRate: number): Float32Array {
  if (inRate === outRate) return input;
  const g = gcd(inRate, outRate);
  const up = outRate / g; // output phases per input period
  const down = inRate / g;
  const outLen = Math.floor((input.length * outRate) / inRate);
  const out = new Float32Array(outLen);
  // Below the Nyquist of the slower rate, a little under it so the transition band stays out of the passband.
  const cutoff = Math.min(1, outRate / inRate) * 0.97;
  const taps = 2 * HALF_TAPS;
  const table = up <= MAX_PHASES ? new Float64Array(up * taps) : null;
  if (table) {
    for (let p = 0; p < up; p++) {
      const frac = ((p * down) % up) / up;
      for (let k = 0; k < taps; k++) table[p * taps + k] = kernel(frac - (k - HALF_TAPS + 1), cutoff);
    }
  }
  for (let n = 0; n < outLen; n++) {
    const num = n * down; // position n * inRate/outRate = num / up
    const base = Math.floor(num / up);
    const frac = (num % up) / up;
    let acc = 0;
    for (let k = 0; k < taps; k++) {
      const idx = base + k - HALF_TAPS + 1;
      if (idx < 0 || idx >= input.length) continue;
      const w = table ? table[(n % up) * taps + k] : kernel(frac - (k - HALF_TAPS + 1), cutoff);
      acc += input[idx] * w;
    }
    out[n] = acc;
  }
  return out;
}
