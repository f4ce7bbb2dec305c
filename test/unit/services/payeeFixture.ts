import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Contract, parseEther, Wallet } from "ethers";
import { PaymentSession } from "../../../services/client/payments.js";
import { MeteredPayee } from "../../../services/runtime/payments/meteredPayee.js";

/**
 * A metered payee on a real SQLite journal in a temporary directory, against a stand-in market (only its
 * `deposits` read), and a payer's receipt session for it: what the payee's unit tests share.
 */
export const CHAIN = 31337n;
export const PRICE = parseEther("0.001");
export const payeeWallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
export const payerWallet = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

/** A market whose `deposits(payer, payee)` answers with this function's (balance, 0, 0, 0). */
export function standInMarket(deposit: () => Promise<bigint>): Contract {
  return { deposits: async () => [await deposit(), 0n, 0n, 0n] } as unknown as Contract;
}

/** A payee on the journal at `dbPath`, its deposits read from `market` (a restarted worker's, in crash tests). */
export function payeeAt(dbPath: string, market: Contract): MeteredPayee {
  return new MeteredPayee({ wallet: payeeWallet, market, chainId: CHAIN, dbPath });
}

export interface PayeeFixture {
  /** A payee on the fixture's journal (call again after `close()` to model a restarted worker). */
  open(market: Contract): MeteredPayee;
  /** A payer's receipt session for this payee. */
  session(): PaymentSession;
  /** Removes the journal's directory (close the payees first). */
  remove(): void;
}

export function payeeFixture(prefix: string): PayeeFixture {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    open: (market) => payeeAt(join(dir, "p.sqlite"), market),
    session: () => new PaymentSession(payerWallet, CHAIN, payeeWallet.address),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
