// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IEscrow} from "../interfaces/IEscrow.sol";

/// @title EscrowUser
/// @notice A contract that uses the native escrow at 0x…0A04 the ordinary way (CALL, as payer or arbiter) and the
///         hostile ways (STATICCALL into a state-changing function, DELEGATECALL so that the escrow would see this
///         contract's caller as msg.sender). The hostile calls bubble the escrow's revert data up unchanged.
contract EscrowUser {
    IEscrow public constant ESCROW = IEscrow(0x0000000000000000000000000000000000000a04);

    /// @notice Creates an AZR escrow with this contract as the payer, escrowing msg.value.
    function create(address payee, address arbiter, uint64 deadline, bytes32 terms)
        external
        payable
        returns (uint256 id)
    {
        id = ESCROW.create{value: msg.value}(payee, arbiter, address(0), msg.value, deadline, terms);
    }

    function release(uint256 id) external {
        ESCROW.release(id);
    }

    function dispute(uint256 id) external {
        ESCROW.dispute(id);
    }

    /// @notice A view reading the escrow (Solidity uses STATICCALL here): reads work under STATICCALL.
    function statusOf(uint256 id) external view returns (IEscrow.Status status) {
        (,,,,,,, status) = ESCROW.escrows(id);
    }

    /// @notice release() through STATICCALL: must be refused, the escrow may not change state in a static context.
    function staticRelease(uint256 id) external view {
        (bool ok, bytes memory ret) = address(ESCROW).staticcall(abi.encodeCall(IEscrow.release, (id)));
        if (!ok) _bubble(ret);
    }

    /// @notice release() through DELEGATECALL: the escrow's frame would carry this call's msg.sender (e.g. the
    ///         escrow's payer, tricked into calling this contract) — must be refused.
    function delegateRelease(uint256 id) external {
        (bool ok, bytes memory ret) = address(ESCROW).delegatecall(abi.encodeCall(IEscrow.release, (id)));
        if (!ok) _bubble(ret);
    }

    /// @notice As the arbiter: tries resolve() and reports, after it, whether it succeeded and the payee's balance.
    ///         Used (through eth_call with a state override) to show a half-done payment is undone entirely.
    function tryResolve(uint256 id, uint256 toPayee, address payee)
        external
        returns (bool ok, bytes memory ret, uint256 payeeBalance)
    {
        (ok, ret) = address(ESCROW).call(abi.encodeCall(IEscrow.resolve, (id, toPayee)));
        payeeBalance = payee.balance;
    }

    function _bubble(bytes memory ret) private pure {
        assembly {
            revert(add(ret, 32), mload(ret))
        }
    }
}
