// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";

/// @title A native NFT collection created by the registry (see INFTRegistry for its address).
/// @notice Full ERC-721 (OpenZeppelin 5 behaviour and IERC721Errors: ERC721NonexistentToken,
///         ERC721IncorrectOwner, ERC721InsufficientApproval, ERC721InvalidReceiver, ...), metadata,
///         ERC-2981 royalties and ERC-165. Token ids start at 1. Token URIs are ipfs:// CIDs.
interface IAzoraCollection is IERC721, IERC721Metadata, IERC2981 {
    /// @notice mint by someone other than the collection owner.
    error CollectionUnauthorized(address account);
    /// @notice The URI is not an ipfs:// URI.
    error CollectionInvalidURI(string uri);

    function owner() external view returns (address);
    /// @notice Mints the next id to `to` with `uri` (must start with "ipfs://"); only the owner.
    ///         Calls onERC721Received when `to` is a contract (like _safeMint).
    function mint(address to, string calldata uri) external returns (uint256 tokenId);
    /// @notice Burns `tokenId`; by its owner or an approved operator.
    function burn(uint256 tokenId) external;
    function totalSupply() external view returns (uint256);
}
