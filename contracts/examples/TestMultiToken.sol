// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestMultiToken
/// @notice ERC-1155 used by the explorer's indexer tests: owner-only single and batch mints, so that both
///         TransferSingle and TransferBatch are emitted (transfers use the standard safeTransferFrom /
///         safeBatchTransferFrom).
contract TestMultiToken is ERC1155, Ownable {
    constructor() ERC1155("ipfs://bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly/{id}.json") Ownable(msg.sender) {}

    /// @notice Mints `amount` of token `id` to `to` (one TransferSingle from the zero address).
    function mint(address to, uint256 id, uint256 amount) external onlyOwner {
        _mint(to, id, amount, "");
    }

    /// @notice Mints several ids at once (one TransferBatch from the zero address).
    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external onlyOwner {
        _mintBatch(to, ids, amounts, "");
    }
}
