// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {IWAZR} from "../interfaces/IWAZR.sol";

/// @title TraceVault
/// @notice The target of the tracing examples: keeps deposits per account and pays them back, refusing to
///         overdraw with a reason string.
contract TraceVault {
    mapping(address => uint256) public balances;

    event Deposited(address indexed from, uint256 amount);

    function deposit() external payable {
        balances[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        require(balances[msg.sender] >= amount, "TraceVault: insufficient balance");
        balances[msg.sender] -= amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "TraceVault: payout failed");
    }
}

/// @title TraceRouter
/// @notice The implementation behind TraceProxy: forwards the value it receives to a vault and reads its own
///         balance through WAZR, the native module at 0x…0A01, so a trace shows proxy → implementation → target
///         and a native-module call.
contract TraceRouter {
    address public owner;

    event Routed(address indexed vault, uint256 amount, uint256 wazrBalance);

    /// @notice Run by the proxy's constructor (OpenZeppelin 5 proxies require initialization data).
    function initialize(address owner_) external {
        require(owner == address(0), "TraceRouter: initialized");
        owner = owner_;
    }

    function route(TraceVault vault) external payable returns (uint256 wazrBalance) {
        vault.deposit{value: msg.value}();
        wazrBalance = IWAZR(0x0000000000000000000000000000000000000a01).balanceOf(address(this));
        emit Routed(address(vault), msg.value, wazrBalance);
    }

    /// @notice Deposits `msg.value` and takes `keep` back at once: proxy → router → vault, and the vault paying the
    ///         proxy (→ router's receive). No native module: the same transaction runs on any EVM chain.
    function forward(TraceVault vault, uint256 keep) external payable {
        vault.deposit{value: msg.value}();
        vault.withdraw(keep);
    }

    /// @notice Deposits `msg.value`, then withdraws `amount`: reverts (with the vault's reason) when amount > value.
    function routeAndWithdraw(TraceVault vault, uint256 amount) external payable {
        vault.deposit{value: msg.value}();
        vault.withdraw(amount);
    }

    receive() external payable {}
}

/// @title TraceProxy
/// @notice OpenZeppelin's ERC-1967 proxy, unmodified, in front of a TraceRouter (initialized with `owner`).
contract TraceProxy is ERC1967Proxy {
    constructor(address implementation, address owner)
        ERC1967Proxy(implementation, abi.encodeCall(TraceRouter.initialize, (owner)))
    {}
}
