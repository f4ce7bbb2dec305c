// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title NFT collection registry, at 0x0000000000000000000000000000000000000A03.
/// @notice Creates native ERC-721 collections. Collection n (from 1) answers at the deterministic
///         address 0x00000000000000000000 0A03 <n as 8 bytes> (e.g. n = 1 →
///         0x000000000000000000000a030000000000000001), is owned by its creator and speaks
///         IAzoraCollection.
interface INFTRegistry {
    event CollectionCreated(address indexed collection, address indexed owner, string name, string symbol);

    /// @notice royaltyBps is in basis points of the sale price (at most 10000).
    error RegistryInvalidRoyalty(uint96 royaltyBps);
    error RegistryInvalidName();

    function createCollection(string calldata name, string calldata symbol, address royaltyReceiver, uint96 royaltyBps)
        external
        returns (address collection);
    function collectionCount() external view returns (uint256);
    /// @notice The collection with number `n` (1-based), or address(0).
    function collectionAt(uint256 n) external view returns (address);
    function isCollection(address collection) external view returns (bool);
}
