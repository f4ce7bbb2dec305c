// Execution only: the cost of one transaction inside the block executor, with no JSON-RPC, mempool,
// consensus or disk in the way. The node-level phases (1–5) measure what a wallet sees; this one
// measures what the native modules themselves cost next to the same operations as EVM contracts,
// which is the ratio the native-ledger issue asks about.
import type { Common } from "@ethereumjs/common";
import { createFeeMarket1559Tx, type TypedTransaction } from "@ethereumjs/tx";
import { Address } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { getBytes, HDNodeWallet, Interface } from "ethers";
import { loadArtifact } from "../contracts/artifacts.js";
import { DEV_MNEMONIC, devAccountPath, devnetGenesis } from "../genesis/devnet.js";
import { memoryGenesisWorld } from "../genesis/memoryWorld.js";
import { createChainCommon } from "../runtime/evm/common.js";
import type { BlockEnv } from "../runtime/evm/vm.js";
import { BlockExecution } from "../runtime/executor.js";
import { LEARN_ADDRESS, NFT_REGISTRY_ADDRESS } from "../runtime/modules/index.js";
import { bytesToHex, hexToBytes } from "../runtime/primitives/bytes.js";
import type { Receipt } from "../runtime/primitives/receipt.js";
import type { openWorldState } from "../runtime/state/worldState.js";
import { round } from "./stats.js";

const SENDERS = 8;
const MAX_FEE = 10n ** 10n;
const TIP = 10n ** 9n;
export const TOKEN_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/** Per-operation figures: µs of executor time per transaction, gas per transaction. */
export interface ExecutionFigure {
  op: string;
  txs: number;
  /** `BlockExecution.apply` only (µs per tx). */
  applyMicros: number;
  /** apply + the block's seal (state root, tx/receipt roots) + commit, per tx (µs). */
  blockMicros: number;
  /** Process CPU time (user + system) per tx in apply (µs): steadier than wall time on a shared machine. */
  applyCpuMicros: number;
  /** Process CPU time per tx of seal + commit (µs). */
  sealCpuMicros: number;
  gasPerTx: number;
}

export interface ExecutionResults {
  blockSize: number;
  storage: string;
  figures: ExecutionFigure[];
}

export interface World {
  common: Common;
  vm: VM;
  state: ReturnType<typeof openWorldState>;
  env: BlockEnv;
  keys: Uint8Array[];
  addresses: string[];
  nonces: number[];
}

export async function freshWorld(): Promise<World> {
  const spec = devnetGenesis();
  const common = createChainCommon(spec.chainId);
  const { state, vm, env } = await memoryGenesisWorld(spec, common);
  const wallets = Array.from({ length: SENDERS }, (_, i) =>
    HDNodeWallet.fromPhrase(DEV_MNEMONIC, undefined, devAccountPath(i)),
  );
  const keys = wallets.map((x) => getBytes(x.privateKey));
  return { common, vm, state, env, keys, addresses: wallets.map((x) => x.address), nonces: new Array(SENDERS).fill(0) };
}

export function signed(
  w: World,
  sender: number,
  to: string | undefined,
  data: string,
  gasLimit: bigint,
): TypedTransaction {
  const tx = createFeeMarket1559Tx(
    {
      chainId: w.common.chainId(),
      nonce: w.nonces[sender]++,
      to: to as `0x${string}` | undefined,
      data: hexToBytes(data as `0x${string}`),
      value: 0n,
      gasLimit,
      maxFeePerGas: MAX_FEE,
      maxPriorityFeePerGas: TIP,
    },
    { common: w.common },
  ).sign(w.keys[sender]);
  tx.getSenderAddress(); // recovered before the clock starts, as the mempool does
  return tx;
}

/** Runs `txs` in blocks of `blockSize`; every tx must succeed. Times apply and whole blocks. */
export async function runBlocks(w: World, txs: TypedTransaction[], blockSize: number) {
  let applyNs = 0n;
  let blockNs = 0n;
  let applyCpu = 0;
  let sealCpu = 0;
  let gas = 0n;
  const receipts: Receipt[] = [];
  for (let i = 0; i < txs.length; i += blockSize) {
    w.env = { ...w.env, number: w.env.number + 1n, timestamp: w.env.timestamp + 1n };
    // The raw bytes arrive with the tx (the mempool keeps them): not part of the timed work.
    const block = txs.slice(i, i + blockSize).map((tx) => [tx, tx.serialize()] as const);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const exec = await BlockExecution.begin(w.vm, w.state, w.common, w.env);
    for (const [tx, raw] of block) {
      const a = process.hrtime.bigint();
      const r = await exec.apply(tx, tx.getSenderAddress(), raw);
      applyNs += process.hrtime.bigint() - a;
      if (!r.included) throw new Error(`execution bench: tx not included: ${r.reason}`);
      if (r.receipt.status !== 1) throw new Error("execution bench: tx reverted");
      gas += r.receipt.gasUsed;
      receipts.push(r.receipt);
    }
    const c1 = process.cpuUsage(c0);
    await exec.seal();
    await exec.commit();
    blockNs += process.hrtime.bigint() - t0;
    const c2 = process.cpuUsage(c0);
    applyCpu += c1.user + c1.system;
    sealCpu += c2.user + c2.system - (c1.user + c1.system);
  }
  const n = BigInt(txs.length);
  return {
    applyMicros: round(Number(applyNs / n) / 1000, 1),
    blockMicros: round(Number(blockNs / n) / 1000, 1),
    applyCpuMicros: round(applyCpu / txs.length, 1),
    sealCpuMicros: round(sealCpu / txs.length, 1),
    gasPerTx: Number(gas / n),
    receipts,
  };
}

