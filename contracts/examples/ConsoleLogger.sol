// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Logs through the address Hardhat's console.sol calls (the bytes of "console.log"), exactly as
/// console.sol encodes it; `azora dev` prints the text in its log, as Anvil does. A counter gives the
/// tests a storage slot to read and rewind.
contract ConsoleLogger {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    uint256 public count;

    function hello(string calldata who) external returns (uint256) {
        count += 1;
        _log(abi.encodeWithSignature("log(string,string,uint256)", "hello %s, call %d", who, count));
        _log(abi.encodeWithSignature("log(address,bool)", msg.sender, true));
        return count;
    }

    function _log(bytes memory payload) private view {
        (bool ok, ) = CONSOLE.staticcall(payload);
        ok;
    }
}
