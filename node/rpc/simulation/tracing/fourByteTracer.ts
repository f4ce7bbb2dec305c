/**
 * geth's `4byteTracer`: how often each function selector was called, keyed `<selector>-<calldata
 * size without the selector>`, over every call frame with at least 4 bytes of input (not creates,
 * not precompiles — native modules included, as geth skips its precompiles).
 */
import { moduleDefAt } from "../../../../runtime/modules/index.js";
import type { FrameHooks, FrameStart } from "./frames.js";
import { type BoundedText, hex } from "./output.js";
import type { TxTracer } from "./tracer.js";

/** Ethereum's precompiles (0x01–0x11). */
function isPrecompile(a: Uint8Array): boolean {
  for (let i = 0; i < 19; i++) if (a[i] !== 0) return moduleDefAt(a) !== undefined;
  return a[19] >= 1 && a[19] <= 0x11;
}

export class FourByteTracer implements TxTracer, FrameHooks {
  readonly wantsSteps = false;
  private readonly ids = new Map<string, number>();

  constructor(private readonly out: BoundedText) {}

  txStart(): void {}
  txEnd(): void {}

  enter(f: FrameStart): void {
    if (f.input.length < 4 || f.to === undefined || f.kind === "CREATE" || f.kind === "CREATE2") return;
    if (isPrecompile(f.to)) return;
    const key = `${hex(f.input.subarray(0, 4))}-${f.input.length - 4}`;
    if (!this.ids.has(key)) this.out.charge(key.length + 16);
    this.ids.set(key, (this.ids.get(key) ?? 0) + 1);
  }

  write(): void {
    this.out.push(JSON.stringify(Object.fromEntries(this.ids)));
  }
}
