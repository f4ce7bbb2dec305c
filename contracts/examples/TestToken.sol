// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestToken
/// @notice ERC-20 used by the node's end-to-end tests: deploy, transfer, owner-only mint and a forced revert.
contract TestToken is ERC20, Ownable {
    /// @dev Counts calls to failWithReason; the write keeps the function non-view so tests can send it
    ///      as a transaction and observe a mined, reverted receipt (it is always rolled back).
    uint256 private _forcedFailures;

    constructor(uint256 initialSupply) ERC20("Test Token", "TTK") Ownable(msg.sender) {
        _mint(msg.sender, initialSupply);
    }

    /// @notice Owner-only mint; other callers revert with OwnableUnauthorizedAccount(address).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Always reverts with Error(string) "TestToken: forced failure".
    function failWithReason() external {
        _forcedFailures += 1;
        require(false, "TestToken: forced failure");
    }
}
