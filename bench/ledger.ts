// Native ledger vs OpenZeppelin contracts, on Azora only (Anvil has no native modules):
// LEARN transfers against the OZ ERC-20 phase, and native NFT mints against an OZ ERC-721 with URI storage.
import { getAddress, Interface } from "ethers";
import { loadArtifact } from "../contracts/artifacts.js";
import { hexToBigInt } from "./rpc.js";
import { markdownTable } from "./script.js";
import { round } from "./stats.js";
import {
  type Ctx,
  erc20Transfers,
  MAX_FEE,
  MAX_PRIORITY_FEE,
  pendingNonce,
  runTxPhase,
  type TxPhaseResult,
  waitReceipt,
  warmThenSign,
} from "./workloads.js";

export const LEARN_ADDRESS = "0x0000000000000000000000000000000000000A02";
export const NFT_REGISTRY_ADDRESS = "0x0000000000000000000000000000000000000A03";
const MINT_GAS = 300_000n;
const DEPLOY_GAS = 5_000_000n;
/** A CIDv1 like the ones course certificates carry. */
const TOKEN_URI = "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

export interface LedgerResults {
  learnTransfers: TxPhaseResult | null;
  nftMintsNative: TxPhaseResult | null;
  nftMintsContract: TxPhaseResult | null;
}

/** Mean gas per included tx of a phase (from its blocks' gasUsed). */
export function gasPerTx(r: TxPhaseResult | null): number | null {
  if (r === null || r.included === 0) return null;
  return round(r.timeline.reduce((s, b) => s + b.gasUsed, 0) / r.included, 0);
}

/** LEARN transfers: the same pattern as the ERC-20 phase; genesis gave every dev account LEARN. */
export async function learnTransfers(ctx: Ctx): Promise<TxPhaseResult> {
  const iface = new Interface(loadArtifact("ILearn").abi as string[]);
  const { result } = await erc20Transfers(ctx, { address: LEARN_ADDRESS, iface, deployGasUsed: 0 });
  return result;
}

async function sendAndWait(ctx: Ctx, sender: number, tx: { to: string | null; data: string }, what: string) {
  const w = ctx.wallets[sender];
  const raw = await w.signTransaction({
    type: 2,
    chainId: ctx.chainId,
    nonce: await pendingNonce(ctx.rpc, w.address),
    to: tx.to,
    data: tx.data,
    gasLimit: DEPLOY_GAS,
    maxFeePerGas: MAX_FEE,
    maxPriorityFeePerGas: MAX_PRIORITY_FEE,
  });
  return waitReceipt(ctx, await ctx.rpc.call<string>("eth_sendRawTransaction", [raw]), what);
}

/** One native collection per sender (only a collection's owner may mint). Untimed. */
export async function setupNativeCollections(ctx: Ctx): Promise<string[]> {
  const registry = new Interface(loadArtifact("INFTRegistry").abi as string[]);
  const out: string[] = [];
  for (let s = 0; s < ctx.wallets.length; s++) {
    const data = registry.encodeFunctionData("createCollection", [`Bench ${s}`, `B${s}`, ctx.wallets[s].address, 500]);
    const receipt = (await sendAndWait(ctx, s, { to: NFT_REGISTRY_ADDRESS, data }, "createCollection")) as unknown as {
      logs: { topics: string[]; data: string }[];
    };
    const log = receipt.logs.map((l) => registry.parseLog(l)).find((l) => l?.name === "CollectionCreated");
    if (log === undefined || log === null) throw new Error("createCollection emitted no CollectionCreated");
    out.push(getAddress(log.args.collection as string));
  }
  return out;
}

/** One OpenZeppelin ERC721URIStorage (BenchNFT) per sender. Untimed. */
export async function setupContractCollections(ctx: Ctx): Promise<string[]> {
  const art = loadArtifact("BenchNFT");
  const out: string[] = [];
  for (let s = 0; s < ctx.wallets.length; s++) {
    const receipt = await sendAndWait(ctx, s, { to: null, data: art.bytecode }, "BenchNFT deployment");
    out.push(getAddress(receipt.contractAddress));
  }
  return out;
}

/** `mint(freshRecipient, uri)` on each sender's own collection; verifies every recipient owns one token. */
export async function nftMints(ctx: Ctx, collections: string[]): Promise<TxPhaseResult> {
  const iface = new Interface([
    "function mint(address to, string uri) returns (uint256)",
    "function balanceOf(address owner) view returns (uint256)",
  ]);
  const collectionOf = new Map<string, string>();
  const plan = await warmThenSign(ctx, ctx.params.txs, (to, sender) => {
    collectionOf.set(to, collections[sender]);
    return {
      to: collections[sender],
      data: iface.encodeFunctionData("mint", [to, TOKEN_URI]),
      value: 0n,
      gasLimit: MINT_GAS,
      recipient: to,
    };
  });
  return runTxPhase(ctx, plan, async (included) => {
    const res = await ctx.rpc.batchAll(
      included.map((t) => [
        "eth_call",
        [{ to: collectionOf.get(t.to), data: iface.encodeFunctionData("balanceOf", [t.to]) }, "latest"],
      ]),
    );
    const wrong = res.filter((r) => r.error !== undefined || hexToBigInt(r.result) !== 1n).length;
    return wrong > 0 ? [`${wrong} recipient(s) do not own exactly one token`] : [];
  });
}

/** The comparison table: native module | OpenZeppelin contract | ratio, for throughput and gas. */
export function ledgerTable(r: LedgerResults, erc20Contract: TxPhaseResult | null): string {
  const rows: [string, number | null | undefined, number | null | undefined, boolean][] = [
    ["ERC-20 transfers: tx/s", r.learnTransfers?.txPerSec, erc20Contract?.txPerSec, true],
    ["ERC-20 transfers: gas per tx", gasPerTx(r.learnTransfers), gasPerTx(erc20Contract), true],
    [
      "ERC-20 transfers: submit→inclusion p50 (ms)",
      r.learnTransfers?.latencyMs.p50,
      erc20Contract?.latencyMs.p50,
      true,
    ],
    ["NFT mints: tx/s", r.nftMintsNative?.txPerSec, r.nftMintsContract?.txPerSec, true],
    ["NFT mints: gas per tx", gasPerTx(r.nftMintsNative), gasPerTx(r.nftMintsContract), true],
    ["NFT mints: submit→inclusion p50 (ms)", r.nftMintsNative?.latencyMs.p50, r.nftMintsContract?.latencyMs.p50, true],
    [
      "failed txs",
      sumFailures(r.learnTransfers, r.nftMintsNative),
      sumFailures(erc20Contract, r.nftMintsContract),
      false,
    ],
  ];
  const fmt = (v: number | null | undefined) =>
    v === null || v === undefined ? "—" : Math.round(v).toLocaleString("en-US");
  const head = ["Figure (Azora)", "Native module", "OZ contract", "Native/OZ"];
  const body = rows.map(([label, a, b, ratio]) => [
    label,
    fmt(a),
    fmt(b),
    ratio && a != null && b != null && b !== 0 ? `${(a / b).toFixed(2)}×` : "—",
  ]);
  return markdownTable(head, body);
}

function sumFailures(...phases: (TxPhaseResult | null)[]): number | null {
  if (phases.some((p) => p === null)) return null;
  return phases.reduce((s, p) => s + (p as TxPhaseResult).failures, 0);
}
