// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Metered payments of the native job market, at 0x0000000000000000000000000000000000000A05.
/// @notice The TAP pattern for services paid per use (search queries, mail, push): a payer deposits AZR or LEARN
///         for one payee; off chain it signs a receipt per unit of service and, on the payee's request, an EIP-712
///         Voucher for the running total it owes that payee; the payee redeems vouchers on chain in batches, each
///         paying `valueAggregate − redeemed` from the deposit, all or nothing. A payer leaves by `thaw` — the
///         amount stays redeemable for the thaw period (the market's unbondingPeriod), longer than any payee's
///         redemption window — then `withdrawDeposit`. EIP-712 domain: name "Azora Payments", version "1", the
///         chain id, verifyingContract 0x…0A05. Rules: runtime/modules/market/README.md ("Metered payments").
interface IMarketPayments {
    struct Voucher {
        address payer;
        address payee;
        address token; //          address(0) = AZR, 0x…0A02 = LEARN
        uint128 valueAggregate; // everything the payer has owed the payee in this token so far (cumulative)
        uint64 timestampMs; //     the newest receipt it covers (off-chain aggregation rule; not checked on chain)
    }

    struct DepositInfo {
        uint256 balance; //   redeemable
        uint256 thawing; //   part of the balance leaving at thawEnds
        uint64 thawEnds;
        uint256 redeemed; //  the highest valueAggregate redeemed
    }

    event DepositAdded(address indexed payer, address indexed payee, address token, uint256 amount, uint256 balance);
    event ThawStarted(address indexed payer, address indexed payee, address token, uint256 amount, uint64 thawEnds);
    event DepositWithdrawn(address indexed payer, address indexed payee, address token, uint256 amount);
    event VoucherRedeemed(
        address indexed payer, address indexed payee, address token, uint256 amount, uint256 valueAggregate
    );

    error PaymentInvalid(string field);
    error DepositThawing(uint64 thawEnds);
    error VoucherInvalidSigner(address signer, address payer);
    error VoucherAlreadyRedeemed(address payer, uint256 valueAggregate, uint256 redeemed);
    error VoucherUnderfunded(address payer, uint256 owed, uint256 balance);
    error ECDSAInvalidSignature();
    error ECDSAInvalidSignatureS(bytes32 s);

    /// @notice Adds `amount` to the deposit for `payee`: AZR as msg.value, LEARN pulled by allowance.
    function deposit(address payee, address token, uint256 amount) external payable returns (uint256 balance);
    /// @notice Marks `amount` of the deposit to leave at now + thaw period (restarts the clock; 0 cancels).
    function thaw(address payee, address token, uint256 amount) external returns (uint64 thawEnds);
    /// @notice After thawEnds: pays what is left of the thawing amount back to the payer.
    function withdrawDeposit(address payee, address token) external returns (uint256 amount);
    /// @notice The payee (msg.sender) redeems up to 64 vouchers, all or nothing; paid at once.
    function redeemVouchers(Voucher[] calldata vouchers, bytes[] calldata signatures) external returns (uint256 paid);
    function deposits(address payer, address payee, address token) external view returns (DepositInfo memory);
    function PAYMENTS_DOMAIN_SEPARATOR() external view returns (bytes32);
}
