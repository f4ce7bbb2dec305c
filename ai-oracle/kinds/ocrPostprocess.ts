/**
 * PaddleOCR's DB post-processing and CTC decoding, without OpenCV: threshold the text-probability map, take
 * 8-connected regions as text kernels, keep those whose mean probability passes `boxThresh`, grow each box by
 * the DB "unclip" distance (area × ratio / perimeter, here of the axis-aligned box), and greedy-decode the
 * recogniser's per-column class probabilities. Axis-aligned boxes: rotated text is out of scope.
 */

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface DBOptions {
  readonly thresh: number;
  readonly boxThresh: number;
  readonly unclipRatio: number;
  readonly maxCandidates: number;
  readonly minSize: number;
}

export const DB_DEFAULTS: DBOptions = {
  thresh: 0.3,
  boxThresh: 0.6,
  unclipRatio: 1.5,
  maxCandidates: 1000,
  minSize: 3,
};

/** Boxes in map coordinates (x1, y1 exclusive), in scan order of their first pixel. */
export function boxesFromProbMap(prob: Float32Array, width: number, height: number, o = DB_DEFAULTS): Box[] {
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: Box[] = [];
  for (let start = 0; start < prob.length && boxes.length < o.maxCandidates; start++) {
    if (seen[start] || prob[start] <= o.thresh) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width;
      const y = (p - x) / width;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q] && prob[q] > o.thresh) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (Math.min(w, h) < o.minSize) continue;
    // Box score as PaddleOCR's "fast" mode: mean probability over the box.
    let sum = 0;
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) sum += prob[y * width + x];
    if (sum / (w * h) < o.boxThresh) continue;
    const d = (w * h * o.unclipRatio) / (2 * (w + h));
    const box = {
      x0: Math.max(0, x0 - d),
      y0: Math.max(0, y0 - d),
      x1: Math.min(width, x1 + 1 + d),
      y1: Math.min(height, y1 + 1 + d),
    };
    if (Math.min(box.x1 - box.x0, box.y1 - box.y0) < o.minSize + 2) continue;
    boxes.push(box);
  }
  return boxes;
}

/** Reading order as PaddleOCR's `sorted_boxes`: top to bottom, and left to right within 10 px of height. */
export function sortReadingOrder<T extends { box: Box }>(items: T[]): T[] {
  const out = [...items].sort((a, b) => a.box.y0 - b.box.y0 || a.box.x0 - b.box.x0);
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      if (Math.abs(out[j + 1].box.y0 - out[j].box.y0) < 10 && out[j + 1].box.x0 < out[j].box.x0) {
        [out[j], out[j + 1]] = [out[j + 1], out[j]];
      } else break;
    }
  }
  return out;
}

/**
 * Greedy CTC over [T, C] probabilities: argmax per column, merge repeats, drop blank (class 0). Class k in
 * 1..dict.length is dict[k-1]; class dict.length + 1 is a space. Score: mean max probability of the kept columns.
 */
export function ctcGreedy(probs: Float32Array, steps: number, classes: number, dict: readonly string[]) {
  let text = "";
  let scoreSum = 0;
  let kept = 0;
  let prev = -1;
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[row + c] > probs[row + best]) best = c;
    if (best !== 0 && best !== prev) {
      text += best <= dict.length ? dict[best - 1] : " ";
      scoreSum += probs[row + best];
      kept++;
    }
    prev = best;
  }
  return { text, score: kept > 0 ? scoreSum / kept : 0 };
}
