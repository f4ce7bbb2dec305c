import { parentPort, workerData } from "node:worker_threads";
import { createChainCommon } from "../../runtime/evm/common.js";
import { nameThisThread, THREAD_NAMES } from "../threadName.js";
import { decodeRawTransaction } from "./decode.js";
import { isMempoolError } from "./errors.js";
import type { DecodeReply, DecodeRequest, DecodeWorkerData } from "./parallelDecoder.js";

/**
 * Worker side of `ParallelDecoder`: decodes, validates and recovers the sender of raw transactions
 * off the main thread, and sends back only the fields the pool needs.
 */
const { chainId, maxTxBytes } = workerData as DecodeWorkerData;
const common = createChainCommon(chainId);
const port = parentPort;
if (port === null) throw new Error("admissionWorker must run in a worker thread");
nameThisThread(THREAD_NAMES.decoder);

port.on("message", (batch: DecodeRequest[]) => {
  const replies: DecodeReply[] = batch.map(({ id, raw }) => {
    try {
      const p = decodeRawTransaction(raw, { common, chainId, maxTxBytes });
      return {
        id,
        ok: true,
        fields: {
          hash: p.hash,
          sender: p.sender,
          nonce: p.nonce,
          gasLimit: p.gasLimit,
          maxFeePerGas: p.maxFeePerGas,
          maxPriorityFeePerGas: p.maxPriorityFeePerGas,
          value: p.value,
          cost: p.cost,
          size: p.size,
          type: p.type,
        },
      };
    } catch (e) {
      if (isMempoolError(e)) return { id, ok: false, error: e.type };
      return { id, ok: false, error: { code: "UNEXPECTED", message: (e as Error).message } };
    }
  });
  port.postMessage(replies);
});
