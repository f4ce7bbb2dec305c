import {
  type Charged,
  MeteredPayee,
  type MeteredPayeeOptions,
  PaymentError,
  PaymentErrorCode,
} from "../../runtime/payments/meteredPayee.js";
import { SearchError, SearchErrorCode } from "../errors.js";

/**
 * Paid queries: the shared metered payee (`services/runtime/payments/`) with its refusals as search errors, so the
 * search API's one error mapping answers them: 402 for a receipt that does not pay — a session receipt too, since
 * search takes no session opens (a payer whose session is unknown pays with a signed receipt) — 400 for a bad voucher.
 */
export type PaidQueryOptions = Omit<MeteredPayeeOptions, "unit" | "what">;

export class PaidQueries extends MeteredPayee {
  constructor(o: PaidQueryOptions) {
    super({ ...o, unit: "query", what: "this index" });
  }

  override async charge(header: string | undefined, price: bigint): Promise<Charged> {
    try {
      return await super.charge(header, price);
    } catch (e) {
      throw asSearchError(e);
    }
  }

  override acceptVoucher(text: string): { payer: string; valueAggregate: bigint } {
    try {
      return super.acceptVoucher(text);
    } catch (e) {
      throw asSearchError(e);
    }
  }
}

function asSearchError(e: unknown): unknown {
  if (!(e instanceof PaymentError)) return e;
  return e.code === PaymentErrorCode.PAYMENT_REQUIRED || e.code === PaymentErrorCode.SESSION_UNKNOWN
    ? new SearchError({ code: SearchErrorCode.PAYMENT_REQUIRED, reason: e.type.reason })
    : new SearchError({ code: SearchErrorCode.BAD_REQUEST, reason: e.type.reason });
}
