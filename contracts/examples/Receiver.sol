// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

/// @title Receiver
/// @notice ERC-721 receiver for safeTransferFrom/safeMint tests. When constructed with `accept_ = false` it answers
///         with a wrong magic value, so the token contract reverts with ERC721InvalidReceiver(receiver).
contract Receiver is IERC721Receiver {
    bool public immutable accept;

    event Received(address operator, address from, uint256 tokenId, bytes data);

    constructor(bool accept_) {
        accept = accept_;
    }

    function onERC721Received(
        address operator,
        address from,
        uint256 tokenId,
        bytes calldata data
    ) external override returns (bytes4) {
        if (!accept) {
            return bytes4(0);
        }
        emit Received(operator, from, tokenId, data);
        return IERC721Receiver.onERC721Received.selector;
    }
}
