export {
  type CommitCertificate,
  CommitError,
  CommitErrorCode,
  decodeCommit,
  encodeCommit,
  hashCommit,
  hasQuorum,
  totalVotingPower,
  verifyCommit,
} from "./commit.js";
export { type SignatureVerifier, type VoteSigner, VoteType, voteSignBytes } from "./vote.js";
