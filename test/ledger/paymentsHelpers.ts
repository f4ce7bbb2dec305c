import { type BytesLike, hexlify, Signature, Wallet } from "ethers";

/** EIP-712 signing of IMarketPayments vouchers (what a payer's client does), for the ledger tests. */
export const MARKET_ADDRESS = "0x0000000000000000000000000000000000000A05";
export const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "token", type: "address" },
    { name: "valueAggregate", type: "uint128" },
    { name: "timestampMs", type: "uint64" },
  ],
};

export interface VoucherValue {
  payer: string;
  payee: string;
  token: string;
  valueAggregate: bigint;
  timestampMs: bigint;
}

export function paymentsDomain(chainId: bigint) {
  return { name: "Azora Payments", version: "1", chainId, verifyingContract: MARKET_ADDRESS };
}

/** The voucher as the ABI tuple and its 65-byte signature (r ‖ s ‖ v). */
export async function signVoucher(key: BytesLike, chainId: bigint, v: VoucherValue) {
  const sig = await new Wallet(hexlify(key)).signTypedData(paymentsDomain(chainId), VOUCHER_TYPES, v);
  return {
    tuple: [v.payer, v.payee, v.token, v.valueAggregate, v.timestampMs] as const,
    signature: Signature.from(sig).serialized,
  };
}