function recipients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `0x${(0xbe00000000n + BigInt(i)).toString(16).padStart(40, "0")}`);
}

/** Round-robin over the senders, one tx per recipient. */
function plan<T>(n: number, make: (sender: number, i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => make(i % SENDERS, i));
}

export async function executionBench(opts: { txs: number; blockSize: number }): Promise<ExecutionResults> {
  const { txs, blockSize } = opts;
  const w = await freshWorld();
  const figures: ExecutionFigure[] = [];
  const erc20 = new Interface(loadArtifact("ILearn").abi as string[]);
  const to = recipients(txs);

  // Setup (untimed): an OZ ERC-20 whose tokens every sender holds, a native collection and an OZ
  // ERC721URIStorage per sender.
  const token = loadArtifact("TestToken");
  const tokenIface = new Interface(token.abi as string[]);
  const deployToken = signed(
    w,
    0,
    undefined,
    token.bytecode + tokenIface.encodeDeploy([10n ** 30n]).slice(2),
    5_000_000n,
  );
  const nft = loadArtifact("BenchNFT");
  const registry = new Interface(loadArtifact("INFTRegistry").abi as string[]);
  const setup1 = [deployToken];
  for (let s = 0; s < SENDERS; s++) {
    setup1.push(signed(w, s, undefined, nft.bytecode, 5_000_000n));
    setup1.push(
      signed(
        w,
        s,
        NFT_REGISTRY_ADDRESS.toString(),
        registry.encodeFunctionData("createCollection", [`B${s}`, `B${s}`, to[0], 500]),
        1_000_000n,
      ),
    );
  }
  const setup1Result = await runBlocks(w, setup1, 8);
  const tokenAddress = new Address(setup1Result.receipts[0].contractAddress as Uint8Array).toString();
  const ozNft: string[] = [];
  const nativeNft: string[] = [];
  for (let s = 0; s < SENDERS; s++) {
    ozNft.push(new Address(setup1Result.receipts[1 + 2 * s].contractAddress as Uint8Array).toString());
    // CollectionCreated(address indexed collection, …): the collection is topic 1.
    const log = setup1Result.receipts[2 + 2 * s].logs[0];
    nativeNft.push(bytesToHex(log[1][1].subarray(12)));
  }
  const funding = Array.from({ length: SENDERS - 1 }, (_, i) =>
    signed(w, 0, tokenAddress, tokenIface.encodeFunctionData("transfer", [w.addresses[i + 1], 10n ** 27n]), 80_000n),
  );
  await runBlocks(w, funding, funding.length);

  const value = plan(txs, (s, i) => {
    const tx = createFeeMarket1559Tx(
      {
        chainId: w.common.chainId(),
        nonce: w.nonces[s]++,
        to: to[i] as `0x${string}`,
        value: 1n,
        gasLimit: 21_000n,
        maxFeePerGas: MAX_FEE,
        maxPriorityFeePerGas: TIP,
      },
      { common: w.common },
    ).sign(w.keys[s]);
    tx.getSenderAddress();
    return tx;
  });
  figures.push({ op: "value transfer (fast path)", txs, ...pick(await runBlocks(w, value, blockSize)) });

  const learn = plan(txs, (s, i) =>
    signed(w, s, LEARN_ADDRESS.toString(), erc20.encodeFunctionData("transfer", [to[i], 1n]), 80_000n),
  );
  figures.push({ op: "LEARN transfer (native)", txs, ...pick(await runBlocks(w, learn, blockSize)) });
  const oz20 = plan(txs, (s, i) =>
    signed(w, s, tokenAddress, tokenIface.encodeFunctionData("transfer", [to[i], 1n]), 80_000n),
  );
  figures.push({ op: "ERC-20 transfer (OpenZeppelin)", txs, ...pick(await runBlocks(w, oz20, blockSize)) });

  const mintIface = new Interface(["function mint(address to, string uri) returns (uint256)"]);
  const nativeMints = plan(txs, (s, i) =>
    signed(w, s, nativeNft[s], mintIface.encodeFunctionData("mint", [to[i], TOKEN_URI]), 250_000n),
  );
  figures.push({ op: "NFT mint (native collection)", txs, ...pick(await runBlocks(w, nativeMints, blockSize)) });
  const ozMints = plan(txs, (s, i) =>
    signed(w, s, ozNft[s], mintIface.encodeFunctionData("mint", [to[i], TOKEN_URI]), 250_000n),
  );
  figures.push({
    op: "NFT mint (OpenZeppelin ERC721URIStorage)",
    txs,
    ...pick(await runBlocks(w, ozMints, blockSize)),
  });

  return {
    blockSize,
    storage: "in-memory trie-node map (the node's caches in front of LevelDB, without the disk)",
    figures,
  };
}

function pick(r: Omit<ExecutionFigure, "op" | "txs">) {
  return {
    applyMicros: r.applyMicros,
    blockMicros: r.blockMicros,
    applyCpuMicros: r.applyCpuMicros,
    sealCpuMicros: r.sealCpuMicros,
    gasPerTx: r.gasPerTx,
  };
}
