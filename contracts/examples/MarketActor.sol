// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title MarketActor
/// @notice A contract that takes part in the native job market (0x…0A05) as requester and as worker, and tries to
///         re-enter it whenever it is paid: its receive() calls `withdraw` again (and can be told to revert instead,
///         as a party that refuses payments). The market pays by moving balances only — credits pulled with
///         `withdraw` — so receive() never runs (`receiveCalls` stays 0), and a settlement never depends on a party
///         accepting a payment. For test/ledger/market.test.ts.
contract MarketActor {
    IJobMarket public constant MARKET = IJobMarket(0x0000000000000000000000000000000000000A05);

    /// @notice Times receive() ran (the re-entry's entry point).
    uint256 public receiveCalls;
    /// @notice Set when a re-entrant withdraw succeeded (a double payment).
    bool public reentered;
    /// @notice When set, receive() reverts: a party refusing every payment.
    bool public refusePayments;

    function setRefusePayments(bool refuse) external {
        refusePayments = refuse;
    }

    function registerWorker(bytes32[] calldata kinds, string calldata endpoint) external payable {
        MARKET.registerWorker{value: msg.value}(kinds, endpoint);
    }

    function post(IJobMarket.JobSpec calldata spec) external payable returns (uint256) {
        return MARKET.post{value: msg.value}(spec);
    }

    function claim(uint256 id) external returns (uint8) {
        return MARKET.claim(id);
    }

    function submit(uint256 id, bytes32 resultHash, string calldata uri) external {
        MARKET.submit(id, resultHash, uri);
    }

    function accept(uint256 id) external {
        MARKET.accept(id);
    }

    function cancel(uint256 id) external {
        MARKET.cancel(id);
    }

    function withdraw(address token) external returns (uint256) {
        return MARKET.withdraw(token);
    }

    function beginUnbond(uint256 amount) external {
        MARKET.beginUnbond(amount);
    }

    function withdrawUnbonded() external returns (uint256) {
        return MARKET.withdrawUnbonded();
    }

    receive() external payable {
        ++receiveCalls;
        require(!refusePayments, "MarketActor: payments refused");
        try MARKET.withdraw(address(0)) {
            reentered = true;
        } catch {}
    }
}
