import { keccak256 } from "../../primitives/hash.js";
import { type AbiType, type AbiValue, arrayOf, encodeArgs, uintWord } from "../abi.js";
import { addressTopic } from "../erc20Events.js";
import type { ModuleCall } from "../host.js";

/**
 * IJobMarket's events, logged at the market's address. Each emitter takes the indexed arguments
 * (as topics, in declaration order) and the rest (ABI-encoded as data), mirroring the Solidity
 * declaration named in `sig`.
 */
type Topic = Uint8Array | bigint;

function define(sig: string, data: readonly AbiType[]) {
  const topic0 = keccak256(new TextEncoder().encode(sig));
  return (call: ModuleCall, indexed: Topic[], values: AbiValue[]) => {
    const topics = [topic0, ...indexed.map((t) => (typeof t === "bigint" ? uintWord(t) : addressOrWord(t)))];
    call.emit(topics, encodeArgs(data, values));
  };
}

/** Addresses (20 bytes) are left-padded like Solidity's indexed address; 32-byte values go as they are. */
function addressOrWord(t: Uint8Array): Uint8Array {
  return t.length === 32 ? t : addressTopic(t);
}

export const Events = {
  WorkerRegistered: define("WorkerRegistered(address,bytes32[],string,uint256)", [
    arrayOf("bytes32"),
    "string",
    "uint256",
  ]),
  StakeAdded: define("StakeAdded(address,uint256,uint256)", ["uint256", "uint256"]),
  UnbondStarted: define("UnbondStarted(address,uint256,uint64)", ["uint256", "uint64"]),
  UnbondWithdrawn: define("UnbondWithdrawn(address,uint256)", ["uint256"]),
  WorkerDeregistered: define("WorkerDeregistered(address)", []),
  JobPosted: define("JobPosted(uint256,address,bytes32,address,uint256,uint8,uint256,bytes32,string)", [
    "address",
    "uint256",
    "uint8",
    "uint256",
    "bytes32",
    "string",
  ]),
  JobClaimed: define("JobClaimed(uint256,address,uint8,uint256,uint64)", ["uint8", "uint256", "uint64"]),
  ResultCommitted: define("ResultCommitted(uint256,address,uint8,bytes32)", ["uint8", "bytes32"]),
  RevealOpened: define("RevealOpened(uint256,uint64)", ["uint64"]),
  ResultSubmitted: define("ResultSubmitted(uint256,address,uint8,bytes32,string)", ["uint8", "bytes32", "string"]),
  ResultMetered: define("ResultMetered(uint256,address,uint256)", ["uint256"]),
  JobAccepted: define("JobAccepted(uint256,address)", []),
  JobChallenged: define("JobChallenged(uint256,address,uint256,string,address[])", [
    "uint256",
    "string",
    arrayOf("address"),
  ]),
  VerifierVoted: define("VerifierVoted(uint256,address,bytes32)", ["bytes32"]),
  DisputeResolved: define("DisputeResolved(uint256,bool,uint16,uint256,uint256)", [
    "bool",
    "uint16",
    "uint256",
    "uint256",
  ]),
  JobFinalized: define("JobFinalized(uint256,uint256,uint256,uint256)", ["uint256", "uint256", "uint256"]),
  WorkerPaid: define("WorkerPaid(uint256,address,uint256,uint256)", ["uint256", "uint256"]),
  FeePaid: define("FeePaid(uint256,address,uint256)", ["uint256"]),
  JobRefunded: define("JobRefunded(uint256,address,uint256)", ["uint256"]),
  JobCancelled: define("JobCancelled(uint256,address,uint256)", ["uint256"]),
  WorkerSlashed: define("WorkerSlashed(uint256,address,uint256,uint256,address)", ["uint256", "uint256", "address"]),
  ChallengerSlashed: define("ChallengerSlashed(uint256,address,uint256,uint256)", ["uint256", "uint256"]),
  JobResumed: define("JobResumed(uint256,uint64)", ["uint64"]),
  ClaimExpired: define("ClaimExpired(uint256,address,uint8)", ["uint8"]),
  Withdrawn: define("Withdrawn(address,address,uint256)", ["uint256"]),
  BatchItemSkipped: define("BatchItemSkipped(uint256,address,bytes)", ["bytes"]),
  // payments (IMarketPayments)
  DepositAdded: define("DepositAdded(address,address,address,uint256,uint256)", ["address", "uint256", "uint256"]),
  ThawStarted: define("ThawStarted(address,address,address,uint256,uint64)", ["address", "uint256", "uint64"]),
  DepositWithdrawn: define("DepositWithdrawn(address,address,address,uint256)", ["address", "uint256"]),
  VoucherRedeemed: define("VoucherRedeemed(address,address,address,uint256,uint256)", [
    "address",
    "uint256",
    "uint256",
  ]),
} as const;
