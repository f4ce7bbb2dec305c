// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Probe
/// @notice Exercises the JSON-RPC surface: logs with indexed topics, every revert flavour (Error(string), custom
///         error, Panic), block context opcodes, storage-heavy gas use and value transfers.
contract Probe {
    uint256 public value;

    /// @notice Bumped by each burnGas call so every run rewrites its slots with a fresh value (no zero-cost SSTOREs).
    uint256 public burnRound;

    /// @notice Slots written by burnGas.
    mapping(uint256 => uint256) public burned;

    /// @dev Written (and always rolled back) by the reverting functions only so the compiler keeps them non-view:
    ///      tests also send them as transactions to observe mined receipts with status 0.
    uint256 private _revertAttempts;

    event ValueSet(address indexed who, uint256 indexed value, bytes32 tag);
    event Deposited(address indexed from, uint256 amount);

    error Unauthorized(address caller, uint256 code);

    /// @notice Stores `v` and emits ValueSet(msg.sender, v, tag).
    function set(uint256 v, bytes32 tag) external {
        value = v;
        emit ValueSet(msg.sender, v, tag);
    }

    /// @notice Reverts with Error(string) carrying `reason`.
    function revertWithReason(string calldata reason) external {
        ++_revertAttempts;
        revert(reason);
    }

    /// @notice Reverts with the custom error Unauthorized(msg.sender, code).
    function revertWithCustomError(uint256 code) external {
        ++_revertAttempts;
        revert Unauthorized(msg.sender, code);
    }

    /// @notice Returns 1 / d; d == 0 raises Panic(0x12) (division by zero).
    function panicDivide(uint256 d) external pure returns (uint256) {
        return 1 / d;
    }

    /// @notice Raises Panic(0x01) (failed assert).
    function assertFail() external {
        ++_revertAttempts;
        assert(false);
    }

    /// @notice Block context as seen by the EVM, for comparing with eth_getBlockByNumber.
    /// @dev parentHash is zero at block 0 instead of underflowing block.number - 1.
    function blockInfo()
        external
        view
        returns (
            uint256 number,
            uint256 timestamp,
            address coinbase,
            uint256 basefee,
            uint256 chainid,
            uint256 gaslimit,
            bytes32 parentHash
        )
    {
        number = block.number;
        timestamp = block.timestamp;
        coinbase = block.coinbase;
        basefee = block.basefee;
        chainid = block.chainid;
        gaslimit = block.gaslimit;
        parentHash = block.number > 0 ? blockhash(block.number - 1) : bytes32(0);
    }

    /// @notice Writes `iterations` storage slots; gas grows linearly, which eth_estimateGas tests rely on.
    function burnGas(uint256 iterations) external {
        uint256 round = ++burnRound;
        for (uint256 i = 0; i < iterations; ++i) {
            burned[i] = round;
        }
    }

    /// @notice Accepts value and emits Deposited(msg.sender, msg.value).
    function deposit() external payable {
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Plain value transfers are accepted and logged like deposit().
    receive() external payable {
        emit Deposited(msg.sender, msg.value);
    }
}
