// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title LEARN — the platform token ("Azora Learn", "LEARN", 18 decimals), at 0x0000000000000000000000000000000000000A02.
/// @notice A complete ERC-20 with OpenZeppelin 5 behaviour and errors (IERC20Errors), EIP-2612 permit,
///         genesis supply and allocation, mint by issuers, burn by holders, issuers set by the admin.
interface ILearn is IERC20, IERC20Metadata, IERC20Permit {
    /// @notice Emitted when the admin grants or revokes the issuer role.
    event IssuerSet(address indexed account, bool allowed);

    /// @notice The caller is not an issuer (mint).
    error LearnUnauthorizedIssuer(address account);
    /// @notice The caller is not the admin (setIssuer).
    error LearnUnauthorizedAdmin(address account);
    /// @notice EIP-2612: the permit deadline has passed.
    error ERC2612ExpiredSignature(uint256 deadline);
    /// @notice EIP-2612: the signature does not come from `owner`.
    error ERC2612InvalidSigner(address signer, address owner);

    /// @notice Mints `amount` to `to`; only issuers. Emits Transfer(address(0), to, amount).
    function mint(address to, uint256 amount) external;
    /// @notice Burns `amount` of the caller's tokens. Emits Transfer(msg.sender, address(0), amount).
    function burn(uint256 amount) external;
    /// @notice Grants or revokes the issuer role; only the admin. Emits IssuerSet.
    function setIssuer(address account, bool allowed) external;
    function isIssuer(address account) external view returns (bool);
    /// @notice The admin set in genesis (governance takes this over later).
    function admin() external view returns (address);
}
