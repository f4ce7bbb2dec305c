import { keccak256 } from "../../primitives/hash.js";
import { type AbiType, type AbiValue, encodeArgs, uintWord } from "../abi.js";
import { addressTopic } from "../erc20Events.js";
import type { ModuleState } from "../state.js";

/** IStaking's events, logged at the staking module's address: indexed arguments as topics, the rest as data. */
function define(sig: string, data: readonly AbiType[]) {
  const topic0 = keccak256(new TextEncoder().encode(sig));
  return (s: ModuleState, indexed: (Uint8Array | bigint)[], values: AbiValue[]) => {
    const topics = [topic0, ...indexed.map((t) => (typeof t === "bigint" ? uintWord(t) : addressTopic(t)))];
    s.emit(topics, encodeArgs(data, values));
  };
}

export const StakingEvents = {
  ValidatorCreated: define("ValidatorCreated(address,bytes32,uint16,string,uint256)", [
    "bytes32",
    "uint16",
    "string",
    "uint256",
  ]),
  ValidatorEdited: define("ValidatorEdited(address,uint16,string)", ["uint16", "string"]),
  Delegated: define("Delegated(address,address,uint256,uint256)", ["uint256", "uint256"]),
  Undelegated: define("Undelegated(address,address,uint256,uint64)", ["uint256", "uint64"]),
  Redelegated: define("Redelegated(address,address,address,uint256)", ["uint256"]),
  RewardsWithdrawn: define("RewardsWithdrawn(address,address,uint256)", ["uint256"]),
  CommissionWithdrawn: define("CommissionWithdrawn(address,uint256)", ["uint256"]),
  Unjailed: define("Unjailed(address)", []),
} as const;
