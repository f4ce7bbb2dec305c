// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestNFT
/// @notice ERC-721 used by the node's end-to-end tests: owner-only mint, safe mint into receivers, token URIs.
contract TestNFT is ERC721, Ownable {
    /// @dev Fixed base so tests can assert tokenURI(id) == BASE_URI + id.
    string private constant BASE_URI = "ipfs://bafybeihkoviema7g3gxyt6la7vd5ho32ictqbilu3wnlo3rs7ewhnp7lly/";

    /// @dev Last minted id; ids start at 1 so that 0 never names a real token.
    uint256 private _lastId;

    constructor() ERC721("Test NFT", "TNFT") Ownable(msg.sender) {}

    /// @notice Mints the next id to `to` without the receiver check.
    function mint(address to) external onlyOwner returns (uint256 id) {
        id = ++_lastId;
        _mint(to, id);
    }

    /// @notice Mints the next id to `to`, calling onERC721Received with `data` when `to` is a contract.
    function safeMint(address to, bytes calldata data) external onlyOwner returns (uint256 id) {
        id = ++_lastId;
        _safeMint(to, id, data);
    }

    function _baseURI() internal pure override returns (string memory) {
        return BASE_URI;
    }
}
