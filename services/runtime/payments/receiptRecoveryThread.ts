// The receipt-signer recovery thread of a `ThreadedReceiptRecovery` (receiptRecovery.ts): EIP-712 digest and
// libsecp256k1 recovery of each metered receipt posted to it, off the worker's event loop.

import { parentPort } from "node:worker_threads";
import { recoverReceiptSignerHex } from "../../client/payments.js";
import type { RecoveryReply, RecoveryRequest } from "./receiptRecovery.js";

const port = parentPort;
if (!port) throw new Error("receiptRecoveryThread runs only as a worker thread");

port.on("message", (m: RecoveryRequest) => {
  let reply: RecoveryReply;
  try {
    reply = { id: m.id, signer: recoverReceiptSignerHex(m.chainId, m.receipt, m.signature) };
  } catch (e) {
    // the same text the in-thread recovery's error carries, so both refuse with the same reason
    reply = { id: m.id, malformed: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
