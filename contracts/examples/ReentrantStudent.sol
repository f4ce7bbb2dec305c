// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {ILearn} from "../interfaces/ILearn.sol";
import {CourseMarketplace} from "./CourseMarketplace.sol";

/// @title ReentrantStudent
/// @notice A hostile student contract for test/ledger/marketplace.test.ts: it buys a course, and when its certificate
///         is minted (onERC721Received, called by the native collection during CourseMarketplace.complete) it tries
///         to re-enter the marketplace to be refunded as well. It records the outcome and still accepts the token.
contract ReentrantStudent is IERC721Receiver {
    ILearn public constant LEARN = ILearn(0x0000000000000000000000000000000000000a02);

    CourseMarketplace public immutable market;
    uint256 public purchaseId;
    /// @notice onERC721Received ran.
    bool public reentered;
    /// @notice The re-entrant refund succeeded (the student would be paid back AND certified).
    bool public reentrySucceeded;
    /// @notice Revert data of the re-entrant refund.
    bytes public reentryError;

    constructor(CourseMarketplace market_) {
        market = market_;
    }

    /// @notice Approves the marketplace for `price` LEARN (this contract must hold it) and buys `courseId`.
    function buy(uint256 courseId, uint256 price) external {
        LEARN.approve(address(market), price);
        purchaseId = market.buy(courseId);
    }

    function onERC721Received(address, address, uint256, bytes calldata) external override returns (bytes4) {
        reentered = true;
        try market.refund(purchaseId) {
            reentrySucceeded = true;
        } catch (bytes memory err) {
            reentryError = err;
        }
        return IERC721Receiver.onERC721Received.selector;
    }
}
