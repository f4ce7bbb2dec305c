// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Native model registry, at 0x0000000000000000000000000000000000000A08.
/// @notice ONNX (and other) models by the sha256 of their file, or of a manifest listing the files'
///         hashes for multi-file models. A model registers once; workers load model files from a local
///         directory, check them against the registered hash and refuse a mismatch.
interface IModelRegistry {
    struct Model {
        address owner; // who registered it
        uint64 registeredAt;
        string uri; //          where the file (or manifest) can be fetched, e.g. ipfs://… or npm:pkg@ver/path
        string metadataJSON; // format, inputs/outputs, licence, pre-processing
    }

    event ModelRegistered(bytes32 indexed sha256, address indexed owner, string uri, string metadataJSON);

    error ModelAlreadyRegistered(bytes32 sha256);
    error ModelNotFound(bytes32 sha256);
    error ModelIndexOutOfRange(uint256 index, uint256 count);
    /// @notice A zero hash, a URI of 0 or more than 1,024 bytes, or metadata that is not a JSON object.
    error ModelInvalid(string field);

    /// @notice Registers model `sha256` once; the caller becomes its owner. metadataJSON is a JSON object
    ///         (at most 4,096 bytes).
    function registerModel(bytes32 sha256, string calldata uri, string calldata metadataJSON) external returns (bool);
    /// @notice Reverts with ModelNotFound for an unregistered hash.
    function model(bytes32 sha256) external view returns (Model memory);
    function isRegistered(bytes32 sha256) external view returns (bool);
    function modelCount() external view returns (uint256);
    /// @notice The `index`-th registered model (from 0, in registration order).
    function modelAt(uint256 index) external view returns (bytes32 sha256);
}
