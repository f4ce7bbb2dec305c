// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMarketPayments} from "./IMarketPayments.sol";

/// @title Native job market, at 0x0000000000000000000000000000000000000A05.
/// @notice A job is an escrow plus workers and a result. A requester posts a job and escrows
///         price × redundancy + fee (AZR as msg.value, or LEARN pulled by allowance); staked workers
///         claim slots (locking a bond from their stake), deliver a result hash + URI (directly with
///         `submit` when redundancy is 1, or `commit` then `reveal` so no worker can copy another's
///         answer), and the job settles after the challenge window, early by `accept`, or by the
///         verification mode's dispute path. State changes before funds move; every payout is
///         credited and pulled with `withdraw`; no party's code runs during settlement.
///         Times are block timestamps (seconds); an action allowed "until" a deadline is allowed while
///         block.timestamp < deadline, and what the deadline unlocks is allowed from it on.
///         The function, event and struct-field names below are fixed: workers, dApps and tests target
///         them. Rules, redundancy semantics and parameters: runtime/modules/market/README.md.
///         Metered payments (deposits, thaw, vouchers) are declared in IMarketPayments, which this extends.
interface IJobMarket is IMarketPayments {
    enum Verification {
        RequesterAccept, // 0: the requester accepts; the challenge window's end finalizes; no challenges
        Replay, //          1: a challenge asks 3 other workers of the kind to re-run the job and vote
        Arbiter, //         2: the job's arbiter rules on a challenge; a silent arbiter ends in a refund
        Retrieval //        3: custody over the challenge window (e.g. a pin): 3 verifiers check that the worker
        //                     still answers; a rejected challenge returns the job to Submitted until the window
        //                     ends, an upheld one slashes the worker and refunds the time left pro rata
    }

    enum JobStatus {
        None,
        Open, //       posted; at least one slot unclaimed and the claim window open
        Claimed, //    every live slot claimed; waiting for deliveries (commits, then reveals)
        Submitted, //  every live slot delivered; challenge window running
        Challenged, // dispute open (verifiers voting or arbiter ruling)
        Finalized, //  at least one worker paid
        Refunded, //   requester refunded (unclaimed, undelivered, no majority, lost or undecided dispute)
        Cancelled //   requester cancelled before any claim
    }

    enum SlotStatus {
        Empty,
        Claimed,
        Committed,
        Revealed, // result delivered (by reveal or submit)
        Paid,
        Slashed, //  no-show, or a result that lost
        Expired //   never claimed before the claim window closed
    }

    struct JobSpec {
        bytes32 kind; //           e.g. encodeBytes32String("ai/onnx")
        string specURI; //         what to do (model id, parameters), content-addressed where possible
        bytes32 inputHash; //      sha256 of the input bytes the worker must fetch and check
        address token; //          address(0) = AZR (msg.value), 0x…0A02 = LEARN (allowance)
        uint256 price; //          per slot
        uint8 redundancy; //       number of independent workers (1..maxRedundancy; 1 for Arbiter and Retrieval)
        uint64 claimWindow; //     seconds after posting during which slots can be claimed
        uint64 deliverWindow; //   seconds a claimer has to deliver (commit) after its claim; also the reveal window
        uint64 challengeWindow; // seconds after the last delivery during which the result can be challenged;
        //                         for Retrieval, the custody period the price pays for
        uint8 verification; //     a Verification value
        address arbiter; //        required for Verification.Arbiter, else address(0)
    }

    struct WorkerInfo {
        bool registered;
        string endpoint;
        bytes32[] kinds;
        uint256 stake; //     bonded, including locked
        uint256 locked; //    bonds held by open claims and verifier duties (covered by stake + unbonding)
        uint256 unbonding; // leaving, still slashable until withdrawn
        uint64 unbondingEnds;
        uint64 jobsDone;
        uint64 jobsSlashed;
    }

    struct Slot {
        address worker;
        SlotStatus status;
        uint64 claimedAt;
        uint64 deliverBy;
        uint256 bond;
        bytes32 commitment;
        bytes32 resultHash;
        string resultURI;
    }

    struct JobView {
        address requester;
        JobSpec spec;
        JobStatus status;
        uint64 postedAt;
        uint64 challengeEnds; // 0 until every live slot is delivered
        uint256 fee;
        Slot[] slots;
        address challenger;
        uint256 challengeBond;
        address[] verifiers; //  replay mode, after a challenge
        uint64 disputeEnds; //   verifier vote / arbiter ruling deadline
        uint64 revealEnds; //    commit–reveal: 0 until every live slot has committed
        bytes32[] votes; //      replay: verifiers[i] voted votes[i] when voted[i]
        bool[] voted;
    }

