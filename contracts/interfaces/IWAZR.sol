// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title WAZR — the native coin $AZR seen as an ERC-20, at 0x0000000000000000000000000000000000000A01.
/// @notice Balances are the native account balances: balanceOf(a) == address(a).balance at every block.
///         transfer/transferFrom move native AZR. name() "Azora", symbol() "AZR", decimals() 18.
///         totalSupply() is the genesis supply minus the EIP-1559 base fees burned since.
///         Errors are OpenZeppelin 5's IERC20Errors (ERC20InsufficientBalance, ...).
interface IWAZR is IERC20, IERC20Metadata {}
