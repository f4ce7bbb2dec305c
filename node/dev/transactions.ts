import type { Common } from "@ethereumjs/common";
import { Capability, createTx, TransactionType, type TypedTransaction, type TypedTxData } from "@ethereumjs/tx";
import { createAddressFromString, hexToBytes } from "@ethereumjs/util";
import { ServerError } from "../../rpc/errors.js";
import type { CallRequest } from "../../rpc/types.js";
import type { PooledTx } from "../mempool/index.js";

/** What filling a transaction request needs from the node (the RPC backend provides it). */
export interface TxFillContext {
  chainId: bigint;
  common: Common;
  pendingNonce(address: string): Promise<bigint>;
  /** eth_estimateGas of the request at the head. */
  estimateGas(req: CallRequest): Promise<bigint>;
  nextBaseFee(): bigint;
  suggestedTip(): bigint;
}

const q = (n: bigint): `0x${string}` => `0x${n.toString(16)}`;

/**
 * Completes an `eth_sendTransaction` / `eth_signTransaction` request as Anvil does: the pending nonce,
 * the estimated gas, the chain id, and fees — a fee cap of twice the next base fee plus the tip (geth's
 * default), the suggested tip — and the type the fields imply (4 with an authorization list, 0 with a
 * gas price, 1 with a gas price and an access list, else 2), unless the request sets them.
 */
export async function fillTransaction(req: CallRequest, from: string, ctx: TxFillContext): Promise<TypedTxData> {
  if (req.chainId !== undefined && req.chainId !== ctx.chainId) throw new ServerError("invalid chain id");
  const auths = req.authorizationList ?? [];
  const type =
    req.type !== undefined
      ? Number(req.type)
      : auths.length > 0
        ? TransactionType.EOACodeEIP7702
        : req.gasPrice !== undefined
          ? req.accessList !== undefined
            ? TransactionType.AccessListEIP2930
            : TransactionType.Legacy
          : TransactionType.FeeMarketEIP1559;
  if (![0, 1, 2, 4].includes(type)) throw new ServerError(`transaction type ${type} not supported`);
  const nonce = req.nonce ?? (await ctx.pendingNonce(from));
  const gasLimit = req.gas ?? (await ctx.estimateGas({ ...req, from }));
  const base = {
    type,
    nonce,
    gasLimit,
    to: req.to === undefined || req.to === null ? undefined : createAddressFromString(req.to),
    value: req.value ?? 0n,
    data: req.data ?? new Uint8Array(0),
    chainId: ctx.chainId,
  };
  const accessList = (req.accessList ?? []).map((e) => ({
    address: e.address as `0x${string}`,
    storageKeys: e.storageKeys as `0x${string}`[],
  }));
  if (type === TransactionType.Legacy || type === TransactionType.AccessListEIP2930) {
    const gasPrice = req.gasPrice ?? ctx.nextBaseFee() + ctx.suggestedTip();
    return type === TransactionType.Legacy ? { ...base, gasPrice } : { ...base, gasPrice, accessList };
  }
  let tip = req.maxPriorityFeePerGas ?? ctx.suggestedTip();
  const maxFeePerGas = req.maxFeePerGas ?? 2n * ctx.nextBaseFee() + tip;
  if (tip > maxFeePerGas) tip = maxFeePerGas;
  const fees = { maxFeePerGas, maxPriorityFeePerGas: tip, accessList };
  if (type === TransactionType.FeeMarketEIP1559) return { ...base, ...fees };
  return {
    ...base,
    ...fees,
    authorizationList: auths.map((a) => ({
      chainId: q(a.chainId),
      address: a.address as `0x${string}`,
      nonce: q(a.nonce),
      yParity: q(a.yParity),
      r: q(a.r),
      s: q(a.s),
    })),
  };
}

/** Signs filled transaction fields with `privateKey` (0x hex). */
export function signTransaction(data: TypedTxData, privateKey: string, common: Common): TypedTransaction {
  return createTx(data, { common, freeze: false }).sign(hexToBytes(privateKey as `0x${string}`));
}

/**
 * A pool entry for an impersonated sender's transaction: signed with a stand-in key (its hash is its
 * own), executed and recorded as sent by `sender`. Built here rather than decoded from its bytes,
 * which would recover the stand-in key's address.
 */
export function impersonatedPoolEntry(tx: TypedTransaction, sender: string, nowMs: number): PooledTx {
  const senderAddress = createAddressFromString(sender);
  (tx as { getSenderAddress: () => typeof senderAddress }).getSenderAddress = () => senderAddress;
  const raw = tx.serialize();
  const fees = tx.supports(Capability.EIP1559FeeMarket)
    ? (tx as TypedTransaction & { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint })
    : null;
  const gasPrice = (tx as TypedTransaction & { gasPrice?: bigint }).gasPrice ?? 0n;
  const maxFeePerGas = fees?.maxFeePerGas ?? gasPrice;
  return {
    tx,
    raw,
    hash: `0x${Buffer.from(tx.hash()).toString("hex")}`,
    sender: sender.toLowerCase(),
    nonce: tx.nonce,
    gasLimit: tx.gasLimit,
    maxFeePerGas,
    maxPriorityFeePerGas: fees?.maxPriorityFeePerGas ?? gasPrice,
    value: tx.value,
    cost: tx.gasLimit * maxFeePerGas + tx.value,
    size: raw.length,
    type: tx.type,
    receivedAt: nowMs,
  };
}
