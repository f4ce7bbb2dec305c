import { customError } from "../host.js";
import type { JobStatus, SlotStatus } from "./storage.js";

/** IJobMarket's custom errors (Solidity encodes enums as uint8 in signatures and data). */
export const MarketErrors = {
  jobNotFound: (id: bigint) => customError("JobNotFound(uint256)", ["uint256"], [id]),
  invalidState: (id: bigint, status: JobStatus) =>
    customError("JobInvalidState(uint256,uint8)", ["uint256", "uint8"], [id, BigInt(status)]),
  slotInvalidState: (id: bigint, slot: number, status: SlotStatus) =>
    customError(
      "SlotInvalidState(uint256,uint8,uint8)",
      ["uint256", "uint8", "uint8"],
      [id, BigInt(slot), BigInt(status)],
    ),
  unauthorized: (caller: Uint8Array) => customError("JobUnauthorized(address)", ["address"], [caller]),
  tooEarly: (id: bigint, notBefore: bigint) =>
    customError("JobTooEarly(uint256,uint64)", ["uint256", "uint64"], [id, notBefore]),
  tooLate: (id: bigint, deadline: bigint) =>
    customError("JobTooLate(uint256,uint64)", ["uint256", "uint64"], [id, deadline]),
  invalidSpec: (field: string) => customError("JobInvalidSpec(string)", ["string"], [field]),
  invalidPayment: (expected: bigint, value: bigint) =>
    customError("JobInvalidPayment(uint256,uint256)", ["uint256", "uint256"], [expected, value]),
  alreadyClaimed: (id: bigint, worker: Uint8Array) =>
    customError("JobAlreadyClaimed(uint256,address)", ["uint256", "address"], [id, worker]),
  batchSize: (size: bigint, expected: bigint) =>
    customError("JobBatchSize(uint256,uint256)", ["uint256", "uint256"], [size, expected]),
  noFreeSlot: (id: bigint) => customError("JobNoFreeSlot(uint256)", ["uint256"], [id]),
  revealMismatch: (id: bigint, commitment: Uint8Array) =>
    customError("JobRevealMismatch(uint256,bytes32)", ["uint256", "bytes32"], [id, commitment]),
  commitRequired: (id: bigint) => customError("JobCommitRequired(uint256)", ["uint256"], [id]),
  notChallengeable: (id: bigint, verification: number) =>
    customError("JobNotChallengeable(uint256,uint8)", ["uint256", "uint8"], [id, BigInt(verification)]),
  invalidToken: (token: Uint8Array) => customError("JobInvalidToken(address)", ["address"], [token]),
  workerNotRegistered: (w: Uint8Array) => customError("WorkerNotRegistered(address)", ["address"], [w]),
  workerAlreadyRegistered: (w: Uint8Array) => customError("WorkerAlreadyRegistered(address)", ["address"], [w]),
  workerKindMismatch: (w: Uint8Array, kind: Uint8Array) =>
    customError("WorkerKindMismatch(address,bytes32)", ["address", "bytes32"], [w, kind]),
  workerUnderBonded: (w: Uint8Array, available: bigint, required: bigint) =>
    customError(
      "WorkerUnderBonded(address,uint256,uint256)",
      ["address", "uint256", "uint256"],
      [w, available, required],
    ),
  workerInvalidRegistration: (field: string) => customError("WorkerInvalidRegistration(string)", ["string"], [field]),
  workerUnbonding: (w: Uint8Array, ends: bigint) =>
    customError("WorkerUnbonding(address,uint64)", ["address", "uint64"], [w, ends]),
  notVerifier: (id: bigint, caller: Uint8Array) =>
    customError("WorkerNotVerifier(uint256,address)", ["uint256", "address"], [id, caller]),
  alreadyVoted: (id: bigint, verifier: Uint8Array) =>
    customError("VerifierAlreadyVoted(uint256,address)", ["uint256", "address"], [id, verifier]),
  notEnoughVerifiers: (id: bigint, available: number) =>
    customError("NotEnoughVerifiers(uint256,uint256)", ["uint256", "uint256"], [id, BigInt(available)]),
  nothingToWithdraw: (account: Uint8Array, token: Uint8Array) =>
    customError("NothingToWithdraw(address,address)", ["address", "address"], [account, token]),
  notConfigured: () => customError("MarketNotConfigured()", [], []),
  // payments (IMarketPayments)
  paymentInvalid: (field: string) => customError("PaymentInvalid(string)", ["string"], [field]),
  thawing: (thawEnds: bigint) => customError("DepositThawing(uint64)", ["uint64"], [thawEnds]),
  voucherInvalidSigner: (signer: Uint8Array, payer: Uint8Array) =>
    customError("VoucherInvalidSigner(address,address)", ["address", "address"], [signer, payer]),
  voucherAlreadyRedeemed: (payer: Uint8Array, valueAggregate: bigint, redeemed: bigint) =>
    customError(
      "VoucherAlreadyRedeemed(address,uint256,uint256)",
      ["address", "uint256", "uint256"],
      [payer, valueAggregate, redeemed],
    ),
  voucherUnderfunded: (payer: Uint8Array, owed: bigint, balance: bigint) =>
    customError(
      "VoucherUnderfunded(address,uint256,uint256)",
      ["address", "uint256", "uint256"],
      [payer, owed, balance],
    ),
};
