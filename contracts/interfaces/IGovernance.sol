// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Native governance, at 0x0000000000000000000000000000000000000A07.
/// @notice Proposals carry actions and a deposit; once deposits reach `minDeposit` (within `depositPeriod`) voting
///         runs for `votingPeriod`. Votes weigh bonded stake: a validator's vote carries its delegators' stake
///         unless they vote themselves. At the end of voting (Cosmos x/gov rules): quorum of bonded stake, veto
///         share of all votes (deposits burned), Yes share of non-abstaining votes. A passed proposal can be
///         executed by anyone `timelock` seconds later; its actions run whole or not at all. Chain parameters
///         (block.*, fees.*, consensus.*) take effect 2 blocks after the executing block, on every node; staking,
///         slashing, market and gov parameters at once. The account's balance beyond deposits is the community
///         treasury (a share of block rewards). Rules: runtime/modules/governance/README.md.
interface IGovernance {
    enum ActionKind {
        SetParam, //        key = parameter name (e.g. "block.gasLimit"), value = new value
        SetLearnIssuer, //  target = issuer, value = 1 grant / 0 revoke
        TreasurySpend, //   target = recipient, value = AZR (wei)
        SoftwareUpgrade //  key = upgrade name (the version nodes must run), value = height, info = message
    }

    enum ProposalStatus {
        None,
        DepositPeriod,
        VotingPeriod,
        Passed,
        Rejected,
        Vetoed,
        Executed,
        Failed,
        Expired
    }

    enum VoteOption {
        None,
        Yes,
        No,
        NoWithVeto,
        Abstain
    }

    struct Action {
        ActionKind kind;
        bytes32 key;
        uint256 value;
        address target;
        string info;
    }

    struct Proposal {
        uint256 id;
        address proposer;
        ProposalStatus status;
        Action[] actions;
        string descriptionURI;
        uint64 submitTime;
        uint64 depositEnd;
        uint64 votingStart;
        uint64 votingEnd;
        uint64 executableAt;
        uint256 totalDeposit;
        uint256 yes; //        live during voting, final after it
        uint256 no;
        uint256 noWithVeto;
        uint256 abstain;
    }

    struct Params {
        uint256 minDeposit;
        uint256 depositPeriod;
        uint256 votingPeriod;
        uint256 timelock;
        uint256 quorumBps;
        uint256 thresholdBps;
        uint256 vetoBps;
    }

    error GovNotConfigured();
    error ProposalNotFound(uint256 id);
    error ProposalInvalidState(uint256 id, ProposalStatus status);
    error InvalidAction(uint256 index, string reason);
    error NoActions();
    error TooManyActions(uint256 max);
    error DescriptionTooLong();
    error InvalidVoteOption(uint8 option);
    error ProposalTooLate(uint256 id, uint64 deadline);
    error ProposalTooEarly(uint256 id, uint64 notBefore);
    error VotingFull(uint256 max);
    error ZeroDeposit();
    error NothingToClaim(uint256 id, address depositor);

    event ProposalSubmitted(uint256 indexed id, address indexed proposer, uint256 deposit, string descriptionURI);
    event DepositAdded(uint256 indexed id, address indexed depositor, uint256 amount, uint256 total);
    event VotingStarted(uint256 indexed id, uint64 votingEnd);
    event VoteCast(uint256 indexed id, address indexed voter, VoteOption option);
    event ProposalExecuted(uint256 indexed id);
    event ProposalFailed(uint256 indexed id, string reason);
    event ParamChangeScheduled(bytes32 indexed key, uint256 value, uint64 height);
    event UpgradeScheduled(string name, uint64 height, string info);
    event TreasurySpent(address indexed to, uint256 amount);
    event DepositClaimed(uint256 indexed id, address indexed depositor, uint256 amount);

    function propose(Action[] calldata actions, string calldata descriptionURI) external payable returns (uint256 id);
    function deposit(uint256 id) external payable returns (uint256 total);
    function vote(uint256 id, uint8 option) external returns (bool);
    /// @notice Runs a passed proposal's actions after its timelock; false (status Failed) if one cannot run.
    function execute(uint256 id) external returns (bool);
    /// @notice Pays back the caller's deposit once the proposal ended (not vetoed) or expired.
    function claimDeposit(uint256 id) external returns (uint256 amount);

    function proposal(uint256 id) external view returns (Proposal memory);
    function proposalCount() external view returns (uint256);
    function getVote(uint256 id, address voter) external view returns (uint8);
    function depositOf(uint256 id, address depositor) external view returns (uint256);
    function treasury() external view returns (uint256);
    function params() external view returns (Params memory);
    /// @notice Chain-parameter changes executed and waiting for their height (current values: azora_getChainParams).
    function pendingChanges() external view returns (bytes32[] memory keys, uint256[] memory values, uint64[] memory heights);
    function upgradePlan() external view returns (string memory name, uint64 height, string memory info);
}
