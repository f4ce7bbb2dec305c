import { parentPort } from "node:worker_threads";
import { Ed25519Verifier } from "../crypto/ed25519.js";
import { nameThisThread, THREAD_NAMES } from "../threadName.js";
import { decodedTransactions, verifiedSignatures } from "./commitChecks.js";
import type { CommitCheckReply, CommitCheckRequest } from "./commitPrecheck.js";
import { unpackChecks } from "./packedChecks.js";

/**
 * Worker side of `CommitPrecheck`: the ed25519 checks of a blocks response's commit certificates and the decoding
 * (sender recovery) of its transactions, off the main thread.
 */
const port = parentPort;
if (port === null) throw new Error("commitWorker must run in a worker thread");
nameThisThread(THREAD_NAMES.syncCommits);
const verifier = new Ed25519Verifier();

port.on("message", ({ id, checks: packed }: CommitCheckRequest) => {
  const checks = unpackChecks(packed);
  const reply: CommitCheckReply = {
    id,
    verified: verifiedSignatures(checks, (k, m, s) => verifier.verify(k, m, s)),
    decoded: decodedTransactions(checks),
  };
  port.postMessage(reply);
});
