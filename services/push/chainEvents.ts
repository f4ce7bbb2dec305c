/**
 * Chain events that become notifications — pure: a log (or a value transfer) in, the notifications out.
 * Which address hears about what:
 * - `Transfer` (ERC-20 from any token contract, LEARN and WAZR included; ERC-721 with an indexed token id):
 *   the recipient gets `token.received` / `nft.received`.
 * - A transaction carrying AZR: the recipient gets `payment.received` (AZR moved by contracts internally is
 *   not a log and is not reported).
 * - Escrow (0x…0A04): `EscrowReleased` → payee `escrow.released`; `EscrowRefunded` → payer `escrow.refunded`.
 * - Market (0x…0A05): `ResultSubmitted` → the job's requester `job.result` (the follower looks the requester
 *   up); `JobAccepted` → requester; `WorkerPaid` → worker `job.paid`; `JobRefunded` → requester.
 * The dedupe key (block hash + log index, or tx hash) makes a re-read block publish nothing twice.
 */
import { Interface, type LogDescription } from "ethers";
import { walletChannel } from "./channels.js";

export const ESCROW_ADDRESS = "0x0000000000000000000000000000000000000a04";
export const MARKET_ADDRESS = "0x0000000000000000000000000000000000000a05";

const abi = new Interface([
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event EscrowReleased(uint256 indexed id, address indexed payee, uint256 amount)",
  "event EscrowRefunded(uint256 indexed id, address indexed payer, uint256 amount)",
  "event ResultSubmitted(uint256 indexed id, address indexed worker, uint8 slot, bytes32 resultHash, string resultURI)",
  "event JobAccepted(uint256 indexed id, address indexed requester)",
  "event WorkerPaid(uint256 indexed id, address indexed worker, uint256 amount, uint256 learnReward)",
  "event JobRefunded(uint256 indexed id, address indexed requester, uint256 amount)",
]);
const ERC721_TRANSFER = abi.getEvent("Transfer")?.topicHash as string;

/** The topics the follower asks `eth_getLogs` for (any of them, from any address). */
export const WATCHED_TOPICS: string[] = [
  "Transfer",
  "EscrowReleased",
  "EscrowRefunded",
  "ResultSubmitted",
  "JobAccepted",
  "WorkerPaid",
  "JobRefunded",
].map((n) => abi.getEvent(n)?.topicHash as string);

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
}

export interface Notification {
  channel: string;
  data: Record<string, unknown>;
  dedupeKey: string;
}

/** A market result whose requester the follower must look up before it can notify. */
export interface PendingResult {
  jobId: bigint;
  data: Record<string, unknown>;
  dedupeKey: string;
}

const dec = (v: bigint) => v.toString();

export function notificationsOfLog(log: RawLog): { notifications: Notification[]; pending?: PendingResult } {
  const where = { block: Number(BigInt(log.blockNumber)), tx: log.transactionHash };
  const dedupeKey = `log:${log.blockHash}:${Number(BigInt(log.logIndex))}`;
  const address = log.address.toLowerCase();
  let ev: LogDescription | null = null;
  try {
    // ERC-721's Transfer has the same signature hash with the token id indexed: 4 topics, no data.
    if (log.topics[0] === ERC721_TRANSFER && log.topics.length === 4) {
      const to = `0x${log.topics[2].slice(26)}`;
      return {
        notifications: [
          {
            channel: walletChannel(to),
            data: {
              type: "nft.received",
              collection: address,
              from: `0x${log.topics[1].slice(26)}`,
              tokenId: dec(BigInt(log.topics[3])),
              ...where,
            },
            dedupeKey,
          },
        ],
      };
    }
    ev = abi.parseLog({ topics: log.topics, data: log.data });
  } catch {
    return { notifications: [] }; // Same topic, other layout (a contract's own event): not ours to report.
  }
  if (ev === null) return { notifications: [] };
  const one = (to: string, data: Record<string, unknown>) => ({
    notifications: [{ channel: walletChannel(to), data: { ...data, ...where }, dedupeKey }],
  });
  switch (ev.name) {
    case "Transfer":
      return one(ev.args.to, {
        type: "token.received",
        token: address,
        from: ev.args.from.toLowerCase(),
        amount: dec(ev.args.value),
      });
    case "EscrowReleased":
      if (address !== ESCROW_ADDRESS) break;
      return one(ev.args.payee, { type: "escrow.released", escrowId: dec(ev.args.id), amount: dec(ev.args.amount) });
    case "EscrowRefunded":
      if (address !== ESCROW_ADDRESS) break;
      return one(ev.args.payer, { type: "escrow.refunded", escrowId: dec(ev.args.id), amount: dec(ev.args.amount) });
    case "JobAccepted":
      if (address !== MARKET_ADDRESS) break;
      return one(ev.args.requester, { type: "job.accepted", jobId: dec(ev.args.id) });
    case "WorkerPaid":
      if (address !== MARKET_ADDRESS) break;
      return one(ev.args.worker, {
        type: "job.paid",
        jobId: dec(ev.args.id),
        amount: dec(ev.args.amount),
        learnReward: dec(ev.args.learnReward),
      });
    case "JobRefunded":
      if (address !== MARKET_ADDRESS) break;
      return one(ev.args.requester, { type: "job.refunded", jobId: dec(ev.args.id), amount: dec(ev.args.amount) });
    case "ResultSubmitted":
      if (address !== MARKET_ADDRESS) break;
      return {
        notifications: [],
        pending: {
          jobId: ev.args.id as bigint,
          data: {
            type: "job.result",
            jobId: dec(ev.args.id),
            worker: ev.args.worker.toLowerCase(),
            resultHash: ev.args.resultHash,
            resultURI: ev.args.resultURI,
            ...where,
          },
          dedupeKey,
        },
      };
  }
  return { notifications: [] };
}

export interface RawTx {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  blockNumber: string;
}

export function notificationsOfTx(tx: RawTx): Notification[] {
  const value = BigInt(tx.value);
  if (tx.to === null || value === 0n) return [];
  return [
    {
      channel: walletChannel(tx.to),
      data: {
        type: "payment.received",
        token: "AZR",
        from: tx.from.toLowerCase(),
        amount: dec(value),
        block: Number(BigInt(tx.blockNumber)),
        tx: tx.hash,
      },
      dedupeKey: `tx:${tx.hash}`,
    },
  ];
}
