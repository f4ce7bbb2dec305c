/**
 * Event and call decoding. At index time: token transfers (ERC-20, ERC-721, ERC-1155) and the names of events
 * whose ABI is known without verification — the native modules' (generated in contracts/) and the token
 * standards'. At read time the same tables plus a verified contract's ABI decode inputs and logs in full.
 */
import { type EventFragment, type FunctionFragment, Interface, type LogDescription, type Result } from "ethers";
import { IAzoraCollectionAbi } from "../../contracts/artifacts/IAzoraCollection.js";
import { IEscrowAbi } from "../../contracts/artifacts/IEscrow.js";
import { IGovernanceAbi } from "../../contracts/artifacts/IGovernance.js";
import { IJobMarketAbi } from "../../contracts/artifacts/IJobMarket.js";
import { ILearnAbi } from "../../contracts/artifacts/ILearn.js";
import { IMarketPaymentsAbi } from "../../contracts/artifacts/IMarketPayments.js";
import { IModelRegistryAbi } from "../../contracts/artifacts/IModelRegistry.js";
import { INFTRegistryAbi } from "../../contracts/artifacts/INFTRegistry.js";
import { IStakingAbi } from "../../contracts/artifacts/IStaking.js";
import { IWAZRAbi } from "../../contracts/artifacts/IWAZR.js";
import type { TokenStandard, TransferRow } from "./types.js";

const moduleAddress = (n: number) => `0x${"0".repeat(36)}${n.toString(16).padStart(4, "0")}`;

/** The native modules at their fixed addresses (DESIGN.md), with the ABI each one speaks. */
export const NATIVE_MODULES: { address: string; name: string; abi: readonly unknown[] }[] = [
  { address: moduleAddress(0x0a01), name: "WAZR", abi: IWAZRAbi },
  { address: moduleAddress(0x0a02), name: "LEARN", abi: ILearnAbi },
  { address: moduleAddress(0x0a03), name: "NFTRegistry", abi: INFTRegistryAbi },
  { address: moduleAddress(0x0a04), name: "Escrow", abi: IEscrowAbi },
  { address: moduleAddress(0x0a05), name: "JobMarket", abi: [...IJobMarketAbi, ...IMarketPaymentsAbi] },
  { address: moduleAddress(0x0a06), name: "Staking", abi: IStakingAbi },
  { address: moduleAddress(0x0a07), name: "Governance", abi: IGovernanceAbi },
  { address: moduleAddress(0x0a08), name: "ModelRegistry", abi: IModelRegistryAbi },
];

/** A native NFT collection: `0x` + 10 zero bytes + `0a03` + its number (8 bytes). */
export function isNativeCollection(address: string): boolean {
  return /^0x0{20}0a03[0-9a-f]{16}$/.test(address) && address !== moduleAddress(0x0a03);
}

const STANDARD_ABI = [
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event Approval(address indexed owner, address indexed spender, uint256 value)",
  "event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)",
  "event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)",
  "event ApprovalForAll(address indexed owner, address indexed operator, bool approved)",
  "function transfer(address to, uint256 value) returns (bool)",
  "function transferFrom(address from, address to, uint256 value) returns (bool)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function safeTransferFrom(address from, address to, uint256 tokenId)",
  "function setApprovalForAll(address operator, bool approved)",
];
const ERC721_TRANSFER_ABI = ["event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"];

const standard = new Interface(STANDARD_ABI);
const erc721 = new Interface(ERC721_TRANSFER_ABI);
const natives = new Map(NATIVE_MODULES.map((m) => [m.address, new Interface(m.abi as never)]));
const collection = new Interface(IAzoraCollectionAbi as never);

export const TRANSFER_TOPIC = standard.getEvent("Transfer")!.topicHash;
export const TRANSFER_SINGLE_TOPIC = standard.getEvent("TransferSingle")!.topicHash;
export const TRANSFER_BATCH_TOPIC = standard.getEvent("TransferBatch")!.topicHash;

/** The ABI the explorer knows for `address` without verification (native modules and collections). */
export function knownInterface(address: string): Interface | undefined {
  return natives.get(address) ?? (isNativeCollection(address) ? collection : undefined);
}

export function nativeModuleName(address: string): string | undefined {
  if (isNativeCollection(address)) return "NFTCollection";
  return NATIVE_MODULES.find((m) => m.address === address)?.name;
}

function tryParseLog(iface: Interface, topics: string[], data: string): LogDescription | null {
  try {
    return iface.parseLog({ topics, data });
  } catch {
    return null;
  }
}

