import { customError } from "../host.js";

/** IGovernance's custom errors. */
export const GovErrors = {
  notConfigured: () => customError("GovNotConfigured()", [], []),
  notFound: (id: bigint) => customError("ProposalNotFound(uint256)", ["uint256"], [id]),
  invalidState: (id: bigint, status: number) =>
    customError("ProposalInvalidState(uint256,uint8)", ["uint256", "uint8"], [id, BigInt(status)]),
  invalidAction: (index: bigint, why: string) =>
    customError("InvalidAction(uint256,string)", ["uint256", "string"], [index, why]),
  noActions: () => customError("NoActions()", [], []),
  tooManyActions: (max: bigint) => customError("TooManyActions(uint256)", ["uint256"], [max]),
  descriptionTooLong: () => customError("DescriptionTooLong()", [], []),
  invalidOption: (option: bigint) => customError("InvalidVoteOption(uint8)", ["uint8"], [option]),
  tooLate: (id: bigint, deadline: bigint) =>
    customError("ProposalTooLate(uint256,uint64)", ["uint256", "uint64"], [id, deadline]),
  tooEarly: (id: bigint, notBefore: bigint) =>
    customError("ProposalTooEarly(uint256,uint64)", ["uint256", "uint64"], [id, notBefore]),
  votingFull: (max: bigint) => customError("VotingFull(uint256)", ["uint256"], [max]),
  zeroDeposit: () => customError("ZeroDeposit()", [], []),
  nothingToClaim: (id: bigint, depositor: Uint8Array) =>
    customError("NothingToClaim(uint256,address)", ["uint256", "address"], [id, depositor]),
};
