// One inference thread of an `InferencePool` (engine/threadPool.ts): owns onnxruntime sessions created with the
// engine's deterministic options and runs them on request, so a model run never blocks the worker's event loop.

import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { encodeOutputs } from "./encodedRun.js";
import { ONNX_SESSION_OPTIONS, timedRun } from "./session.js";
import { fromWire, type ThreadReply, type ThreadRequest, toWire, type WireTensor } from "./threadWire.js";

const port = parentPort;
if (!port) throw new Error("sessionThread runs only as a worker thread");
const sessions = new Map<number, ort.InferenceSession>();

function session(id: number): ort.InferenceSession {
  const s = sessions.get(id);
  if (!s) throw new Error(`no session ${id} in this thread`);
  return s;
}

function feedsOf(wire: Record<string, WireTensor>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(wire)) {
    feeds[name] = new ort.Tensor(t.type as never, fromWire(t) as never, t.dims as number[]);
  }
  return feeds;
}

async function handle(m: ThreadRequest): Promise<{ reply: ThreadReply; transfer: ArrayBuffer[] }> {
  switch (m.op) {
    case "create": {
      const s = await ort.InferenceSession.create(m.model, { ...ONNX_SESSION_OPTIONS });
      sessions.set(m.session, s);
      const metadata = {
        inputNames: [...s.inputNames],
        outputNames: [...s.outputNames],
        inputMetadata: s.inputMetadata.map((x) => ({ ...x })),
        outputMetadata: s.outputMetadata.map((x) => ({ ...x })),
      };
      return { reply: { id: m.id, ok: true, metadata }, transfer: [] };
    }
    case "runEncoded": {
      const { outputs, modelMs, modelEndUs } = await timedRun(session(m.session), feedsOf(m.feeds));
      const encoded = encodeOutputs(outputs, m.outputs);
      return {
        reply: { id: m.id, ok: true, encoded, modelMs, modelEndUs },
        transfer: [encoded.bytes.buffer as ArrayBuffer],
      };
    }
    case "run": {
      const { outputs: out, modelMs, modelEndUs } = await timedRun(session(m.session), feedsOf(m.feeds));
      const transfer: ArrayBuffer[] = [];
      const outputs: Record<string, WireTensor> = {};
      // The outputs are this thread's alone: their buffers move to the caller.
      for (const [name, t] of Object.entries(out)) outputs[name] = toWire(t.type, t.dims, t.data, true, transfer);
      return { reply: { id: m.id, ok: true, outputs, modelMs, modelEndUs }, transfer };
    }
    case "release": {
      const s = sessions.get(m.session);
      sessions.delete(m.session);
      await s?.release();
      return { reply: { id: m.id, ok: true }, transfer: [] };
    }
  }
}

port.on("message", (m: ThreadRequest) => {
  handle(m).then(
    ({ reply, transfer }) => {
      try {
        port.postMessage(reply, transfer);
      } catch {
        port.postMessage(reply); // a buffer that cannot be detached (native-owned): copied instead
      }
    },
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ id: m.id, ok: false, error: { name: err.name, message: err.message } } satisfies ThreadReply);
    },
  );
});
