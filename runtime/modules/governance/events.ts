import { keccak256 } from "../../primitives/hash.js";
import { type AbiType, type AbiValue, encodeArgs, uintWord } from "../abi.js";
import { addressTopic } from "../erc20Events.js";
import type { ModuleState } from "../state.js";

/** IGovernance's events (indexed arguments as topics; 32-byte values go as they are). */
function define(sig: string, data: readonly AbiType[]) {
  const topic0 = keccak256(new TextEncoder().encode(sig));
  return (s: ModuleState, indexed: (Uint8Array | bigint)[], values: AbiValue[]) => {
    const topics = [
      topic0,
      ...indexed.map((t) => (typeof t === "bigint" ? uintWord(t) : t.length === 32 ? t : addressTopic(t))),
    ];
    s.emit(topics, encodeArgs(data, values));
  };
}

export const GovEvents = {
  ProposalSubmitted: define("ProposalSubmitted(uint256,address,uint256,string)", ["uint256", "string"]),
  DepositAdded: define("DepositAdded(uint256,address,uint256,uint256)", ["uint256", "uint256"]),
  VotingStarted: define("VotingStarted(uint256,uint64)", ["uint64"]),
  VoteCast: define("VoteCast(uint256,address,uint8)", ["uint8"]),
  ProposalExecuted: define("ProposalExecuted(uint256)", []),
  ProposalFailed: define("ProposalFailed(uint256,string)", ["string"]),
  ParamChangeScheduled: define("ParamChangeScheduled(bytes32,uint256,uint64)", ["uint256", "uint64"]),
  UpgradeScheduled: define("UpgradeScheduled(string,uint64,string)", ["string", "uint64", "string"]),
  TreasurySpent: define("TreasurySpent(address,uint256)", ["uint256"]),
  DepositClaimed: define("DepositClaimed(uint256,address,uint256)", ["uint256"]),
} as const;
