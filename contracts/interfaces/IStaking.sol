// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Native staking, at 0x0000000000000000000000000000000000000A06.
/// @notice Validators bond AZR (self-stake) under an ed25519 consensus key; anyone delegates to them. The active set
///         is the top `maxValidators` by bonded stake, voting power = bonded AZR / 1e18, recomputed at every epoch
///         boundary (block numbers that are multiples of `epochLength`) and applied by consensus. Every block pays
///         its tips and the inflation accrued since the last payment (minus the community tax) to the validators
///         that signed its parent, pro rata to power; each keeps its commission and the rest accrues to its
///         delegators per share (withdrawRewards). Undelegated stake unbonds for `unbondingPeriod` seconds, still
///         slashable, then is paid back automatically. Double signing slashes `doubleSignSlashBps` and tombstones;
///         missing too much of the downtime window slashes `downtimeSlashBps` and jails for `downtimeJailSeconds`.
///         Rules, parameters and storage: runtime/modules/staking/README.md.
interface IStaking {
    struct ValidatorInfo {
        address operator;
        bytes32 consensusPubKey; // raw ed25519 public key
        address consensusAddress; // first 20 bytes of sha256(consensusPubKey): the address consensus uses
        string moniker;
        uint16 commissionBps;
        uint256 tokens; //          bonded stake (self + delegations), after slashes
        uint256 delegatorShares;
        uint256 selfStake;
        uint256 unbonding; //       stake of the validator's unbonding pool (still slashable)
        uint256 commission; //      accrued commission, paid by withdrawRewards(operator) to the operator
        uint64 power; //            voting power in the active set (0 when not active)
        bool active;
        bool jailed;
        bool tombstoned;
        uint64 jailedUntil;
        uint64 missedBlocks; //     in the current downtime window
    }

    struct DelegationInfo {
        uint256 shares;
        uint256 amount; //          AZR value of the shares now
        uint256 rewards; //         withdrawable rewards
        uint256 unbonding; //       AZR of this delegation waiting in the unbonding queue
        uint8 unbondingEntries;
    }

    struct Params {
        uint256 maxValidators;
        uint256 epochLength;
        uint256 unbondingPeriod;
        uint256 minSelfStake;
        uint256 inflationBps;
        uint256 communityTaxBps;
        uint256 signedBlocksWindow;
        uint256 minSignedBps;
        uint256 downtimeSlashBps;
        uint256 doubleSignSlashBps;
        uint256 downtimeJailSeconds;
    }

    struct Totals {
        uint256 bonded; //          stake of the active set
        uint256 minted; //          AZR minted as inflation since genesis
        uint256 slashed; //         AZR burned by slashes since genesis
        uint256 pendingFees; //     tips waiting for a block with signers
    }

    error StakingNotConfigured();
    error ValidatorExists(address operator);
    error ValidatorNotFound(address operator);
    error ConsensusKeyInUse(bytes32 consensusPubKey);
    error InvalidKeyProof();
    error InvalidCommission(uint16 commissionBps);
    error CommissionChangeRefused(uint16 current, uint16 requested, uint64 notBefore);
    error InvalidMoniker();
    error SelfStakeTooLow(uint256 stake, uint256 required);
    error TooManyValidators(uint256 max);
    error ZeroAmount();
    error InsufficientDelegation(uint256 available, uint256 requested);
    error TooManyDelegations(uint256 max);
    error TooManyUnbondings(uint256 max);
    error ValidatorTombstoned(address operator);
    error ValidatorIsJailed(address operator);
    error ValidatorNotJailed(address operator);
    error ValidatorStillJailed(address operator, uint64 until);
    error ValidatorWorthless(address operator);
    error SameValidator();
    error NothingToWithdraw();

    event ValidatorCreated(
        address indexed operator, bytes32 consensusPubKey, uint16 commissionBps, string moniker, uint256 selfStake
    );
    event ValidatorEdited(address indexed operator, uint16 commissionBps, string moniker);
    event Delegated(address indexed delegator, address indexed validator, uint256 amount, uint256 shares);
    event Undelegated(address indexed delegator, address indexed validator, uint256 amount, uint64 completionTime);
    event Redelegated(address indexed delegator, address indexed from, address indexed to, uint256 amount);
    event RewardsWithdrawn(address indexed delegator, address indexed validator, uint256 amount);
    event CommissionWithdrawn(address indexed validator, uint256 amount);
    event Unjailed(address indexed validator);

    /// @notice Registers the caller as a validator with msg.value as self-stake (≥ minSelfStake). `keyProof` is the
    ///         ed25519 signature, by `consensusPubKey`, of "azora:validator-key:" ‖ uint64 chainId ‖ operator
    ///         (proof that the operator holds the key). Joins the set at the next epoch if its stake ranks.
    function createValidator(bytes32 consensusPubKey, uint16 commissionBps, string calldata moniker, bytes calldata keyProof)
        external
        payable
        returns (bool);
    /// @notice New commission (at most +100 bps, once per day) and moniker (empty = unchanged).
    function editValidator(uint16 commissionBps, string calldata moniker) external returns (bool);
    /// @notice Bonds msg.value to `validator`; returns the shares issued.
    function delegate(address validator) external payable returns (uint256 shares);
    /// @notice Starts unbonding `amount` AZR; returns the completion time (paid back automatically after it).
    function undelegate(address validator, uint256 amount) external returns (uint64 completionTime);
    /// @notice Moves `amount` of bonded stake from `from` (not jailed) to `to` at once.
    function redelegate(address from, address to, uint256 amount) external returns (bool);
    /// @notice Pays the caller's rewards from `validator` (and, for its operator, the commission).
    function withdrawRewards(address validator) external returns (uint256 amount);
    /// @notice The caller's validator leaves jail (after jailedUntil, self-stake ≥ minSelfStake; never if tombstoned).
    function unjail() external returns (bool);

    function validator(address operator) external view returns (ValidatorInfo memory);
    function delegation(address delegator, address validator) external view returns (DelegationInfo memory);
    /// @notice Registered validators that are not tombstoned.
    function validators() external view returns (address[] memory);
    function activeValidators() external view returns (address[] memory);
    function validatorByConsensusAddress(address consensusAddress) external view returns (address operator);
    function params() external view returns (Params memory);
    function totals() external view returns (Totals memory);
}
