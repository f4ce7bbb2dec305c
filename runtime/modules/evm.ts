import type { EVMOpts, EVMResult, ExecResult, PrecompileFunc } from "@ethereumjs/evm";
import { EVM, type Message, NobleBN254 } from "@ethereumjs/evm";
import type { Address } from "@ethereumjs/util";
import { CodeAnalysisCache } from "../evm/codeAnalysis.js";
import { type FrameOpts, runFrame } from "../evm/frameResult.js";
import { CODE_ANALYSIS } from "../evm/interpreterHook.js";
import { unprefixedHex } from "../primitives/bytes.js";

type MessageWithTo = Message & { to: Address };

/** Resolves addresses outside the fixed precompile map (native NFT collections live in a range). */
export type DynamicPrecompileResolver = (address: Address) => PrecompileFunc | undefined;

/**
 * The ethereumjs EVM with two additions native modules need:
 * - the stack of call frames, so a precompile knows its caller, value, static flag and whether it
 *   was reached by DELEGATECALL/CALLCODE (ethereumjs passes precompiles only data and gas);
 * - precompiles resolved by address range (each NFT collection answers at its own address);
 * and a cache of code analyses (jump destinations, PUSH operands), which ethereumjs redoes per call frame.
 */
export class AzoraEVM extends EVM {
  private readonly frames: Message[] = [];
  private readonly resolveDynamic: DynamicPrecompileResolver | undefined;
  readonly [CODE_ANALYSIS] = new CodeAnalysisCache();
  /** Frames run by `runFrame` (the result's `runState` copied only if read); false runs ethereumjs's own. */
  leanFrames = true;

  constructor(opts: EVMOpts, resolveDynamic?: DynamicPrecompileResolver) {
    super({ ...opts, bn254: new NobleBN254() });
    this.resolveDynamic = resolveDynamic;
  }

  /** The frame of the call being executed (the precompile's own message while it runs). */
  get currentFrame(): Message | undefined {
    return this.frames[this.frames.length - 1];
  }

  protected override async _executeCall(message: MessageWithTo): Promise<EVMResult> {
    this.frames.push(message);
    try {
      return await super._executeCall(message);
    } finally {
      this.frames.pop();
    }
  }

  protected override runInterpreter(message: Message, opts?: FrameOpts): Promise<ExecResult> {
    return this.leanFrames ? runFrame(this, message, opts) : super.runInterpreter(message, opts);
  }

  /**
   * ethereumjs's lookup, keyed by Node's flat hex of an `Address` rather than noble's `+=` per byte
   * (a rope of ~20 strings per call frame and per fast-path transfer); the map's keys are the same.
   */
  override getPrecompile(address: Address | `0x${string}`): PrecompileFunc | undefined {
    const fixed =
      typeof address === "string" ? super.getPrecompile(address) : this.precompiles.get(unprefixedHex(address.bytes));
    if (fixed !== undefined || this.resolveDynamic === undefined || typeof address === "string") return fixed;
    return this.resolveDynamic(address);
  }
}
