// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title BenchNFT
/// @notice The OpenZeppelin counterpart of a native collection's `mint(to, uri)` for `npm run bench`:
///         owner-only mint with a per-token URI, ids from 1 — the same work the native module does.
contract BenchNFT is ERC721URIStorage, Ownable {
    uint256 private _lastId;

    constructor() ERC721("Bench NFT", "BNFT") Ownable(msg.sender) {}

    function mint(address to, string calldata uri) external onlyOwner returns (uint256 id) {
        id = ++_lastId;
        _mint(to, id);
        _setTokenURI(id, uri);
    }
}