/** Decodes a log with the first interface that parses it: the emitter's own, then the token standards. */
export function decodeLog(
  address: string,
  topics: string[],
  data: string,
  own?: Interface,
): { name: string; signature: string; args: Record<string, unknown> } | null {
  for (const iface of [own, knownInterface(address), topics.length === 4 ? erc721 : standard]) {
    if (iface === undefined) continue;
    const d = tryParseLog(iface, topics, data);
    if (d !== null) return { name: d.name, signature: d.signature, args: resultToJSON(d.fragment, d.args) };
  }
  return null;
}

export function decodeInput(
  input: string,
  own?: Interface,
  to?: string | null,
): { name: string; signature: string; args: Record<string, unknown> } | null {
  if (input.length < 10) return null;
  for (const iface of [own, to == null ? undefined : knownInterface(to), standard]) {
    if (iface === undefined) continue;
    try {
      const d = iface.parseTransaction({ data: input });
      if (d !== null) return { name: d.name, signature: d.signature, args: resultToJSON(d.fragment, d.args) };
    } catch {
      // not this interface
    }
  }
  return null;
}

/** ethers' Result as plain JSON: named when the ABI names its parameters, bigints as decimal strings. */
function resultToJSON(fragment: EventFragment | FunctionFragment, r: Result): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fragment.inputs.forEach((p, i) => {
    out[p.name === "" ? String(i) : p.name] = toJSON(r[i]);
  });
  return out;
}

function toJSON(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(toJSON);
  return v;
}

const word = (hex: string) => BigInt(hex === "0x" ? 0 : hex);
const topicAddress = (t: string) => `0x${t.slice(26)}`.toLowerCase();

/**
 * Token transfers in one log: ERC-20 `Transfer` (3 topics), ERC-721 `Transfer` (4 topics, id indexed), ERC-1155
 * `TransferSingle`/`TransferBatch`. Anything else, or a malformed one, yields none.
 */
export function transfersOfLog(
  log: { address: string; topics: string[]; data: string; txHash: string; blockNumber: number; logIndex: number },
  timestamp: number,
): TransferRow[] {
  const [t0, t1, t2, t3] = log.topics;
  const base = { txHash: log.txHash, blockNumber: log.blockNumber, logIndex: log.logIndex, token: log.address };
  const row = (standard: TokenStandard, from: string, to: string, tokenId: string | null, amount: bigint, i = 0) => ({
    ...base,
    batchIndex: i,
    standard,
    from,
    to,
    tokenId,
    amount: amount.toString(),
    timestamp,
  });
  try {
    if (t0 === TRANSFER_TOPIC && log.topics.length === 3 && log.data.length === 66)
      return [row("erc20", topicAddress(t1), topicAddress(t2), null, word(log.data))];
    if (t0 === TRANSFER_TOPIC && log.topics.length === 4)
      return [row("erc721", topicAddress(t1), topicAddress(t2), word(t3).toString(), 1n)];
    if (t0 === TRANSFER_SINGLE_TOPIC && log.topics.length === 4) {
      const d = standard.decodeEventLog("TransferSingle", log.data, log.topics);
      return [row("erc1155", topicAddress(t2), topicAddress(t3), (d[3] as bigint).toString(), d[4] as bigint)];
    }
    if (t0 === TRANSFER_BATCH_TOPIC && log.topics.length === 4) {
      const d = standard.decodeEventLog("TransferBatch", log.data, log.topics);
      // By position: ethers' Result has a values() method that shadows the field named "values".
      const ids = [...(d[3] as bigint[])];
      const values = [...(d[4] as bigint[])];
      if (ids.length !== values.length) return [];
      return ids.map((id, i) => row("erc1155", topicAddress(t2), topicAddress(t3), id.toString(), values[i], i));
    }
  } catch {
    // a log that only looks like a transfer
  }
  return [];
}

const ERROR_STRING = new Interface(["error Error(string)", "error Panic(uint256)"]);

/** The revert reason in revert data: `Error(string)`, `Panic(uint256)`, else the raw data. */
export function decodeRevert(data: string | undefined): string | null {
  if (data === undefined || data === "0x" || data === "") return null;
  try {
    const e = ERROR_STRING.parseError(data);
    if (e?.name === "Error") return String(e.args[0]);
    if (e?.name === "Panic") return `Panic(0x${(e.args[0] as bigint).toString(16)})`;
  } catch {
    // custom error
  }
  return data;
}
