// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Native escrow, at 0x0000000000000000000000000000000000000A04.
/// @notice Holds AZR (token == address(0), msg.value == amount) or LEARN (token == 0x…0A02, pulled
///         from the payer by allowance) until it is released to the payee, refunded to the payer or
///         split by the arbiter after a dispute. State changes before funds move; every path pays all
///         or nothing; an escrow settles once. Paying a contract payee runs none of its code.
interface IEscrow {
    enum Status {
        None,
        Active,
        Disputed,
        Released,
        Refunded,
        Resolved
    }

    event EscrowCreated(
        uint256 indexed id,
        address indexed payer,
        address indexed payee,
        address arbiter,
        address token,
        uint256 amount,
        uint64 deadline,
        bytes32 terms
    );
    event EscrowReleased(uint256 indexed id, address indexed payee, uint256 amount);
    event EscrowRefunded(uint256 indexed id, address indexed payer, uint256 amount);
    event EscrowDisputed(uint256 indexed id, address indexed by);
    event EscrowResolved(uint256 indexed id, uint256 toPayee, uint256 toPayer);

    error EscrowNotFound(uint256 id);
    /// @notice The escrow is not in a state that allows this action (e.g. already settled).
    error EscrowInvalidState(uint256 id, Status status);
    error EscrowUnauthorized(address caller);
    /// @notice dispute after the deadline.
    error EscrowDeadlinePassed(uint256 id, uint64 deadline);
    /// @notice refund by a stranger before the deadline.
    error EscrowDeadlineNotReached(uint256 id, uint64 deadline);
    error EscrowInvalidAmount(uint256 amount, uint256 value);
    error EscrowInvalidToken(address token);
    error EscrowInvalidParty(address party);
    error EscrowInvalidDeadline(uint64 deadline);

    /// @return id sequential from 1.
    function create(address payee, address arbiter, address token, uint256 amount, uint64 deadline, bytes32 terms)
        external
        payable
        returns (uint256 id);
    /// @notice By the payer or the arbiter (Active or Disputed): everything to the payee.
    function release(uint256 id) external;
    /// @notice By the payee at any time (Active or Disputed), or by anyone after the deadline unless disputed:
    ///         everything back to the payer.
    function refund(uint256 id) external;
    /// @notice By the payer or the payee, before the deadline, while Active.
    function dispute(uint256 id) external;
    /// @notice By the arbiter while Disputed: toPayee to the payee, the rest to the payer.
    function resolve(uint256 id, uint256 toPayee) external;
    function escrows(uint256 id)
        external
        view
        returns (
            address payer,
            address payee,
            address arbiter,
            address token,
            uint256 amount,
            uint64 deadline,
            bytes32 terms,
            Status status
        );
    function escrowCount() external view returns (uint256);
}