    struct Params {
        uint256 minWorkerStake;
        uint16 claimBondBps; //     bond locked per claim, as a fraction of the price (at least minClaimBond)
        uint256 minClaimBond;
        uint16 feeBps; //           market fee on top of price × redundancy
        uint256 challengeBond; //   AZR a challenger posts
        uint64 disputeWindow; //    seconds verifiers / the arbiter have to answer
        uint64 unbondingPeriod; //  longer than the longest claim + deliver + reveal + challenge + dispute
        uint64 maxWindow; //        upper bound for each of the three job windows
        uint8 maxRedundancy;
        uint16 slashBurnBps; //     share of a slashed bond that is burned (the rest goes to the dispute's winner)
        uint256 learnRewardPerJob; // LEARN minted to each paid worker
        uint64 minWindow; //        lower bound for each of the three job windows
        address feeRecipient; //    receives the fee of jobs settled without a dispute
    }

    event WorkerRegistered(address indexed worker, bytes32[] kinds, string endpoint, uint256 stake);
    event StakeAdded(address indexed worker, uint256 amount, uint256 stake);
    event UnbondStarted(address indexed worker, uint256 amount, uint64 unbondingEnds);
    event UnbondWithdrawn(address indexed worker, uint256 amount);
    /// @notice The worker withdrew everything it had bonded and left the kinds' worker lists.
    event WorkerDeregistered(address indexed worker);
    event JobPosted(
        uint256 indexed id,
        address indexed requester,
        bytes32 indexed kind,
        address token,
        uint256 price,
        uint8 redundancy,
        uint256 escrowed,
        bytes32 inputHash,
        string specURI
    );
    event JobClaimed(uint256 indexed id, address indexed worker, uint8 slot, uint256 bond, uint64 deliverBy);
    event ResultCommitted(uint256 indexed id, address indexed worker, uint8 slot, bytes32 commitment);
    /// @notice Every live slot has committed: reveals are open until revealEnds.
    event RevealOpened(uint256 indexed id, uint64 revealEnds);
    event ResultSubmitted(uint256 indexed id, address indexed worker, uint8 slot, bytes32 resultHash, string resultURI);
    /// @notice A metered result (`submitMetered`) claims `earned` of the job's price; emitted before its ResultSubmitted.
    event ResultMetered(uint256 indexed id, address indexed worker, uint256 earned);
    event JobAccepted(uint256 indexed id, address indexed requester);
    event JobChallenged(uint256 indexed id, address indexed challenger, uint256 bond, string evidenceURI, address[] verifiers);
    event VerifierVoted(uint256 indexed id, address indexed verifier, bytes32 resultHash);
    event DisputeResolved(uint256 indexed id, bool workerWon, uint16 workerBps, uint256 toWorkers, uint256 toRequester);
    event JobFinalized(uint256 indexed id, uint256 paidToWorkers, uint256 learnRewarded, uint256 fee);
    /// @notice One paid slot: `amount` credited in the job's token, `learnReward` LEARN minted to the worker.
    event WorkerPaid(uint256 indexed id, address indexed worker, uint256 amount, uint256 learnReward);
    /// @notice The fee (or a share of it) credited to the fee recipient, a majority verifier or the arbiter.
    event FeePaid(uint256 indexed id, address indexed to, uint256 amount);
    event JobRefunded(uint256 indexed id, address indexed requester, uint256 amount);
    event JobCancelled(uint256 indexed id, address indexed requester, uint256 amount);
    /// @notice `amount` AZR taken from the worker's bonded stake: `burned` destroyed, the rest credited to
    ///         `beneficiary` (address(0) when it was split among several winners or all burned).
    event WorkerSlashed(uint256 indexed id, address indexed worker, uint256 amount, uint256 burned, address beneficiary);
    /// @notice A challenge the verifiers or the arbiter rejected: its bond, `burned` destroyed, the rest to the workers
    ///         (Replay, Arbiter) or to the verifiers that voted with the majority (Retrieval).
    event ChallengerSlashed(uint256 indexed id, address indexed challenger, uint256 amount, uint256 burned);
    /// @notice A Retrieval challenge ended without being upheld: the job is Submitted again until challengeEnds.
    event JobResumed(uint256 indexed id, uint64 challengeEnds);
    event ClaimExpired(uint256 indexed id, address indexed worker, uint8 slot);
    event Withdrawn(address indexed account, address indexed token, uint256 amount);
    /// @notice An item of claimMany / submitMany / acceptMany that its single function refused: its changes were
    ///         undone; `reason` is the custom error it reverted with.
    event BatchItemSkipped(uint256 indexed id, address indexed caller, bytes reason);

