/** The job market's typed client for dApps and scripts. */
export {
  AZR_TOKEN,
  commitmentOf,
  JobStatus,
  type JobView,
  LEARN_ADDRESS,
  MARKET_ADDRESS,
  type MarketParams,
  SlotStatus,
  Verification,
  type WorkerInfo,
} from "../runtime/chain/market.js";
export { type BlobServer, createBlobServer } from "../runtime/content/blobRoutes.js";
export { type BlobStore, createFileBlobStore } from "../runtime/content/blobStore.js";
export { cidFromSha256, cidOf, sha256Hex } from "../runtime/content/cid.js";
export { ClientError, ClientErrorCode } from "./errors.js";
export { type Inference, InferenceClient, type InferenceClientOptions, InferenceHTTPError } from "./inferenceClient.js";
export {
  DEFAULT_WINDOWS,
  type InputHost,
  type JobResult,
  MarketClient,
  type PostedJob,
  type PostJobOptions,
  type TokenName,
  tokenAddress,
} from "./marketClient.js";
export {
  ActionKind,
  actionKey,
  type DelegationView,
  decodeModuleRevert,
  GOVERNANCE_ADDRESS,
  type GovAction,
  GovernanceClient,
  governanceInterface,
  ProposalStatus,
  type ProposalView,
  STAKING_ADDRESS,
  StakingClient,
  stakingInterface,
  type ValidatorView,
  VoteOption,
} from "./stakingClient.js";
