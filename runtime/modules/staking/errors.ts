import { customError } from "../host.js";

/** IStaking's custom errors. */
export const StakingErrors = {
  notConfigured: () => customError("StakingNotConfigured()", [], []),
  validatorExists: (operator: Uint8Array) => customError("ValidatorExists(address)", ["address"], [operator]),
  validatorNotFound: (operator: Uint8Array) => customError("ValidatorNotFound(address)", ["address"], [operator]),
  keyInUse: (key: Uint8Array) => customError("ConsensusKeyInUse(bytes32)", ["bytes32"], [key]),
  invalidKeyProof: () => customError("InvalidKeyProof()", [], []),
  invalidCommission: (bps: bigint) => customError("InvalidCommission(uint16)", ["uint16"], [bps]),
  commissionChange: (current: bigint, requested: bigint, notBefore: bigint) =>
    customError(
      "CommissionChangeRefused(uint16,uint16,uint64)",
      ["uint16", "uint16", "uint64"],
      [current, requested, notBefore],
    ),
  invalidMoniker: () => customError("InvalidMoniker()", [], []),
  selfStakeTooLow: (stake: bigint, required: bigint) =>
    customError("SelfStakeTooLow(uint256,uint256)", ["uint256", "uint256"], [stake, required]),
  tooManyValidators: (max: bigint) => customError("TooManyValidators(uint256)", ["uint256"], [max]),
  zeroAmount: () => customError("ZeroAmount()", [], []),
  insufficientDelegation: (available: bigint, requested: bigint) =>
    customError("InsufficientDelegation(uint256,uint256)", ["uint256", "uint256"], [available, requested]),
  tooManyDelegations: (max: bigint) => customError("TooManyDelegations(uint256)", ["uint256"], [max]),
  tooManyUnbondings: (max: bigint) => customError("TooManyUnbondings(uint256)", ["uint256"], [max]),
  tombstoned: (operator: Uint8Array) => customError("ValidatorTombstoned(address)", ["address"], [operator]),
  jailed: (operator: Uint8Array) => customError("ValidatorIsJailed(address)", ["address"], [operator]),
  notJailed: (operator: Uint8Array) => customError("ValidatorNotJailed(address)", ["address"], [operator]),
  stillJailed: (operator: Uint8Array, until: bigint) =>
    customError("ValidatorStillJailed(address,uint64)", ["address", "uint64"], [operator, until]),
  worthless: (operator: Uint8Array) => customError("ValidatorWorthless(address)", ["address"], [operator]),
  sameValidator: () => customError("SameValidator()", [], []),
  nothingToWithdraw: () => customError("NothingToWithdraw()", [], []),
};
