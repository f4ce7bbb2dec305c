// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

/// @title ConformanceNFT
/// @notice OpenZeppelin 5's ERC721 and ERC2981 with IAzoraCollection's extras (owner, mint(to, uri), burn, totalSupply
///         and the Collection* errors), so the ERC-721 conformance suite makes the same calls, through the same ABI, to
///         this contract and to a native collection, and expects the same results.
/// @dev No ERC721URIStorage: it would add ERC-4906 (a MetadataUpdate event and interface id) that native collections
///      do not have. ERC721Burnable's burn is inlined so `burn` has exactly the IAzoraCollection signature.
contract ConformanceNFT is ERC721, ERC2981 {
    error CollectionUnauthorized(address account);
    error CollectionInvalidURI(string uri);

    /// @dev Same bound as the native module (runtime/modules/nft/collection.ts MAX_URI_BYTES).
    uint256 private constant MAX_URI_BYTES = 256;

    address public immutable owner;
    uint256 public totalSupply;
    uint256 private _lastId;
    mapping(uint256 tokenId => string) private _uris;

    constructor(string memory name_, string memory symbol_, address royaltyReceiver, uint96 royaltyBps)
        ERC721(name_, symbol_)
    {
        owner = msg.sender;
        if (royaltyBps > 0) _setDefaultRoyalty(royaltyReceiver, royaltyBps);
    }

    /// @notice Mints the next id (from 1) to `to`, calling onERC721Received on contracts (like _safeMint).
    function mint(address to, string calldata uri) external returns (uint256 id) {
        if (msg.sender != owner) revert CollectionUnauthorized(msg.sender);
        bytes calldata b = bytes(uri);
        if (b.length <= 7 || b.length > MAX_URI_BYTES || bytes7(b) != bytes7("ipfs://")) {
            revert CollectionInvalidURI(uri);
        }
        id = ++_lastId;
        totalSupply += 1;
        _uris[id] = uri; // before _safeMint: state is final when the receiver is called, as natively
        _safeMint(to, id);
    }

    /// @notice ERC721Burnable: by the owner, an operator or the approved account.
    function burn(uint256 tokenId) external {
        _update(address(0), tokenId, _msgSender());
        totalSupply -= 1;
    }

    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return _uris[tokenId];
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}

/// @title ConformanceReceiver
/// @notice A scriptable ERC-721 receiver for the conformance suite. In its callback it reports what the token contract
///         says about the token (the transfer must already be complete: owner, balance, cleared approval) in a `Seen`
///         event, then answers the way it was told: accept, a wrong value, each kind of revert, an answer that does
///         not decode as bytes4, or a reentrant transfer of the token it was just given.
contract ConformanceReceiver is IERC721Receiver {
    enum Mode {
        Accept,
        WrongValue,
        RevertEmpty,
        RevertReason,
        RevertCustom,
        ShortAnswer,
        DirtyAnswer,
        Forward
    }

    error ReceiverRefused(uint256 tokenId);

    event Seen(
        address operator, address from, uint256 tokenId, bytes data, address owner, uint256 balance, address approved
    );

    Mode public mode;
    address public forwardTo;

    function configure(Mode mode_, address forwardTo_) external {
        mode = mode_;
        forwardTo = forwardTo_;
    }

    function onERC721Received(address operator, address from, uint256 tokenId, bytes calldata data)
        external
        returns (bytes4)
    {
        IERC721 token = IERC721(msg.sender);
        emit Seen(
            operator,
            from,
            tokenId,
            data,
            token.ownerOf(tokenId),
            token.balanceOf(address(this)),
            token.getApproved(tokenId)
        );
        Mode m = mode;
        if (m == Mode.WrongValue) return bytes4(0x12345678);
        if (m == Mode.RevertEmpty) revert();
        if (m == Mode.RevertReason) revert("ConformanceReceiver: refused");
        if (m == Mode.RevertCustom) revert ReceiverRefused(tokenId);
        if (m == Mode.ShortAnswer) {
            assembly ("memory-safe") {
                mstore(0, shl(224, 0x150b7a02))
                return(0, 4)
            }
        }
        if (m == Mode.DirtyAnswer) {
            assembly ("memory-safe") {
                mstore(0, or(shl(224, 0x150b7a02), 1))
                return(0, 32)
            }
        }
        if (m == Mode.Forward) token.transferFrom(address(this), forwardTo, tokenId);
        return IERC721Receiver.onERC721Received.selector;
    }
}