    error JobNotFound(uint256 id);
    error JobInvalidState(uint256 id, JobStatus status);
    /// @notice The caller's slot is not in a state that allows this delivery step (e.g. committed twice).
    error SlotInvalidState(uint256 id, uint8 slot, SlotStatus status);
    error JobUnauthorized(address caller);
    error JobTooEarly(uint256 id, uint64 notBefore);
    error JobTooLate(uint256 id, uint64 deadline);
    error JobInvalidSpec(string field);
    error JobInvalidPayment(uint256 expected, uint256 value);
    error JobAlreadyClaimed(uint256 id, address worker);
    error JobNoFreeSlot(uint256 id);
    /// @notice A batch is empty, longer than 64 items, or its arrays differ in length.
    error JobBatchSize(uint256 size, uint256 expected);
    error JobRevealMismatch(uint256 id, bytes32 commitment);
    /// @notice `submit` on a job with redundancy > 1: deliver with commit, then reveal.
    error JobCommitRequired(uint256 id);
    /// @notice `challenge` on a RequesterAccept job.
    error JobNotChallengeable(uint256 id, uint8 verification);
    /// @notice A token other than AZR (address(0)) or LEARN.
    error JobInvalidToken(address token);
    error WorkerNotRegistered(address worker);
    error WorkerAlreadyRegistered(address worker);
    error WorkerKindMismatch(address worker, bytes32 kind);
    error WorkerUnderBonded(address worker, uint256 available, uint256 required);
    error WorkerInvalidRegistration(string field);
    error WorkerUnbonding(address worker, uint64 unbondingEnds);
    error WorkerNotVerifier(uint256 id, address caller);
    error VerifierAlreadyVoted(uint256 id, address verifier);
    error NotEnoughVerifiers(uint256 id, uint256 available);
    error NothingToWithdraw(address account, address token);
    /// @notice The chain's genesis has no `modules.market` parameters: the market is off.
    error MarketNotConfigured();

    // workers
    /// @notice Registers the caller with 1..8 kinds (distinct, non-zero) and an endpoint (1..256 bytes);
    ///         msg.value is the stake (≥ params().minWorkerStake).
    function registerWorker(bytes32[] calldata kinds, string calldata endpoint) external payable returns (bool);
    function addStake() external payable returns (uint256 stake);
    /// @notice Moves `amount` of the stake to unbonding (still slashable); restarts the unbonding clock.
    function beginUnbond(uint256 amount) external returns (uint64 unbondingEnds);
    /// @notice After unbondingEnds: pays the unbonding amount not needed to cover locked bonds.
    function withdrawUnbonded() external returns (uint256 amount);
    function worker(address account) external view returns (WorkerInfo memory);
    /// @notice Registered workers of `kind`, `count` (≤ 100) from index `start`, and how many there are.
    function workersOfKind(bytes32 kind, uint256 start, uint256 count)
        external
        view
        returns (address[] memory workers, uint256 total);

    // jobs
    function post(JobSpec calldata spec) external payable returns (uint256 id);
    function claim(uint256 id) external returns (uint8 slot);
    /// @notice commitment = keccak256(abi.encode(resultHash, msg.sender, salt)).
    function commit(uint256 id, bytes32 commitment) external returns (bool);
    function reveal(uint256 id, bytes32 resultHash, string calldata resultURI, bytes32 salt) external returns (bool);
    /// @notice commit + reveal in one call; only when redundancy is 1.
    function submit(uint256 id, bytes32 resultHash, string calldata resultURI) external returns (bool);
    /// @notice `submit` for work paid by the unit (e.g. per delivered message): the result claims `earned` <= price.
    ///         An undisputed settlement pays the worker `earned` and refunds the requester the rest of the price
    ///         and the same share of the fee; a dispute goes to the arbiter, whose ruling replaces the claim.
    ///         RequesterAccept or Arbiter jobs of redundancy 1 only (`JobInvalidSpec("verification")`,
    ///         `JobInvalidSpec("earned")` above the price).
    function submitMetered(uint256 id, bytes32 resultHash, string calldata resultURI, uint256 earned)
        external
        returns (bool);
    function accept(uint256 id) external returns (bool);

    // batches (1..64 items; each item follows its single function's rules and pays its base gas first)
    /// @notice Posts every spec or none; msg.value is the sum of the AZR jobs' escrows.
    function postMany(JobSpec[] calldata specs) external payable returns (uint256[] memory ids);
    /// @notice Best-effort: done[i] is false (and BatchItemSkipped logged) where claim(ids[i]) would revert.
    function claimMany(uint256[] calldata ids) external returns (bool[] memory done);
    /// @notice Best-effort, as claimMany, item by item as submit(ids[i], resultHashes[i], resultURIs[i]).
    function submitMany(uint256[] calldata ids, bytes32[] calldata resultHashes, string[] calldata resultURIs)
        external
        returns (bool[] memory done);
    /// @notice Best-effort, as claimMany, item by item as accept(ids[i]).
    function acceptMany(uint256[] calldata ids) external returns (bool[] memory done);
    function challenge(uint256 id, string calldata evidenceURI) external payable returns (bool);
    function vote(uint256 id, bytes32 resultHash) external returns (bool);
    function resolve(uint256 id, uint16 workerBps) external returns (bool);
    function finalize(uint256 id) external returns (bool);
    function cancel(uint256 id) external returns (bool);
    function reclaim(uint256 id) external returns (bool);
    function withdraw(address token) external returns (uint256 amount);

    // views
    /// @notice An unknown id reads as the all-zero view (status None).
    function job(uint256 id) external view returns (JobView memory);
    /// @notice job(id) for each id (at most 64): one call for a worker's many open jobs.
    function jobs(uint256[] calldata ids) external view returns (JobView[] memory);
    function jobCount() external view returns (uint256);
    /// @notice What `withdraw(token)` would pay `account` now.
    function withdrawable(address account, address token) external view returns (uint256);
    function params() external view returns (Params memory);
}
