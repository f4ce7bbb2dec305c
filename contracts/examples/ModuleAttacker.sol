// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ModuleAttacker
/// @notice Drives the native modules (0x…0A01–0x…0A04 and the NFT collections) through every kind of call frame the
///         EVM can make, for test/ledger/security.test.ts: CALL (with an explicit value and gas), DELEGATECALL,
///         CALLCODE, STATICCALL, and a CALL followed by a revert of this contract's own frame.
/// @dev Every entry point takes the target and raw calldata, so one contract attacks every module, and tests can send
///      hand-made calldata (dirty address bits, truncated arguments, oversize strings).
///      With `bubble == true` a failed inner call reverts this frame with the module's revert data unchanged (the
///      transaction's receipt has status 0 and eth_call returns the module's own error); with `bubble == false` the
///      outcome is emitted as `Result` and returned, and the transaction succeeds whatever the module did.
contract ModuleAttacker {
    /// @notice The outcome of one inner call (`kind`: 1 CALL, 2 DELEGATECALL, 3 CALLCODE).
    event Result(uint8 indexed kind, bool ok, bytes ret);

    /// @notice Raised by callThenRevert after its inner call returned: `ok` and `ret` are the inner call's outcome, so
    ///         the test can see the module call succeeded before this frame threw its effects away.
    error AfterCall(bool ok, bytes ret);

    /// @notice Receives AZR so the attacker can hold a native balance of its own.
    receive() external payable {}

    /// @notice CALL `target` with `value` (taken from this contract's balance) and at most `gasLimit` gas
    ///         (0 = all but 1/64 of what is left, as a plain Solidity call).
    function callModule(address target, bytes calldata data, uint256 value, uint256 gasLimit, bool bubble)
        external
        payable
        returns (bool ok, bytes memory ret)
    {
        uint256 g = gasLimit == 0 ? gasleft() : gasLimit;
        (ok, ret) = target.call{value: value, gas: g}(data);
        _finish(1, ok, ret, bubble);
    }

    /// @notice DELEGATECALL `target`: the module would run with this contract as its storage and `msg.sender` of
    ///         this call (the transaction sender) as its caller — the Moonbeam 2022 caller spoof. Must be refused.
    function delegateCallModule(address target, bytes calldata data, bool bubble)
        external
        payable
        returns (bool ok, bytes memory ret)
    {
        (ok, ret) = target.delegatecall(data);
        _finish(2, ok, ret, bubble);
    }

    /// @notice CALLCODE `target` (the pre-DELEGATECALL opcode, only reachable from assembly). Must be refused.
    function callCodeModule(address target, bytes calldata data, uint256 value, bool bubble)
        external
        payable
        returns (bool ok, bytes memory ret)
    {
        bytes memory input = data;
        assembly ("memory-safe") {
            ok := callcode(gas(), target, value, add(input, 32), mload(input), 0, 0)
            ret := mload(0x40)
            mstore(ret, returndatasize())
            returndatacopy(add(ret, 32), 0, returndatasize())
            mstore(0x40, add(add(ret, 32), and(add(returndatasize(), 31), not(31))))
        }
        _finish(3, ok, ret, bubble);
    }

    /// @notice STATICCALL `target`: views must answer, state-changing functions must fail.
    function staticCallModule(address target, bytes calldata data, bool bubble)
        external
        view
        returns (bool ok, bytes memory ret)
    {
        (ok, ret) = target.staticcall(data);
        if (!ok && bubble) _bubble(ret);
    }

    /// @notice CALL `target` (forwarding `value` from this contract's balance), then revert this frame with
    ///         AfterCall(ok, ret): whatever the module changed must be rolled back with it (the journal).
    function callThenRevert(address target, bytes calldata data, uint256 value) external payable {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        revert AfterCall(ok, ret);
    }

    function _finish(uint8 kind, bool ok, bytes memory ret, bool bubble) private {
        if (!ok && bubble) _bubble(ret);
        emit Result(kind, ok, ret);
    }

    /// @dev Re-throws the inner call's revert data verbatim.
    function _bubble(bytes memory ret) private pure {
        assembly ("memory-safe") {
            revert(add(ret, 32), mload(ret))
        }
    }
}
