// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEscrow} from "../interfaces/IEscrow.sol";

/// @title ReentrantPayee
/// @notice A hostile escrow payee (and, in the tests, also the escrow's arbiter) that tries to be paid twice: when
///         it is paid, its receive() re-enters the escrow to release the same id again. The native escrow pays by
///         moving balances only, so receive() never runs (`receiveCalls` stays 0), and the escrow's status is final
///         before any payment, so a second release is refused with EscrowInvalidState either way.
contract ReentrantPayee {
    IEscrow public constant ESCROW = IEscrow(0x0000000000000000000000000000000000000a04);

    /// @notice Times receive() ran (the attack's entry point).
    uint256 public receiveCalls;
    /// @notice Set when a re-entrant release succeeded (a double payment).
    bool public reentered;
    /// @notice The escrow the re-entrant call goes after.
    uint256 public targetId;

    /// @notice As the arbiter: releases `id` to this contract, arming receive() to release it once more.
    function releaseAsArbiter(uint256 id) external {
        targetId = id;
        ESCROW.release(id);
    }

    /// @notice As the payee: disputes `id` (so the arbiter path of the attack can be tried too).
    function disputeAsPayee(uint256 id) external {
        ESCROW.dispute(id);
    }

    /// @notice As the arbiter: resolves `id`, arming receive() to resolve it again.
    function resolveAsArbiter(uint256 id, uint256 toPayee) external {
        targetId = id;
        ESCROW.resolve(id, toPayee);
    }

    receive() external payable {
        ++receiveCalls;
        try ESCROW.release(targetId) {
            reentered = true;
        } catch {}
    }
}
